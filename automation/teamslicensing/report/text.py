"""The plan as text for a terminal or a job log."""

from __future__ import annotations

from collections.abc import Iterator

from teamslicensing.model.plan import Plan
from teamslicensing.model.words import counted
from teamslicensing.reference.productnames import named
from teamslicensing.report.common import (
    RULE_LEGEND,
    SEAT_LEGEND,
    beyond_voice,
    beyond_voice_heading,
    gap_sections,
    group_change_lines,
    no_changes_line,
    refusal_lines,
    removed,
    removed_beyond_voice,
    rule_table,
    seat_table,
    summary_line,
)
from teamslicensing.report.costlines import COST_LEGEND, cost_lines
from teamslicensing.report.voicelines import pool_table, voice_lines

SCREEN = 40  # lines: a longer report says its summary first too, so the outcome is never only at the far end


def text_lines(plan: Plan, title: str) -> Iterator[str]:
    """Title, what apply would do, then (for a report longer than a screen) the summary line; then the body, and
    the summary line last."""
    body = list(_body(plan))
    if title:
        yield title
        yield ""
    yield from refusal_lines(plan)
    if len(body) > SCREEN:
        yield summary_line(plan)
    yield ""
    yield from body
    yield summary_line(plan)


def _body(plan: Plan) -> Iterator[str]:
    destructive = [c for c in plan.changes if c.destructive]
    if destructive:
        yield f"!!! {counted(len(destructive), 'DESTRUCTIVE change')}: users lose their phone number !!!"
        for change in destructive:
            yield f"!!!   {change.user_principal_name}: {removed(change)}"
        yield ""
    broad = beyond_voice(plan)
    if broad:
        yield f"Removals: {beyond_voice_heading(len(broad))}"
        for change in broad:
            yield f"  -   {change.user_principal_name}: removes {removed_beyond_voice(change)}"
        yield ""
    if plan.group_changes:
        yield "Group license changes:"
        for group_change in plan.group_changes:
            head, *rest = group_change_lines(group_change)
            yield f"  ~ {head}"
            yield from (f"      {line}" for line in rest)
        yield ""
    if plan.changes:
        yield "Changes:"
        for change in plan.changes:
            marker = "  !! " if change.destructive else "  ~ "
            rules = f"  [{', '.join(change.rules)}]" if change.rules else "  [prune]"
            yield f"{marker}{change.user_principal_name}{rules}"
            if change.set_usage_location:
                yield f"      ~ usage location = {change.set_usage_location}"
            for add in change.add_licenses:
                plans = f" (disabled plans: {', '.join(add.disabled_plans)})" if add.disabled_plans else ""
                yield f"      + {named(add.sku_part_number)}{plans}"
            for remove in change.remove_licenses:
                yield f"      - {named(remove.sku_part_number)}"
            yield from (f"      {line}" for line in voice_lines(change))
    elif not plan.group_changes:
        yield no_changes_line(plan)
    yield ""
    if plan.rule_summaries:
        yield f"Rules ({RULE_LEGEND}):"
        yield from rule_table(plan.rule_summaries, markdown=False)
        yield ""
    if plan.seats:
        yield "Seats:"
        yield from seat_table(plan.seats, markdown=False)
        yield f"  ({SEAT_LEGEND})"
        yield ""
    if plan.cost:
        yield f"Cost ({COST_LEGEND}):"
        yield from cost_lines(plan.cost, markdown=False)
        yield ""
    if plan.number_pools:
        yield "Numbers (free in the inventory, needed by this plan, short):"
        yield from pool_table(plan.number_pools, markdown=False)
        yield ""
    yield from gap_sections(plan.gaps, " (see --format json)")
