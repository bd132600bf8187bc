"""Each rule's share of a plan: how many users it selects, changes, holds back and skips (protected or disabled),
and the adds and removals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from teamslicensing.model.desired import DesiredRule
from teamslicensing.model.plan import RuleSummary
from teamslicensing.plan.context import Outcome

PRUNE_ROW = "(prune)"  # users no rule selects: what prune removes from them


def rule_summaries(
    rules: Sequence[DesiredRule], selected_by: Mapping[str, Sequence[int]], outcomes: Mapping[str, Outcome]
) -> tuple[RuleSummary, ...]:
    """One row per rule, in the file's order (a user two rules select counts in both), then a prune row for users
    no rule selects, when prune changes, holds back or skips any of them."""
    counts = [[0, 0, 0, 0, 0, 0] for _ in range(len(rules) + 1)]  # selected, changed, adds, removals, withheld, skipped
    for user_id, outcome in outcomes.items():
        rows = selected_by.get(user_id) or ()
        for row in rows or (len(rules),):
            tally = counts[row]
            tally[0] += 1 if rows else 0
            if outcome.change is not None:
                tally[1] += 1
                tally[2] += len(outcome.change.add_licenses)
                tally[3] += len(outcome.change.remove_licenses)
            tally[4] += 1 if outcome.withheld else 0
            tally[5] += 1 if outcome.skipped_change else 0
    names = [rule.name for rule in rules] + [PRUNE_ROW]
    summaries = [RuleSummary(name, *tally) for name, tally in zip(names, counts, strict=True)]
    last = summaries[-1]
    return tuple(summaries if last.changed or last.withheld or last.skipped else summaries[:-1])
