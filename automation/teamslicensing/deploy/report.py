"""What a deployment changed, said as it happens (each change is printed before its request is sent), and the
summary at the end: how many changes, or that there were none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Changes:
    out: TextIO
    made: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def change(self, what: str) -> None:
        """Say it first: a change that fails half way is then still on the record."""
        self.made.append(what)
        print(f"  ~ {what}", file=self.out, flush=True)

    def same(self, what: str) -> None:
        self.kept.append(what)

    def progress(self, line: str) -> None:
        print(f"    {line}", file=self.out, flush=True)

    def stopped(self) -> str:
        made = (
            f"{_changes(len(self.made))} {'was' if len(self.made) == 1 else 'were'} made before it (listed above)"
            if self.made
            else "nothing was changed"
        )
        return f"Deploy stopped: {made}; run it again once the cause is fixed, it continues from there."

    def summary(self) -> str:
        if not self.made:
            return f"Deploy: no changes; {len(self.kept)} resources already as the bundle and the options want them."
        kept = "1 resource was" if len(self.kept) == 1 else f"{len(self.kept)} resources were"
        return f"Deploy: {_changes(len(self.made))} made; {kept} already as wanted."


def _changes(count: int) -> str:
    return "1 change" if count == 1 else f"{count} changes"
