"""What must be true before the first write: the plan is small enough and nothing in it blocks writing."""

from __future__ import annotations

from teamslicensing.errors import ApplyRefusedError
from teamslicensing.model.desired import DEFAULT_MAX_REMOVALS
from teamslicensing.model.plan import Plan
from teamslicensing.plan.judgement import apply_refusals

__all__ = ["DEFAULT_MAX_REMOVALS", "check_applicable"]


def check_applicable(
    plan: Plan, limit: int, override: str, max_removals: int = DEFAULT_MAX_REMOVALS, removals_override: str = ""
) -> None:
    """Refuse a plan that must not be written, for the reasons the plan itself states (`apply_refusals`, its
    `applyWouldRefuse`): a gap that blocks every write (a protected user not found), more changed users than `limit`
    (policy.maxChanges), or more users losing service plans (or a license beyond voice) than `max_removals`
    (policy.maxRemovals). `override` and `removals_override` name the options that raise them."""
    for refusal in apply_refusals(plan, limit, max_removals):
        if refusal.code is not None:
            raise ApplyRefusedError(
                f"refusing to apply: {refusal.describe()}; fix policy.protectedUsers or protectedGroups first; "
                "nothing was written"
            )
        if refusal.reason == "maxChanges":
            raise ApplyRefusedError(
                f"refusing to apply: the plan changes {refusal.planned} users and groups, more than the limit of "
                f"{refusal.limit} (policy.maxChanges or {override}); nothing was written"
            )
        raise ApplyRefusedError(
            f"refusing to apply: the plan takes service plans away from {refusal.planned} users, more than the "
            f"limit of {refusal.limit} (policy.maxRemovals or {removals_override or '--max-removals'}); check that "
            "the groups and filters read as expected, then raise the limit; nothing was written"
        )
