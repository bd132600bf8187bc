"""Pieces every rendering of a plan shares: the summary line, whom a gap is about, bounded gap lists, seats."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from teamslicensing.model.plan import (
    Gap,
    GroupChange,
    Plan,
    Refusal,
    RemovalReason,
    RuleSummary,
    SeatLine,
    Severity,
    UserChange,
)
from teamslicensing.model.planjson import ReportMeta
from teamslicensing.model.usage import Pool
from teamslicensing.model.words import counted
from teamslicensing.reference.productnames import named, product_name

# a tenant-wide problem can repeat for thousands of users: people get the first lines, JSON gets all
MAX_LINES_PER_CODE = 25


def summary_line(plan: Plan) -> str:
    adds = sum(len(c.add_licenses) for c in plan.changes)
    removes = sum(len(c.remove_licenses) for c in plan.changes)
    locations = sum(1 for c in plan.changes if c.set_usage_location)
    destructive = sum(1 for c in plan.changes if c.destructive)
    text = (
        f"Plan: {counted(len(plan.changes), 'user')} to change "
        f"({counted(adds, 'license add')}, {counted(removes, 'removal')}, {counted(locations, 'usage location')})"
    )
    if plan.group_changes:
        text += f", {counted(len(plan.group_changes), 'group')} to change"
    numbers = sum(len(c.number_changes) for c in plan.changes)
    policies = sum(len(c.policy_changes) for c in plan.changes)
    voice = [counted(n, noun) for n, noun in ((numbers, "phone number"), (policies, "policy")) if n]
    if voice:
        text += f", {' and '.join(voice)} to assign or free"
    if destructive:
        text += f", {destructive:,} DESTRUCTIVE"
    errors, warnings, infos = (plan.gap_count(s) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    return f"{text}; gaps: {counted(errors, 'error')}, {counted(warnings, 'warning')}, {infos:,} info."


LIMITS_OVERRIDE = "--max-changes and --max-removals given to apply override the policy's limits"


def refusal_text(refusal: Refusal) -> str:
    """One reason apply would refuse the plan, in words with its numbers."""
    if refusal.code is not None:
        return f"{refusal.code.value} for {', '.join(refusal.subjects)}: nothing is written while it stands"
    return refusal.describe()


def refusal_lines(plan: Plan, overrides: str = LIMITS_OVERRIDE) -> list[str]:
    """What apply would do with this plan, first thing in every report: refuse it (and why), or go ahead;
    `overrides` says what raises the limits where the report is read."""
    if not plan.refusals:
        return ["Apply would go ahead: no limit exceeded, nothing blocking."]
    return [
        "APPLY WOULD REFUSE THIS PLAN:",
        *(f"- {refusal_text(refusal)}" for refusal in plan.refusals),
        f"({overrides}.)",
    ]


def beyond_voice(plan: Plan) -> list[UserChange]:
    """Changes that remove a license beyond voice add-ons (policy.pruneAlso): shown in a section of their own."""
    return [change for change in plan.changes if change.removes_beyond_voice]


def beyond_voice_heading(count: int) -> str:
    return (
        f"{counted(count, 'user')} lose{'s' if count == 1 else ''} licenses beyond voice (policy.pruneAlso): "
        "each counts against maxRemovals"
    )


def removed_beyond_voice(change: UserChange) -> str:
    """The licenses beyond voice a change removes, named."""
    return ", ".join(named(r.sku_part_number) for r in change.remove_licenses if r.reason is RemovalReason.PRUNE_ALSO)


RULE_HEADER = ("rule", "selected", "changed", "adds", "removals", "withheld", "skipped")
RULE_LEGEND = (
    "a user several rules select counts in each; withheld: wanted, held back by a gap below; skipped: wanted, but "
    "the user is protected or disabled"
)


def rule_rows(summaries: Sequence[RuleSummary]) -> list[tuple[str, int, int, int, int, int, int]]:
    return [(r.rule, r.selected, r.changed, r.adds, r.removals, r.withheld, r.skipped) for r in summaries]


def rule_table(summaries: Sequence[RuleSummary], *, markdown: bool) -> Iterator[str]:
    """Each rule's share of the plan: users it selects, changes, withholds and skips, and the license adds and
    removals."""
    rows = rule_rows(summaries)
    if markdown:
        yield "| Rule | Selected | Changed | Adds | Removals | Withheld | Skipped |"
        yield "|---|---:|---:|---:|---:|---:|---:|"
        for rule, *numbers in rows:
            yield f"| {md_cell(rule)} | " + " | ".join(f"{n:,}" for n in numbers) + " |"
        return
    width = max(len(RULE_HEADER[0]), *(len(r[0]) for r in rows))
    yield "  " + RULE_HEADER[0].ljust(width) + "".join(f"{h:>11}" for h in RULE_HEADER[1:])
    for rule, *numbers in rows:
        yield "  " + rule.ljust(width) + "".join(f"{n:>11,}" for n in numbers)


def group_change_lines(change: GroupChange) -> Iterator[str]:
    """One group's change as words: what Entra will give or take from its direct members."""
    members = f"{change.members} direct member{'s' if change.members != 1 else ''}"
    yield f"group '{change.group_name}' ({members}; Entra applies it to each, asynchronously)"
    for add in change.add_licenses:
        plans = f" (disabled plans: {', '.join(add.disabled_plans)})" if add.disabled_plans else ""
        yield f"+ {named(add.sku_part_number)}{plans}"
    for remove in change.remove_licenses:
        yield f"- {named(remove.sku_part_number)}"


def gap_subject(gap: Gap) -> str:
    """Whom a gap is about: the user (or 'tenant') and the SKU, if any."""
    parts = [gap.user_principal_name or "tenant"]
    if gap.sku_part_number:
        parts.append(gap.sku_part_number)
    return " ".join(parts)


def gap_sections(gaps: Sequence[Gap], more_hint: str = "") -> Iterator[str]:
    """Gaps for a terminal or a job log: Errors, Warnings, Info, each with its count and a bounded list per code."""
    for severity, heading in ((Severity.ERROR, "Errors"), (Severity.WARNING, "Warnings"), (Severity.INFO, "Info")):
        found = [g for g in gaps if g.severity is severity]
        if not found:
            continue
        yield f"{heading} ({len(found)}):"
        for gap, more in limited(found):
            if more:
                yield f"  … and {more} more {gap.code.value}{more_hint}"
            else:
                yield f"  {gap.code.value}  {gap_subject(gap)}: {gap.message}"
        yield ""


def pool_where(pool: Pool) -> str:
    """Where a minute pool is: the tenant, its country, or the countries sharing it (US+PR)."""
    return "tenant" if pool.tenant_wide else "+".join(pool.countries) or "?"


@dataclass(frozen=True)
class PoolRow:
    """One allowance of a pool as every usage format shows it."""

    where: str
    plan: str
    destination: str  # "domestic", "Zone A", and "(either/or)" for one allowance of several
    licences: int
    included: str  # the figure, or why there is none
    used: float
    forecast: float | None
    runs_out: bool
    month: str


def pool_rows(pool: Pool) -> Iterator[PoolRow]:
    """A pool's allowances, one row each; an allowance of an either/or pool says so."""
    either = " (either/or)" if pool.either_or and len(pool.allowances) > 1 else ""
    for allowance in pool.allowances:
        if allowance.included_minutes is not None:
            included = f"{allowance.included_minutes:,}"
        else:
            included = "no license held" if not pool.licences else "unknown plan (no forecast)"
        yield PoolRow(
            pool_where(pool),
            pool.plan,
            DESTINATION_WORDS.get(allowance.destination, allowance.destination) + either,
            pool.licences,
            included,
            allowance.used_minutes,
            allowance.forecast_minutes,
            bool(allowance.forecast_exhausted),
            pool.month,
        )


DESTINATION_WORDS = {"zoneA": "Zone A"}


def partial_month_note(pool: Pool) -> str | None:
    """What a pool's figures leave out when the window began after its month's 1st, else None."""
    if pool.not_read is None:
        return None
    first, last = pool.not_read
    return (
        f"{pool.month} read from {pool.read_from} to {pool.read_to} only ({first} to {last} not read): minutes used "
        "on those days are not in the used figures; the forecast is the pace read over the whole month"
    )


OTHER_MINUTES = "minutes to destinations the pool does not cover, not drawn from it"


def pool_notes(pool: Pool) -> list[str]:
    """A pool's notes, each beginning with where it is and its plan, for the formats that list them under a table:
    its minutes to destinations it does not cover (Audio Conferencing outside Zone A), and a month not read whole."""
    other = f"{pool.other_minutes:,.0f} {OTHER_MINUTES}" if pool.other_minutes else None
    notes = [other, partial_month_note(pool)]
    return [f"{pool_where(pool)} {pool.plan}: {note}" for note in notes if note]


def removed(change: UserChange) -> str:
    """`removes …; loses …`: what a destructive change removes, and the numbers it takes when the inventory says so
    (or unassigns: a change may take a number and no license)."""
    parts = []
    if change.remove_licenses:
        parts.append("removes " + ", ".join(named(r.sku_part_number) for r in change.remove_licenses))
    if change.phone_numbers:
        parts.append(f"loses {', '.join(change.phone_numbers)}")
    return "; ".join(parts)


def limited(gaps: Sequence[Gap]) -> Iterator[tuple[Gap, int]]:
    """Yield (gap, 0) for the first lines of each code, then (gap, count) once for the rest."""
    by_code: dict[str, list[Gap]] = defaultdict(list)
    for gap in gaps:
        by_code[gap.code.value].append(gap)
    for code_gaps in by_code.values():
        for gap in code_gaps[:MAX_LINES_PER_CODE]:
            yield gap, 0
        if len(code_gaps) > MAX_LINES_PER_CODE:
            yield code_gaps[0], len(code_gaps) - MAX_LINES_PER_CODE


def seat_table(seats: Sequence[SeatLine], *, markdown: bool) -> Iterator[str]:
    header = ("SKU", "enabled", "consumed", "to add", "to remove", "available", "shortfall", "redundant")
    rows = [
        (s.sku_part_number, s.enabled, s.consumed, s.to_add, s.to_remove, s.available, s.shortfall, s.redundant)
        for s in seats
    ]
    if markdown:
        yield "| " + " | ".join(header) + " | product |"
        yield "|---" + "|---:" * (len(header) - 1) + "|---|"
        for row in rows:
            short = f"**{row[-2]}**" if row[-2] else "0"
            product = md_cell(product_name(str(row[0])) or "")
            yield "| " + " | ".join(str(v) for v in row[:-2]) + f" | {short} | {row[-1]} | {product} |"
        return
    width = max(len(header[0]), *(len(r[0]) for r in rows))
    yield "  " + header[0].ljust(width) + "".join(f"{h:>11}" for h in header[1:]) + "  product"
    for row in rows:
        product = product_name(str(row[0])) or ""
        yield "  " + row[0].ljust(width) + "".join(f"{v:>11}" for v in row[1:]) + f"  {product}"


SEAT_LEGEND = (
    "available = enabled - consumed + what removal-only changes free, before the adds (they are written first; a "
    "seat a swap frees comes free with its own write, too late for others' adds) (negative: more assigned than the "
    "subscription has, e.g. seats suspended); to add counts direct adds and what group license writes take; "
    "shortfall = new assignments left out for lack of seats (group members included: Entra leaves them in "
    "CountViolation); redundant = direct copies whose plans other licenses already give"
)


def no_changes_line(plan: Plan) -> str:
    """What an empty plan means: in the declared state, or nothing written while gaps stand in the way."""
    errors, warnings = plan.gap_count(Severity.ERROR), plan.gap_count(Severity.WARNING)
    if errors or warnings:
        return (
            f"No changes to write, but {counted(errors, 'error')} and {counted(warnings, 'warning')} below stand: the "
            "declared state is not reached where they say so."
        )
    return "No changes: licenses are in the declared state."


def md_cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def plan_fields_with_product_names(fields: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    """`plan_json_fields` with "productName" beside every "skuPartNumber" of the changes and seats (the contract's
    other keys unchanged; null when the catalogue does not know the SKU); the arrays stay iterators."""
    for key, value in fields:
        if key in ("changes", "groupChanges"):
            yield key, map(change_with_product_names, value)
        elif key == "seats":
            yield key, map(entry_with_product_name, value)
        else:
            yield key, value


def change_with_product_names(change: dict[str, Any]) -> dict[str, Any]:
    for key in ("addLicenses", "removeLicenses"):
        if key in change:
            change[key] = [entry_with_product_name(entry) for entry in change[key]]
    return change


def entry_with_product_name(entry: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in entry.items():
        out[key] = value
        if key == "skuPartNumber":
            out["productName"] = product_name(str(value))
    return out


def meta_line(meta: ReportMeta) -> str:
    """`teams-licensing 1.2.0, generated 2026-12-07 09:30 UTC, tenant Contoso (7a1e…), snapshot tenant.json`: where
    a report comes from, in every format (JSON has it as `meta`)."""
    parts = [f"teams-licensing {meta.tool_version or '?'}"]
    if meta.generated_at is not None:
        parts.append(f"generated {meta.generated_at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    parts.append(f"tenant {tenant_label(meta)}")
    if meta.source:
        parts.append(meta.source)
    return ", ".join(parts)


def tenant_label(meta: ReportMeta) -> str:
    if meta.tenant_name and meta.tenant_id:
        return f"{meta.tenant_name} ({meta.tenant_id})"
    return meta.tenant_name or meta.tenant_id or "not known"


def markdown_footer(meta: ReportMeta | None) -> str:
    """Where a Markdown report comes from, small, at its end ("" without `meta`)."""
    return f"\n<sub>Report: {md_cell(meta_line(meta))}.</sub>\n" if meta is not None else ""
