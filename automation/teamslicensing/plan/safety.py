"""Stage 4b of planning a user: trim the draft to what is safe. A removal waits while a group copy that is to
replace it is still pending; whatever would take a phone number or break a Calling Plan or Credits dependency is
withheld; a change with adds needs a usage location. Each step returns the next draft (and what it found)."""

from __future__ import annotations

from teamslicensing.model.capability import Capability
from teamslicensing.model.plan import GapCode
from teamslicensing.plan.context import (
    ERROR,
    INFO,
    WARNING,
    Draft,
    UserView,
    configured_usage_location,
    end_holding,
    holding_of,
)
from teamslicensing.plan.draft import drop_adds
from teamslicensing.plan.numberloss import number_loss
from teamslicensing.plan.voicerules import (
    CREDITS_PREREQUISITES,
    calling_plan_without_phone_system,
    credits_without_prerequisite,
)


def wait_for_pending(u: UserView, draft: Draft) -> Draft:
    """A direct copy whose plans only a group copy Entra has not processed yet would keep stays for now: the
    removal waits (MIGRATION_WAITING) and the next run makes it once the group's copy is there."""
    if u.sure is u.user:
        return draft
    voice = u.facts.voice
    lost = voice.lost_plans(holding_of(u.sure), end_holding(u.sure, draft))
    if not lost:
        return draft
    for sku_id in list(draft.removes):
        plans = voice.plan_ids(sku_id) - u.sure.direct_licenses().get(sku_id, frozenset())
        if plans & lost:
            message = (
                "the direct copy stays until the group copy that is to replace it is Active: without it, removing "
                "this one would take service plans away meanwhile; the next run goes on"
            )
            gap = u.gap(GapCode.MIGRATION_WAITING, INFO, sku_id, message)
            draft = draft.without(removes=(sku_id,)).noting(gap, withheld=True)
    return draft


def protect(u: UserView, draft: Draft) -> tuple[Draft, tuple[str, ...] | None]:
    """Withhold what would lose a number or break a dependency (judged on what the user holds for sure, counting
    only active subscriptions). With the draft, None when no number is lost, else the numbers a planned, allowed
    loss takes (empty when the inventory was not read and a number is only assumed)."""
    facts, sure = u.facts, u.sure
    start = holding_of(sure)
    before = facts.voice.profile(start, active=True)
    while True:  # every pass drops part of the draft or returns, so this ends
        end = end_holding(sure, draft)
        after = facts.voice.profile(end, active=True)
        loss = number_loss(facts.voice, facts.numbers, sure.id, start, end)  # the inventory says if a number goes
        if loss.losing and not facts.desired.policy.allow_number_loss:
            withheld, draft = withhold(u, draft, loss.lost)
            names = ", ".join(facts.part_number(s) for s in withheld)
            message = (
                f"removing {names} would take the user's last phone-system or calling-plan service plan and "
                f"with it their phone number{loss.which}: withheld (policy.allowNumberLoss is false)"
            )
            sku = withheld[0] if len(withheld) == 1 else None
            draft = draft.noting(u.gap(GapCode.PHONE_NUMBER_AT_RISK, WARNING, sku, message))
        elif calling_plan_without_phone_system(after) and not calling_plan_without_phone_system(before):
            draft = keep_dependency(
                u,
                draft,
                Capability.CALLING_PLAN,
                frozenset({Capability.PHONE_SYSTEM, Capability.RESOURCE_ACCOUNT}),
                GapCode.CALLING_PLAN_WITHOUT_PHONE_SYSTEM,
                "a Calling Plan needs Phone System",
            )
        elif credits_without_prerequisite(after) and not credits_without_prerequisite(before):
            draft = keep_dependency(
                u,
                draft,
                Capability.COMMUNICATIONS_CREDITS,
                CREDITS_PREREQUISITES,
                GapCode.CREDITS_WITHOUT_PREREQUISITE,
                "Communications Credits need Audio Conferencing, a Calling Plan or Phone System",
            )
        elif loss.losing:
            message = (
                "DESTRUCTIVE: this change takes the user's last phone-system or calling-plan service plan; "
                f"Teams unassigns their phone number{loss.which} (policy.allowNumberLoss is true)"
            )
            return draft.noting(u.gap(GapCode.PHONE_NUMBER_AT_RISK, WARNING, None, message)), loss.taken
        else:
            return draft, None


def withhold(u: UserView, draft: Draft, capabilities: frozenset[Capability]) -> tuple[list[str], Draft]:
    """The removals and plan-disabling updates that take away any of `capabilities`, and the draft without them."""
    voice, direct = u.facts.voice, u.direct
    removes = [s for s in draft.removes if voice.capabilities(s, direct.get(s, frozenset())) & capabilities]
    updates = [
        s
        for s, off in draft.adds.items()
        if s in direct and (voice.capabilities(s, direct[s]) - voice.capabilities(s, off)) & capabilities
    ]
    withheld = removes + updates
    return withheld, draft.without(adds=updates, removes=removes).noting(withheld=bool(withheld))


def keep_dependency(
    u: UserView,
    draft: Draft,
    dependent: Capability,
    prerequisites: frozenset[Capability],
    code: GapCode,
    why: str,
) -> Draft:
    """Graph would refuse (or the user could not use) the dependent plan: drop its add, else keep its base."""
    voice = u.facts.voice
    adding = [sku for sku, off in draft.adds.items() if dependent in voice.capabilities(sku, off)]
    if adding:
        return drop_adds(u, draft, adding, code, f"{why} and the user would have none: not added")
    withheld, draft = withhold(u, draft, prerequisites)
    names = ", ".join(u.facts.part_number(s) for s in withheld)
    message = f"{why}: removing {names} would leave it without one, so the removal is withheld"
    return draft.noting(u.gap(code, ERROR, None, message))


def usage_location(u: UserView, draft: Draft) -> tuple[Draft, str | None]:
    """The usage location to set before the adds (None: none needed, or none found); a change with adds and no
    usage location to give is dropped whole, with an error, unless the user is left alone anyway."""
    if not draft.adds or u.user.usage_location:
        return draft, None
    desired = u.facts.desired
    levels = [(rule.usage_location_from, rule.usage_location) for rule in (desired.rules[i] for i in u.orders)]
    levels.append((desired.default_usage_location_from, desired.default_usage_location))
    code, unmapped = configured_usage_location(levels, u.user, u.facts.country_code)  # the rules', then defaults
    if code is not None or u.skip is not None:  # a user who is skipped is reported as such, not as an error
        return draft, code
    names = ", ".join(u.facts.part_number(s) for s in sorted(draft.adds, key=u.facts.part_number))
    why = f"{', '.join(unmapped)} names no country" if unmapped else "none is configured"
    message = (
        f"needs {names} but has no usage location and {why} (defaults.usageLocation / usageLocationFrom or the "
        "rule's): nothing is changed for this user"
    )
    return draft.cleared(u.gap(GapCode.USAGE_LOCATION_MISSING, ERROR, None, message)), None
