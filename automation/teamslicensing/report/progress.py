"""Apply progress for people: a live counter on a terminal; otherwise a plain line every 10% so logs stay readable."""

from __future__ import annotations

from typing import TextIO


class ProgressLines:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.terminal = out.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if self.terminal:
            self.out.write(f"\rapplying {done}/{total} writes")
            if done == total:
                self.out.write("\n")
            self.out.flush()
            return
        step = max(total // 10, 1)
        if done == total or done // step != self.last // step:
            self.out.write(f"applied {done}/{total} writes\n")
            self.out.flush()
        self.last = done
