"""Group-based licensing (groupLicenses): each managed group's own license change, what it will give each direct
member once Entra has processed it, and which direct copies may go (migrateDirect). Pure.

Entra's rules followed (docs/explanation/facts.md, *Group-based licensing*): a group's licenses reach its *direct* user
members only, never members of nested groups; processing is asynchronous, and each member's result is on record in
`licenseAssignmentStates` (`assignedByGroup`, `state`, `error`); a user holding a SKU directly and through a group takes
one seat; a member without a usage location is licensed with the tenant's country.

What the rest of the planner gets: `members_after` (the members as they will be: the group's SKUs as inherited
assignments), so their direct adds are skipped and every prerequisite is judged on that end state; `covered` (SKUs
a managed group gives a user: never pruned as "no rule gives it"); `migrations` (direct copies whose group copy is
already Active with at least the same plans: removed without losing anything); and the seats the group writes take.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from teamslicensing.model.desired import DesiredGroupLicense, DesiredState, LicenseRef
from teamslicensing.model.plan import Gap, GapCode, GroupChange, LicenseAdd, LicenseRemove, Severity
from teamslicensing.model.tenant import LicenseAssignment, PhoneNumber, Tenant, TenantGroup, TenantSku, TenantUser
from teamslicensing.model.words import counted
from teamslicensing.plan.context import configured_usage_location
from teamslicensing.plan.numberloss import member_loses_number
from teamslicensing.plan.selection import GroupNames
from teamslicensing.plan.voicerules import VoiceRules

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
# the state of a copy a managed group will give once Entra processes the write: it spares the member a direct add
# and counts for the prerequisites of the end state, never for whether a direct copy may go
PENDING = "Pending"

DisabledPlans = Callable[[str, Mapping[LicenseRef, tuple[str, ...]], LicenseRef, TenantSku], frozenset[str] | None]


_Shared = TypeVar("_Shared", bound=Hashable)


@dataclass
class GroupPlanning:
    changes: list[GroupChange] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    members_after: dict[str, TenantUser] = field(default_factory=dict)
    covered: dict[str, frozenset[str]] = field(default_factory=dict)
    migrations: dict[str, frozenset[str]] = field(default_factory=dict)
    usage_locations: dict[str, str] = field(default_factory=dict)  # member id -> country to set first
    # members as they hold licenses for sure whatever Entra does next: copies not yet processed left out, planned
    # group removals and newly disabled plans already applied; removals of direct copies are judged on this
    members_sure: dict[str, TenantUser] = field(default_factory=dict)
    seat_members: dict[str, set[str]] = field(default_factory=dict)  # sku -> members a group write gives a seat
    # equal immutable values (pending copies, SKU sets, messages), one object each: a group's 100,000 members share
    # them instead of holding 100,000 copies
    shared: dict[Hashable, Any] = field(default_factory=dict)

    @property
    def seats(self) -> Counter[str]:
        """Seats the group writes take per SKU: one per member a write gives it who holds it no other way."""
        return Counter({sku: len(members) for sku, members in self.seat_members.items()})

    def share(self, value: _Shared) -> _Shared:
        found: _Shared = self.shared.setdefault(value, value)
        return found


@dataclass(frozen=True)
class GroupInputs:
    """What the whole-tenant planner has resolved by the time group licensing is planned."""

    desired: DesiredState
    tenant: Tenant
    users_by_id: Mapping[str, TenantUser]
    sku_of: Mapping[LicenseRef, TenantSku]
    assignable: frozenset[str]
    managed: frozenset[str]
    prunable: frozenset[str]  # managed SKUs prune may remove: voice add-ons, and what policy.pruneAlso names
    voice: VoiceRules
    numbers: Mapping[str, tuple[PhoneNumber, ...]] | None
    disabled_plans: DisabledPlans
    country_code: Callable[[str], str | None]
    skipped: Callable[[TenantUser], bool]  # protected or disabled: no direct copy of theirs is removed


def plan_group_licenses(inputs: GroupInputs) -> GroupPlanning:
    result = GroupPlanning()
    names = GroupNames.of(inputs.tenant)
    for entry in inputs.desired.group_licenses:
        group, why = names.find(entry.group)
        if group is None:
            message = f"groupLicenses names group '{entry.group}': {why}; nothing is assigned through it"
            result.gaps.append(Gap(GapCode.GROUP_NOT_FOUND, ERROR, None, None, message))
            continue
        _plan_group(inputs, entry, group, result)
    return result


def _plan_group(inputs: GroupInputs, entry: DesiredGroupLicense, group: TenantGroup, result: GroupPlanning) -> None:
    label = f"group '{group.display_name or group.id}'"
    current = {a.sku_id: a.disabled_plans for a in group.licenses or ()}
    wanted: dict[str, frozenset[str] | None] = {}
    listed: set[str] = set()  # every SKU the entry names, assignable or not: never "no longer assigned"
    for ref in entry.assign:
        subscription = inputs.sku_of.get(ref)
        if subscription is None:
            continue
        listed.add(subscription.sku_id)
        if subscription.sku_id in inputs.assignable:
            off = inputs.disabled_plans(f"groupLicenses {label}", entry.disabled_plans, ref, subscription)
            wanted[subscription.sku_id] = off
    members = [inputs.users_by_id[m] for m in sorted(group.licensed_members) if m in inputs.users_by_id]
    adds = {
        sku: (off if off is not None else current.get(sku, frozenset()))
        for sku, off in wanted.items()
        if sku not in current or (off is not None and off != current[sku])
    }
    for sku in [s for s in adds if s in current]:  # new disabled plans: a number may hang on a plan turned off
        at_risk = [m for m in members if _loses_number(inputs, group, _sure(result, m), sku, adds[sku] | current[sku])]
        if at_risk and not inputs.desired.policy.allow_number_loss:
            result.gaps.append(_number_gap(inputs, label, sku, at_risk, "disabling plans of"))
            del adds[sku]
    removes = _removals(inputs, group, label, current, listed, members, result) if inputs.desired.policy.prune else []
    after = {**current, **adds}
    for sku in removes:
        after.pop(sku, None)
    part = {sku.sku_id: sku.part_number for sku in inputs.tenant.skus}.get
    new_seats = [_new_seats(sku, members, result) for sku in adds if sku not in current]
    if adds or removes:
        result.changes.append(
            GroupChange(
                group_id=group.id,
                group_name=group.display_name or group.id,
                add_licenses=tuple(LicenseAdd(s, part(s) or s, tuple(sorted(off))) for s, off in adds.items()),
                remove_licenses=tuple(LicenseRemove(s, part(s) or s) for s in removes),
                members=len(members),
                new_seats=tuple(new_seats),
                disables_plans=any(sku in current and not adds[sku] <= current[sku] for sku in adds),
            )
        )
    if group.processing_state and group.processing_state != "ProcessingComplete":
        message = (
            f"{label}: Entra is still processing its licenses ({group.processing_state}); the next run reads the result"
        )
        result.gaps.append(Gap(GapCode.GROUP_LICENSE_PENDING, INFO, None, None, message))
    _nested_members(inputs, group, label, group.licensed_members, after, result)
    for member in members:
        _member(inputs, entry, group, label, member, after, result)
        _settle(result, member, group, current, removes, adds)


def _new_seats(sku: str, members: Sequence[TenantUser], result: GroupPlanning) -> tuple[str, int]:
    """The seats of `sku` a group write takes: members who hold it no other way, each counted once however many
    managed groups they are a direct member of."""
    counted = result.seat_members.setdefault(sku, set())
    fresh = {
        m.id for m in members if m.id not in counted and not any(a.sku_id == sku and a.grants_plans for a in m.licenses)
    }
    counted |= fresh
    return sku, len(fresh)


def _removals(
    inputs: GroupInputs,
    group: TenantGroup,
    label: str,
    current: Mapping[str, frozenset[str]],
    listed: set[str],
    members: list[TenantUser],
    result: GroupPlanning,
) -> list[str]:
    """Managed SKUs the group has and the entry no longer names: removed with prune (a suite or bundle only when
    policy.pruneAlso names it, as for users), unless a member would lose a phone number (the same protection users
    get; policy.allowNumberLoss lifts it), judged on what the member holds for sure once every group planned before
    this one has changed too."""
    removes = []
    for sku in sorted(current):
        if sku in listed or sku not in inputs.managed:
            continue
        if sku not in inputs.prunable:
            message = (
                f"{label}: {_part(inputs, sku)} carries more than voice (a suite or bundle), so prune leaves it with "
                f"the group and its {counted(len(members), 'direct member')}; name it in policy.pruneAlso to remove it"
            )
            result.gaps.append(Gap(GapCode.PRUNE_LIMITED_TO_VOICE, INFO, None, _part(inputs, sku), message, None, sku))
            continue
        at_risk = [m for m in members if _loses_number(inputs, group, _sure(result, m), sku, None)]
        if at_risk and not inputs.desired.policy.allow_number_loss:
            result.gaps.append(_number_gap(inputs, label, sku, at_risk, "removing"))
            continue
        removes.append(sku)
    return removes


def _number_gap(inputs: GroupInputs, label: str, sku: str, at_risk: list[TenantUser], doing: str) -> Gap:
    names = ", ".join(m.user_principal_name for m in at_risk[:5]) + (" …" if len(at_risk) > 5 else "")
    message = (
        f"{label}: {doing} {_part(inputs, sku)} in the group would take the phone number of "
        f"{counted(len(at_risk), 'member')} ({names}): withheld; give them the plan another way first"
    )
    return Gap(GapCode.PHONE_NUMBER_AT_RISK, WARNING, None, _part(inputs, sku), message, None, sku)


def _sure(result: GroupPlanning, member: TenantUser) -> TenantUser:
    return result.members_sure.get(member.id, member)


def _settle(
    result: GroupPlanning,
    member: TenantUser,
    group: TenantGroup,
    current: Mapping[str, frozenset[str]],
    removes: list[str],
    adds: Mapping[str, frozenset[str]],
) -> None:
    """What the member holds for sure after this group's write: its removed copies gone, its re-planned copies
    with the plans off in either state (Entra applies the change later), new copies not counted yet."""
    base = _sure(result, member)
    kept = []
    for a in base.licenses:
        if a.assigned_by_group == group.id and a.sku_id in removes:
            continue
        if a.assigned_by_group == group.id and a.sku_id in adds and a.sku_id in current:
            a = dataclasses.replace(a, disabled_plans=a.disabled_plans | adds[a.sku_id])
        kept.append(a)
    # every member is recorded (the planner reads the pending state for those absent); an unchanged one as itself
    unchanged = tuple(kept) == base.licenses
    result.members_sure[member.id] = base if unchanged else dataclasses.replace(base, licenses=tuple(kept))


def _loses_number(
    inputs: GroupInputs, group: TenantGroup, member: TenantUser, sku: str, disabled: frozenset[str] | None
) -> bool:
    """Whether taking the group's copy of `sku` away (or, with `disabled`, turning those plans off in it) takes the
    member's number (`numberloss.member_loses_number`, as for a user's own removal)."""
    return member_loses_number(inputs.voice, inputs.numbers, member, group.id, sku, disabled)


def _nested_members(
    inputs: GroupInputs,
    group: TenantGroup,
    label: str,
    direct: frozenset[str],
    after: Mapping[str, frozenset[str]],
    result: GroupPlanning,
) -> None:
    if group.direct_members is None or not after:
        return
    for member_id in sorted(group.members - direct):
        user = inputs.users_by_id.get(member_id)
        if user is None:
            continue
        message = (
            f"a member of {label} only through a nested group: Entra licenses direct members only, so the group's "
            "licenses do not reach this user; add them to the group directly (or select them with a rule)"
        )
        result.gaps.append(
            Gap(GapCode.GROUP_LICENSE_NOT_INHERITED, WARNING, user.user_principal_name, None, message, user.id)
        )


def _member(
    inputs: GroupInputs,
    entry: DesiredGroupLicense,
    group: TenantGroup,
    label: str,
    member: TenantUser,
    after: Mapping[str, frozenset[str]],
    result: GroupPlanning,
) -> None:
    """The member as Entra will leave them, and what their direct copies may do (migrateDirect)."""
    ours = {a.sku_id: a for a in member.licenses if a.assigned_by_group == group.id}
    base = result.members_after.get(member.id, member)  # another managed group may have planned this member
    kept = [a for a in base.licenses if a.assigned_by_group != group.id or a.sku_id in after]
    for sku, off in after.items():
        existing = next((a for a in kept if a.sku_id == sku and a.assigned_by_group == group.id), None)
        if existing is None:
            kept.append(result.share(LicenseAssignment(sku, off, group.id, state=PENDING)))
        elif existing.disabled_plans != off and existing.grants_plans:
            kept[kept.index(existing)] = dataclasses.replace(existing, disabled_plans=off)
    # an unchanged member stays itself (as in _settle): no copy per member of a group that is already in place
    unchanged = tuple(kept) == base.licenses
    result.members_after[member.id] = base if unchanged else dataclasses.replace(base, licenses=tuple(kept))
    given = result.share(frozenset(after))
    previous = result.covered.get(member.id)
    result.covered[member.id] = given if previous is None or previous <= given else previous | given
    if not member.usage_location and not inputs.skipped(member):  # protected or disabled: never written
        _usage_location(inputs, entry, label, member, result)
    if entry.migrate_direct and not inputs.skipped(member):
        _migration(inputs, label, member, after, ours, result)


def _migration(
    inputs: GroupInputs,
    label: str,
    member: TenantUser,
    after: Mapping[str, frozenset[str]],
    ours: Mapping[str, LicenseAssignment],
    result: GroupPlanning,
) -> None:
    """migrateDirect: the member's direct copies the group's copy now replaces without losing a plan, and a note
    for each one that must wait."""
    ready = set()
    for sku in after:
        direct = next((a for a in member.licenses if a.sku_id == sku and a.is_direct), None)
        if direct is None:
            continue
        copy = ours.get(sku)
        if (
            copy is not None
            and copy.state == "Active"
            and not copy.error
            and copy.disabled_plans <= direct.disabled_plans
            and after[sku] <= direct.disabled_plans  # and still once the group's planned plans apply
        ):
            ready.add(sku)  # the group copy enables every plan the direct one does: removing it loses nothing
            continue
        why = (
            "not yet processed by Entra"
            if copy is None
            else f"{copy.state or 'not Active'}{', ' + copy.error if copy.error else ''}"
            if copy.state != "Active" or copy.error
            else "it disables plans the direct copy enables"
        )
        message = (
            f"the direct copy stays until {label}'s copy is Active with the same plans ({why}); the next run continues"
        )
        result.gaps.append(
            Gap(
                GapCode.MIGRATION_WAITING,
                INFO,
                member.user_principal_name,
                _part(inputs, sku),
                result.share(message),
                member.id,
                sku,
            )
        )
    if ready:
        result.migrations[member.id] = result.share(frozenset(ready))


def _usage_location(
    inputs: GroupInputs, entry: DesiredGroupLicense, label: str, member: TenantUser, result: GroupPlanning
) -> None:
    """A Calling Plan follows the usage location, and Entra would use the tenant's country: set the configured one
    first where the file gives one, else say what will happen."""
    desired = inputs.desired
    levels = [
        (entry.usage_location_from, entry.usage_location),  # the entry's, then the defaults', as for a rule's user
        (desired.default_usage_location_from, desired.default_usage_location),
    ]
    location, _ = configured_usage_location(levels, member, inputs.country_code)
    if location:
        result.usage_locations[member.id] = location
        return
    message = (
        f"no usage location: Entra licenses this member of {label} with the tenant's country, and a Calling Plan "
        "follows it; set usageLocation (or usageLocationFrom) on the groupLicenses entry or in defaults"
    )
    result.gaps.append(
        Gap(GapCode.USAGE_LOCATION_FROM_TENANT, INFO, member.user_principal_name, None, message, member.id)
    )


def _part(inputs: GroupInputs, sku_id: str) -> str:
    sku = inputs.tenant.sku_by_id.get(sku_id)
    return sku.part_number if sku else sku_id
