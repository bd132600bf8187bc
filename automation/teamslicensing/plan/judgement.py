"""The one judgement every change passes before it may be written, whatever proposed it: the planner, an undo, or a
plan saved earlier. Pure: proposed changes + the tenant as it is + the safety policy -> the changes kept, a gap for
each change withheld, and what `apply` would refuse.

A change is held to, in order:
1. the user exists and is not protected (policy.protectedUsers, protectedGroups);
2. prune's reach: a removal made by prune is of a voice add-on, or of a license policy.pruneAlso names;
3. every license it adds comes from a subscription that can hand out licenses, to a user with a usage location;
4. number protection: it takes no phone number (judged with the Teams number inventory when there is one)
   unless policy.allowNumberLoss, and it leaves no Calling Plan without Phone System, no Credits without a
   prerequisite, where the user had them;
5. seats: a SKU's new assignments fit the seats free now plus those the kept changes free (a withheld change frees
   nothing), after what group license writes take.

A change is kept or withheld whole: a restore or a saved change half-written is neither the old state nor the new.
The planner trims its own changes finer, with the same rules (`safety`), so its output passes unchanged.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from teamslicensing.errors import ApplyRefusedError
from teamslicensing.model.capability import Capability
from teamslicensing.model.desired import DesiredPolicy
from teamslicensing.model.plan import (
    BLOCKING_CODES,
    Gap,
    GapCode,
    GroupChange,
    Plan,
    Refusal,
    RemovalReason,
    Severity,
    UserChange,
)
from teamslicensing.model.tenant import CARRIER_NUMBER_TYPES, PhoneNumber, Tenant, TenantUser, sku_for
from teamslicensing.plan.context import Draft, end_holding, holding_of
from teamslicensing.plan.selection import GroupNames
from teamslicensing.plan.voicerules import (
    VoiceRules,
    calling_plan_without_phone_system,
    credits_without_prerequisite,
)

NUMBER_KINDS = frozenset({Capability.PHONE_SYSTEM, Capability.RESOURCE_ACCOUNT})


@dataclass(frozen=True)
class Safety:
    """What every change is held to, from the configuration's policy (or, for undo, the command's options)."""

    max_changes: int
    max_removals: int
    allow_number_loss: bool = False
    protected_users: frozenset[str] = frozenset()  # lowercase UPNs or ids (policy.protectedUsers)
    protected_members: frozenset[str] = frozenset()  # user ids, the members of policy.protectedGroups
    prune_also: frozenset[str] = frozenset()  # sku ids policy.pruneAlso lets prune remove beyond voice add-ons
    managed: frozenset[str] | None = None  # sku ids the configuration assigns: no other is added (None: any, undo)


@dataclass(frozen=True)
class Judged:
    changes: tuple[UserChange, ...]  # the changes kept, their number-loss flags judged afresh
    withheld: tuple[tuple[UserChange, Gap], ...]  # each change withheld, as proposed, with the gap saying why

    @property
    def gaps(self) -> tuple[Gap, ...]:
        return tuple(gap for _, gap in self.withheld)


def judge(
    proposed: Sequence[UserChange],
    tenant: Tenant,
    safety: Safety,
    group_changes: Sequence[GroupChange] = (),
    voice: VoiceRules | None = None,
) -> Judged:
    """Hold each proposed change to the rules above; see the module docstring."""
    voice = voice or VoiceRules(tenant.sku_by_id)
    numbers, _ = believed_numbers(tenant, voice)
    users = {user.id: user for user in tenant.users}
    kept: list[UserChange] = []
    withheld: list[tuple[UserChange, Gap]] = []
    for change in proposed:
        user = users.get(change.user_id)
        verdict = _user_verdict(change, user, tenant, safety, voice, numbers)
        if isinstance(verdict, Gap):
            withheld.append((change, verdict))
        else:
            kept.append(verdict)
    seated, short = _within_seats(kept, users, tenant, group_changes)
    return Judged(tuple(seated), tuple(withheld + short))


def believed_numbers(
    tenant: Tenant, voice: VoiceRules
) -> tuple[Mapping[str, tuple[PhoneNumber, ...]] | None, str | None]:
    """The Teams number inventory by user when it was read and is believable, else None and why (number protection
    then guesses from licenses, as it must). A read listing no number while users hold Calling Plans is not
    believed."""
    if tenant.numbers is None:
        return None, tenant.numbers_unavailable
    if not tenant.numbers:
        holders = sum(
            1
            for user in tenant.users
            if any(
                Capability.CALLING_PLAN in voice.capabilities(a.sku_id, a.disabled_plans)
                for a in user.licenses
                if a.grants_plans
            )
        )
        if holders:
            return None, f"the inventory lists no number while {holders} user(s) hold a Calling Plan"
    return tenant.numbers_by_user, None


def numbers_at_risk(
    numbers: Mapping[str, tuple[PhoneNumber, ...]] | None, user_id: str, lost: frozenset[Capability]
) -> tuple[PhoneNumber, ...] | None:
    """The user's numbers that losing `lost` takes (a Calling Plan takes every number but a Direct Routing or
    Operator Connect one, which live without it: numberType is an evolvable enum, so a type Graph adds later comes
    as unknownFutureValue and counts as at risk; Phone System or the resource-account plan takes every number);
    None when the inventory (`numbers`) was not read (then assume one)."""
    if numbers is None:
        return None
    held = numbers.get(user_id, ())
    if lost & NUMBER_KINDS:
        return held
    return tuple(n for n in held if n.number_type.lower() not in CARRIER_NUMBER_TYPES)


def safety_of(policy: DesiredPolicy, tenant: Tenant, managed: frozenset[str]) -> Safety:
    """The safety a policy asks for, against the tenant as it is now (a saved plan's, judged at apply): its
    protected groups' members as they are now, the SKUs pruneAlso names as this tenant has them; `managed`, the
    sku ids the configuration assigns. A protected group that no single group answers to, or whose members could
    not be read in full, is an error: whom it protects is unknown, and nothing may be written."""
    names = GroupNames(tenant.groups)
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
    return Safety(
        max_changes=policy.max_changes,
        max_removals=policy.max_removals,
        allow_number_loss=policy.allow_number_loss,
        protected_users=policy.protected_users,
        protected_members=frozenset(members),
        prune_also=frozenset(sku.sku_id for ref in policy.prune_also if (sku := sku_for(ref, tenant.skus))),
        managed=managed,
    )


def apply_refusals(plan: Plan, max_changes: int, max_removals: int) -> tuple[Refusal, ...]:
    """What `apply` refuses this plan for with these limits: blocking gaps first, then each limit it exceeds."""
    refusals: list[Refusal] = []
    blocking: dict[GapCode, list[str]] = {}
    for gap in plan.gaps:
        if gap.code in BLOCKING_CODES:
            blocking.setdefault(gap.code, []).append(gap.user_principal_name or "tenant")
    for code, subjects in blocking.items():
        refusals.append(Refusal("blockingGap", code=code, subjects=tuple(sorted(set(subjects)))))
    changed = len(plan.changes) + len(plan.group_changes)  # a group write counts once: Entra does the rest
    if changed > max_changes:
        refusals.append(Refusal("maxChanges", limit=max_changes, planned=changed))
    removals = removal_count(plan.changes, plan.group_changes)
    if removals > max_removals:
        refusals.append(Refusal("maxRemovals", limit=max_removals, planned=removals))
    return tuple(refusals)


def removal_count(changes: Iterable[UserChange], group_changes: Iterable[GroupChange] = ()) -> int:
    """Users whose removals take a service plan away, or take a license beyond voice (policy.pruneAlso: always
    counted); swaps and copies whose plans stay do not count. Every direct member of a group whose write removes
    a SKU or turns plans off counts too (each may lose them)."""
    users = sum(1 for change in changes if change.takes_plans or change.removes_beyond_voice)
    return users + sum(g.members for g in group_changes if g.remove_licenses or g.disables_plans)


# ---- one user's change -------------------------------------------------------------------------------------------


def _user_verdict(
    change: UserChange,
    user: TenantUser | None,
    tenant: Tenant,
    safety: Safety,
    voice: VoiceRules,
    numbers: Mapping[str, tuple[PhoneNumber, ...]] | None,
) -> UserChange | Gap:
    """The change with its number-loss flags judged afresh, or the gap that withholds it."""
    upn = change.user_principal_name
    if user is None:
        return Gap(GapCode.USER_NOT_FOUND, Severity.ERROR, upn, None, "the user is not in the tenant: withheld")
    if user.user_principal_name.lower() in safety.protected_users or user.id in safety.protected_users:
        return _withheld(GapCode.PROTECTED_USER_SKIPPED, Severity.INFO, upn, "protected user (policy.protectedUsers)")
    if user.id in safety.protected_members:
        why = "member of a protected group (policy.protectedGroups)"
        return _withheld(GapCode.PROTECTED_USER_SKIPPED, Severity.INFO, upn, why)
    for remove in change.remove_licenses:
        beyond = remove.reason is RemovalReason.PRUNE_ALSO or (
            remove.reason is RemovalReason.PRUNE and not voice.is_standalone_voice_sku(remove.sku_id)
        )
        if beyond and remove.sku_id not in safety.prune_also:
            why = f"prune would remove {remove.sku_part_number}: not a voice add-on, and not in policy.pruneAlso"
            return _withheld(GapCode.PRUNE_LIMITED_TO_VOICE, Severity.WARNING, upn, why)
    for add in change.add_licenses:
        if safety.managed is not None and add.sku_id not in safety.managed:
            why = f"it adds {add.sku_part_number}, which the configuration does not assign"
            return _withheld(GapCode.SKU_NOT_IN_TENANT, Severity.ERROR, upn, why)
        sku = tenant.sku_by_id.get(add.sku_id)
        if sku is None:
            why = f"the tenant has no {add.sku_part_number} subscription"
            return _withheld(GapCode.SKU_NOT_IN_TENANT, Severity.ERROR, upn, why)
        if not sku.is_active:
            why = f"the {sku.part_number} subscription is {sku.capability_status}: nothing is assigned from it"
            return _withheld(GapCode.SUBSCRIPTION_NOT_ACTIVE, Severity.ERROR, upn, why)
    if change.add_licenses and not (user.usage_location or change.set_usage_location):
        why = "adds licenses to a user without a usage location"
        return _withheld(GapCode.USAGE_LOCATION_MISSING, Severity.ERROR, upn, why)
    return _number_verdict(change, user, safety, voice, numbers)


def _number_verdict(
    change: UserChange,
    user: TenantUser,
    safety: Safety,
    voice: VoiceRules,
    numbers: Mapping[str, tuple[PhoneNumber, ...]] | None,
) -> UserChange | Gap:
    start, end = holding_of(user), holding_after(user, change)
    before, after = voice.profile(start, active=True), voice.profile(end, active=True)
    upn = change.user_principal_name
    lost = voice.numbers_lost(start, end)
    at_risk = numbers_at_risk(numbers, user.id, lost) if lost else ()
    losing = bool(lost) and (at_risk is None or bool(at_risk))  # the inventory says whether a number goes
    if losing and not safety.allow_number_loss:
        which = f" {', '.join(str(n) for n in at_risk)}" if at_risk else ""
        why = (
            "it would take the user's last phone-system or calling-plan service plan and with it their phone "
            f"number{which} (policy.allowNumberLoss is false)"
        )
        return _withheld(GapCode.PHONE_NUMBER_AT_RISK, Severity.WARNING, upn, why)
    if calling_plan_without_phone_system(after) and not calling_plan_without_phone_system(before):
        why = "it would leave a Calling Plan without Phone System"
        return _withheld(GapCode.CALLING_PLAN_WITHOUT_PHONE_SYSTEM, Severity.ERROR, upn, why)
    if credits_without_prerequisite(after) and not credits_without_prerequisite(before):
        why = "it would leave Communications Credits without Audio Conferencing, a Calling Plan or Phone System"
        return _withheld(GapCode.CREDITS_WITHOUT_PREREQUISITE, Severity.ERROR, upn, why)
    return dataclasses.replace(
        change,
        destructive=losing,
        phone_numbers=tuple(str(n) for n in at_risk or ()) if losing else (),
        takes_plans=bool(change.remove_licenses) and bool(voice.lost_plans(start, end)),
    )


def _withheld(code: GapCode, severity: Severity, upn: str, why: str) -> Gap:
    return Gap(code, severity, upn, None, f"{why}: the change is withheld")


def holding_after(user: TenantUser, change: UserChange) -> dict[str, frozenset[str]]:
    """What the user holds once the change's assignLicense took effect (`context.end_holding`)."""
    adds = {add.sku_id: frozenset(add.disabled_plans) for add in change.add_licenses}
    return end_holding(user, Draft(adds, {remove.sku_id: "" for remove in change.remove_licenses}))


# ---- seats -------------------------------------------------------------------------------------------------------


def _within_seats(
    changes: list[UserChange],
    users: Mapping[str, TenantUser],
    tenant: Tenant,
    group_changes: Sequence[GroupChange],
) -> tuple[list[UserChange], list[tuple[UserChange, Gap]]]:
    """The changes whose new assignments fit, in the order given: each SKU's free seats, plus the seats the kept
    changes' removals free, less what group license writes take. A change left out frees nothing, so this repeats
    until nothing more is left out (each pass only removes changes: it ends)."""
    group_seats: Counter[str] = Counter()
    for group in group_changes:
        for sku_id, members in group.new_seats:
            group_seats[sku_id] += members
    kept = list(changes)
    short: list[tuple[UserChange, Gap]] = []
    while True:
        freed: Counter[str] = Counter()
        for change in kept:
            freed.update(_freed(change, users[change.user_id]))
        free = {sku.sku_id: max(sku.available + freed[sku.sku_id] - group_seats[sku.sku_id], 0) for sku in tenant.skus}
        taken: Counter[str] = Counter()
        out: set[str] = set()
        for change in kept:
            needs = _new_seats(change, users[change.user_id])
            if all(taken[sku_id] < free.get(sku_id, 0) for sku_id in needs):
                taken.update(needs)
            else:
                out.add(change.user_id)
        if not out:
            return kept, short
        for change in kept:
            if change.user_id in out:
                needed = ", ".join(_part(tenant, s) for s in _new_seats(change, users[change.user_id]))
                message = f"no seat left for {needed} once the other changes are made: the change is withheld"
                gap = Gap(GapCode.SEAT_SHORTAGE, Severity.ERROR, change.user_principal_name, None, message)
                short.append((change, gap))
        kept = [change for change in kept if change.user_id not in out]


def _new_seats(change: UserChange, user: TenantUser) -> list[str]:
    held = {assignment.sku_id for assignment in user.licenses}
    return [add.sku_id for add in change.add_licenses if add.sku_id not in held]


def _freed(change: UserChange, user: TenantUser) -> list[str]:
    inherited = {a.sku_id for a in user.licenses if not a.is_direct}
    direct = {a.sku_id for a in user.licenses if a.is_direct}
    return [r.sku_id for r in change.remove_licenses if r.sku_id in direct and r.sku_id not in inherited]


def _part(tenant: Tenant, sku_id: str) -> str:
    sku = tenant.sku_by_id.get(sku_id)
    return sku.part_number if sku else sku_id
