"""Views of one finished plan for one question: `plan --user/--rule` (only what concerns those users or rules) and
`explain UPN` (why a user is in or out of the plan). Both read the plan's decisions: the rules that select a user
and how, the action and its reasons are the planner's own, never worked out again here. The plan itself is always
computed whole, so seats stay right.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Collection, Iterator

from teamslicensing.model.desired import DesiredState
from teamslicensing.model.plan import Action, Decision, Gap, GapCode, Plan
from teamslicensing.model.tenant import Tenant, TenantUser
from teamslicensing.reference.productnames import named

_GAP_CODES = frozenset(code.value for code in GapCode)
_HEADLINES = {
    Action.CHANGE: "CHANGE: the plan changes this user",
    Action.NONE: "NONE: already as declared",
    Action.WITHHELD: "WITHHELD: a change was wanted, and a gap below holds it back",
    Action.PROTECTED: "PROTECTED: never changed, only reported",
    Action.SKIPPED: "SKIPPED: left out of this run",
}


def rule_members(plan: Plan, rule_names: Collection[str]) -> set[str]:
    """Ids of the users the named rules select (after their exclusions), as the plan's decisions record it."""
    wanted = {name.lower() for name in rule_names}
    return {d.user_id for d in plan.decisions if any(match.rule.lower() in wanted for match in d.rules)}


def filter_plan(plan: Plan, tenant: Tenant, users: Collection[str], rules: Collection[str]) -> Plan:
    """What the plan says about `users` (UPNs or ids) and `rules` (names): a union within each kind, an
    intersection of the two kinds when both are given. Tenant-wide gaps stay (they concern everybody); seats are
    the whole plan's."""
    chosen: set[str] | None = None
    named = {name.strip().lower() for name in users}
    if users:
        chosen = {u.id for u in tenant.users if u.id in named or u.user_principal_name.lower() in named}
    if rules:
        members = rule_members(plan, rules)
        chosen = members if chosen is None else chosen & members
    if chosen is None:
        return plan
    # a user the tenant lacks can still have gaps (USER_NOT_FOUND), named as the file names them
    keep_names = named if not rules else set()
    changes = tuple(c for c in plan.changes if c.user_id in chosen)
    gaps = tuple(g for g in plan.gaps if _concerns(g, chosen, keep_names))
    decisions = tuple(d for d in plan.decisions if d.user_id in chosen)
    return dataclasses.replace(plan, changes=changes, gaps=gaps, group_changes=(), decisions=decisions)


def _concerns(gap: Gap, chosen: set[str], names: set[str]) -> bool:
    if gap.user_principal_name is None:
        return True
    return gap.user_id in chosen or gap.user_principal_name.lower() in names


def knows(tenant: Tenant, plan: Plan, who: str) -> bool:
    """Whether `who` (UPN or id) is a user the tenant read has, or one the plan decided on (read, not readably)."""
    key = who.strip().lower()
    return any(key in (u.id, u.user_principal_name.lower()) for u in tenant.users) or any(
        key in (d.user_id, d.user_principal_name.lower()) for d in plan.decisions
    )


def close_names(tenant: Tenant, who: str) -> list[str]:
    """The tenant's userPrincipalNames closest to a mistyped `who`, best first (at most three)."""
    names = {u.user_principal_name.lower(): u.user_principal_name for u in tenant.users}
    return [names[n] for n in difflib.get_close_matches(who.strip().lower(), list(names), n=3, cutoff=0.8)]


def explain_user(desired: DesiredState, tenant: Tenant, plan: Plan, who: str) -> Iterator[str]:
    """Why `who` (UPN or id) is in or out of the plan: the plan's decision (action, the rules that select them and
    how, every reason), what they hold and from where, and the planned change."""
    key = who.strip().lower()
    user = next((u for u in tenant.users if u.id == key or u.user_principal_name.lower() == key), None)
    decision = next((d for d in plan.decisions if key in (d.user_id, d.user_principal_name.lower())), None)
    if user is None:
        if decision is not None:  # read, but not readably: the decision says why
            yield f"{decision.user_principal_name}: {_HEADLINES[decision.action]}"
            yield from (f"  - {reason.code}: {reason.message}" for reason in decision.reasons)
        else:
            yield f"{who}: not in the tenant read (a typo, a deleted account, or outside a scoped read: --read all)"
        return
    yield f"{user.user_principal_name} ({user.id})"
    state = "enabled" if user.account_enabled else "DISABLED"
    yield f"  account {state}; usage location {user.usage_location or 'none'}"
    severities = {g.code.value: g.severity.value for g in plan.gaps if g.user_id == user.id}
    yield from _decision_lines(desired, decision, severities)
    yield from _group_licenses(desired, tenant, user)
    yield from _holdings(tenant, user)
    yield from _planned(plan, user)
    tenant_wide = [g for g in plan.gaps if g.user_principal_name is None]
    if tenant_wide:
        codes = ", ".join(sorted({f"{g.code.value} {g.sku_part_number or ''}".strip() for g in tenant_wide}))
        yield f"Tenant-wide gaps that may hold back this user's licenses ({len(tenant_wide)}): {codes}"


def _decision_lines(desired: DesiredState, decision: Decision | None, severities: dict[str, str]) -> Iterator[str]:
    if decision is None:
        yield "Decision: none: no rule selects this user and they hold no license this file manages"
        return
    yield f"Decision: {_HEADLINES[decision.action]}"
    yield "Rules:"
    assigns = {rule.name: ", ".join(named(ref.ref) for ref in rule.assign) for rule in desired.rules}
    for match in decision.rules:
        how = "; ".join(by.describe() for by in match.how)
        yield f"  - {match.rule}: selects ({how}): assigns {assigns.get(match.rule, '?')}"
    if not decision.rules:
        yield "  - no rule selects this user"
    yield f"Why ({len(decision.reasons)}):"
    for reason in decision.reasons:
        kind = f"{severities.get(reason.code, 'gap')} " if reason.code in _GAP_CODES else ""
        yield f"  - {kind}{reason.code}: {reason.message}"


def _group_licenses(desired: DesiredState, tenant: Tenant, user: TenantUser) -> Iterator[str]:
    """The managed groups whose licenses reach the user (Entra licenses direct members only), or do not."""
    lines = []
    for entry in desired.group_licenses:
        name = entry.group.strip().lower()
        group = next((g for g in tenant.groups if name in (g.id, g.display_name.lower())), None)
        if group is None or user.id not in group.members:
            continue
        licenses = ", ".join(ref.ref for ref in entry.assign)
        if user.id not in group.licensed_members:
            lines.append(
                f"  - {entry.group}: a member only through a nested group: Entra does not give them {licenses}"
            )
            continue
        migrate = "; migrateDirect: direct copies go once the group's copy is Active" if entry.migrate_direct else ""
        lines.append(f"  - {entry.group}: direct member: Entra gives {licenses}{migrate}")
    if lines:
        yield "Group licenses (groupLicenses):"
        yield from lines


def _holdings(tenant: Tenant, user: TenantUser) -> Iterator[str]:
    names = {sku.sku_id: sku.part_number for sku in tenant.skus}
    groups = {g.id: g.display_name for g in tenant.groups} | dict(tenant.group_names)
    yield "Holds:"
    if not user.licenses:
        yield "  - nothing"
    for assignment in user.licenses:
        group = assignment.assigned_by_group
        source = "direct" if assignment.is_direct else f"from group '{groups.get(group or '') or group or '?'}'"
        plans = f"; disabled plans: {len(assignment.disabled_plans)}" if assignment.disabled_plans else ""
        status = f"; {assignment.state}" if assignment.state and assignment.state != "Active" else ""
        error = f" ({assignment.error})" if assignment.error else ""
        yield f"  - {named(names.get(assignment.sku_id, assignment.sku_id))}: {source}{plans}{status}{error}"


def _planned(plan: Plan, user: TenantUser) -> Iterator[str]:
    change = next((c for c in plan.changes if c.user_id == user.id), None)
    yield "Planned change:"
    if change is None:
        yield "  - none"
        return
    if change.set_usage_location:
        yield f"  ~ usage location = {change.set_usage_location}"
    yield from (f"  + {named(a.sku_part_number)}" for a in change.add_licenses)
    yield from (f"  - {named(r.sku_part_number)}" for r in change.remove_licenses)
    for number in change.number_changes:
        sign = {"assign": "+", "unassign": "-"}.get(number.action.value, "~")
        where = f", location {number.location_id}" if number.location_id else ""
        yield f"  {sign} number {number.number} ({number.number_type}{where})"
    yield from (f"  + policy {p.policy_type} = {p.policy_name}" for p in change.policy_changes)
    if change.destructive:
        yield "  !! DESTRUCTIVE: takes the user's last phone-system or calling-plan plan (and number)"
