"""What a saved plan's Teams changes rested on: for each number a change assigns or frees, who held it (a number to
be given was free); for each policy type it assigns, the policy in effect. A number taken since, or a policy
assigned by hand since, makes the user STALE at apply, as a license changed since does; a change an earlier run of
the same plan made (a wave) is in sync."""

from __future__ import annotations

from typing import Any

from teamslicensing.model.plan import UserChange
from teamslicensing.model.tenant import Tenant, policy_key
from teamslicensing.model.voicechange import NumberAction, PolicyAction

NOT_IN_INVENTORY = "(not in the inventory)"
LABELS = {
    "numberHolders": "the holders of the numbers it assigns or frees",
    "policies": "the Teams policies in effect",
}


def teams_basis(change: UserChange | None, tenant: Tenant) -> dict[str, Any]:
    """The basis keys of a change's numbers and policies (none for a change without them). A part the tenant read
    lacks (the inventory, the Teams configurations) is None: nothing to compare a plan's record with."""
    if change is None:
        return {}
    basis: dict[str, Any] = {}
    if change.number_changes:
        basis["numberHolders"] = _holders(change, tenant)
    if change.policy_changes:
        basis["policies"] = _policies(change, tenant)
    return basis


def _holders(change: UserChange, tenant: Tenant) -> dict[str, str | None] | None:
    if tenant.numbers is None:
        return None
    holders: dict[str, str | None] = {n.number: None for n in tenant.free_numbers}
    holders.update({n.number: n.user_id for n in tenant.numbers})
    return {n.number: holders.get(n.number, NOT_IN_INVENTORY) for n in change.number_changes}


def _policies(change: UserChange, tenant: Tenant) -> dict[str, str | None] | None:
    if tenant.teams_users is None:
        return None
    configuration = tenant.teams_users.get(change.user_id)
    found = {}
    for policy in change.policy_changes:
        current = configuration.policy(policy.policy_type) if configuration is not None else None
        found[policy.policy_type] = f"{current.assignment_type}:{current.name}" if current is not None else None
    return found


def teams_done(change: UserChange, tenant: Tenant) -> bool:
    """Whether the tenant shows the change's numbers and policies made (by an earlier run of the same plan)."""
    holders = _holders(change, tenant) if change.number_changes else {}
    if holders is None:
        return False
    for number in change.number_changes:
        held = holders.get(number.number) == change.user_id
        if (number.action is NumberAction.ASSIGN and not held) or (number.action is NumberAction.UNASSIGN and held):
            return False
    if not change.policy_changes:
        return True
    if tenant.teams_users is None:
        return False
    configuration = tenant.teams_users.get(change.user_id)
    for policy in change.policy_changes:
        current = configuration.policy(policy.policy_type) if configuration is not None else None
        direct = current if current is not None and current.assignment_type == "direct" else None
        if policy.action is PolicyAction.UNASSIGN and direct is not None:
            return False
        wanted = policy_key(policy.policy_type, policy.policy_name)
        if policy.action is PolicyAction.ASSIGN and (
            direct is None or policy_key(policy.policy_type, direct.name) != wanted
        ):
            return False
    return True
