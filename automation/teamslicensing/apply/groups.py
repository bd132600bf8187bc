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

from teamslicensing.apply.audit import AuditLog
from teamslicensing.apply.batches import send_audited, status_of
from teamslicensing.apply.run import WriteBackend
from teamslicensing.apply.stop import StopSwitch, bounded
from teamslicensing.graph.requests import group_license_request
from teamslicensing.model.outcome import UserResult
from teamslicensing.model.plan import GroupChange


async def write_groups(
    changes: Sequence[GroupChange], backend: WriteBackend, audit: AuditLog, switch: StopSwitch
) -> tuple[UserResult, ...]:
    sent = await send_audited(
        changes, group_license_request, audit.group_intents, backend.write_groups, audit.group_results, switch
    )
    return tuple(
        UserResult(
            change.group_id,
            change.group_name,
            status_of(attempt),
            "accepted: Entra processes the members" if attempt.ok else attempt.error_message,
        )
        for change, attempt in sent
    )


POLL_SECONDS = 10.0  # between licenseProcessingState reads while waiting


async def wait_for_groups(
    backend: WriteBackend, group_ids: Sequence[str], seconds: float, switch: StopSwitch
) -> dict[str, str | None]:
    """`--wait`: read the groups' licenseProcessingState until every one is ProcessingComplete, `seconds` have
    passed, or a stop was asked for; the last state of each (None: unreadable)."""
    deadline = time.monotonic() + seconds
    states: dict[str, str | None] = dict.fromkeys(group_ids)
    while True:
        reading = asyncio.ensure_future(backend.group_states(group_ids))
        if not await bounded(reading, switch, 0.0, None):  # a stop ends the wait: the next run reads the result
            return states
        states = reading.result()
        done = all(state == "ProcessingComplete" for state in states.values())
        left = deadline - time.monotonic()
        if done or left <= 0 or switch.stop is not None:
            return states
        pause = asyncio.ensure_future(asyncio.sleep(min(POLL_SECONDS, left)))
        if not await bounded(pause, switch, 0.0, None):
            return states
