"""One line per run in a history file (`--history FILE`, JSON Lines): what the plan changed, its gaps, the seats
and the monthly cost, and what an apply did. Read back to show how a tenant moves from run to run; a line that is
not such a record is left out, never believed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from teamslicensing.model.planjson import ReportMeta

HISTORY_VERSION = 1
COMMANDS = ("plan", "apply", "undo")


@dataclass(frozen=True, slots=True)
class RunRecord:
    generated_at: datetime
    command: str  # plan, apply or undo
    tenant: str  # the tenant's id, else its name, else "" (not known)
    changes: int  # users the plan changes
    errors: int
    warnings: int
    seats: tuple[tuple[str, int, int], ...]  # (skuPartNumber, consumed, enabled) of the managed SKUs
    cost: tuple[tuple[str, float, float, float], ...] = ()  # (currency, monthlyAdded, monthlySaved, unusedMonthly)
    applied: int | None = None  # apply and undo: users applied
    failed: int | None = None

    @property
    def seats_used(self) -> int:
        return sum(consumed for _, consumed, _ in self.seats)


def tenant_key(meta: ReportMeta) -> str:
    return meta.tenant_id or meta.tenant_name or ""


def record_json(record: RunRecord) -> dict[str, Any]:
    return {
        "version": HISTORY_VERSION,
        "generatedAt": record.generated_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": record.command,
        "tenant": record.tenant,
        "changes": record.changes,
        "errors": record.errors,
        "warnings": record.warnings,
        "seats": [{"skuPartNumber": p, "consumed": c, "enabled": e} for p, c, e in record.seats],
        "cost": [
            {"currency": c, "monthlyAdded": a, "monthlySaved": s, "unusedMonthly": u} for c, a, s, u in record.cost
        ],
        "applied": record.applied,
        "failed": record.failed,
    }


def record_from_json(line: Any) -> RunRecord:
    """The record a history line holds; ValueError (with what is wrong) for anything else."""
    if not isinstance(line, dict) or line.get("version") != HISTORY_VERSION:
        raise ValueError(f"not a version {HISTORY_VERSION} run record")
    try:
        at = datetime.strptime(str(line["generatedAt"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        seats = tuple((str(s["skuPartNumber"]), _count(s["consumed"]), _count(s["enabled"])) for s in line["seats"])
        cost = tuple(
            (str(c["currency"]), _money(c["monthlyAdded"]), _money(c["monthlySaved"]), _money(c["unusedMonthly"]))
            for c in line.get("cost") or []
        )
        command = str(line["command"])
        if command not in COMMANDS:
            raise ValueError(f"command {command!r} is none of {', '.join(COMMANDS)}")
        if any(len(c) != 3 or not c.isalpha() for c, *_ in cost):
            raise ValueError("a currency is not an ISO 4217 code")
        return RunRecord(
            at,
            command,
            str(line.get("tenant") or ""),
            _count(line["changes"]),
            _count(line["errors"]),
            _count(line["warnings"]),
            seats,
            cost,
            None if line.get("applied") is None else _count(line["applied"]),
            None if line.get("failed") is None else _count(line["failed"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"a field is missing or of the wrong kind ({exc})") from exc


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def _money(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{str(value)[:40]!r} is not an amount")
    try:
        amount = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise ValueError("an amount too large to be one") from None
    if not math.isfinite(amount):  # NaN, or 1e400 read as infinity
        raise ValueError(f"{amount!r} is not an amount")
    return amount
