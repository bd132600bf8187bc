"""What a saved plan's changes rested on, and whether it still holds: per changed user the state its safety rested
on (licenses with disabled plans, usage location, attributes the rules read, group memberships, phone numbers when
the inventory was read), per changed group its licenses and direct members. At apply time each is compared with the
tenant as it is: a user or group that differs is STALE and is not written, since what was reviewed no longer
describes them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from teamslicensing.apply.teamsbasis import LABELS, teams_basis, teams_done
from teamslicensing.model.outcome import IN_SYNC, STALE, UserResult
from teamslicensing.model.plan import GroupChange, UserChange
from teamslicensing.model.tenant import Tenant, TenantGroup, TenantUser

_LABELS = {
    "accountEnabled": "account status",
    "licenses": "licenses",
    "attributes": "attributes the rules select on",
    "usageLocation": "usage location",
    "groups": "group memberships",
    "phoneNumbers": "phone numbers",
    **LABELS,
}


def user_basis(
    user: TenantUser,
    tenant: Tenant,
    groups: Mapping[str, list[str]] | None = None,
    change: UserChange | None = None,
) -> dict[str, Any]:
    """What a change for `user` rested on, in the saved plan's encoding: everything the planner read of them, and
    what the change's numbers and policies rest on (`teamsbasis`). `groups`: the tenant's group ids by member
    (`groups_by_member`), when many users are asked about."""
    numbers = tenant.numbers_by_user.get(user.id, ()) if tenant.numbers is not None else None
    licenses = [
        {
            "skuId": a.sku_id,
            "disabledPlans": sorted(a.disabled_plans),
            "assignedByGroup": a.assigned_by_group,
            "state": a.state,
        }
        for a in user.licenses
    ]
    return {
        "accountEnabled": user.account_enabled,
        "licenses": sorted(licenses, key=lambda lic: (lic["skuId"], lic["assignedByGroup"] or "")),
        "usageLocation": user.usage_location,
        "attributes": dict(sorted(user.attributes.items())),
        "groups": sorted(
            groups.get(user.id, []) if groups is not None else (g.id for g in tenant.groups if user.id in g.members)
        ),
        "phoneNumbers": None if numbers is None else sorted(str(n) for n in numbers),
        **teams_basis(change, tenant),
    }


def group_basis(group: TenantGroup) -> dict[str, Any]:
    """What a group change rests on: the group's licenses and its direct members (as a digest: they may be many)."""
    members = sorted(group.licensed_members)
    return {
        "licenses": sorted([a.sku_id, sorted(a.disabled_plans)] for a in group.licenses or ()),
        "directMembers": hashlib.sha256("\n".join(members).encode()).hexdigest(),
    }


def stale_groups(
    changes: Sequence[GroupChange], basis: Mapping[str, Mapping[str, Any]], tenant: Tenant
) -> tuple[tuple[GroupChange, ...], tuple[UserResult, ...]]:
    """The group changes whose groups are as recorded (same licenses, same direct members); the others STALE: a
    member who joined since may hold a number the plan never judged."""
    groups = {group.id: group for group in tenant.groups}
    fresh: list[GroupChange] = []
    stale: list[UserResult] = []
    for change in changes:
        group = groups.get(change.group_id)
        recorded = basis.get(change.group_id)
        if group is not None and recorded is not None and group_basis(group) == dict(recorded):
            fresh.append(change)
        else:
            why = "the group's licenses or direct members changed since the plan was made: plan again"
            stale.append(UserResult(change.group_id, change.group_name, STALE, why))
    return tuple(fresh), tuple(stale)


def compact(basis: Mapping[str, Any]) -> str:
    """A recorded state as the text it is kept and compared as (keys sorted, no spaces)."""
    return json.dumps(basis, sort_keys=True, separators=(",", ":"))


def stale_users(
    changes: Sequence[UserChange], basis: Mapping[str, str], tenant: Tenant
) -> tuple[tuple[UserChange, ...], tuple[UserResult, ...]]:
    """The changes whose users are as recorded now (`basis`: `compact` text per user id); for each other user a
    result: IN_SYNC when they already hold what the change gives (an earlier run of this plan), else STALE."""
    users = {user.id: user for user in tenant.users}
    groups = groups_by_member(tenant)
    fresh: list[UserChange] = []
    stale: list[UserResult] = []
    for change in changes:
        user = users.get(change.user_id)
        text = basis.get(change.user_id)
        if user is not None and text is not None and compact(user_basis(user, tenant, groups, change)) == text:
            fresh.append(change)  # the common case, without parsing the record
            continue
        recorded = json.loads(text) if text is not None else None
        why = _difference(recorded, user, tenant, change)
        if why is None:
            fresh.append(change)
        elif user is not None and recorded is not None and _already_done(recorded, change, user, tenant):
            # this plan's own change, made by an earlier run of it (a wave, a re-run job): done, not stale
            stale.append(
                UserResult(change.user_id, change.user_principal_name, IN_SYNC, "already in the planned state")
            )
        else:
            stale.append(UserResult(change.user_id, change.user_principal_name, STALE, why))
    return tuple(fresh), tuple(stale)


def groups_by_member(tenant: Tenant) -> dict[str, list[str]]:
    """Group ids by member id: asking every group of every user made checking 100,000 users quadratic-ish."""
    by_member: dict[str, list[str]] = {}
    for group in tenant.groups:
        for member in group.members:
            by_member.setdefault(member, []).append(group.id)
    return by_member


def _already_done(recorded: Mapping[str, Any], change: UserChange, user: TenantUser, tenant: Tenant) -> bool:
    direct = change.applied_to(
        {
            str(lic["skuId"]).lower(): frozenset(map(str, lic.get("disabledPlans") or []))
            for lic in recorded.get("licenses") or []
            if not lic.get("assignedByGroup")
        }
    )
    location = change.set_usage_location or recorded.get("usageLocation")
    licensed = user.direct_licenses() == direct and (user.usage_location or None) == (location or None)
    return licensed and teams_done(change, tenant)


def _difference(
    recorded: Mapping[str, Any] | None, user: TenantUser | None, tenant: Tenant, change: UserChange
) -> str | None:
    if user is None:
        return "the user no longer exists"
    if recorded is None:
        return "the plan file has no record of this user's state"
    now = user_basis(user, tenant, change=change)
    changed = [
        label
        for key, label in _LABELS.items()
        if not (key == "phoneNumbers" and (recorded.get(key) is None or now[key] is None))
        and _normal(recorded.get(key)) != _normal(now.get(key))
    ]
    if not changed:
        return None
    return f"{' and '.join(changed)} changed since the plan was made: plan again"


def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))
