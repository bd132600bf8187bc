"""Waiting for licenses a run wrote to be Active before the numbers that need them are assigned: a Calling Plan
number needs the user's Calling Plan (and Phone System) in effect, and Entra reports each assignment's state in
`licenseAssignmentStates`. The users are read back (20 to a `$batch`) a few times, paced, within the stop's bounds;
a user whose licenses are not Active by then keeps their number for the next run (NUMBER_WAITS_FOR_LICENSE)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from teamslicensing.apply.run import WriteRun
from teamslicensing.apply.stop import bounded
from teamslicensing.errors import AuthenticationError, GraphError
from teamslicensing.model.outcome import WriteKind
from teamslicensing.model.plan import UserChange
from teamslicensing.model.tenant import TenantUser
from teamslicensing.tenant.parse import ObjectError, parse_user

READS = (0.0, 2.0, 5.0, 10.0)  # seconds before each read-back of users whose new licenses are not Active yet


async def licenses_active(run: WriteRun, changes: Sequence[UserChange]) -> set[str]:
    """The users of `changes` whose license write was accepted and whose added licenses are now read back Active."""
    pending = {
        c.user_id: c for c in changes if (a := run.final.get((c.user_id, WriteKind.LICENSES))) is not None and a.ok
    }
    pending.update({c.user_id: c for c in changes if not c.changes_licenses})
    active: set[str] = set()
    for delay in READS:
        if not pending or run.switch.stop is not None:
            break
        if delay:
            await bounded(asyncio.ensure_future(asyncio.sleep(delay)), run.switch, 0.0, None, writes=False)
            if run.switch.stop is not None:
                break
        reading = asyncio.ensure_future(run.backend.read_users(list(pending)))
        if not await bounded(reading, run.switch, run.switch.read_back_window, None, writes=False):
            break
        try:
            found = reading.result()
        except (GraphError, AuthenticationError):
            break
        for user_id, change in list(pending.items()):
            user = _parsed(found.get(user_id.lower()))
            if user is not None and _active(user, change):
                active.add(user_id)
                del pending[user_id]
    return active


def _parsed(obj: object) -> TenantUser | None:
    try:
        return parse_user(obj) if obj is not None else None
    except ObjectError:
        return None


def _active(user: TenantUser, change: UserChange) -> bool:
    """Every license the change adds is held directly and Active."""
    states = {a.sku_id: a.state for a in user.licenses if a.assigned_by_group is None}
    return all(states.get(add.sku_id) == "Active" for add in change.add_licenses)
