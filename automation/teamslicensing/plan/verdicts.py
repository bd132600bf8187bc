"""The judgement of one change (`judgement` applies these to every change): a user's, and a group's. Each returns the
change as it may be written, its flags judged afresh, or the gap that withholds it. Nothing a change says about
itself is believed where the tenant can tell: a removal's reach is judged from its SKU, not from the reason it
carries (a saved plan's reasons are text anyone with the file could rewrite)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from teamslicensing.model.plan import Gap, GapCode, GroupChange, LicenseRemove, RemovalReason, Severity, UserChange
from teamslicensing.model.tenant import Tenant, TenantUser
from teamslicensing.model.voicechange import NumberAction
from teamslicensing.model.words import counted
from teamslicensing.plan.guardrails import Safety
from teamslicensing.plan.holding import Draft, end_holding, holding_of
from teamslicensing.plan.numberloss import Numbers, member_loses_number, number_loss
from teamslicensing.plan.voicerules import VoiceRules, calling_plan_without_phone_system, credits_without_prerequisite

WITHHELD = ": the change is withheld"  # how every message of the judgement's own gaps ends


def user_verdict(
    change: UserChange,
    user: TenantUser | None,
    tenant: Tenant,
    safety: Safety,
    voice: VoiceRules,
    numbers: Numbers | None,
) -> UserChange | Gap:
    """The change with its removals' reasons and number-loss flags judged afresh, or the gap that withholds it."""
    upn = change.user_principal_name
    if user is None:
        return _withheld(GapCode.USER_NOT_FOUND, Severity.ERROR, upn, "the user is not in the tenant")
    if user.user_principal_name.lower() in safety.protected_users or user.id in safety.protected_users:
        return _withheld(GapCode.PROTECTED_USER_SKIPPED, Severity.INFO, upn, "protected user (policy.protectedUsers)")
    if user.id in safety.protected_members:
        why = "member of a protected group (policy.protectedGroups)"
        return _withheld(GapCode.PROTECTED_USER_SKIPPED, Severity.INFO, upn, why)
    removals = []
    for remove in change.remove_licenses:
        judged = _removal(remove, user, safety, voice)
        if isinstance(judged, str):
            return _withheld(GapCode.PRUNE_LIMITED_TO_VOICE, Severity.INFO, upn, judged)
        removals.append(judged)
    for add in change.add_licenses:
        if safety.managed is not None and add.sku_id not in safety.managed:
            why = f"it adds {add.sku_part_number}, which the configuration does not assign"
            return _withheld(GapCode.SKU_NOT_IN_TENANT, Severity.ERROR, upn, why)
        sku = tenant.sku_by_id.get(add.sku_id)
        if sku is None:
            why = f"the tenant has no {add.sku_part_number} subscription"
            return _withheld(GapCode.SKU_NOT_IN_TENANT, Severity.ERROR, upn, why)
        if not sku.is_active:
            why = f"the {sku.part_number} subscription is {sku.capability_status or 'of no known state'}"
            return _withheld(
                GapCode.SUBSCRIPTION_NOT_ACTIVE, Severity.ERROR, upn, f"{why}: nothing is assigned from it"
            )
    if change.add_licenses and not (user.usage_location or change.set_usage_location):
        why = "adds licenses to a user without a usage location"
        return _withheld(GapCode.USAGE_LOCATION_MISSING, Severity.ERROR, upn, why)
    return _number_verdict(dataclasses.replace(change, remove_licenses=tuple(removals)), user, safety, voice, numbers)


def _removal(remove: LicenseRemove, user: TenantUser, safety: Safety, voice: VoiceRules) -> LicenseRemove | str:
    """The removal with its reason as judged from its SKU, or why it is withheld: prune reaches voice add-ons, and
    beyond them only what policy.pruneAlso names; a migration only a direct copy a working group copy replaces."""
    if safety.restores:  # undo puts back exactly what the run changed
        return remove
    name = remove.sku_part_number
    if safety.managed is not None and remove.sku_id not in safety.managed:
        return f"it removes {name}, which the configuration does not manage"
    if voice.is_standalone_voice_sku(remove.sku_id):
        return remove if remove.reason is not None else dataclasses.replace(remove, reason=RemovalReason.PRUNE)
    if remove.reason is RemovalReason.MIGRATE and _group_copy_replaces(user, remove.sku_id):
        return remove
    if remove.sku_id in safety.prune_also:
        return dataclasses.replace(remove, reason=RemovalReason.PRUNE_ALSO)  # always counted and shown as such
    return f"it removes {name}: not a voice add-on, and not in policy.pruneAlso"


def _group_copy_replaces(user: TenantUser, sku_id: str) -> bool:
    """A group's copy of the SKU works (Active, no error) with no plan off that the direct copy has on."""
    direct = user.direct_licenses().get(sku_id)
    return direct is not None and any(
        a.sku_id == sku_id
        and not a.is_direct
        and a.state in (None, "Active")
        and not a.error
        and a.disabled_plans <= direct
        for a in user.licenses
    )


def _number_verdict(
    change: UserChange, user: TenantUser, safety: Safety, voice: VoiceRules, numbers: Numbers | None
) -> UserChange | Gap:
    start, end = holding_of(user), holding_after(user, change)
    before, after = voice.profile(start, active=True), voice.profile(end, active=True)
    upn = change.user_principal_name
    freed = tuple(n for n in change.number_changes if n.action is NumberAction.UNASSIGN)
    if freed and numbers is not None:  # freed before the license write: not lost with it
        gone = {n.number for n in freed}
        numbers = {user.id: tuple(n for n in numbers.get(user.id, ()) if n.number not in gone)}
    loss = number_loss(voice, numbers, user.id, start, end)
    if loss.losing and not safety.allow_number_loss:
        why = (
            "it would take the user's last phone-system or calling-plan service plan and with it their phone "
            f"number{loss.which} (policy.allowNumberLoss is false)"
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
        destructive=loss.losing or bool(freed),  # a number unassigned is a number the user loses
        phone_numbers=loss.taken + tuple(f"{n.number} ({n.number_type})" for n in freed),
        takes_plans=bool(change.remove_licenses) and bool(voice.lost_plans(start, end)),
    )


def group_verdict(
    change: GroupChange,
    tenant: Tenant,
    users: Mapping[str, TenantUser],
    safety: Safety,
    voice: VoiceRules,
    numbers: Numbers | None,
) -> GroupChange | Gap:
    """A group license write as it may be sent, or the gap that withholds it: its removals within prune's reach,
    and no direct member's phone number taken by a removal or by plans turned off (judged on the members read)."""
    group = next((g for g in tenant.groups if g.id == change.group_id), None)
    if group is None:
        return _withheld(GapCode.GROUP_NOT_FOUND, Severity.ERROR, None, f"group '{change.group_name}' is not read")
    for remove in change.remove_licenses:
        in_reach = voice.is_standalone_voice_sku(remove.sku_id) or remove.sku_id in safety.prune_also
        if (safety.managed is not None and remove.sku_id not in safety.managed) or not in_reach:
            why = f"group '{change.group_name}': it removes {remove.sku_part_number}, which prune may not remove"
            return _withheld(GapCode.PRUNE_LIMITED_TO_VOICE, Severity.INFO, None, why)
    current = {a.sku_id: a.disabled_plans for a in group.licenses or ()}
    taking: list[tuple[str, frozenset[str] | None]] = [(r.sku_id, None) for r in change.remove_licenses]
    # plans turned off in a copy the group has: off in either state while Entra applies it
    taking += [
        (a.sku_id, frozenset(a.disabled_plans) | current[a.sku_id]) for a in change.add_licenses if a.sku_id in current
    ]
    if not taking or safety.allow_number_loss:
        return change
    members = [users[m] for m in sorted(group.licensed_members) if m in users]
    at_risk = [
        m.user_principal_name
        for m in members
        if any(member_loses_number(voice, numbers, m, group.id, sku, off) for sku, off in taking)
    ]
    if at_risk:
        names = ", ".join(at_risk[:5]) + (" …" if len(at_risk) > 5 else "")
        held_by = counted(len(at_risk), "member")
        why = f"group '{change.group_name}': it would take the phone number of {held_by} ({names})"
        return _withheld(GapCode.PHONE_NUMBER_AT_RISK, Severity.WARNING, None, why)
    return change


def _withheld(code: GapCode, severity: Severity, upn: str | None, why: str) -> Gap:
    return Gap(code, severity, upn, None, f"{why}{WITHHELD}")


def holding_after(user: TenantUser, change: UserChange) -> dict[str, frozenset[str]]:
    """What the user holds once the change's assignLicense took effect (`context.end_holding`)."""
    adds = {add.sku_id: frozenset(add.disabled_plans) for add in change.add_licenses}
    return end_holding(user, Draft(adds, {remove.sku_id: "" for remove in change.remove_licenses}))
