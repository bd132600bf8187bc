"""The plan as text for a terminal or a job log."""

from __future__ import annotations

from collections.abc import Iterator

from teamslicensing.model.plan import Plan
from teamslicensing.report.common import (
    SEAT_LEGEND,
    gap_sections,
    group_change_lines,
    named,
    no_changes_line,
    removed,
    seat_table,
    summary_line,
)


def text_lines(plan: Plan, title: str) -> Iterator[str]:
    if title:
        yield title
        yield ""
    destructive = [c for c in plan.changes if c.destructive]
    if destructive:
        yield f"!!! {len(destructive)} DESTRUCTIVE change(s): these users lose their phone number !!!"
        for change in destructive:
            yield f"!!!   {change.user_principal_name}: removes {removed(change)}"
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
    elif not plan.group_changes:
        yield no_changes_line(plan)
    yield ""
    if plan.seats:
        yield "Seats:"
        yield from seat_table(plan.seats, markdown=False)
        yield f"  ({SEAT_LEGEND})"
        yield ""
    yield from gap_sections(plan.gaps, " (see --format json)")
    yield summary_line(plan)
