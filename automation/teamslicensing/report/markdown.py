"""The plan as Markdown: pull-request comments, GitHub step summaries, Azure Pipelines summary tabs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from teamslicensing.model.plan import Plan, UserChange
from teamslicensing.model.words import counted
from teamslicensing.reference.productnames import named
from teamslicensing.report.common import (
    LIMITS_OVERRIDE,
    RULE_LEGEND,
    SEAT_LEGEND,
    beyond_voice,
    beyond_voice_heading,
    group_change_lines,
    limited,
    md_cell,
    no_changes_line,
    refusal_text,
    removed,
    removed_beyond_voice,
    rule_table,
    seat_table,
    summary_line,
)
from teamslicensing.report.costlines import COST_LEGEND, cost_lines
from teamslicensing.report.voicelines import pool_table, voice_lines

# GitHub refuses a step summary over 1 MiB (GitHub docs, "Adding a job summary"): stay below it, with room for the
# apply outcome that may follow in the same summary
MARKDOWN_LIMIT = 1_000_000


def markdown_report(plan: Plan, title: str, limit: int = MARKDOWN_LIMIT) -> str:
    """The whole report if it fits in `limit` bytes; else the changed users, destructive and removal lines cut to
    what fits (largest sections first), each ending "… N more", the rest (refusals, summary, seats, gaps) whole."""
    parts = _parts(plan, title)  # every row rendered once; the search below only joins them

    def text(rows: int | None) -> str:
        return "\n".join(_assembled(parts, rows)) + "\n"

    whole = text(None)
    if len(whole.encode()) <= limit:
        return whole
    low, high = 0, len(plan.changes)
    best = text(0)
    while low <= high:
        rows = (low + high) // 2
        candidate = text(rows)
        if len(candidate.encode()) <= limit:
            best, low = candidate, rows + 1
        else:
            high = rows - 1
    return best


def markdown_lines(plan: Plan, title: str, max_rows: int | None = None) -> Iterator[str]:
    """The report's lines; `max_rows` caps the changed users and destructive lines listed (None: all)."""
    return _assembled(_parts(plan, title), max_rows)


@dataclass(frozen=True)
class _Parts:
    head: list[str]  # title, what apply would do, and the summary line
    destructive: list[str]  # a line per destructive change
    beyond_voice: list[str]  # a line per change removing a license beyond voice (policy.pruneAlso)
    groups: list[str]  # the group changes section, whole
    rules: list[str]  # the per-rule summary, whole
    changes: list[str]  # a table row per changed user
    after_changes: list[str]  # what stands in place of the changes table when there is none
    tail: list[str]  # seats and gaps, whole


def _parts(plan: Plan, title: str) -> _Parts:
    groups: list[str] = []
    if plan.group_changes:
        groups += ["### Group license changes", ""]
        for group_change in plan.group_changes:
            head, *rest = group_change_lines(group_change)
            groups.append(f"- {md_cell(head)}" + "".join(f"<br>`{md_cell(line)}`" for line in rest))
        groups.append("")
    rules = []
    if plan.rule_summaries:
        rules = ["### Rules", "", *rule_table(plan.rule_summaries, markdown=True), "", f"_{md_cell(RULE_LEGEND)}._", ""]
    return _Parts(
        head=[f"## {title or 'teams-licensing plan'}", "", *_refusals(plan), f"**{summary_line(plan)}**", ""],
        destructive=[
            f"> - `{change.user_principal_name}`: {removed(change)}" for change in plan.changes if change.destructive
        ],
        beyond_voice=[
            f"> - `{change.user_principal_name}`: removes {removed_beyond_voice(change)}"
            for change in beyond_voice(plan)
        ],
        groups=groups,
        rules=rules,
        changes=[_change_row(change) for change in plan.changes],
        after_changes=[no_changes_line(plan), ""] if not plan.changes and not plan.group_changes else [],
        tail=list(_tail(plan)),
    )


def _refusals(plan: Plan) -> list[str]:
    if not plan.refusals:
        return ["Apply would go ahead: no limit exceeded, nothing blocking.", ""]
    return [
        "> [!CAUTION]",
        "> **Apply would refuse this plan:**",
        *(f"> - {md_cell(refusal_text(refusal))}" for refusal in plan.refusals),
        f"> ({LIMITS_OVERRIDE}.)",
        "",
    ]


def _assembled(parts: _Parts, max_rows: int | None) -> Iterator[str]:
    yield from parts.head
    if parts.destructive:
        yield "> [!CAUTION]"
        yield f"> **{counted(len(parts.destructive), 'destructive change')}:** users lose their phone number."
        yield from _capped(parts.destructive, max_rows)
        yield ""
    if parts.beyond_voice:
        yield "> [!WARNING]"
        yield f"> **Removals: {beyond_voice_heading(len(parts.beyond_voice))}.**"
        yield from _capped(parts.beyond_voice, max_rows)
        yield ""
    yield from parts.groups
    yield from parts.rules
    if parts.changes:
        yield "### Changes"
        yield ""
        yield "| User | Usage location | Add | Remove | Rules |"
        yield "|---|---|---|---|---|"
        yield from parts.changes[:max_rows]
        if max_rows is not None and len(parts.changes) > max_rows:
            more = len(parts.changes) - max_rows
            yield f"| … and {more} more changed users | | | | the full report: `--format json` or the plan artifact |"
        yield ""
    yield from parts.after_changes
    yield from parts.tail


def _capped(lines: list[str], max_rows: int | None) -> Iterator[str]:
    yield from lines[:max_rows]
    if max_rows is not None and len(lines) > max_rows:
        yield f"> - … and {len(lines) - max_rows} more: see the full report (JSON, or the artifact)"


def _change_row(change: UserChange) -> str:
    user = f"**⚠ {change.user_principal_name}**" if change.destructive else change.user_principal_name
    adds = "<br>".join(
        md_cell(named(a.sku_part_number)) + (f" (disabled: {len(a.disabled_plans)})" if a.disabled_plans else "")
        for a in change.add_licenses
    )
    removes = "<br>".join(md_cell(named(r.sku_part_number)) for r in change.remove_licenses)
    voice = voice_lines(change)
    if voice:
        adds = "<br>".join(part for part in (adds, *(md_cell(line) for line in voice)) if part)
    return (
        f"| {md_cell(user)} | {change.set_usage_location or ''} | {adds} | {removes} | "
        f"{md_cell(', '.join(change.rules))} |"
    )


def _tail(plan: Plan) -> Iterator[str]:
    if plan.seats:
        yield "### Seats"
        yield ""
        yield from seat_table(plan.seats, markdown=True)
        yield ""
        yield f"<sub>{SEAT_LEGEND}</sub>"
        yield ""
    if plan.cost:
        yield "### Cost per month"
        yield ""
        yield from cost_lines(plan.cost, markdown=True)
        yield f"<sub>{COST_LEGEND}</sub>"
        yield ""
    if plan.number_pools:
        yield "### Numbers"
        yield ""
        yield from pool_table(plan.number_pools, markdown=True)
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
