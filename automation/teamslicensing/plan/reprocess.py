"""Whom `reprocess` asks Entra to process again: members whose group-based license is in error. Pure.

Entra retries nothing by itself once a member's assignment failed (CountViolation after seats were bought, a usage
location fixed later); `POST /users/{id}/reprocessLicenseAssignment` makes it evaluate every group of the user
again (there is no group-level reprocess in Graph v1.0).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from teamslicensing.model.tenant import Tenant, TenantUser
from teamslicensing.plan.selection import GroupNames


@dataclass(frozen=True)
class ReprocessTarget:
    user_id: str
    user_principal_name: str
    reason: str  # the errors seen, or "asked for by name"


def reprocess_targets(
    tenant: Tenant, groups: Collection[str], users: Collection[str]
) -> tuple[list[ReprocessTarget], list[str]]:
    """Members of `groups` with a license error from that group, and `users` (by UPN or id) whatever their state;
    and the names that matched nothing."""
    problems: list[str] = []
    by_id = {user.id: user for user in tenant.users}
    by_upn = {user.user_principal_name.lower(): user for user in tenant.users}
    targets: dict[str, ReprocessTarget] = {}
    names = GroupNames.of(tenant)
    for name in groups:
        group, why = names.find(name)
        if group is None:
            problems.append(f"group '{name}': {why}")
            continue
        for member_id in sorted(group.licensed_members):
            user = by_id.get(member_id)
            errors = _errors(user, group.id) if user is not None else []
            if user is not None and errors:
                why = f"group '{group.display_name}': {', '.join(errors)}"
                targets.setdefault(user.id, ReprocessTarget(user.id, user.user_principal_name, why))
    for name in users:
        key = name.strip().lower()
        found = by_id.get(key) or by_upn.get(key)
        if found is None:
            problems.append(f"user '{name}': not found")
            continue
        targets.setdefault(found.id, ReprocessTarget(found.id, found.user_principal_name, "asked for by name"))
    return sorted(targets.values(), key=lambda t: t.user_principal_name.lower()), problems


def _errors(user: TenantUser, group_id: str) -> list[str]:
    return sorted(
        {f"{a.state or 'Error'} {a.error}" for a in user.licenses if a.assigned_by_group == group_id and a.error}
    )
