"""Stage 1 of planning a user: the draft change: what the rules add, what prune removes, and calling-plan swaps
(a stand-alone calling plan swapped for the wanted one in the same assignLicense); conflicts are refused here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from teamslicensing.model.capability import Capability
from teamslicensing.model.plan import GapCode
from teamslicensing.model.tenant import TenantUser
from teamslicensing.plan.context import (
    ERROR,
    INFO,
    PRUNE,
    PRUNE_ALSO,
    REDUNDANT,
    WARNING,
    Direct,
    Draft,
    Inherited,
    PlanContext,
    Want,
    end_holding,
    user_gap,
)


def desired_adds(
    ctx: PlanContext,
    user: TenantUser,
    wants: Mapping[str, Want],
    direct: Direct,
    inherited: Inherited,
    denied: frozenset[str],
    draft: Draft,
) -> None:
    for sku_id, want in wants.items():
        if sku_id not in ctx.assignable:
            continue  # the subscription cannot hand out licenses: a tenant-wide gap says so once
        if sku_id in denied:
            message = "no seat left for this user: not assigned"
            draft.gaps.append(user_gap(ctx, user, GapCode.SEAT_SHORTAGE, ERROR, sku_id, message))
            draft.withheld = True
        elif sku_id in direct:
            if want.disabled is not None and want.disabled != direct[sku_id]:
                draft.adds[sku_id] = want.disabled  # only the disabled plans change
        elif sku_id not in inherited:  # a license a group already gives needs no direct copy
            draft.adds[sku_id] = want.disabled if want.disabled is not None else frozenset()


def prune(
    ctx: PlanContext, user: TenantUser, wants: Mapping[str, Want], direct: Direct, inherited: Inherited, draft: Draft
) -> None:
    # a stand-alone calling plan that conflicts with one being added goes only as the other half of that swap
    incoming = frozenset().union(
        *(ctx.voice.exclusive_calling_plans(s) for s in wants if s not in direct and s not in inherited)
    )
    for sku_id in ctx.managed_by_name:
        if sku_id in wants or sku_id in ctx.unsafe_to_prune or sku_id not in ctx.prunable:
            continue  # a suite or bundle not in policy.pruneAlso is only assigned (PRUNE_LIMITED_TO_VOICE)
        if sku_id in direct and incoming and ctx.voice.is_standalone_calling_plan(sku_id):
            held = ctx.voice.exclusive_calling_plans(sku_id, direct[sku_id])
            if held and not held <= incoming:
                continue
        if sku_id in direct:
            draft.removes[sku_id] = PRUNE if ctx.voice.is_standalone_voice_sku(sku_id) else PRUNE_ALSO
        if sku_id in inherited:  # held both ways too: the direct copy goes, the inherited one stays
            group = inherited[sku_id].assigned_by_group or ""
            message = (
                f"no rule gives this user the license, but it comes from group '{ctx.group_names.get(group, group)}': "
                "remove them from that group"
            )
            draft.gaps.append(user_gap(ctx, user, GapCode.INHERITED_LICENSE_NOT_REMOVED, WARNING, sku_id, message))


def calling_plan_conflicts(
    ctx: PlanContext, user: TenantUser, wants: Mapping[str, Want], direct: Direct, inherited: Inherited, draft: Draft
) -> None:
    """Swap a stand-alone calling plan for the wanted one in one call; refuse anything else that conflicts."""
    adding = {
        sku: plans
        for sku, off in draft.adds.items()
        if sku not in direct and (plans := ctx.voice.exclusive_calling_plans(sku, off))
    }
    if not adding:
        return
    wanted_plans = frozenset().union(*adding.values())
    held_wanted = [sku for sku in wants if sku in direct or sku in inherited]
    for sku in held_wanted:
        wanted_plans |= ctx.voice.exclusive_calling_plans(sku, direct.get(sku, frozenset()))
    if len(wanted_plans) > 1:
        names = ", ".join(
            sorted(ctx.part_number(s) for s in wants if ctx.voice.exclusive_calling_plans(s, frozenset()))
        )
        message = (
            f"the rules give this user more than one calling plan ({names}); calling plans are mutually "
            "exclusive, so none is added"
        )
        drop_adds(ctx, user, draft, adding, GapCode.MUTUALLY_EXCLUSIVE_LICENSES, message)
        return
    swap_in = next(iter(adding))
    blockers = []
    for sku_id in sorted({*direct, *inherited}):
        held = ctx.voice.exclusive_calling_plans(sku_id, direct.get(sku_id, frozenset()))
        if not held or held <= wanted_plans or sku_id in draft.removes:
            continue
        swappable = (
            sku_id not in inherited
            and sku_id in ctx.managed
            and sku_id not in wants
            and ctx.voice.is_standalone_calling_plan(sku_id)
        )
        if swappable:
            draft.removes[sku_id] = swap_in  # removed in the same assignLicense, so the number stays
        else:
            blockers.append(sku_id)
    if blockers:
        how = ", ".join(
            f"{ctx.part_number(s)} ({why_not_swappable(ctx, s, wants, inherited)})"
            for s in sorted(blockers, key=ctx.part_number)
        )
        message = f"already holds calling plan {how}, which cannot be swapped: the new calling plan is not added"
        drop_adds(ctx, user, draft, adding, GapCode.MUTUALLY_EXCLUSIVE_LICENSES, message)


def why_not_swappable(ctx: PlanContext, sku_id: str, wants: Mapping[str, Want], inherited: Inherited) -> str:
    if sku_id in inherited:
        return "through a group"
    if not ctx.voice.is_standalone_calling_plan(sku_id):
        return "part of a bundle"
    if sku_id not in ctx.managed:
        return "not managed by this configuration"
    return "also given by a rule"


def drop_adds(
    ctx: PlanContext, user: TenantUser, draft: Draft, skus: Iterable[str], code: GapCode, message: str
) -> None:
    for sku_id in sorted(skus, key=ctx.part_number):
        if draft.adds.pop(sku_id, None) is not None:
            draft.gaps.append(user_gap(ctx, user, code, ERROR, sku_id, message))
            draft.withheld = True
        for removed, why in list(draft.removes.items()):
            if why == sku_id:  # the swap this add was part of goes with it
                del draft.removes[removed]


def skip_covered(ctx: PlanContext, user: TenantUser, direct: Direct, inherited: Inherited, draft: Draft) -> None:
    """A rule's SKU is not bought for a user whose planned end state already has every voice plan of it from
    another SKU (a suite, a bundle, a group's copy): no seat, no money, a note instead. Judged on the end state
    (disabled plans applied, Error and Disabled assignments giving nothing), one SKU at a time in part-number
    order, so of two SKUs that cover each other exactly one is added."""
    if ctx.desired.policy.assign_covered:
        return
    for sku_id in sorted(draft.adds, key=ctx.part_number):
        if sku_id in direct or sku_id in inherited:
            continue  # held already: the add only changes its disabled plans
        without = {k: v for k, v in draft.adds.items() if k != sku_id}
        provider = ctx.voice.covering_sku(sku_id, draft.adds[sku_id], end_holding(user, Draft(without, draft.removes)))
        if provider is None:
            continue
        del draft.adds[sku_id]
        for removed, why in list(draft.removes.items()):
            if why == sku_id:  # the swap this add was part of goes with it
                del draft.removes[removed]
        message = (
            f"{ctx.part_number(provider)} already gives every voice plan of {ctx.part_number(sku_id)}: not added, "
            "no seat used (policy.assignCovered: true adds it anyway)"
        )
        draft.gaps.append(user_gap(ctx, user, GapCode.ALREADY_COVERED, INFO, sku_id, message))


def resource_account_conflicts(
    ctx: PlanContext, user: TenantUser, wants: Mapping[str, Want], direct: Direct, inherited: Inherited, draft: Draft
) -> None:
    """Never Teams Phone Standard on a resource account (Teams docs, manage-resource-accounts, 2025): a resource
    account gets no Phone System add; a rule giving the Resource Account license to a holder of stand-alone Phone
    System this configuration manages swaps the two in one assignLicense (Microsoft: switch in one operation);
    Phone System from a suite, a group or another rule cannot be swapped, so the Resource Account license waits."""
    end = ctx.voice.profile(end_holding(user, draft))
    if not (end.resource_account and end.phone_system):
        return
    phone_adds = [
        sku
        for sku, off in draft.adds.items()
        if sku not in direct and Capability.PHONE_SYSTEM in ctx.voice.capabilities(sku, off)
    ]
    if phone_adds:
        message = (
            "a resource account must not hold Teams Phone Standard: not added (it has the Resource Account license)"
        )
        drop_adds(ctx, user, draft, phone_adds, GapCode.RESOURCE_ACCOUNT_LICENSE_CONFLICT, message)
        return
    resource_adds = [
        sku
        for sku, off in draft.adds.items()
        if sku not in direct
        and sku not in inherited
        and Capability.RESOURCE_ACCOUNT in ctx.voice.capabilities(sku, off)
    ]
    if not resource_adds:
        return  # held already: the end state is judged
    swap_in = resource_adds[0]
    holding = end_holding(user, draft)
    blockers = []
    for sku_id, off in holding.items():
        if Capability.PHONE_SYSTEM not in ctx.voice.capabilities(sku_id, off) or sku_id in draft.removes:
            continue
        swappable = (
            sku_id in direct
            and sku_id not in inherited
            and sku_id in ctx.managed
            and sku_id not in wants
            and ctx.voice.is_standalone_voice_sku(sku_id)
            and ctx.voice.capabilities(sku_id, off) == {Capability.PHONE_SYSTEM}
        )
        if swappable:
            draft.removes[sku_id] = swap_in  # in the same assignLicense: the service number stays
        else:
            blockers.append(sku_id)
    if blockers:
        names = ", ".join(ctx.part_number(s) for s in sorted(blockers, key=ctx.part_number))
        message = (
            f"holds Teams Phone Standard through {names}, which cannot be swapped (a suite, a group, or a rule wants "
            "it): the Resource Account license is not added"
        )
        drop_adds(ctx, user, draft, resource_adds, GapCode.RESOURCE_ACCOUNT_LICENSE_CONFLICT, message)


def remove_redundant(
    ctx: PlanContext, user: TenantUser, wants: Mapping[str, Want], direct: Direct, inherited: Inherited, draft: Draft
) -> None:
    """policy.removeRedundant (with prune): a direct, stand-alone managed SKU whose every enabled plan the rest of
    the end state already gives is removed, freeing its seat. Never one whose removal loses a plan (an SMS bundle
    riding along counts), never one a group also gives, never one a rule wants literally (assignCovered)."""
    policy = ctx.desired.policy
    if not (policy.prune and policy.remove_redundant):
        return
    for sku_id in sorted(direct, key=ctx.part_number):
        if sku_id in draft.removes or sku_id in draft.adds or sku_id in inherited or sku_id not in ctx.managed:
            continue
        if (policy.assign_covered and sku_id in wants) or not ctx.voice.is_standalone_voice_sku(sku_id):
            continue
        rest = end_holding(user, Draft(dict(draft.adds), {**draft.removes, sku_id: REDUNDANT}))
        if ctx.voice.covering_sku(sku_id, direct[sku_id], rest) is None:
            continue
        if not ctx.voice.only_voice_plans(sku_id, direct[sku_id]):
            continue  # it carries more than voice (SMS units): removing it would lose a plan
        draft.removes[sku_id] = REDUNDANT
