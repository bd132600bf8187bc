"""The audit log: JSON Lines, one record per write attempt, flushed as written so a crash loses nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from teamslicensing.model.outcome import Write, WriteAttempt
from teamslicensing.model.tenant import TenantUser


def default_audit_path(folder: str | Path = ".") -> Path:
    return Path(folder) / f"teams-licensing-audit-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.jsonl"


class AuditLog:
    """Appends one record per attempt: time, user, request, license state before and after, status, request id."""

    def __init__(self, out: IO[str], before: Mapping[str, TenantUser]) -> None:
        self._out = out
        self._before = before

    def record(self, write: Write, attempt: WriteAttempt) -> None:
        change = write.change
        after = attempt.assigned_licenses
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "userId": change.user_id,
            "userPrincipalName": change.user_principal_name,
            "request": {"method": attempt.method, "url": attempt.url, "body": attempt.body},
            "before": _license_state(self._before.get(change.user_id)),
            "after": {"assignedLicenses": after} if after is not None else None,
            "status": attempt.status,
            "attempt": attempt.attempt,
            "requestId": attempt.request_id,
            "error": attempt.error_message,
        }
        self._out.write(json.dumps(entry) + "\n")
        self._out.flush()


def _license_state(user: TenantUser | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "usageLocation": user.usage_location,
        "licenses": [
            {"skuId": a.sku_id, "disabledPlans": sorted(a.disabled_plans), "assignedByGroup": a.assigned_by_group}
            for a in user.licenses
        ],
    }
