"""The planner: desired state + observed tenant -> `Plan`, as a pipeline of values. Pure: no I/O, clock, environment
or globals. The stages (numbered the same everywhere; see the package docstring):

1. `facts`: licenses resolved against the tenant's subscriptions, prune's reach, numbers, protection;
2. `grouplicensing`: each managed group's change, and its members as Entra will leave them;
3. `wanted`: what each rule wants of each user it selects, and how it selected them;
4. `userplan`: every user planned on their own (4a draft, 4b safety, 4c the end state's gaps);
5. `seats`: seats given per SKU in rule order then userPrincipalName, users left without one planned again;
   5b. `voicesetup`: phone numbers (`numbering`) and Teams policies (`teamspolicies`) on the settled licenses;
6. the plan assembled and passed through the judgement every change meets (`judgement`), with what apply would
   refuse, the per-rule summary and one decision per user (`decisions`).
"""

from __future__ import annotations

import dataclasses
import gc
from collections import Counter
from collections.abc import Mapping

from teamslicensing.model.desired import DesiredState
from teamslicensing.model.plan import Gap, GapCode, Plan, UserChange
from teamslicensing.model.tenant import Tenant, TenantUser
from teamslicensing.plan.context import Outcome
from teamslicensing.plan.cost import plan_cost
from teamslicensing.plan.decisions import decisions_of
from teamslicensing.plan.facts import PlanFacts, PlanInputError, resolve_facts, skip_reason
from teamslicensing.plan.groupchanges import with_group_changes
from teamslicensing.plan.grouplicensing import GroupInputs, GroupPlanning, plan_group_licenses
from teamslicensing.plan.guardrails import safety_of
from teamslicensing.plan.judgement import apply_refusals, judge
from teamslicensing.plan.prunereach import prune_limited_gaps
from teamslicensing.plan.readgaps import read_gaps
from teamslicensing.plan.seats import allocate_seats, seat_lines
from teamslicensing.plan.selection import Selection
from teamslicensing.plan.summary import rule_summaries
from teamslicensing.plan.userplan import UserPlanner
from teamslicensing.plan.voicesetup import with_voice_setup
from teamslicensing.plan.wanted import Wanted, wanted_by_rules
from teamslicensing.reference.availability import CountryAvailability

__all__ = ["PlanInputError", "plan"]


def plan(desired: DesiredState, tenant: Tenant, availability: Mapping[str, CountryAvailability] | None = None) -> Plan:
    """Compute the plan that brings `tenant` to `desired`, with every gap, the seat count and a decision per user."""
    paused = gc.isenabled()
    gc.disable()  # everything built here is acyclic; the collector's passes would walk the whole tenant
    try:
        return _pipeline(desired, tenant, availability or {})
    finally:
        if paused:
            gc.enable()


def _pipeline(desired: DesiredState, tenant: Tenant, availability: Mapping[str, CountryAvailability]) -> Plan:
    users_by_id = {user.id: user for user in tenant.users}
    policy = desired.policy
    attributes = desired.selected_attributes
    # 1
    selection = Selection(tenant, users_by_id, attributes, policy.empty_groups_allowed)
    facts, gaps = resolve_facts(desired, tenant, availability, selection)
    gaps = read_gaps(tenant) + gaps
    # 2
    groups = _group_licenses(facts, users_by_id)
    gaps += groups.gaps
    users_after = {**users_by_id, **groups.members_after}
    facts = dataclasses.replace(facts, migrations=groups.migrations, sure_users=groups.members_sure)
    # 3
    wanted = wanted_by_rules(
        facts, Selection(tenant, users_after, attributes, policy.empty_groups_allowed), groups.covered
    )
    gaps += wanted.gaps
    unsafe = facts.unsafe_to_prune | wanted.unsafe_to_prune
    facts = dataclasses.replace(facts, unsafe_to_prune=unsafe, phone_system_rules=wanted.phone_system_rules)
    # 4
    user_planner = UserPlanner(facts, wanted)
    users = sorted((u for u in users_after.values() if user_planner.may_matter(u)), key=_by_upn)
    outcomes = {user.id: user_planner.plan(user, frozenset()) for user in users}
    # 5
    managed = tuple({sku.sku_id: sku for sku in facts.sku_of.values()}.values())
    allocation = allocate_seats(
        outcomes,
        wanted.wants,
        managed,
        groups.seats,
        lambda user_id, denied: user_planner.plan(users_after[user_id], denied),
        lambda user_id: users_after[user_id].user_principal_name.lower(),
    )
    # 5b
    voice = with_voice_setup(facts, wanted.selected_by, users_after, outcomes)
    outcomes = voice.outcomes
    gaps += voice.gaps
    if len(outcomes) > len(users):  # a `numbers` row's user no rule selects
        users = sorted((users_after[user_id] for user_id in outcomes), key=_by_upn)
    # 6
    changes, user_gaps, redundant = _collected(users, outcomes)
    gaps += user_gaps
    if policy.prune:
        gaps += prune_limited_gaps(facts.managed - facts.prunable, tenant.users, wanted.wants, facts.part_number)
    seats, shortages = seat_lines(managed, allocation, groups.seats, redundant)
    gaps += shortages
    assembled = with_group_changes(
        Plan(changes=tuple(changes), gaps=tuple(sorted(gaps, key=Gap.sort_key)), seats=seats, number_pools=voice.pools),
        groups,
        users_after,
        tenant,
    )
    judged = _judged(assembled, facts, wanted, users, outcomes)
    # 7
    return dataclasses.replace(judged, cost=plan_cost(judged.seats, tenant.skus, desired.prices))


def _group_licenses(facts: PlanFacts, users_by_id: Mapping[str, TenantUser]) -> GroupPlanning:
    """Stage 2: plan groupLicenses, and every direct member as Entra will leave them (the group's SKUs inherited)."""
    if not facts.desired.group_licenses:
        return GroupPlanning()
    return plan_group_licenses(
        GroupInputs(
            desired=facts.desired,
            tenant=facts.tenant,
            users_by_id=users_by_id,
            sku_of=facts.sku_of,
            assignable=facts.assignable,
            managed=facts.managed,
            prunable=facts.prunable,
            voice=facts.voice,
            numbers=facts.numbers,
            disabled_plans=facts.disabled_plans,
            country_code=facts.country_code,
            skipped=lambda user: skip_reason(facts, user) is not None,
        )
    )


def _collected(
    users: list[TenantUser], outcomes: Mapping[str, Outcome]
) -> tuple[list[UserChange], list[Gap], Counter[str]]:
    """The changes and gaps of every user planned, and the seats removing redundant direct copies would free."""
    changes = []
    gaps: list[Gap] = []
    redundant: Counter[str] = Counter()
    for user in users:
        outcome = outcomes[user.id]
        if outcome.change is not None:
            changes.append(outcome.change)
        gaps.extend(outcome.gaps)
        for gap in outcome.gaps:
            if gap.code is GapCode.REDUNDANT_LICENSE and gap.sku_id and _holds_only_directly(user, gap.sku_id):
                redundant[gap.sku_id] += 1
    return changes, gaps, redundant


def _judged(
    plan: Plan, facts: PlanFacts, wanted: Wanted, users: list[TenantUser], outcomes: Mapping[str, Outcome]
) -> Plan:
    """The plan as the judgement every change meets leaves it (the planner already kept to its rules: this
    withholds nothing unless the two disagree, and then the judgement's gap says why), with apply's refusals, the
    per-rule summary and the decisions."""
    policy = facts.desired.policy
    safety = safety_of(policy, facts.tenant, facts.managed, facts.protected_by_group)
    judged = judge(plan.changes, facts.tenant, safety, plan.group_changes, facts.voice)
    gaps = tuple(sorted((*plan.gaps, *judged.gaps), key=Gap.sort_key)) if judged.gaps else plan.gaps
    kept = dataclasses.replace(
        plan,
        changes=judged.changes,
        group_changes=judged.group_changes,
        gaps=gaps,
        rule_summaries=rule_summaries(facts.desired.rules, wanted.selected_by, outcomes),
    )
    return dataclasses.replace(
        kept,
        refusals=apply_refusals(kept, policy.max_changes, policy.max_removals),
        decisions=decisions_of(kept, facts, wanted, users, outcomes),
    )


def _by_upn(user: TenantUser) -> tuple[str, str]:
    return user.user_principal_name.lower(), user.id


def _holds_only_directly(user: TenantUser, sku_id: str) -> bool:
    """Removing the direct copy frees a seat only when no group gives the same SKU as well."""
    return any(a.sku_id == sku_id and a.is_direct for a in user.licenses) and not any(
        a.sku_id == sku_id and not a.is_direct for a in user.licenses
    )
