"""Stage 6's last part: one decision per user a rule selects or who holds a managed SKU (and every user the source
could not read): what the plan does with them, the rules that select them and how, and why, in the plan's own
words. Derived from the judged plan and each user's outcome; nothing here judges anything again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

from teamslicensing.model.plan import (
    Action,
    Decision,
    Gap,
    GapCode,
    Plan,
    Reason,
    RemovalReason,
    UserChange,
)
from teamslicensing.model.tenant import TenantUser
from teamslicensing.model.voicechange import LEAVER, NumberAction
from teamslicensing.model.words import counted
from teamslicensing.plan.context import Outcome, Want
from teamslicensing.plan.facts import PlanFacts
from teamslicensing.plan.wanted import COVERED_ORDER, Wanted

# reason codes beside the gap codes: what a change does, and why a user is as declared or left out
ASSIGN = "ASSIGN"
UPDATE_PLANS = "UPDATE_PLANS"
SET_USAGE_LOCATION = "SET_USAGE_LOCATION"
AS_DECLARED = "AS_DECLARED"
NOT_SELECTED = "NOT_SELECTED"
EXCLUDED = "EXCLUDED"
ASSIGN_NUMBER = "ASSIGN_NUMBER"
UNASSIGN_NUMBER = "UNASSIGN_NUMBER"
ASSIGN_POLICY = "ASSIGN_POLICY"
_REMOVALS = {
    RemovalReason.PRUNE: ("PRUNE", "no rule gives it, and prune removes voice add-ons"),
    RemovalReason.PRUNE_ALSO: ("PRUNE_ALSO", "no rule gives it, and policy.pruneAlso lets prune remove it"),
    RemovalReason.SWAP: ("SWAP", "replaced in the same write by the license added for it (the number stays)"),
    RemovalReason.REDUNDANT: ("REDUNDANT", "other licenses give every plan of it (policy.removeRedundant)"),
    RemovalReason.MIGRATE: ("MIGRATE", "the managed group's Active copy replaces the direct one (migrateDirect)"),
    RemovalReason.UNDO: ("UNDO", "restores the licenses an audited run changed"),
}


def decisions_of(
    plan: Plan, facts: PlanFacts, wanted: Wanted, users: Sequence[TenantUser], outcomes: Mapping[str, Outcome]
) -> tuple[Decision, ...]:
    """The decisions, by userPrincipalName (users alike share their rules and reasons, so 100,000 of them cost
    little more than their 100,000 small records)."""
    changes = {change.user_id: change for change in plan.changes}
    gaps_of: dict[str, list[Gap]] = defaultdict(list)
    for gap in plan.gaps:
        if gap.user_id is not None:
            gaps_of[gap.user_id].append(gap)
    shared = _Shared()
    decisions = [
        _decision(user, facts, wanted, outcomes[user.id], changes.get(user.id), gaps_of.get(user.id, ()), shared)
        for user in users
        if user.id in wanted.selected_by or user.id in wanted.excluded or _holds_managed(user, facts)
    ]
    for unreadable in facts.tenant.unreadable:
        user_id = unreadable.user_id or ""
        upn = unreadable.user_principal_name or user_id
        reasons = tuple(_gap_reason(g) for g in gaps_of.get(user_id, ())) or (
            Reason(
                GapCode.USER_UNREADABLE.value, f"the tenant source returned this user unreadably ({unreadable.reason})"
            ),
        )
        decisions.append(Decision(user_id, upn, Action.SKIPPED, (), reasons))
    decisions.sort(key=lambda d: (d.user_principal_name.lower(), d.user_id))
    return tuple(decisions)


def _decision(
    user: TenantUser,
    facts: PlanFacts,
    wanted: Wanted,
    outcome: Outcome,
    change: UserChange | None,
    gaps: Sequence[Gap],
    shared: _Shared,
) -> Decision:
    action = _action(user, wanted, outcome, change)
    said: list[Reason] = []
    if change is not None:
        said += _change_reasons(change, facts, wanted.wants.get(user.id, {}), user.direct_licenses())
    elif outcome.skip is not None and not any(gap.code is outcome.skip[0] for gap in gaps):
        code, why = outcome.skip  # nothing to change anyway: no gap was raised, but it is why nothing ever would be
        said.append(Reason(code.value, f"{why}: never changed, only reported"))
    elif action is Action.NONE and user.id in wanted.selected_by:
        said.append(Reason(AS_DECLARED, "holds what the rules give: nothing to change"))
    elif action is Action.NONE:
        said.append(Reason(NOT_SELECTED, "no rule selects the user, and prune removes nothing they hold"))
    for selected, excluded in wanted.excluded.get(user.id, ()):
        how = "; ".join(by.describe() for by in selected.how)
        why = "; ".join(by.describe() for by in excluded.how)
        said.append(Reason(EXCLUDED, f"rule '{selected.rule}' selects ({how}) but excludes ({why}): gives nothing"))
    said += (_gap_reason(gap) for gap in gaps)
    return Decision(user.id, user.user_principal_name, action, wanted.matches.get(user.id, ()), shared.reasons(said))


class _Shared:
    """One object per reason and per list of reasons users have alike."""

    def __init__(self) -> None:
        self._reason: dict[Reason, Reason] = {}
        self._reasons: dict[tuple[Reason, ...], tuple[Reason, ...]] = {}

    def reasons(self, said: Sequence[Reason]) -> tuple[Reason, ...]:
        reasons = tuple(self._reason.setdefault(reason, reason) for reason in said)
        return self._reasons.setdefault(reasons, reasons)


def _action(user: TenantUser, wanted: Wanted, outcome: Outcome, change: UserChange | None) -> Action:
    if change is not None:
        return Action.CHANGE
    if outcome.skip is not None:
        return Action.PROTECTED if outcome.skip[0] is GapCode.PROTECTED_USER_SKIPPED else Action.SKIPPED
    if outcome.withheld or outcome.change is not None:  # a gap held it back, or the judgement did
        return Action.WITHHELD
    if user.id not in wanted.selected_by and user.id in wanted.excluded:
        return Action.SKIPPED
    return Action.NONE


def _change_reasons(
    change: UserChange, facts: PlanFacts, wants: Mapping[str, Want], direct: Mapping[str, frozenset[str]]
) -> Iterator[Reason]:
    if change.set_usage_location:
        message = f"usage location set to {change.set_usage_location} first: Graph assigns no license without one"
        yield Reason(SET_USAGE_LOCATION, message)
    rules = facts.desired.rules
    for add in change.add_licenses:
        want = wants.get(add.sku_id)
        by = f"rule '{rules[want.order].name}'" if want is not None and want.order < COVERED_ORDER else "the rules"
        off = f" with {counted(len(add.disabled_plans), 'plan')} turned off" if add.disabled_plans else ""
        if add.sku_id in direct:
            yield Reason(UPDATE_PLANS, f"{add.sku_part_number}: held; {by} declares its plans{off or ' all on'}")
        else:
            yield Reason(ASSIGN, f"{add.sku_part_number}: {by} assigns it{off}")
    for remove in change.remove_licenses:
        code, why = _REMOVALS.get(remove.reason or RemovalReason.PRUNE, ("PRUNE", "no rule gives it"))
        yield Reason(code, f"{remove.sku_part_number}: {why}")
    yield from _voice_reasons(change)


def _voice_reasons(change: UserChange) -> Iterator[Reason]:
    for number in change.number_changes:
        if number.action is NumberAction.UNASSIGN and number.source == LEAVER:
            why = "back to the inventory before the license it needs goes (policy.unassignNumbers)"
            yield Reason(UNASSIGN_NUMBER, f"{number.number}: {why}")
        elif number.action is NumberAction.UNASSIGN:
            yield Reason(UNASSIGN_NUMBER, f"{number.number}: replaced by the number `numbers` gives the user")
        else:
            by = "a `numbers` row" if number.source == "numbers" else f"rule '{number.source}'"
            when = ", once the license this plan adds is Active" if number.after_license else ""
            yield Reason(ASSIGN_NUMBER, f"{number.number} ({number.number_type}): {by} gives it{when}")
    for policy in change.policy_changes:
        yield Reason(ASSIGN_POLICY, f"{policy.policy_type} {policy.policy_name}: rule '{policy.rule}' assigns it")


def _gap_reason(gap: Gap) -> Reason:
    sku = f"{gap.sku_part_number}: " if gap.sku_part_number else ""
    return Reason(gap.code.value, f"{sku}{gap.message}")


def _holds_managed(user: TenantUser, facts: PlanFacts) -> bool:
    return any(a.sku_id in facts.managed for a in user.licenses)
