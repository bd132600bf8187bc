"""One apply at a time per tenant on one machine: an OS lock on a file that names its holder (pid, host, start).

The lock is `flock` (Unix) or `msvcrt.locking` (Windows) on a file that is never deleted: the operating system
releases it when the holder exits, however it exits (kill -9 included), so there is no stale lock to judge and no
race between two runs taking over one. The file's text only says who holds it, for the refusal message. Runs on
different machines (overlapping Azure Automation jobs) cannot see each other's lock files: for them the executor's
read-back makes a second run harmless instead (README, *One apply at a time*).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from teamslicensing.errors import UsageError

LOCK_DIR_ENV = "TEAMS_LICENSING_LOCK_DIR"


def lock_path(key: str) -> Path:
    folder = Path(os.environ.get(LOCK_DIR_ENV) or tempfile.gettempdir())
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return folder / f"teams-licensing-{digest}.lock"


@contextlib.contextmanager
def tenant_lock(key: str, what: str) -> Iterator[Path]:
    """Hold the lock for `key` (a tenant id, an endpoint, a snapshot's path) for the block; `what` names it."""
    path = lock_path(key)
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 -- closed below, after the lock is released
    except OSError as exc:
        raise UsageError(f"cannot open the lock file {path}: {exc.strerror or exc}; nothing was written") from exc
    with handle:
        if not _try_lock(handle):
            handle.seek(0)
            holder = _holder(handle.read())
            raise UsageError(
                f"another apply is running against {what}: pid {holder.get('pid', '?')} on "
                f"{holder.get('host', 'this machine')} since {holder.get('started', '?')} (lock {path}); nothing "
                "was written. Wait for it to finish"
            )
        try:
            handle.seek(0)
            handle.truncate()
            mine = {"pid": os.getpid(), "host": socket.gethostname(), "started": _now(), "tenant": what}
            handle.write(json.dumps(mine))
            handle.flush()
            yield path
        finally:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
                handle.flush()
            _unlock(handle)


def _try_lock(handle: IO[str]) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(handle: IO[str]) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        with contextlib.suppress(OSError):
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _holder(text: str) -> dict[str, object]:
    try:
        holder = json.loads(text)
    except ValueError:
        return {}  # being written by a run that just took it
    return holder if isinstance(holder, dict) else {}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
