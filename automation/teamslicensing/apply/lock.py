"""One apply at a time per tenant on one machine: a lock file holding the pid, host and start time.

The lock is taken with O_EXCL, so two runs cannot both win. A lock whose holder is gone (same host, pid not
running) is stale and taken over. Runs on different machines (overlapping Azure Automation jobs) cannot see each
other's lock files: for them the executor's read-back makes a second run harmless instead (README, *One apply at a
time*).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from teamslicensing.errors import UsageError

LOCK_DIR_ENV = "TEAMS_LICENSING_LOCK_DIR"


def lock_path(key: str) -> Path:
    folder = Path(os.environ.get(LOCK_DIR_ENV) or tempfile.gettempdir())
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return folder / f"teams-licensing-{digest}.lock"


@contextlib.contextmanager
def tenant_lock(key: str, what: str) -> Iterator[Path]:
    """Hold the lock for `key` (a tenant id, or the snapshot's path) for the block; `what` names it in messages."""
    path = lock_path(key)
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "started": _now(), "tenant": what}
    for _ in range(3):
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder is None and _age(path) < 5.0:  # being written by a run that just took it
                holder = {"pid": "?", "host": "this machine", "started": "just now"}
            if holder is not None and _alive(holder):
                raise UsageError(
                    f"another apply is running against {what}: pid {holder.get('pid')} on {holder.get('host')} "
                    f"since {holder.get('started')} (lock {path}); nothing was written. Wait for it, or delete the "
                    "lock file if you are sure it is gone"
                ) from None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # stale: its holder is gone
            continue
        except OSError as exc:
            raise UsageError(f"cannot create the lock file {path}: {exc.strerror or exc}; nothing was written") from exc
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(mine, out)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                if _holder(path) == mine:
                    path.unlink()
        return
    raise UsageError(f"cannot take the lock {path}: it keeps reappearing; nothing was written")


def _holder(path: Path) -> dict[str, Any] | None:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # half written or unreadable: treated as stale
    return holder if isinstance(holder, dict) else None


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _alive(holder: dict[str, Any]) -> bool:
    if holder.get("pid") == "?":
        return True
    if holder.get("host") != socket.gethostname():
        return True  # another machine's run: we cannot tell, so it counts as running
    try:
        os.kill(int(holder.get("pid", -1)), 0)
    except (ProcessLookupError, ValueError, OverflowError):
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
