"""Views of one finished plan for one question: `plan --user/--rule` (only what concerns those users or rules) and
`explain UPN` (why a user is in or out of the plan). Pure: the desired state, the tenant and the plan in, a
filtered plan or lines of explanation out. The plan itself is always computed whole, so seats stay right.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator

from teamslicensing.model.desired import DesiredState, UserSelector
from teamslicensing.model.plan import Plan
from teamslicensing.model.tenant import Tenant, TenantGroup, TenantUser
from teamslicensing.plan.selection import Selection


def rule_members(desired: DesiredState, tenant: Tenant, rule_names: Collection[str]) -> set[str]:
    """Ids of the users the named rules select (after their exclusions)."""
    users_by_id = {user.id: user for user in tenant.users}
    selection = Selection(tenant, users_by_id, desired.selected_attributes)
    wanted = {name.lower() for name in rule_names}
    found: set[str] = set()
    for rule in desired.rules:
        if rule.name.lower() in wanted:
            chosen, _ = selection.members(rule.select, users_must_exist=False)
            excluded, _ = selection.members(rule.exclude, users_must_exist=False)
            found |= chosen - excluded
    return found


def filter_plan(
    plan: Plan, desired: DesiredState, tenant: Tenant, users: Collection[str], rules: Collection[str]
) -> Plan:
    """What the plan says about `users` (UPNs or ids) and `rules` (names): a union within each kind, an
    intersection of the two kinds when both are given. Tenant-wide gaps stay (they concern everybody); seats are
    the whole plan's."""
    by_id = {user.id: user for user in tenant.users}
    chosen: set[str] | None = None
    if users:
        wanted = {name.strip().lower() for name in users}
        chosen = {u.id for u in tenant.users if u.id in wanted or u.user_principal_name.lower() in wanted}
    if rules:
        members = rule_members(desired, tenant, rules)
        chosen = members if chosen is None else chosen & members
    if chosen is None:
        return plan
    upns = {by_id[user_id].user_principal_name.lower() for user_id in chosen if user_id in by_id}
    named = {name.strip().lower() for name in users}  # a user the tenant lacks can still have gaps (USER_NOT_FOUND)
    keep_upns = upns | (named if not rules else set())
    changes = tuple(c for c in plan.changes if c.user_id in chosen)
    gaps = tuple(g for g in plan.gaps if g.user_principal_name is None or g.user_principal_name.lower() in keep_upns)
    return dataclasses.replace(plan, changes=changes, gaps=gaps, group_changes=())


def explain_user(desired: DesiredState, tenant: Tenant, plan: Plan, who: str) -> Iterator[str]:
    """Why `who` (UPN or id) is in or out of the plan: the rules that select them and how, exclusions,
    protection, what they hold and from where, the planned change and every gap with its reason."""
    key = who.strip().lower()
    user = next((u for u in tenant.users if u.id == key or u.user_principal_name.lower() == key), None)
    if user is None:
        unreadable = next(
            (u for u in tenant.unreadable if key in (u.user_id, (u.user_principal_name or "").lower())), None
        )
        if unreadable is not None:
            reason = unreadable.reason
            yield f"{who}: the tenant source returned this user unreadably ({reason}): left out of every change"
        else:
            yield f"{who}: not in the tenant read (a typo, a deleted account, or outside a scoped read: --read all)"
        return
    yield f"{user.user_principal_name} ({user.id})"
    state = "enabled" if user.account_enabled else "DISABLED"
    yield f"  account {state}; usage location {user.usage_location or 'none'}"
    users_by_id = {u.id: u for u in tenant.users}
    selection = Selection(tenant, users_by_id, desired.selected_attributes)
    groups = {g.id: g for g in tenant.groups}
    yield "Rules:"
    any_rule = False
    for rule in desired.rules:
        reasons = list(_why_selected(rule.select, user, selection, groups))
        excluded = list(_why_selected(rule.exclude, user, selection, groups))
        if not reasons:
            continue
        any_rule = True
        licenses = ", ".join(ref.ref for ref in rule.assign)
        if excluded:
            yield f"  - {rule.name}: selects ({'; '.join(reasons)}) but EXCLUDES ({'; '.join(excluded)}): gives nothing"
        else:
            yield f"  - {rule.name}: selects ({'; '.join(reasons)}): assigns {licenses}"
    licensing = list(_group_licenses(desired, user, selection))
    if not any_rule:
        prune = desired.policy.prune and not licensing
        yield "  - no rule selects this user" + (
            " (prune may remove the managed voice add-ons it holds)" if prune else ""
        )
    if licensing:
        yield "Group licenses (groupLicenses):"
        yield from licensing
    protection = _protection(desired, user, selection)
    if protection:
        yield f"  protected: {protection}: never changed, only reported"
    names = {sku.sku_id: sku.part_number for sku in tenant.skus}
    yield "Holds:"
    if not user.licenses:
        yield "  - nothing"
    for assignment in user.licenses:
        source = (
            "direct"
            if assignment.is_direct
            else f"from group '{_group_name(groups, tenant, assignment.assigned_by_group)}'"
        )
        plans = f"; disabled plans: {len(assignment.disabled_plans)}" if assignment.disabled_plans else ""
        status = f"; {assignment.state}" if assignment.state and assignment.state != "Active" else ""
        error = f" ({assignment.error})" if assignment.error else ""
        yield f"  - {names.get(assignment.sku_id, assignment.sku_id)}: {source}{plans}{status}{error}"
    change = next((c for c in plan.changes if c.user_id == user.id), None)
    yield "Planned change:"
    if change is None:
        yield "  - none"
    else:
        if change.set_usage_location:
            yield f"  ~ usage location = {change.set_usage_location}"
        yield from (f"  + {a.sku_part_number}" for a in change.add_licenses)
        yield from (f"  - {r.sku_part_number}" for r in change.remove_licenses)
        if change.destructive:
            yield "  !! DESTRUCTIVE: takes the user's last phone-system or calling-plan plan (and number)"
    gaps = [g for g in plan.gaps if (g.user_principal_name or "").lower() == user.user_principal_name.lower()]
    yield f"Gaps ({len(gaps)}):"
    for gap in gaps:
        sku = f" {gap.sku_part_number}" if gap.sku_part_number else ""
        yield f"  - {gap.severity.value} {gap.code.value}{sku}: {gap.message}"
    tenant_wide = [g for g in plan.gaps if g.user_principal_name is None]
    if tenant_wide:
        codes = ", ".join(sorted({f"{g.code.value} {g.sku_part_number or ''}".strip() for g in tenant_wide}))
        yield f"Tenant-wide gaps that may hold back this user's licenses ({len(tenant_wide)}): {codes}"


def _why_selected(
    selector: UserSelector, user: TenantUser, selection: Selection, groups: dict[str, TenantGroup]
) -> Iterator[str]:
    for name in selector.groups:
        members, _ = selection.members(UserSelector(groups=(name,)), users_must_exist=False)
        if user.id in members:
            yield f"member of group '{name}' (transitively)"
    if user.id in selector.users or user.user_principal_name.lower() in selector.users:
        yield "listed by name"
    if selector.attributes:
        members, _ = selection.members(UserSelector(attributes=selector.attributes), users_must_exist=False)
        if user.id in members:
            yield "attributes " + ", ".join(f"{name} in {sorted(values)}" for name, values in selector.attributes)


def _group_licenses(desired: DesiredState, user: TenantUser, selection: Selection) -> Iterator[str]:
    """The managed groups whose licenses reach the user (Entra licenses direct members only), or do not."""
    for entry in desired.group_licenses:
        group, _ = selection.groups.find(entry.group)
        if group is None or user.id not in group.members:
            continue
        licenses = ", ".join(ref.ref for ref in entry.assign)
        if user.id not in group.licensed_members:
            yield f"  - {entry.group}: a member only through a nested group: Entra does not give them {licenses}"
            continue
        migrate = "; migrateDirect: direct copies go once the group's copy is Active" if entry.migrate_direct else ""
        yield f"  - {entry.group}: direct member: Entra gives {licenses}{migrate}"


def _protection(desired: DesiredState, user: TenantUser, selection: Selection) -> str | None:
    policy = desired.policy
    if user.user_principal_name.lower() in policy.protected_users or user.id in policy.protected_users:
        return "policy.protectedUsers"
    for name in policy.protected_groups:
        members, _ = selection.members(UserSelector(groups=(name,)), users_must_exist=False)
        if user.id in members:
            return f"member of protected group '{name}'"
    return None


def _group_name(groups: dict[str, TenantGroup], tenant: Tenant, group_id: str | None) -> str:
    group = groups.get(group_id or "")
    name = (group.display_name if group else None) or tenant.group_names.get(group_id or "")
    return name or group_id or "?"
