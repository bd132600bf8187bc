"""What must be true before the first write: the plan is small enough and nothing in it blocks writing."""

from __future__ import annotations

from teamslicensing.errors import ApplyRefusedError
from teamslicensing.model.plan import Plan

DEFAULT_MAX_REMOVALS = 50


def check_applicable(
    plan: Plan, limit: int, override: str, max_removals: int = DEFAULT_MAX_REMOVALS, removals_override: str = ""
) -> None:
    """Refuse a plan that must not be written: a gap that blocks every write (a protected user not found), more
    changed users than `limit` (policy.maxChanges), or more license removals that take a service plan away than
    `max_removals` (policy.maxRemovals). `override` and `removals_override` name the options that raise them."""
    blocking = plan.blocks_apply
    if blocking:
        names = ", ".join(sorted({gap.user_principal_name or "" for gap in blocking}))
        raise ApplyRefusedError(
            f"refusing to apply: {blocking[0].code.value} for {names}; fix policy.protectedUsers or "
            "protectedGroups first; nothing was written"
        )
    changed = len(plan.changes) + len(plan.group_changes)  # a group write counts once: Entra does the rest
    if changed > limit:
        raise ApplyRefusedError(
            f"refusing to apply: the plan changes {changed} users and groups, more than the limit of {limit} "
            f"(policy.maxChanges or {override}); nothing was written"
        )
    removals = removal_count(plan)
    if removals > max_removals:
        raise ApplyRefusedError(
            f"refusing to apply: the plan takes service plans away from {removals} users, more than the limit of "
            f"{max_removals} (policy.maxRemovals or {removals_override or '--max-removals'}); check that the "
            "groups and filters read as expected, then raise the limit; nothing was written"
        )


def removal_count(plan: Plan) -> int:
    """Users whose removals take a service plan away (swaps and copies whose plans stay do not count), and every
    direct member of a group whose write removes a SKU or turns plans off (each may lose them)."""
    users = sum(1 for change in plan.changes if change.takes_plans)
    return users + sum(g.members for g in plan.group_changes if g.remove_licenses or g.disables_plans)
