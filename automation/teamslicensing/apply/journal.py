"""Read an audit log back (`undo`): per user, the direct licenses before the run and after its applied writes.

Reads both record schemas: version 2 (`"audit": 2`: intent, result, verified records) and version 1 (one record
per attempt with `before` and `status`). A last line cut short (a crash, a full disk) is ignored; any other
line that is not a record is an error naming `FILE:LINE`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from teamslicensing.errors import UsageError
from teamslicensing.model.outcome import RecordedUser

Direct = dict[str, frozenset[str]]


class _Entry:
    def __init__(self, upn: str, before: Direct) -> None:
        self.upn = upn
        self.before = before
        self.after = dict(before)
        self.applied = False


def read_journal(path: str | Path) -> list[RecordedUser]:
    """Every user the log records at least one applied license write for, in first-seen order."""
    entries: dict[str, _Entry] = {}
    intents: dict[tuple[str, int], dict[str, Any]] = {}  # (run id, seq) -> the intent record
    for record in _records(path):
        kind = record.get("kind")
        user_id = str(record.get("userId", "")).lower()
        if not user_id:
            continue
        if "audit" not in record:  # version 1: each attempt, with the state before
            if not str(record.get("request", {}).get("url", "")).endswith("/assignLicense"):
                continue
            entry = entries.setdefault(user_id, _Entry(str(record.get("userPrincipalName")), _direct(record)))
            if 200 <= int(record.get("status") or 0) < 300:
                _apply(entry, record.get("request", {}).get("body"))
            continue
        if kind != "licenses":
            continue
        key = (str(record.get("runId")), int(record.get("seq") or 0))
        if record.get("type") == "intent":
            intents[key] = record
            entries.setdefault(user_id, _Entry(str(record.get("userPrincipalName")), _direct(record)))
        elif record.get("type") in ("result", "verified") and key in intents and user_id in entries:
            done = (
                record.get("state") == "done"
                if record["type"] == "verified"
                else record.get("trustworthy", True) and 200 <= int(record.get("status") or 0) < 300
            )
            if done:
                _apply(entries[user_id], intents[key].get("request", {}).get("body"))
    return [
        RecordedUser(user_id, entry.upn, entry.before, entry.after)
        for user_id, entry in entries.items()
        if entry.applied
    ]


def _records(path: str | Path) -> Iterator[dict[str, Any]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read the audit log {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not an audit log: it is not UTF-8 text") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            if number == len(lines):  # cut short by a crash or a full disk: its write was never confirmed
                return
            raise UsageError(f"{path}:{number}: not an audit record ({exc})") from exc
        if not isinstance(record, dict):
            raise UsageError(f"{path}:{number}: not an audit record (expected a JSON object)")
        yield record


def _direct(record: dict[str, Any]) -> Direct:
    before = record.get("before") or {}
    licenses = before.get("licenses") if isinstance(before, dict) else None
    return {
        str(lic["skuId"]).lower(): frozenset(str(p).lower() for p in lic.get("disabledPlans") or [])
        for lic in licenses or []
        if isinstance(lic, dict) and lic.get("skuId") and not lic.get("assignedByGroup")
    }


def _apply(entry: _Entry, body: Any) -> None:
    if not isinstance(body, dict):
        return
    for sku in body.get("removeLicenses") or []:
        entry.after.pop(str(sku).lower(), None)
    for add in body.get("addLicenses") or []:
        if isinstance(add, dict) and add.get("skuId"):
            entry.after[str(add["skuId"]).lower()] = frozenset(str(p).lower() for p in add.get("disabledPlans") or [])
    entry.applied = True
