"""The executor: turn a `Plan` into writes, in a safe order, and account for every user.

Order per run: (1) assignLicense for users who only lose licenses, which frees seats first; (2) usage-location
PATCHes; (3) assignLicense for users who gain licenses, carrying their removals too (a calling-plan swap must be
one call). Each user gets at most one license write. A user whose write fails does not stop the others; one whose
usage location could not be set gets no license write.

The executor hands `Write`s to a `WriteBackend` (Graph's $batch, or a snapshot file for the offline demo), in
groups of the backend's batch size, several groups in flight; how a write travels is the backend's business. Every
attempt is recorded by the `AuditLog`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from teamslicensing.apply.audit import AuditLog
from teamslicensing.errors import ApplyRefusedError
from teamslicensing.model.outcome import APPLIED, FAILED, ApplyResult, UserResult, Write, WriteAttempt, WriteKind
from teamslicensing.model.plan import Plan, UserChange
from teamslicensing.model.tenant import TenantUser

Progress = Callable[[int, int], None]  # (writes settled, writes planned)


class WriteBackend(Protocol):
    batch_size: int  # writes per call of `write`

    async def write(
        self, writes: Sequence[Write], on_attempt: Callable[[Write, WriteAttempt], None] | None = None
    ) -> list[WriteAttempt]: ...


def check_applicable(plan: Plan, limit: int, override: str) -> None:
    """Refuse a plan that must not be written: larger than `limit` (policy.maxChanges, or the `override` the
    caller names), or with a gap that blocks every write (a protected user not found)."""
    blocking = plan.blocks_apply
    if blocking:
        names = ", ".join(sorted({gap.user_principal_name or "" for gap in blocking}))
        raise ApplyRefusedError(
            f"refusing to apply: {blocking[0].code.value} for {names}; fix policy.protectedUsers or "
            "protectedGroups first; nothing was written"
        )
    if len(plan.changes) > limit:
        raise ApplyRefusedError(
            f"refusing to apply: the plan changes {len(plan.changes)} users, more than the limit of {limit} "
            f"(policy.maxChanges or {override}); nothing was written"
        )


async def execute_with_audit(
    plan: Plan,
    backend: WriteBackend,
    users: Iterable[TenantUser],
    audit_path: str | Path,
    progress: Progress | None = None,
) -> ApplyResult:
    """`execute`, appending every attempt to the audit log at `audit_path` with the users' state before."""
    with open(audit_path, "a", encoding="utf-8") as audit_file:
        return await execute(plan, backend, AuditLog(audit_file, {user.id: user for user in users}), progress)


async def execute(
    plan: Plan,
    backend: WriteBackend,
    audit: AuditLog | None = None,
    progress: Progress | None = None,
) -> ApplyResult:
    started = time.monotonic()
    failed: dict[str, UserResult] = {}
    total = sum(1 for c in plan.changes if c.set_usage_location) + sum(1 for c in plan.changes if c.changes_licenses)
    done = 0

    def note(finished: int) -> None:
        nonlocal done
        done += finished
        if progress:
            progress(done, total)

    async def phase(changes: list[UserChange], kind: WriteKind) -> None:
        writes = [Write(kind, change) for change in changes]

        async def run(chunk: list[Write]) -> None:
            for write, attempt in zip(chunk, await backend.write(chunk, audit.record if audit else None), strict=True):
                if not attempt.ok:
                    what = "setting the usage location" if kind is WriteKind.USAGE_LOCATION else "assignLicense"
                    reason = f"{what}: HTTP {attempt.status}: {attempt.error_message}"
                    change = write.change
                    failed[change.user_id] = UserResult(change.user_id, change.user_principal_name, FAILED, reason)
            note(len(chunk))

        size = backend.batch_size
        await asyncio.gather(*(run(writes[i : i + size]) for i in range(0, len(writes), size)))

    await phase([c for c in plan.changes if c.remove_licenses and not c.add_licenses], WriteKind.LICENSES)
    await phase([c for c in plan.changes if c.set_usage_location], WriteKind.USAGE_LOCATION)
    adding = [c for c in plan.changes if c.add_licenses]
    for change in adding:
        if change.user_id in failed:  # its usage location failed: Graph would refuse the licenses anyway
            note(1)
    await phase([c for c in adding if c.user_id not in failed], WriteKind.LICENSES)

    results = tuple(failed.get(c.user_id, UserResult(c.user_id, c.user_principal_name, APPLIED)) for c in plan.changes)
    return ApplyResult(results, time.monotonic() - started, len(plan.changes))
