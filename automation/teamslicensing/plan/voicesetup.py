"""Stage 5b put together: numbers and policies planned once the licenses are settled, merged into each user's
outcome (a user whose licenses stay as they are gets a change of numbers or policies alone)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from teamslicensing.model.plan import Gap, GapCode, Severity, UserChange
from teamslicensing.model.tenant import TenantUser
from teamslicensing.model.voicechange import NumberChange, NumberPool, PolicyChange
from teamslicensing.plan.context import Outcome
from teamslicensing.plan.facts import PlanFacts, skip_reason
from teamslicensing.plan.numbering import plan_numbers
from teamslicensing.plan.teamspolicies import plan_policies


@dataclass(frozen=True)
class VoiceSetup:
    outcomes: dict[str, Outcome]  # every outcome, those with number or policy changes replaced
    gaps: tuple[Gap, ...]  # the tenant-wide ones (a user's are in their outcome)
    pools: tuple[NumberPool, ...]


def with_voice_setup(
    facts: PlanFacts,
    selected_by: Mapping[str, tuple[int, ...]],
    users: Mapping[str, TenantUser],
    outcomes: dict[str, Outcome],
) -> VoiceSetup:
    """Stage 5b over the users the rules select and the users `numbers` rows name."""
    desired = facts.desired
    if not (desired.manages_numbers or desired.manages_policies):
        return VoiceSetup(outcomes, (), ())
    if facts.tenant.cloud != "global":
        message = (
            f"the {facts.tenant.cloud} cloud has no Teams administration API in Graph (phone numbers, policies): "
            "the configuration's phoneNumber, policies and numbers are not planned; remove them or assign numbers "
            "and policies with Teams PowerShell there"
        )
        return VoiceSetup(outcomes, (Gap(GapCode.NUMBERS_NOT_IN_CLOUD, Severity.ERROR, None, None, message),), ())
    named = {row.user for row in desired.numbers}
    chosen = [
        user
        for user in users.values()
        if user.id in selected_by or user.id in named or user.user_principal_name.lower() in named
    ]
    order = sorted(chosen, key=lambda u: (min(selected_by.get(u.id, (len(desired.rules),))), _upn(u), u.id))
    seen = dict(outcomes)
    for user in order:  # a row's user no rule selects: unchanged as to licenses, but still protected or disabled
        seen.setdefault(user.id, Outcome(None, (), skip=skip_reason(facts, user)))
    numbering = plan_numbers(facts, selected_by, order, seen)
    policies, policy_gaps = plan_policies(facts, selected_by, order, seen)
    user_gaps: dict[str, list[Gap]] = {}
    tenant_gaps = []
    for gap in (*numbering.gaps, *policy_gaps):
        if gap.user_id is None:
            tenant_gaps.append(gap)
        else:
            user_gaps.setdefault(gap.user_id, []).append(gap)
    merged = dict(outcomes)
    for user_id in {*numbering.changes, *policies, *user_gaps}:
        outcome = seen[user_id]
        change = outcome.change
        if user_id in numbering.changes or user_id in policies:
            change = _with_voice(
                change or _unchanged(users[user_id], facts, selected_by),
                numbering.changes.get(user_id, ()),
                policies.get(user_id, ()),
            )
        merged[user_id] = dataclasses.replace(outcome, change=change, gaps=(*outcome.gaps, *user_gaps.get(user_id, ())))
    return VoiceSetup(merged, tuple(tenant_gaps), numbering.pools)


def _unchanged(user: TenantUser, facts: PlanFacts, selected_by: Mapping[str, tuple[int, ...]]) -> UserChange:
    rules = tuple(facts.desired.rules[index].name for index in sorted(selected_by.get(user.id, ())))
    return UserChange(user.id, user.user_principal_name, None, (), (), rules or ("numbers",), destructive=False)


def _upn(user: TenantUser) -> str:
    return user.user_principal_name.lower()


def _with_voice(
    change: UserChange, numbers: tuple[NumberChange, ...], policies: tuple[PolicyChange, ...]
) -> UserChange:
    """`change` with its number and policy changes; a number a row replaces is a number the user loses, counted and
    shown like any (the judgement finds the same)."""
    replaced = tuple(f"{n.number} ({n.number_type})" for n in numbers if n.replaced)
    return dataclasses.replace(
        change,
        number_changes=numbers,
        policy_changes=policies,
        destructive=change.destructive or bool(replaced),
        phone_numbers=change.phone_numbers + tuple(n for n in replaced if n not in change.phone_numbers),
    )
