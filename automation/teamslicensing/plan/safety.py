"""Stage 2 of planning a user: trim the draft to what is safe. Withhold whatever would take a phone number, break a
Calling Plan or Credits dependency, or lacks a usage location, and say why; skip protected and disabled users."""

from __future__ import annotations

from collections.abc import Sequence

from teamslicensing.model.capability import Capability
from teamslicensing.model.plan import GapCode
from teamslicensing.model.tenant import TenantUser
from teamslicensing.plan.context import (
    ERROR,
    WARNING,
    Direct,
    Draft,
    PlanContext,
    configured_usage_location,
    end_holding,
    teams_fix,
    user_gap,
)
from teamslicensing.plan.draft import drop_adds
from teamslicensing.plan.numberloss import number_loss
from teamslicensing.plan.voicerules import (
    CREDITS_PREREQUISITES,
    Holding,
    calling_plan_without_phone_system,
    credits_without_prerequisite,
)


def protect(ctx: PlanContext, user: TenantUser, start: Holding, direct: Direct, draft: Draft) -> tuple[str, ...] | None:
    """Withhold what would lose a number or break a dependency (judged on what active subscriptions give). Returns
    None when no number is lost, else the numbers a planned, allowed loss takes (empty when the inventory was not
    read and a number is only assumed)."""
    before = ctx.voice.profile(start, active=True)
    while True:  # every pass drops part of the draft or returns, so this ends
        end = end_holding(user, draft)
        after = ctx.voice.profile(end, active=True)
        loss = number_loss(ctx.voice, ctx.numbers, user.id, start, end)  # the inventory says whether a number goes
        losing, which = loss.losing, loss.which
        if losing and not ctx.desired.policy.allow_number_loss:
            withheld = withhold(ctx, draft, direct, loss.lost)
            names = ", ".join(ctx.part_number(s) for s in withheld)
            message = (
                f"removing {names} would take the user's last phone-system or calling-plan service plan and "
                f"with it their phone number{which}: withheld (policy.allowNumberLoss is false)"
            )
            sku = withheld[0] if len(withheld) == 1 else None
            draft.gaps.append(user_gap(ctx, user, GapCode.PHONE_NUMBER_AT_RISK, WARNING, sku, message))
        elif calling_plan_without_phone_system(after) and not calling_plan_without_phone_system(before):
            keep_dependency(
                ctx,
                user,
                draft,
                direct,
                Capability.CALLING_PLAN,
                frozenset({Capability.PHONE_SYSTEM, Capability.RESOURCE_ACCOUNT}),
                GapCode.CALLING_PLAN_WITHOUT_PHONE_SYSTEM,
                "a Calling Plan needs Phone System",
            )
        elif credits_without_prerequisite(after) and not credits_without_prerequisite(before):
            keep_dependency(
                ctx,
                user,
                draft,
                direct,
                Capability.COMMUNICATIONS_CREDITS,
                CREDITS_PREREQUISITES,
                GapCode.CREDITS_WITHOUT_PREREQUISITE,
                "Communications Credits need Audio Conferencing, a Calling Plan or Phone System",
            )
        elif losing:
            message = (
                "DESTRUCTIVE: this change takes the user's last phone-system or calling-plan service plan; "
                f"Teams unassigns their phone number{which} (policy.allowNumberLoss is true)"
            )
            draft.gaps.append(user_gap(ctx, user, GapCode.PHONE_NUMBER_AT_RISK, WARNING, None, message))
            return loss.taken
        else:
            return None


def withhold(ctx: PlanContext, draft: Draft, direct: Direct, capabilities: frozenset[Capability]) -> list[str]:
    """Drop removals and plan-disabling updates that take away any of `capabilities`."""
    withheld: list[str] = []
    for sku_id in list(draft.removes):
        if ctx.voice.capabilities(sku_id, direct.get(sku_id, frozenset())) & capabilities:
            del draft.removes[sku_id]
            withheld.append(sku_id)
    for sku_id, off in list(draft.adds.items()):
        if sku_id in direct:
            lost = ctx.voice.capabilities(sku_id, direct[sku_id]) - ctx.voice.capabilities(sku_id, off)
            if lost & capabilities:
                del draft.adds[sku_id]
                withheld.append(sku_id)
    draft.withheld = draft.withheld or bool(withheld)
    return withheld


def keep_dependency(
    ctx: PlanContext,
    user: TenantUser,
    draft: Draft,
    direct: Direct,
    dependent: Capability,
    prerequisites: frozenset[Capability],
    code: GapCode,
    why: str,
) -> None:
    """Graph would refuse (or the user could not use) the dependent plan: drop its add, else keep its base."""
    adding = [sku for sku, off in draft.adds.items() if dependent in ctx.voice.capabilities(sku, off)]
    if adding:
        drop_adds(ctx, user, draft, adding, code, f"{why} and the user would have none: not added")
        return
    withheld = withhold(ctx, draft, direct, prerequisites)
    names = ", ".join(ctx.part_number(s) for s in withheld)
    message = f"{why}: removing {names} would leave it without one, so the removal is withheld"
    draft.gaps.append(user_gap(ctx, user, code, ERROR, None, message))


def usage_location(
    ctx: PlanContext, user: TenantUser, orders: Sequence[int], draft: Draft, *, required: bool = True
) -> str | None:
    if not draft.adds or user.usage_location:
        return None
    levels = [(rule.usage_location_from, rule.usage_location) for rule in (ctx.desired.rules[i] for i in orders)]
    levels.append((ctx.desired.default_usage_location_from, ctx.desired.default_usage_location))
    code, unmapped = configured_usage_location(levels, user, ctx.country_code)  # the first rule's, then defaults
    if code is not None:
        return code
    if not required:  # a user who is skipped anyway is reported as such, not as an error
        return None
    names = ", ".join(ctx.part_number(s) for s in sorted(draft.adds, key=ctx.part_number))
    why = f"{', '.join(unmapped)} names no country" if unmapped else "none is configured"
    message = (
        f"needs {names} but has no usage location and {why} (defaults.usageLocation / usageLocationFrom or the "
        "rule's): nothing is changed for this user"
    )
    draft.gaps.append(user_gap(ctx, user, GapCode.USAGE_LOCATION_MISSING, ERROR, None, message))
    draft.adds.clear()
    draft.removes.clear()
    draft.withheld = True
    return None


def skip_reason(ctx: PlanContext, user: TenantUser) -> tuple[GapCode, str] | None:
    protected = ctx.desired.policy.protected_users
    if user.user_principal_name.lower() in protected or user.id in protected:
        return GapCode.PROTECTED_USER_SKIPPED, "protected user (policy.protectedUsers)"
    if user.id in ctx.protected_by_group:
        return GapCode.PROTECTED_USER_SKIPPED, "member of a protected group (policy.protectedGroups)"
    if not user.account_enabled and not ctx.desired.policy.include_disabled_accounts:
        return GapCode.DISABLED_ACCOUNT_SKIPPED, "account is disabled (policy.includeDisabledAccounts is false)"
    return None


def require_teams(ctx: PlanContext, user: TenantUser, draft: Draft) -> None:
    """Teams Phone, Calling Plans and Audio Conferencing work only on the Teams service (Teams docs,
    teams-phone-licensing, 2025-03: a user with their own number needs Teams *and* Phone System). A draft that would
    leave a person with voice but no Teams plan adds no voice license at all; resource accounts are exempt, and a
    rule may give a Teams license in the same change."""
    end = ctx.voice.profile(end_holding(user, draft), active=True)  # Teams from a suspended suite does not count
    if end.teams or end.resource_account or not (end.phone_system or end.calling_plan or end.audio_conferencing):
        return
    voice_adds = [sku for sku, off in draft.adds.items() if ctx.voice.capabilities(sku, off)]
    if voice_adds:
        message = f"the user would have voice but no Teams license: not added; {teams_fix(ctx)}"
        drop_adds(ctx, user, draft, voice_adds, GapCode.TEAMS_LICENSE_MISSING, message)
