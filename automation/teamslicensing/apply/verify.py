"""Writes whose answer cannot be trusted are read back, not guessed (README, *Apply results*).

A batch reset after it was sent, an item Graph did not answer, an id answered twice, a 5xx after a write, or a
removal refused with 400 (another run may have done it): the user is read again and judged by the state Graph now
holds. The comparison is pure and works on direct assignments only, which are the only ones a write can change.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from teamslicensing.model.outcome import Write, WriteKind
from teamslicensing.model.tenant import TenantUser

DirectState = dict[str, frozenset[str]]  # sku -> disabled plans of the user's direct assignments


class Observed(str, enum.Enum):
    """What a read-back found (the audit log's `verified.state`)."""

    DONE = "done"  # the user holds what the write asked for
    NOT_DONE = "notDone"  # the user is as before the write: it did not happen
    OTHER = "changedElsewhere"  # neither: someone or something else changed the user meanwhile
    GONE = "userNotFound"


# the audit state of a write cut off in flight at a stop that a read-back found not done: not a judgement, since
# Graph may still carry out a request it received (`undo` counts such a write as possibly applied)
PENDING = "pending"


def planned_direct(before: TenantUser, write: Write) -> DirectState:
    """The user's direct assignments once `write` (a license write) has taken effect."""
    return write.change.applied_to(before.direct_licenses())


def judge(before: TenantUser, write: Write, now: TenantUser | None) -> Observed:
    if now is None:
        return Observed.GONE
    if write.kind is WriteKind.USAGE_LOCATION:
        wanted = write.change.set_usage_location
        if (now.usage_location or "").upper() == (wanted or "").upper():
            return Observed.DONE
        return Observed.NOT_DONE if now.usage_location == before.usage_location else Observed.OTHER
    current = now.direct_licenses()
    if _same(current, planned_direct(before, write)):
        return Observed.DONE
    if _same(current, before.direct_licenses()):
        return Observed.NOT_DONE
    return Observed.OTHER


def _same(a: Mapping[str, frozenset[str]], b: Mapping[str, frozenset[str]]) -> bool:
    return {k.lower(): v for k, v in a.items()} == {k.lower(): v for k, v in b.items()}
