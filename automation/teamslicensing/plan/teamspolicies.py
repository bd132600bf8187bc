"""Stage 5b, policies: each user a rule selects gets, for each policy type the rules name (the first rule in the
file's order wins a type), the named policy as a direct assignment, unless it is already the one in effect for
them (directly or through a group). Compared by the names in the user's effectivePolicyAssignments; policy ids are
resolved when writing (getPolicyId needs the write permission). Policies are never unassigned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from teamslicensing.model.plan import Gap, GapCode, Severity
from teamslicensing.model.tenant import TenantUser, policy_key
from teamslicensing.model.voicechange import PolicyAction, PolicyChange
from teamslicensing.plan.context import Outcome, user_gap
from teamslicensing.plan.facts import PlanFacts


def plan_policies(
    facts: PlanFacts,
    selected_by: Mapping[str, tuple[int, ...]],
    order: Sequence[TenantUser],
    outcomes: Mapping[str, Outcome],
) -> tuple[dict[str, tuple[PolicyChange, ...]], tuple[Gap, ...]]:
    """Policy changes by user id, and the gaps: a tenant whose Teams configurations were not read gets one, and no
    policy change (what is in effect cannot be compared)."""
    desired, tenant = facts.desired, facts.tenant
    if not desired.manages_policies:
        return {}, ()
    if tenant.teams_users is None:
        why = tenant.teams_unavailable or "the source has no userConfigurations"
        message = f"Teams user configurations were not read ({why}): no policy is assigned"
        return {}, (Gap(GapCode.TEAMS_CONFIGURATION_UNAVAILABLE, Severity.WARNING, None, None, message),)
    changes: dict[str, tuple[PolicyChange, ...]] = {}
    gaps: list[Gap] = []
    for user in order:
        outcome = outcomes.get(user.id)
        if outcome is not None and outcome.skip is not None:
            continue
        wanted, differ = _wanted(facts, user, selected_by.get(user.id, ()))
        gaps.extend(differ)
        planned = []
        for policy_type, name, rule_name in wanted.values():
            lookup = None if tenant.policies is None else tenant.policies.get(policy_key(policy_type, name))
            if lookup is not None and not lookup.found:
                message = f"rule '{rule_name}': Teams has no {policy_type} named '{name}': not assigned"
                gaps.append(user_gap(facts, user, GapCode.POLICY_NOT_FOUND, Severity.ERROR, None, message))
                continue
            configuration = tenant.teams_users.get(user.id)
            current = configuration.policy(policy_type) if configuration is not None else None
            if current is not None and policy_key(policy_type, current.name) == policy_key(policy_type, name):
                continue
            planned.append(PolicyChange(PolicyAction.ASSIGN, policy_type, name, rule_name))
        if planned:
            changes[user.id] = tuple(planned)
    return changes, tuple(gaps)


def _wanted(
    facts: PlanFacts, user: TenantUser, rules: tuple[int, ...]
) -> tuple[dict[str, tuple[str, str, str]], list[Gap]]:
    """Lower policy type -> (type, name, rule) of the first rule naming the type; a later rule naming another
    policy of the type is said (VOICE_RULES_DIFFER)."""
    wanted: dict[str, tuple[str, str, str]] = {}
    gaps: list[Gap] = []
    for index in sorted(rules):
        rule = facts.desired.rules[index]
        for policy_type, name in rule.policies:
            first = wanted.setdefault(policy_type.lower(), (policy_type, name, rule.name))
            if policy_key(policy_type, first[1]) != policy_key(policy_type, name):
                message = (
                    f"rules '{first[2]}' and '{rule.name}' give the user different {policy_type} policies "
                    f"('{first[1]}', '{name}'): '{first[2]}', first in the file, is followed"
                )
                gaps.append(user_gap(facts, user, GapCode.VOICE_RULES_DIFFER, Severity.WARNING, None, message))
    return wanted, gaps
