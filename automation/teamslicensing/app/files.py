"""Files a use case writes or fingerprints: an output that appears only when whole, and a configuration's digest
(what a saved plan records of the file it was made from)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TextIO, TypeVar

from teamslicensing.app.signals import run_stoppable
from teamslicensing.errors import UsageError

T = TypeVar("T")


def written_whole(output: str | Path, write: Callable[[TextIO], Coroutine[Any, Any, T]]) -> T:
    """Run `write` into `output`'s `.partial` file (opened before Graph is asked anything), then put it in place:
    the file appears only when whole."""
    with whole_file(output) as temporary, open(temporary, "w", encoding="utf-8") as out:
        return run_stoppable(write(out))


@contextlib.contextmanager
def whole_file(output: str | Path) -> Iterator[Path]:
    """A `.partial` file beside `output` (a link's target) to write in the block, put in `output`'s place when the
    block ends: the file appears only when whole. An unwritable folder or a full disk is a message; whatever stops
    the writing, no half-written file is left to pass for a whole one."""
    target = Path(output).resolve() if Path(output).is_symlink() else Path(output)
    temporary = Path(f"{target}.partial")
    try:
        yield temporary
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def config_digest(config: str | Path) -> str | None:
    try:
        return "sha256:" + hashlib.sha256(Path(config).read_bytes()).hexdigest()
    except OSError:
        return None
