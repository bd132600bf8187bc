"""Files a use case writes or fingerprints: an output that appears only when whole, and a configuration's digest
(what a saved plan records of the file it was made from)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TextIO, TypeVar

from teamslicensing.app.signals import run_stoppable
from teamslicensing.errors import UsageError

T = TypeVar("T")


def written_whole(output: str | Path, write: Callable[[TextIO], Coroutine[Any, Any, T]]) -> T:
    """Run `write` into `output`'s `.partial` file (opened before Graph is asked anything), then put it in place:
    the file appears only when whole. An unwritable folder or a full disk is a message; whatever stops the
    writing, no half-written file is left to pass for a whole one."""
    temporary = Path(f"{output}.partial")
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            result = run_stoppable(write(out))
        os.replace(temporary, output)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return result


def config_digest(config: str | Path) -> str | None:
    try:
        return "sha256:" + hashlib.sha256(Path(config).read_bytes()).hexdigest()
    except OSError:
        return None
