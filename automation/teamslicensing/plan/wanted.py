"""Stage 3 of planning: what each rule wants, per user. Each rule's selection is resolved (groups transitively, users
by name, attributes by index) less its exclusions, and every SKU it assigns becomes a `Want` of each user it
selects; with it, how each rule selected each user (for the plan's decisions) and the selection problems as gaps."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from teamslicensing.model.capability import Capability
from teamslicensing.model.desired import DesiredRule, UserSelector
from teamslicensing.model.plan import Gap, GapCode, RuleMatch, SelectedBy, Severity
from teamslicensing.plan.context import Want
from teamslicensing.plan.facts import PlanFacts
from teamslicensing.plan.selection import Selection

ERROR, WARNING = Severity.ERROR, Severity.WARNING
# after every rule in seat priority: a SKU a managed group gives (it takes no direct seat)
COVERED_ORDER = 1 << 30
COVERED = Want(None, COVERED_ORDER)  # one for every covered member: it is immutable


@dataclass(frozen=True)
class Wanted:
    wants: Mapping[str, Mapping[str, Want]]  # user id -> sku id -> what the rules want of it
    selected_by: Mapping[str, tuple[int, ...]]  # user id -> the rules selecting them, by index
    matches: Mapping[str, tuple[RuleMatch, ...]]  # user id -> the rules selecting them, and how
    # user id -> (how the rule selects them, how it excludes them) for each rule whose exclude drops them
    excluded: Mapping[str, tuple[tuple[RuleMatch, RuleMatch], ...]]
    unsafe_to_prune: frozenset[str]  # SKUs of rules whose selection could not be trusted: not pruned this run
    phone_system_rules: frozenset[int]  # rules that assign a SKU carrying Phone System
    gaps: tuple[Gap, ...]


def wanted_by_rules(facts: PlanFacts, selection: Selection, covered: Mapping[str, frozenset[str]]) -> Wanted:
    """Stage 3. `covered`: user id -> SKUs a managed group gives them (no direct add, never pruned)."""
    wants: dict[str, dict[str, Want]] = defaultdict(dict)
    selected_by: dict[str, list[int]] = defaultdict(list)
    hows: dict[str, list[RuleMatch]] = defaultdict(list)
    excluded_by: dict[str, list[tuple[RuleMatch, RuleMatch]]] = defaultdict(list)
    unsafe: set[str] = set()
    phone_rules: set[int] = set()
    gaps: list[Gap] = []
    for order, rule in enumerate(facts.desired.rules):
        chosen, select_problems = selection.members(rule.select, users_must_exist=True, empty_is_suspect=True)
        excluded, exclude_problems = selection.members(rule.exclude, users_must_exist=False)
        skus = [(ref, facts.sku_of[ref]) for ref in rule.assign if ref in facts.sku_of]
        if any(Capability.PHONE_SYSTEM in sku.capabilities for _, sku in skus):
            phone_rules.add(order)
        gaps += [_selection_gap(rule, *problem, "selects") for problem in select_problems]
        gaps += [_selection_gap(rule, *problem, "excludes") for problem in exclude_problems]
        unreadable = (GapCode.GROUP_NOT_FOUND, GapCode.SELECTION_SUSPECT)
        if any(code in unreadable for code, _, _ in select_problems + exclude_problems):
            # an unreadable selection must not strip anybody: its licenses are not pruned this run
            unsafe.update(sku.sku_id for _, sku in skus)
        if exclude_problems:
            continue  # who must be left out is unknown, so the rule assigns nothing this run
        declared = [
            (sku, facts.disabled_plans(f"rule '{rule.name}'", rule.disabled_plans, ref, sku)) for ref, sku in skus
        ]
        how = _How(rule.name, rule.select, selection)
        if chosen & excluded:
            how_excluded = _How(rule.name, rule.exclude, selection)
            for user_id in chosen & excluded:
                excluded_by[user_id].append((how.of(user_id), how_excluded.of(user_id)))
        for user_id in chosen - excluded:
            selected_by[user_id].append(order)
            hows[user_id].append(how.of(user_id))
            user_wants = wants[user_id]
            for sku, disabled in declared:  # unassignable SKUs too: wanted still means "do not prune"
                user_wants[sku.sku_id] = _merge_want(user_wants.get(sku.sku_id), disabled, order)
    for user_id, skus_covered in covered.items():  # a managed group gives these: no direct add, no prune
        for sku_id in skus_covered:
            wants[user_id].setdefault(sku_id, COVERED)
    shared: dict[tuple[RuleMatch, ...], tuple[RuleMatch, ...]] = {}  # users selected alike share one tuple
    return Wanted(
        wants=wants,
        selected_by={user_id: tuple(orders) for user_id, orders in selected_by.items()},
        matches={user_id: shared.setdefault(t := tuple(matches), t) for user_id, matches in hows.items()},
        excluded={user_id: tuple(rules) for user_id, rules in excluded_by.items()},
        unsafe_to_prune=frozenset(unsafe),
        phone_system_rules=frozenset(phone_rules),
        gaps=tuple(gaps),
    )


class _How:
    """How one rule's `select` (or `exclude`) names each user: one `RuleMatch` per combination, shared."""

    def __init__(self, rule: str, select: UserSelector, selection: Selection) -> None:
        self.rule = rule
        self.parts: list[tuple[SelectedBy, frozenset[str]]] = []
        for name in select.groups:
            members, _ = selection.members(UserSelector(groups=(name,)), users_must_exist=False)
            self.parts.append((SelectedBy("group", name), frozenset(members)))
        for name in select.users:
            members, _ = selection.members(UserSelector(users=(name,)), users_must_exist=False)
            self.parts.append((SelectedBy("listed", name), frozenset(members)))
        if select.attributes:
            members, _ = selection.members(UserSelector(attributes=select.attributes), users_must_exist=False)
            value = "; ".join(f"{name} in {sorted(values)}" for name, values in select.attributes)
            self.parts.append((SelectedBy("attribute", value), frozenset(members)))
        self._matches: dict[tuple[SelectedBy, ...], RuleMatch] = {}

    def of(self, user_id: str) -> RuleMatch:
        how = tuple(part for part, members in self.parts if user_id in members)
        match = self._matches.get(how)
        if match is None:
            match = self._matches[how] = RuleMatch(self.rule, how)
        return match


def _selection_gap(rule: DesiredRule, code: GapCode, subject: str, why: str, role: str) -> Gap:
    if code is GapCode.USER_NOT_FOUND:
        return Gap(code, ERROR, subject, None, f"rule '{rule.name}' names a user the tenant does not have")
    consequence = "; the rule assigns nothing until this is fixed" if role == "excludes" else ""
    if code is GapCode.SELECTION_SUSPECT:
        allow = " (list it in policy.emptyGroupsAllowed if empty on purpose)" if role == "selects" else ""
        message = (
            f"rule '{rule.name}' {role} group '{subject}': {why}; its licenses are not removed from anybody "
            f"this run{consequence}{allow}"
        )
        return Gap(code, WARNING, None, None, message)
    message = f"rule '{rule.name}' {role} group '{subject}': {why}; use the group's object id{consequence}"
    return Gap(code, ERROR, None, None, message)


def _merge_want(previous: Want | None, disabled: frozenset[str] | None, order: int) -> Want:
    if previous is None:
        return Want(disabled, order)
    if disabled is None:
        return previous
    # a plan stays off only if every rule that declares plans for this SKU turns it off
    merged = disabled if previous.disabled is None else previous.disabled & disabled
    return Want(merged, previous.order)
