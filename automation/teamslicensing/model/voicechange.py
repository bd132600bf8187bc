"""What a plan does with a user's phone numbers and Teams policies, beside their licenses, and the inventory's
count per country and number type. The values are a contract (`numberChanges`, `policyChanges`, `numberPools` in
the JSON plan)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

EXACT_ROW = "numbers"  # the source of a `numbers` row's changes
LEAVER = "prune"  # the source of a leaver's unassignment


class NumberAction(str, enum.Enum):
    ASSIGN = "assign"  # assignNumber: the number becomes the user's primary number
    UNASSIGN = "unassign"  # unassignNumber: the number goes back to the inventory, before the license it needs
    UPDATE = "update"  # updateNumber: the number's emergency location


@dataclass(frozen=True, slots=True)
class NumberChange:
    action: NumberAction
    number: str  # E.164
    number_type: str  # callingPlan, directRouting or operatorConnect
    location_id: str | None = None  # the emergency location sent with it
    after_license: bool = False  # assigned once this plan's license write is read back Active (or on the next run)
    source: str = ""  # why: the rule that gives it, `numbers` (an exact row), or `prune` for an unassignment

    @property
    def replaced(self) -> bool:
        """An unassignment that makes room for the number an exact row gives the same user: sent just before that
        assignment, only when it is sent, and the number given back if the assignment fails (its `location_id` is
        the one it had)."""
        return self.action is NumberAction.UNASSIGN and self.source == EXACT_ROW


class PolicyAction(str, enum.Enum):
    ASSIGN = "assign"
    UNASSIGN = "unassign"  # undo only: the user had no direct policy of the type before the run


@dataclass(frozen=True, slots=True)
class PolicyChange:
    action: PolicyAction
    policy_type: str  # as Teams spells it, e.g. TeamsCallingPolicy
    policy_name: str  # unassign: the name being taken back
    rule: str = ""  # the rule that declares it


@dataclass(frozen=True, slots=True)
class NumberPool:
    """Free numbers of one type in one country against what the plan needs of them."""

    iso_country_code: str
    number_type: str
    free: int  # unassigned numbers users may be given (city narrowing aside)
    needed: int  # numbers the plan would give from it
    short: int  # of those, how many it could not find (NO_FREE_NUMBER)
