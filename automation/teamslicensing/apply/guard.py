"""What must be true before the first write: the plan is small enough and nothing in it blocks writing."""

from __future__ import annotations

from teamslicensing.errors import ApplyRefusedError
from teamslicensing.model.desired import DEFAULT_MAX_REMOVALS
from teamslicensing.model.plan import Plan

__all__ = ["DEFAULT_MAX_REMOVALS", "check_applicable"]


def check_applicable(plan: Plan, override: str, removals_override: str = "--max-removals") -> None:
    """Refuse a plan that must not be written, for exactly the reasons it states (`plan.refusals`, its
    `applyWouldRefuse`, judged with the limits this apply uses: `app.with_limits`): a gap that blocks every write
    (a protected user not found), more changed users than its changes limit, or more users losing service plans
    (or a license beyond voice) than its removals limit. `override` and `removals_override` name the options or
    settings that raise them."""
    for refusal in plan.refusals:
        if refusal.code is not None:
            raise ApplyRefusedError(
                f"refusing to apply: {refusal.describe()}; fix policy.protectedUsers or protectedGroups first; "
                "nothing was written"
            )
        planned, limit = refusal.planned or 0, refusal.limit or 0
        if refusal.reason == "maxChanges":
            what = "user or group" if planned == 1 else "users and groups"
            raise ApplyRefusedError(
                f"refusing to apply: the plan changes {planned:,} {what}, more than the limit of {limit:,} "
                f"(policy.maxChanges or {override}); nothing was written"
            )
        raise ApplyRefusedError(
            f"refusing to apply: the plan takes service plans away from {planned:,} user{'' if planned == 1 else 's'}"
            f", more than the limit of {limit:,} (policy.maxRemovals or {removals_override}; a phone number a change "
            "unassigns counts too); check that the groups and filters read as expected, then raise the limit; nothing "
            "was written"
        )
