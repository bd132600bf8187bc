"""The plan as Markdown: pull-request comments, GitHub step summaries, Azure Pipelines summary tabs."""

from __future__ import annotations

from collections.abc import Iterator

from teamslicensing.model.plan import Plan
from teamslicensing.report.common import (
    SEAT_LEGEND,
    group_change_lines,
    limited,
    md_cell,
    named,
    no_changes_line,
    removed,
    seat_table,
    summary_line,
)

# GitHub refuses a step summary over 1 MiB (GitHub docs, "Adding a job summary"): stay below it, with room for the
# apply outcome that may follow in the same summary
MARKDOWN_LIMIT = 1_000_000


def markdown_report(plan: Plan, title: str, limit: int = MARKDOWN_LIMIT) -> str:
    """The whole report if it fits in `limit` bytes; else the changed users and destructive lines cut to what
    fits (largest sections first), each ending "… N more", the rest (summary, seats, gaps) whole."""
    text = "\n".join(markdown_lines(plan, title)) + "\n"
    if len(text.encode()) <= limit:
        return text
    low, high = 0, len(plan.changes)
    best = "\n".join(markdown_lines(plan, title, max_rows=0)) + "\n"
    while low <= high:
        rows = (low + high) // 2
        candidate = "\n".join(markdown_lines(plan, title, max_rows=rows)) + "\n"
        if len(candidate.encode()) <= limit:
            best, low = candidate, rows + 1
        else:
            high = rows - 1
    return best


def markdown_lines(plan: Plan, title: str, max_rows: int | None = None) -> Iterator[str]:
    """The report's lines; `max_rows` caps the changed users and destructive lines listed (None: all)."""
    yield f"## {title or 'teams-licensing plan'}"
    yield ""
    yield f"**{summary_line(plan)}**"
    yield ""
    destructive = [c for c in plan.changes if c.destructive]
    if destructive:
        yield "> [!CAUTION]"
        yield f"> **{len(destructive)} destructive change(s):** these users lose their phone number."
        for change in destructive[:max_rows]:
            yield f"> - `{change.user_principal_name}`: removes {removed(change)}"
        if max_rows is not None and len(destructive) > max_rows:
            yield f"> - … and {len(destructive) - max_rows} more: see the full report (JSON, or the artifact)"
        yield ""
    if plan.group_changes:
        yield "### Group license changes"
        yield ""
        for group_change in plan.group_changes:
            head, *rest = group_change_lines(group_change)
            yield f"- {md_cell(head)}" + "".join(f"<br>`{md_cell(line)}`" for line in rest)
        yield ""
    if plan.changes:
        yield "### Changes"
        yield ""
        yield "| User | Usage location | Add | Remove | Rules |"
        yield "|---|---|---|---|---|"
        for change in plan.changes[:max_rows]:
            user = f"**⚠ {change.user_principal_name}**" if change.destructive else change.user_principal_name
            adds = "<br>".join(
                md_cell(named(a.sku_part_number))
                + (f" (disabled: {len(a.disabled_plans)})" if a.disabled_plans else "")
                for a in change.add_licenses
            )
            removes = "<br>".join(md_cell(named(r.sku_part_number)) for r in change.remove_licenses)
            yield (
                f"| {md_cell(user)} | {change.set_usage_location or ''} | {adds} | {removes} | "
                f"{md_cell(', '.join(change.rules))} |"
            )
        if max_rows is not None and len(plan.changes) > max_rows:
            more = len(plan.changes) - max_rows
            yield f"| … and {more} more changed users | | | | the full report: `--format json` or the plan artifact |"
        yield ""
    elif not plan.group_changes:
        yield no_changes_line(plan)
        yield ""
    if plan.seats:
        yield "### Seats"
        yield ""
        yield from seat_table(plan.seats, markdown=True)
        yield ""
        yield f"<sub>{SEAT_LEGEND}</sub>"
        yield ""
    if plan.gaps:
        yield "### Gaps"
        yield ""
        yield "| Severity | Code | User | SKU | Message |"
        yield "|---|---|---|---|---|"
        for gap, more in limited(plan.gaps):
            if more:
                yield f"| {gap.severity.value} | {gap.code.value} | … {more} more | | see the JSON report |"
            else:
                yield (
                    f"| {gap.severity.value} | {gap.code.value} | {md_cell(gap.user_principal_name or '(tenant)')} | "
                    f"{gap.sku_part_number or ''} | {md_cell(gap.message)} |"
                )
        yield ""
