"""Stage 4a, the draft change of one user: what the rules add, what prune removes, calling-plan and resource-account
swaps (the old license removed in the same assignLicense as the new), what is already covered or redundant, and
voice without Teams. Each step takes the user and the draft so far and returns the next draft."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from teamslicensing.model.capability import Capability
from teamslicensing.model.plan import GapCode
from teamslicensing.plan.context import (
    ERROR,
    INFO,
    MIGRATE,
    PRUNE,
    PRUNE_ALSO,
    REDUNDANT,
    WARNING,
    Draft,
    UserView,
    end_holding,
    teams_fix,
)


def desired_adds(u: UserView, draft: Draft) -> Draft:
    facts = u.facts
    for sku_id, want in u.wants.items():
        if sku_id not in facts.assignable:
            continue  # the subscription cannot hand out licenses: a tenant-wide gap says so once
        if sku_id in u.denied:
            message = "no seat left for this user: not assigned"
            draft = draft.noting(u.gap(GapCode.SEAT_SHORTAGE, ERROR, sku_id, message), withheld=True)
        elif sku_id in u.direct:
            if want.disabled is not None and want.disabled != u.direct[sku_id]:
                draft = draft.adding(sku_id, want.disabled)  # only the disabled plans change
        elif sku_id not in u.inherited:  # a license a group already gives needs no direct copy
            draft = draft.adding(sku_id, want.disabled if want.disabled is not None else frozenset())
    return draft


def prune(u: UserView, draft: Draft) -> Draft:
    """With policy.prune: managed licenses in prune's reach that no rule gives the user go."""
    facts, voice, direct, inherited = u.facts, u.facts.voice, u.direct, u.inherited
    if not facts.desired.policy.prune:
        return draft
    # a stand-alone calling plan that conflicts with one being added goes only as the other half of that swap
    incoming = frozenset().union(
        *(voice.exclusive_calling_plans(s) for s in u.wants if s not in direct and s not in inherited)
    )
    for sku_id in facts.managed_by_name:
        if sku_id in u.wants or sku_id in facts.unsafe_to_prune or sku_id not in facts.prunable:
            continue  # a suite or bundle not in policy.pruneAlso is only assigned (PRUNE_LIMITED_TO_VOICE)
        if sku_id in direct and incoming and voice.is_standalone_calling_plan(sku_id):
            held = voice.exclusive_calling_plans(sku_id, direct[sku_id])
            if held and not held <= incoming:
                continue
        if sku_id in direct:
            draft = draft.removing(sku_id, PRUNE if voice.is_standalone_voice_sku(sku_id) else PRUNE_ALSO)
        if sku_id in inherited:  # held both ways too: the direct copy goes, the inherited one stays
            group = inherited[sku_id].assigned_by_group or ""
            message = (
                f"no rule gives this user the license, but it comes from group '{facts.group_names.get(group, group)}'"
                ": remove them from that group"
            )
            draft = draft.noting(u.gap(GapCode.INHERITED_LICENSE_NOT_REMOVED, WARNING, sku_id, message))
    return draft


def migrate(u: UserView, draft: Draft) -> Draft:
    """groupLicenses migrateDirect: a direct copy whose managed group's Active copy keeps every plan goes."""
    if u.skip is not None:
        return draft
    for sku_id in sorted(u.facts.migrations.get(u.user.id, ())):
        if sku_id in u.direct and sku_id not in draft.removes:
            draft = draft.removing(sku_id, MIGRATE)
    return draft


def calling_plan_conflicts(u: UserView, draft: Draft) -> Draft:
    """Swap a stand-alone calling plan for the wanted one in one call; refuse anything else that conflicts."""
    facts, voice, direct, inherited = u.facts, u.facts.voice, u.direct, u.inherited
    adding = {
        sku: plans
        for sku, off in draft.adds.items()
        if sku not in direct and (plans := voice.exclusive_calling_plans(sku, off))
    }
    if not adding:
        return draft
    wanted_plans = frozenset().union(*adding.values())
    for sku in u.wants:
        if sku in direct or sku in inherited:
            wanted_plans |= voice.exclusive_calling_plans(sku, direct.get(sku, frozenset()))
    if len(wanted_plans) > 1:
        names = ", ".join(
            sorted(facts.part_number(s) for s in u.wants if voice.exclusive_calling_plans(s, frozenset()))
        )
        message = (
            f"the rules give this user more than one calling plan ({names}); calling plans are mutually "
            "exclusive, so none is added"
        )
        return drop_adds(u, draft, adding, GapCode.MUTUALLY_EXCLUSIVE_LICENSES, message)
    swap_in = next(iter(adding))
    blockers = []
    for sku_id in sorted({*direct, *inherited}):
        held = voice.exclusive_calling_plans(sku_id, direct.get(sku_id, frozenset()))
        if not held or held <= wanted_plans or sku_id in draft.removes:
            continue
        swappable = (
            sku_id not in inherited
            and sku_id in facts.managed
            and sku_id not in u.wants
            and voice.is_standalone_calling_plan(sku_id)
        )
        if swappable:
            draft = draft.removing(sku_id, swap_in)  # removed in the same assignLicense, so the number stays
        else:
            blockers.append(sku_id)
    if not blockers:
        return draft
    how = ", ".join(
        f"{facts.part_number(s)} ({why_not_swappable(u, s)})" for s in sorted(blockers, key=facts.part_number)
    )
    message = f"already holds calling plan {how}, which cannot be swapped: the new calling plan is not added"
    return drop_adds(u, draft, adding, GapCode.MUTUALLY_EXCLUSIVE_LICENSES, message)


def why_not_swappable(u: UserView, sku_id: str) -> str:
    if sku_id in u.inherited:
        return "through a group"
    if not u.facts.voice.is_standalone_calling_plan(sku_id):
        return "part of a bundle"
    if sku_id not in u.facts.managed:
        return "not managed by this configuration"
    return "also given by a rule"


def drop_adds(u: UserView, draft: Draft, skus: Iterable[str], code: GapCode, message: str) -> Draft:
    """The draft without these adds (and the swaps riding on them), each dropped add an error gap."""
    dropped = sorted(skus, key=u.facts.part_number)
    gaps = [u.gap(code, ERROR, sku_id, message) for sku_id in dropped if sku_id in draft.adds]
    return draft.without(adds=dropped).noting(*gaps, withheld=bool(gaps))


def skip_covered(u: UserView, draft: Draft) -> Draft:
    """A rule's SKU is not bought for a user whose planned end state already has every voice plan of it from
    another SKU (a suite, a bundle, a group's copy): no seat, no money, a note instead. Judged on the end state
    (disabled plans applied, Error and Disabled assignments giving nothing), one SKU at a time in part-number
    order, so of two SKUs that cover each other exactly one is added."""
    facts = u.facts
    if facts.desired.policy.assign_covered or u.skip is not None:
        return draft
    for sku_id in sorted(draft.adds, key=facts.part_number):
        if sku_id in u.direct or sku_id in u.inherited:
            continue  # held already: the add only changes its disabled plans
        # judged with the swap riding on it still planned: the covering SKU must cover the end state as drafted
        rest = end_holding(
            u.user, dataclasses.replace(draft, adds={k: v for k, v in draft.adds.items() if k != sku_id})
        )
        provider = facts.voice.covering_sku(sku_id, draft.adds[sku_id], rest)
        if provider is None:
            continue
        message = (
            f"{facts.part_number(provider)} already gives every voice plan of {facts.part_number(sku_id)}: not added, "
            "no seat used (policy.assignCovered: true adds it anyway)"
        )
        draft = draft.without(adds=(sku_id,)).noting(u.gap(GapCode.ALREADY_COVERED, INFO, sku_id, message))
    return draft


def resource_account_conflicts(u: UserView, draft: Draft) -> Draft:
    """Never Teams Phone Standard on a resource account (Teams docs, manage-resource-accounts, 2025): a resource
    account gets no Phone System add; a rule giving the Resource Account license to a holder of stand-alone Phone
    System this configuration manages swaps the two in one assignLicense (Microsoft: switch in one operation);
    Phone System from a suite, a group or another rule cannot be swapped, so the Resource Account license waits."""
    facts, voice, direct = u.facts, u.facts.voice, u.direct
    end = voice.profile(end_holding(u.user, draft))
    if not (end.resource_account and end.phone_system):
        return draft
    phone_adds = [
        sku
        for sku, off in draft.adds.items()
        if sku not in direct and Capability.PHONE_SYSTEM in voice.capabilities(sku, off)
    ]
    if phone_adds:
        message = (
            "a resource account must not hold Teams Phone Standard: not added (it has the Resource Account license)"
        )
        return drop_adds(u, draft, phone_adds, GapCode.RESOURCE_ACCOUNT_LICENSE_CONFLICT, message)
    resource_adds = [
        sku
        for sku, off in draft.adds.items()
        if sku not in direct and sku not in u.inherited and Capability.RESOURCE_ACCOUNT in voice.capabilities(sku, off)
    ]
    if not resource_adds:
        return draft  # held already: the end state is judged
    swap_in = resource_adds[0]
    blockers = []
    for sku_id, off in end_holding(u.user, draft).items():
        if Capability.PHONE_SYSTEM not in voice.capabilities(sku_id, off) or sku_id in draft.removes:
            continue
        swappable = (
            sku_id in direct
            and sku_id not in u.inherited
            and sku_id in facts.managed
            and sku_id not in u.wants
            and voice.is_standalone_voice_sku(sku_id)
            and voice.capabilities(sku_id, off) == {Capability.PHONE_SYSTEM}
        )
        if swappable:
            draft = draft.removing(sku_id, swap_in)  # in the same assignLicense: the service number stays
        else:
            blockers.append(sku_id)
    if not blockers:
        return draft
    names = ", ".join(facts.part_number(s) for s in sorted(blockers, key=facts.part_number))
    message = (
        f"holds Teams Phone Standard through {names}, which cannot be swapped (a suite, a group, or a rule wants "
        "it): the Resource Account license is not added"
    )
    return drop_adds(u, draft, resource_adds, GapCode.RESOURCE_ACCOUNT_LICENSE_CONFLICT, message)


def remove_redundant(u: UserView, draft: Draft) -> Draft:
    """policy.removeRedundant (with prune): a direct, stand-alone managed SKU whose every enabled plan the rest of
    the end state already gives is removed, freeing its seat. Never one whose removal loses a plan (an SMS bundle
    riding along counts), never one a group also gives, never one a rule wants literally (assignCovered)."""
    facts, voice, direct = u.facts, u.facts.voice, u.direct
    policy = facts.desired.policy
    if not (policy.prune and policy.remove_redundant) or u.skip is not None:
        return draft
    for sku_id in sorted(direct, key=facts.part_number):
        if sku_id in draft.removes or sku_id in draft.adds or sku_id in u.inherited or sku_id not in facts.managed:
            continue
        if (policy.assign_covered and sku_id in u.wants) or not voice.is_standalone_voice_sku(sku_id):
            continue
        rest = end_holding(u.user, draft.removing(sku_id, REDUNDANT))
        if voice.covering_sku(sku_id, direct[sku_id], rest) is None:
            continue
        if not voice.only_voice_plans(sku_id, direct[sku_id]):
            continue  # it carries more than voice (SMS units): removing it would lose a plan
        draft = draft.removing(sku_id, REDUNDANT)
    return draft


def require_teams(u: UserView, draft: Draft) -> Draft:
    """Teams Phone, Calling Plans and Audio Conferencing work only on the Teams service (Teams docs,
    teams-phone-licensing, 2025-03: a user with their own number needs Teams *and* Phone System). A draft that would
    leave a person with voice but no Teams plan adds no voice license at all; resource accounts are exempt, and a
    rule may give a Teams license in the same change."""
    if u.skip is not None:
        return draft
    voice = u.facts.voice
    end = voice.profile(end_holding(u.user, draft), active=True)  # Teams from a suspended suite does not count
    if end.teams or end.resource_account or not (end.phone_system or end.calling_plan or end.audio_conferencing):
        return draft
    voice_adds = [sku for sku, off in draft.adds.items() if voice.capabilities(sku, off)]
    if not voice_adds:
        return draft
    message = f"the user would have voice but no Teams license: not added; {teams_fix(u.facts)}"
    return drop_adds(u, draft, voice_adds, GapCode.TEAMS_LICENSE_MISSING, message)
