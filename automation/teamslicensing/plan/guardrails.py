"""What every change is held to before it may be written (`judgement`): the safety a configuration's policy asks for,
resolved against the tenant as it is."""

from __future__ import annotations

from dataclasses import dataclass

from teamslicensing.errors import ApplyRefusedError
from teamslicensing.model.desired import DesiredPolicy
from teamslicensing.model.tenant import Tenant, sku_for
from teamslicensing.plan.selection import GroupNames


@dataclass(frozen=True)
class Safety:
    """What every change is held to, from the configuration's policy (or, for undo, the command's options)."""

    max_changes: int
    max_removals: int
    allow_number_loss: bool = False
    protected_users: frozenset[str] = frozenset()  # lowercase UPNs or ids (policy.protectedUsers)
    protected_members: frozenset[str] = frozenset()  # user ids, the members of policy.protectedGroups
    prune_also: frozenset[str] = frozenset()  # sku ids policy.pruneAlso lets prune remove beyond voice add-ons
    managed: frozenset[str] | None = None  # sku ids the configuration assigns: no other is added or removed
    restores: bool = False  # undo: the changes put back what an audited run changed, whatever the SKU


def safety_of(
    policy: DesiredPolicy, tenant: Tenant, managed: frozenset[str], protected_members: frozenset[str] | None = None
) -> Safety:
    """The safety a policy asks for against `tenant`: its protected groups' members as they are in it (or as the
    planner resolved them, `protected_members`), the SKUs pruneAlso names as this tenant has them; `managed`, the sku
    ids the configuration assigns. A protected group that no single group answers to, or whose members could not be
    read in full, is an error: whom it protects is unknown, and nothing may be written."""
    if protected_members is None:
        protected_members = _protected_members(policy, tenant)
    return Safety(
        max_changes=policy.max_changes,
        max_removals=policy.max_removals,
        allow_number_loss=policy.allow_number_loss,
        protected_users=policy.protected_users,
        protected_members=protected_members,
        prune_also=frozenset(sku.sku_id for ref in policy.prune_also if (sku := sku_for(ref, tenant.skus))),
        managed=managed,
    )


def _protected_members(policy: DesiredPolicy, tenant: Tenant) -> frozenset[str]:
    names = GroupNames.of(tenant)
    members: set[str] = set()
    for name in policy.protected_groups:
        group, why = names.find(name)
        if group is None or not group.members_complete:
            why = why or "its member list could not be read in full"
            raise ApplyRefusedError(
                f"refusing to apply: policy.protectedGroups names group '{name}': {why}; whom it protects is "
                "unknown, so nothing was written"
            )
        members |= group.members
    return frozenset(members)
