"""Render a `Plan` for people (text, Markdown) and for programs (JSON, a contract). Reads the plan, never changes it."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from teamslicensing.plan import Gap, Plan, SeatLine, Severity, UserChange

FORMATS = ("text", "json", "markdown", "github")
JSON_VERSION = 1
# a tenant-wide problem can repeat for thousands of users: people get the first lines, JSON gets all
MAX_LINES_PER_CODE = 25


def render(plan: Plan, fmt: str, *, title: str = "") -> str:
    if fmt == "json":
        return json.dumps(plan_to_json(plan), indent=2) + "\n"
    if fmt == "markdown":
        return "\n".join(_markdown(plan, title)) + "\n"
    if fmt == "github":
        return "".join(github_annotations(plan)) + summary_line(plan) + "\n"
    return "\n".join(_text(plan, title)) + "\n"


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "changes": [_change_json(change) for change in plan.changes],
        "gaps": [
            {
                "code": gap.code.value,
                "severity": gap.severity.value,
                "userPrincipalName": gap.user_principal_name,
                "skuPartNumber": gap.sku_part_number,
                "message": gap.message,
            }
            for gap in plan.gaps
        ],
        "seats": [_seat_json(seat) for seat in plan.seats],
    }


def _change_json(change: UserChange) -> dict[str, Any]:
    return {
        "userId": change.user_id,
        "userPrincipalName": change.user_principal_name,
        "setUsageLocation": change.set_usage_location,
        "addLicenses": [
            {"skuId": add.sku_id, "skuPartNumber": add.sku_part_number, "disabledPlans": list(add.disabled_plans)}
            for add in change.add_licenses
        ],
        "removeLicenses": [
            {"skuId": remove.sku_id, "skuPartNumber": remove.sku_part_number} for remove in change.remove_licenses
        ],
        "rules": list(change.rules),
        "destructive": change.destructive,
    }


def _seat_json(seat: SeatLine) -> dict[str, Any]:
    return {
        "skuId": seat.sku_id,
        "skuPartNumber": seat.sku_part_number,
        "enabled": seat.enabled,
        "consumed": seat.consumed,
        "toAdd": seat.to_add,
        "toRemove": seat.to_remove,
        "available": seat.available,
        "shortfall": seat.shortfall,
    }


def summary_line(plan: Plan) -> str:
    adds = sum(len(c.add_licenses) for c in plan.changes)
    removes = sum(len(c.remove_licenses) for c in plan.changes)
    locations = sum(1 for c in plan.changes if c.set_usage_location)
    destructive = sum(1 for c in plan.changes if c.destructive)
    users = len(plan.changes)
    text = (
        f"Plan: {users} user{'s' if users != 1 else ''} to change "
        f"({adds} license add{'s' if adds != 1 else ''}, {removes} removal{'s' if removes != 1 else ''}, "
        f"{locations} usage location{'s' if locations != 1 else ''})"
    )
    if destructive:
        text += f", {destructive} DESTRUCTIVE"
    errors, warnings, infos = (plan.gap_count(s) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    return f"{text}; gaps: {errors} error(s), {warnings} warning(s), {infos} info."


# ---- text ------------------------------------------------------------------------------------------------------


def _text(plan: Plan, title: str) -> Iterator[str]:
    if title:
        yield title
        yield ""
    destructive = [c for c in plan.changes if c.destructive]
    if destructive:
        yield f"!!! {len(destructive)} DESTRUCTIVE change(s): these users lose their phone number !!!"
        for change in destructive:
            yield f"!!!   {change.user_principal_name}: removes {_removed(change)}"
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
                yield f"      + {add.sku_part_number}{plans}"
            for remove in change.remove_licenses:
                yield f"      - {remove.sku_part_number}"
    else:
        yield "No changes: licenses are in the declared state."
    yield ""
    if plan.seats:
        yield "Seats:"
        yield from _seat_table(plan.seats, markdown=False)
        yield ""
    for severity, heading in ((Severity.ERROR, "Errors"), (Severity.WARNING, "Warnings"), (Severity.INFO, "Info")):
        gaps = [g for g in plan.gaps if g.severity is severity]
        if not gaps:
            continue
        yield f"{heading} ({len(gaps)}):"
        for gap, more in _limited(gaps):
            if more:
                yield f"  … and {more} more {gap.code.value} (see --format json)"
            else:
                yield f"  {gap.code.value}  {gap_subject(gap)}: {gap.message}"
        yield ""
    yield summary_line(plan)


def gap_subject(gap: Gap) -> str:
    """Whom a gap is about: the user (or 'tenant') and the SKU, if any."""
    parts = [gap.user_principal_name or "tenant"]
    if gap.sku_part_number:
        parts.append(gap.sku_part_number)
    return " ".join(parts)


def _removed(change: UserChange) -> str:
    return ", ".join(r.sku_part_number for r in change.remove_licenses)


def _limited(gaps: Sequence[Gap]) -> Iterator[tuple[Gap, int]]:
    """Yield (gap, 0) for the first lines of each code, then (gap, count) once for the rest."""
    by_code: dict[str, list[Gap]] = defaultdict(list)
    for gap in gaps:
        by_code[gap.code.value].append(gap)
    for code_gaps in by_code.values():
        for gap in code_gaps[:MAX_LINES_PER_CODE]:
            yield gap, 0
        if len(code_gaps) > MAX_LINES_PER_CODE:
            yield code_gaps[0], len(code_gaps) - MAX_LINES_PER_CODE


def _seat_table(seats: Sequence[SeatLine], *, markdown: bool) -> Iterator[str]:
    header = ("SKU", "enabled", "consumed", "to add", "to remove", "available", "shortfall")
    rows = [(s.sku_part_number, s.enabled, s.consumed, s.to_add, s.to_remove, s.available, s.shortfall) for s in seats]
    if markdown:
        yield "| " + " | ".join(header) + " |"
        yield "|---" + "|---:" * (len(header) - 1) + "|"
        for row in rows:
            short = f"**{row[-1]}**" if row[-1] else "0"
            yield "| " + " | ".join(str(v) for v in row[:-1]) + f" | {short} |"
        return
    width = max(len(header[0]), *(len(r[0]) for r in rows))
    yield "  " + header[0].ljust(width) + "".join(f"{h:>11}" for h in header[1:])
    for row in rows:
        yield "  " + row[0].ljust(width) + "".join(f"{v:>11}" for v in row[1:])


# ---- markdown --------------------------------------------------------------------------------------------------


def _markdown(plan: Plan, title: str) -> Iterator[str]:
    yield f"## {title or 'teams-licensing plan'}"
    yield ""
    yield f"**{summary_line(plan)}**"
    yield ""
    destructive = [c for c in plan.changes if c.destructive]
    if destructive:
        yield "> [!CAUTION]"
        yield f"> **{len(destructive)} destructive change(s):** these users lose their phone number."
        for change in destructive:
            yield f"> - `{change.user_principal_name}`: removes {_removed(change)}"
        yield ""
    if plan.changes:
        yield "### Changes"
        yield ""
        yield "| User | Usage location | Add | Remove | Rules |"
        yield "|---|---|---|---|---|"
        for change in plan.changes:
            user = f"**⚠ {change.user_principal_name}**" if change.destructive else change.user_principal_name
            adds = "<br>".join(
                a.sku_part_number + (f" (disabled: {len(a.disabled_plans)})" if a.disabled_plans else "")
                for a in change.add_licenses
            )
            removes = "<br>".join(r.sku_part_number for r in change.remove_licenses)
            yield (
                f"| {md_cell(user)} | {change.set_usage_location or ''} | {adds} | {removes} | "
                f"{md_cell(', '.join(change.rules))} |"
            )
        yield ""
    else:
        yield "No changes: licenses are in the declared state."
        yield ""
    if plan.seats:
        yield "### Seats"
        yield ""
        yield from _seat_table(plan.seats, markdown=True)
        yield ""
    if plan.gaps:
        yield "### Gaps"
        yield ""
        yield "| Severity | Code | User | SKU | Message |"
        yield "|---|---|---|---|---|"
        for gap, more in _limited(plan.gaps):
            if more:
                yield f"| {gap.severity.value} | {gap.code.value} | … {more} more | | see the JSON report |"
            else:
                yield (
                    f"| {gap.severity.value} | {gap.code.value} | {md_cell(gap.user_principal_name or '(tenant)')} | "
                    f"{gap.sku_part_number or ''} | {md_cell(gap.message)} |"
                )
        yield ""


def md_cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


# ---- CI annotations --------------------------------------------------------------------------------------------

_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def github_annotations(plan: Plan) -> Iterator[str]:
    """GitHub Actions workflow commands, one line per gap: `::error title=CODE::subject: message`.

    Repeated codes are bounded like the text report: GitHub shows only a few annotations per step anyway.
    """
    for gap, more in _limited(plan.gaps):
        command = _GITHUB_COMMAND[gap.severity]
        title = _github_property(gap.code.value)
        text = f"{more} more {gap.code.value} gap(s): see the JSON report" if more else _gap_text(gap)
        yield f"::{command} title={title}::{github_data(text)}\n"


def azure_logissues(plan: Plan) -> Iterator[str]:
    """Azure Pipelines logging commands for error and warning gaps (the agent knows no other issue type)."""
    for gap, more in _limited([g for g in plan.gaps if g.severity is not Severity.INFO]):
        text = f"{more} more {gap.code.value} gap(s): see the JSON report" if more else _gap_text(gap)
        kind = "error" if gap.severity is Severity.ERROR else "warning"
        yield f"##vso[task.logissue type={kind};code={azure_escape(gap.code.value)}]{azure_escape(text)}\n"


def _gap_text(gap: Gap) -> str:
    return f"{gap_subject(gap)}: {gap.message}"


def github_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def azure_escape(text: str) -> str:
    return text.replace("%", "%AZP25").replace(";", "%3B").replace("\r", "%0D").replace("\n", "%0A").replace("]", "%5D")
