"""Group license writes (groupLicenses): after the users' writes, audited like them, bounded by the same stop.

Why after: a member's usage location must be set before Entra processes the group for them (it would use the
tenant's country, and a Calling Plan follows it), and users who lose licenses free seats first. Nothing is lost by
the order: a migration removes a member's direct copy only when the group's copy is already Active. Graph answers
202 Accepted and Entra processes each member later; the next run reads the result (`licenseAssignmentStates`,
GROUP_LICENSE_ERROR), so a write is "applied" when Graph accepted it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from teamslicensing.apply.audit import AuditError, AuditLog
from teamslicensing.apply.stop import StopSwitch
from teamslicensing.errors import AuthenticationError, GraphError
from teamslicensing.model.outcome import APPLIED, FAILED, UNKNOWN, StopReason, UserResult
from teamslicensing.model.plan import GroupChange

if TYPE_CHECKING:
    from teamslicensing.apply.executor import WriteBackend

BATCH = 20  # group writes per $batch


async def write_groups(
    changes: Sequence[GroupChange], backend: WriteBackend, audit: AuditLog, switch: StopSwitch
) -> tuple[UserResult, ...]:
    results: list[UserResult] = []
    for start in range(0, len(changes), BATCH):
        if not switch.may_start_batch():
            break
        chunk = changes[start : start + BATCH]
        try:
            audit.group_intents(chunk)
        except AuditError as exc:
            switch.request(StopReason.AUDIT_FAILED, str(exc))
            break
        try:
            attempts = await backend.write_groups(chunk, switch.keep_trying)
        except AuthenticationError as exc:
            switch.request(StopReason.GRAPH_ERROR, str(exc))
            break
        except GraphError as exc:  # the batch as a whole got no answer: each write may or may not have landed
            results += [
                UserResult(c.group_id, c.group_name, UNKNOWN, f"no answer ({exc}); the next run reads it")
                for c in chunk
            ]
            continue
        try:
            audit.group_results(zip(chunk, attempts, strict=True))
        except AuditError as exc:
            switch.request(StopReason.AUDIT_FAILED, str(exc))
        for change, attempt in zip(chunk, attempts, strict=True):
            if attempt.ok:
                results.append(
                    UserResult(change.group_id, change.group_name, APPLIED, "accepted: Entra processes the members")
                )
            elif attempt.status == 0 or not attempt.trustworthy:
                results.append(UserResult(change.group_id, change.group_name, UNKNOWN, attempt.error_message))
            else:
                results.append(UserResult(change.group_id, change.group_name, FAILED, attempt.error_message))
    return tuple(results)


POLL_SECONDS = 10.0  # between licenseProcessingState reads while waiting


async def wait_for_groups(
    backend: WriteBackend, group_ids: Sequence[str], seconds: float, switch: StopSwitch
) -> dict[str, str | None]:
    """`--wait`: read the groups' licenseProcessingState until every one is ProcessingComplete, `seconds` have
    passed, or a stop was asked for; the last state of each (None: unreadable)."""
    deadline = time.monotonic() + seconds
    states: dict[str, str | None] = {}
    while True:
        states = await backend.group_states(group_ids)
        done = all(state == "ProcessingComplete" for state in states.values())
        left = deadline - time.monotonic()
        if done or left <= 0 or switch.stop is not None:
            return states
        await asyncio.sleep(min(POLL_SECONDS, left))
