"""The executor: turn a `Plan` into writes, in a safe order, and account for every user.

Order per run: (1) assignLicense for users who only lose licenses, which frees seats first; (2) usage-location
PATCHes; (3) assignLicense for users who gain licenses, carrying their removals too (a calling-plan swap must be
one call). Each user gets at most one assignLicense with both arrays present. A user whose write fails does not
stop the others; one whose usage location could not be set gets no license write.

Writes go through a `WriteBackend` (Graph's $batch, or a snapshot file for the offline demo) in groups of 20,
several groups in flight. Every attempt is recorded by the `AuditLog`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Protocol

from teamslicensing.errors import TeamsLicensingError
from teamslicensing.graph import BATCH_LIMIT, BatchRequest, BatchResponse
from teamslicensing.plan import Plan, UserChange
from teamslicensing.tenant import TenantUser

APPLIED, FAILED, SKIPPED = "applied", "failed", "skipped"


class WriteBackend(Protocol):
    async def batch(
        self,
        requests: Sequence[BatchRequest],
        on_attempt: Callable[[BatchRequest, BatchResponse], None] | None = None,
    ) -> list[BatchResponse]: ...


@dataclass(frozen=True)
class UserResult:
    user_id: str
    user_principal_name: str
    status: str  # applied, failed, skipped
    reason: str | None = None


@dataclass(frozen=True)
class ApplyResult:
    results: tuple[UserResult, ...]
    seconds: float

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def failed(self) -> tuple[UserResult, ...]:
        return tuple(result for result in self.results if result.status == FAILED)


class AuditLog:
    """JSON Lines, one record per write attempt, flushed as written so a crash loses nothing."""

    def __init__(self, out: IO[str], before: Mapping[str, TenantUser]) -> None:
        self._out = out
        self._before = before

    def record(self, change: UserChange, request: BatchRequest, response: BatchResponse) -> None:
        user = self._before.get(change.user_id)
        after = response.body.get("assignedLicenses") if isinstance(response.body, dict) else None
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "userId": change.user_id,
            "userPrincipalName": change.user_principal_name,
            "request": {"method": request.method, "url": request.url, "body": request.body},
            "before": _license_state(user),
            "after": {"assignedLicenses": after} if after is not None else None,
            "status": response.status,
            "attempt": response.attempts,
            "requestId": response.request_id,
            "error": None if response.ok else response.error_message,
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


class ChangeLimitError(TeamsLicensingError):
    """The plan changes more users than the configured limit allows; nothing is written."""


def check_change_limit(plan: Plan, limit: int, override: str) -> None:
    """Refuse a plan larger than `limit` (policy.maxChanges, or the `override` the caller names)."""
    if len(plan.changes) > limit:
        raise ChangeLimitError(
            f"refusing to apply: the plan changes {len(plan.changes)} users, more than the limit of {limit} "
            f"(policy.maxChanges or {override}); nothing was written"
        )


def default_audit_path(folder: str | Path = ".") -> Path:
    return Path(folder) / f"teams-licensing-audit-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.jsonl"


async def execute_with_audit(
    plan: Plan,
    backend: WriteBackend,
    users: Iterable[TenantUser],
    audit_path: str | Path,
    progress: Callable[[int, int], None] | None = None,
) -> ApplyResult:
    """`execute`, appending every attempt to the audit log at `audit_path` with the users' state before."""
    with open(audit_path, "a", encoding="utf-8") as audit_file:
        return await execute(plan, backend, AuditLog(audit_file, {user.id: user for user in users}), progress)


def assign_license_body(change: UserChange) -> dict[str, Any]:
    return {
        "addLicenses": [{"skuId": a.sku_id, "disabledPlans": list(a.disabled_plans)} for a in change.add_licenses],
        "removeLicenses": [r.sku_id for r in change.remove_licenses],
    }


async def execute(
    plan: Plan,
    backend: WriteBackend,
    audit: AuditLog | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ApplyResult:
    started = time.monotonic()
    status: dict[str, UserResult] = {}
    total = sum(1 for c in plan.changes if c.set_usage_location) + sum(1 for c in plan.changes if c.changes_licenses)
    done = 0

    def note(finished: int) -> None:
        nonlocal done
        done += finished
        if progress:
            progress(done, total)

    async def phase(changes: list[UserChange], request: Callable[[UserChange], BatchRequest]) -> None:
        by_id = {change.user_id: change for change in changes}
        requests = [request(change) for change in changes]

        def on_attempt(sent: BatchRequest, answer: BatchResponse) -> None:
            if audit is not None:
                audit.record(by_id[_user_of(sent)], sent, answer)

        async def run(chunk: list[BatchRequest]) -> None:
            for sent, answer in zip(chunk, await backend.batch(chunk, on_attempt), strict=True):
                change = by_id[_user_of(sent)]
                if not answer.ok:
                    what = "setting the usage location" if sent.method == "PATCH" else "assignLicense"
                    reason = f"{what}: HTTP {answer.status}: {answer.error_message}"
                    status[change.user_id] = UserResult(change.user_id, change.user_principal_name, FAILED, reason)
            note(len(chunk))

        chunks = [requests[i : i + BATCH_LIMIT] for i in range(0, len(requests), BATCH_LIMIT)]
        await asyncio.gather(*(run(chunk) for chunk in chunks))

    removals_only = [c for c in plan.changes if c.remove_licenses and not c.add_licenses]
    await phase(removals_only, _assign_request)
    await phase([c for c in plan.changes if c.set_usage_location], _usage_location_request)
    adding = [c for c in plan.changes if c.add_licenses]
    for change in adding:
        if change.user_id in status:  # its usage location failed: Graph would refuse the licenses anyway
            note(1)
    await phase([c for c in adding if c.user_id not in status], _assign_request)

    results = tuple(status.get(c.user_id, UserResult(c.user_id, c.user_principal_name, APPLIED)) for c in plan.changes)
    return ApplyResult(results, time.monotonic() - started)


def _assign_request(change: UserChange) -> BatchRequest:
    return BatchRequest(
        f"{change.user_id}:license", "POST", f"/users/{change.user_id}/assignLicense", assign_license_body(change)
    )


def _usage_location_request(change: UserChange) -> BatchRequest:
    return BatchRequest(
        f"{change.user_id}:location", "PATCH", f"/users/{change.user_id}", {"usageLocation": change.set_usage_location}
    )


def _user_of(request: BatchRequest) -> str:
    return request.id.rsplit(":", 1)[0]
