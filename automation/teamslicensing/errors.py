"""The program's exception tree, so every failure reaches the user as one clear message.

    TeamsLicensingError            root: the CLI prints it and exits 1
    ├── InputError                 a file the user gave us is wrong; carries every problem at once
    │   ├── ConfigError            the desired-state YAML
    │   └── SnapshotError          a tenant snapshot JSON
    └── (later) GraphError         talking to Microsoft Graph

User-fixable errors carry `Problem`s that point at `FILE:LINE:COLUMN` so an editor can jump there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, at a 1-based line and column (0 when only a data path is known)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:  # a problem found in parsed data (JSON) has a path in its message, not a position
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class TeamsLicensingError(Exception):
    """Root of every error this program raises on purpose."""


class InputError(TeamsLicensingError):
    """An input file is invalid; `problems` lists everything found, in file order."""

    kind = "input"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(set(problems)))
        super().__init__(self.summary())

    def summary(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [str(p) for p in self.problems]
        lines.append(f"{count} {noun} in {self.kind}; nothing was changed.")
        return "\n".join(lines)


class ConfigError(InputError):
    """The desired-state configuration is invalid."""

    kind = "configuration"


class SnapshotError(InputError):
    """A tenant snapshot file is invalid."""

    kind = "snapshot"
