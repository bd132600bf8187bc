"""Stage 4c of planning a user: judge the end state at service-plan level and report its gaps (assignment errors,
missing prerequisites, two calling plans, no way to the PSTN, Credits advice, redundant SKUs, country table)."""

from __future__ import annotations

from collections.abc import Sequence

from teamslicensing.model.capability import Capability
from teamslicensing.model.plan import Gap, GapCode, Severity
from teamslicensing.model.tenant import CARRIER_NUMBER_TYPES, TenantUser
from teamslicensing.plan.context import ERROR, INFO, WARNING, Draft, holding_of, teams_fix, user_gap
from teamslicensing.plan.facts import PlanFacts
from teamslicensing.plan.voicerules import (
    Holding,
    VoiceProfile,
    calling_plan_without_phone_system,
    credits_without_prerequisite,
    unavailable_in,
)
from teamslicensing.reference.catalog import PLANS_NOT_SOLD_IN


def report_only_gaps(ctx: PlanFacts, user: TenantUser, orders: Sequence[int]) -> list[Gap]:
    """Gaps of a user nothing happens to (`plan` memoises them for users alike)."""
    return state_gaps(ctx, user, orders, holding_of(user), False, set())


def state_gaps(
    ctx: PlanFacts, user: TenantUser, orders: Sequence[int], holding: Holding, selected: bool, reported: set[GapCode]
) -> list[Gap]:
    """The gaps of the user's end state (`holding`), leaving out codes a stage before already `reported`."""
    found = _assignment_errors(ctx, user)
    profile = ctx.voice.profile(holding)
    if profile.has_voice:
        found += _prerequisites(ctx, holding, profile, selected)
        found += _routing_and_funding(ctx, user, orders, holding, profile, selected)
    return [user_gap(ctx, user, *gap) for gap in found if gap[0] not in reported]


_Found = tuple[GapCode, Severity, str | None, str]  # a gap of the user's before it is worded for them


def _assignment_errors(ctx: PlanFacts, user: TenantUser) -> list[_Found]:
    found: list[_Found] = []
    for assignment in user.licenses:
        if assignment.error and (assignment.sku_id in ctx.managed or ctx.voice.voice_plans(assignment.sku_id)):
            group = assignment.assigned_by_group
            source = f"group '{ctx.group_names.get(group, group)}'" if group else "direct assignment"
            state = assignment.state or "Error"
            found.append(
                (GapCode.GROUP_LICENSE_ERROR, ERROR, assignment.sku_id, f"{source}: {state}, {assignment.error}")
            )
    return found


def _prerequisites(ctx: PlanFacts, holding: Holding, profile: VoiceProfile, selected: bool) -> list[_Found]:
    """Voice plans without what they need: Teams, Phone System under a Calling Plan, a base under Credits, one
    calling plan at most, and never Phone System on a resource account."""
    found: list[_Found] = []
    if (
        not profile.teams
        and not profile.resource_account
        and (profile.phone_system or profile.calling_plan or profile.audio_conferencing)
    ):
        if selected:
            message = f"holds voice licenses but no Teams license, so they do not work; {teams_fix(ctx)}"
            found.append((GapCode.TEAMS_LICENSE_MISSING, ERROR, None, message))
        elif any(
            ctx.voice.is_standalone_voice_sku(sku) and ctx.voice.voice_plans(sku, off) for sku, off in holding.items()
        ):
            message = (
                "holds a stand-alone voice license but no Teams license, so it does not work (no rule selects them)"
            )
            found.append((GapCode.TEAMS_LICENSE_MISSING, WARNING, None, message))
    if profile.resource_account and profile.phone_system:
        message = (
            "a resource account holds Teams Phone Standard too: remove it (Microsoft: never on a resource account)"
        )
        found.append((GapCode.RESOURCE_ACCOUNT_LICENSE_CONFLICT, ERROR, None, message))
    if calling_plan_without_phone_system(profile):
        message = "holds a Calling Plan but no Phone System plan"
        found.append((GapCode.CALLING_PLAN_WITHOUT_PHONE_SYSTEM, ERROR, None, message))
    if credits_without_prerequisite(profile):
        message = "holds Communications Credits without Audio Conferencing, a Calling Plan or Phone System"
        found.append((GapCode.CREDITS_WITHOUT_PREREQUISITE, ERROR, None, message))
    if len(profile.exclusive_calling_plans) > 1:
        message = "holds more than one calling plan; they are mutually exclusive and only a stand-alone one swaps"
        found.append((GapCode.MUTUALLY_EXCLUSIVE_LICENSES, ERROR, None, message))
    elif len(profile.calling_plans) > 1:
        message = (
            f"holds {len(profile.calling_plans)} calling plans that Microsoft does not list as exclusive: they stack, "
            "and the minutes are paid for twice unless one is an add-on meant to stack (an international plan)"
        )
        found.append((GapCode.CALLING_PLANS_STACKED, WARNING, None, message))
    return found


def _routing_and_funding(
    ctx: PlanFacts, user: TenantUser, orders: Sequence[int], holding: Holding, profile: VoiceProfile, selected: bool
) -> list[_Found]:
    """How calls reach the PSTN and are paid for, and licenses other licenses already give."""
    found: list[_Found] = []
    if (
        profile.credits
        and profile.phone_system
        and not (profile.calling_plan or profile.audio_conferencing or profile.resource_account)
    ):
        message = (
            "holds Communications Credits with Phone System only: Direct Routing and Operator Connect calls are "
            "billed by the carrier, so the Credits serve no call (set-up-communications-credits, 2024-11)"
        )
        found.append((GapCode.CREDITS_WITHOUT_PSTN_USE, WARNING, None, message))
    payg_message = resource_account_without_payg(ctx, user, profile)
    if payg_message:
        found.append((GapCode.RESOURCE_ACCOUNT_NEEDS_PAYG, WARNING, None, payg_message))
    if lacks_calling_plan(ctx, user.id, orders, holding, profile, selected):
        message = (
            "has Phone System but no Calling Plan: no PSTN calls unless the rule sets voiceRouting: "
            "directRouting or operatorConnect"
        )
        found.append((GapCode.PHONE_SYSTEM_WITHOUT_CALLING_PLAN, WARNING, None, message))
    if profile.pay_per_minute and not ctx.credits_funded:
        message = (
            "holds a pay-per-minute license (pay-as-you-go Calling Plan or Audio Conferencing) but the tenant has no "
            "active Communications Credits subscription: its calls fail (policy.funding: postpaid if you pay overage)"
        )
        found.append((GapCode.UNFUNDED_USAGE_LICENSE, WARNING, None, message))
    if user.account_enabled and wants_credits_advice(ctx, orders, holding, profile, selected):
        message = (
            "has a Calling Plan or Audio Conferencing but no Communications Credits: calls past the included "
            "minutes and toll-free dial-in fail without them"
        )
        found.append((GapCode.CREDITS_RECOMMENDED, INFO, None, message))
    for sku_id, provider in ctx.voice.redundant_skus(holding):
        message = f"{ctx.part_number(provider)} already gives every voice plan of {ctx.part_number(sku_id)}"
        found.append((GapCode.REDUNDANT_LICENSE, INFO, sku_id, message))
    return found


def resource_account_without_payg(ctx: PlanFacts, user: TenantUser, profile: VoiceProfile) -> str | None:
    """Why a resource account needs a pay-as-you-go Calling Plan, or None: since 2025-11-01 a Calling Plan no longer
    carries an auto attendant's or call queue's outbound (on-behalf-of) calls. The common case holds a Calling Plan
    service number (the inventory: callingPlan, voiceApplicationAssigned) and no Calling Plan license at all."""
    if profile.pay_as_you_go:
        return None
    held = ctx.numbers.get(user.id, ()) if ctx.numbers is not None else ()
    service_numbers = [n.number for n in held if n.is_calling_plan_service_number]
    if service_numbers:
        where = f"holding Calling Plan service number {', '.join(service_numbers)}"
    elif profile.resource_account and profile.calling_plan:
        where = "with a Calling Plan"
    else:
        return None
    return (
        f"resource account {where} but no pay-as-you-go Calling Plan: since 2025-11-01 outbound (on-behalf-of) "
        "calls from auto attendants and call queues need a pay-as-you-go plan and funding"
    )


def lacks_calling_plan(
    ctx: PlanFacts, user_id: str, orders: Sequence[int], holding: Holding, profile: VoiceProfile, selected: bool
) -> bool:
    """Phone System without a way to the PSTN; suites like E5 only count when a phone-system rule selects them."""
    if not profile.phone_system or profile.calling_plan or profile.resource_account_only:
        return False
    if ctx.numbers is not None and any(
        n.number_type.lower() in CARRIER_NUMBER_TYPES for n in ctx.numbers.get(user_id, ())
    ):
        return False  # the inventory shows the user's way to the PSTN: Direct Routing or Operator Connect
    if any(ctx.desired.rules[i].voice_routing != "callingPlan" for i in orders):
        return False
    # a conferencing-only rule says nothing; nor does any rule for a user it will not change (skipped)
    phone_rule = selected and any(i in ctx.phone_system_rules for i in orders)
    return phone_rule or any(
        ctx.voice.is_standalone_voice_sku(sku) and Capability.PHONE_SYSTEM in ctx.voice.capabilities(sku, off)
        for sku, off in holding.items()
    )


def availability_gaps(ctx: PlanFacts, user: TenantUser, country: str | None, draft: Draft) -> list[Gap]:
    gaps = []
    for sku_id in sorted(draft.adds, key=ctx.part_number):
        capabilities = ctx.voice.capabilities(sku_id, draft.adds[sku_id])
        for capability in unavailable_in(country, capabilities, ctx.availability, ctx.desired.availability):
            message = (
                f"Microsoft's country table lists {capability.value} as not offered in {country}; planned anyway "
                "(the table is dated: correct it under 'availability' if it is wrong)"
            )
            gaps.append(user_gap(ctx, user, GapCode.NOT_AVAILABLE_IN_USAGE_LOCATION, WARNING, sku_id, message))
        unsold = [
            p.name
            for p in ctx.voice.voice_plans(sku_id, draft.adds[sku_id])
            if country in PLANS_NOT_SOLD_IN.get(p.name.upper(), ())
        ]
        if unsold:
            message = f"{', '.join(unsold)} is not sold in {country}; planned anyway (Microsoft's calling plan pages)"
            gaps.append(user_gap(ctx, user, GapCode.NOT_AVAILABLE_IN_USAGE_LOCATION, WARNING, sku_id, message))
    return gaps


def wants_credits_advice(
    ctx: PlanFacts, orders: Sequence[int], holding: Holding, profile: VoiceProfile, selected: bool
) -> bool:
    """Credits advice for a rule's users and holders of a stand-alone calling plan or audio conferencing SKU whose
    end state dials out without Credits; not when a rule assigns them Credits (why it could not be added is its own
    gap), and not under postpaid funding."""
    if ctx.desired.policy.funding == "postpaid" or profile.credits:
        return False
    if not (profile.calling_plan or profile.audio_conferencing):
        return False
    rules = ctx.desired.rules
    if any(Capability.COMMUNICATIONS_CREDITS in ref.capabilities for i in orders for ref in rules[i].assign):
        return False
    standalone = any(
        ctx.voice.is_standalone_voice_sku(sku)
        and ctx.voice.capabilities(sku, off) & {Capability.CALLING_PLAN, Capability.AUDIO_CONFERENCING}
        for sku, off in holding.items()
    )
    return selected or standalone
