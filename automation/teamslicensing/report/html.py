"""The plan (and the usage report) as one self-contained HTML file an admin can send to a manager: inline CSS and
SVG, no script, no font or image from anywhere. Readable at 100,000 users: summary tiles, a seat bar per SKU,
gaps grouped by code and changes grouped by rule, each group a `<details>` listing its first users."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from html import escape

from teamslicensing.model.plan import Gap, Plan, SeatLine, Severity, UserChange
from teamslicensing.model.planjson import ReportMeta
from teamslicensing.model.usage import UsageReport
from teamslicensing.model.words import counted
from teamslicensing.reference.productnames import product_name
from teamslicensing.report.common import (
    LIMITS_OVERRIDE,
    RULE_HEADER,
    RULE_LEGEND,
    SEAT_LEGEND,
    beyond_voice,
    beyond_voice_heading,
    meta_line,
    no_changes_line,
    pool_notes,
    pool_rows,
    refusal_text,
    removed,
    removed_beyond_voice,
    rule_rows,
    summary_line,
    tenant_label,
)
from teamslicensing.report.costlines import cost_html, cost_tiles
from teamslicensing.report.voicelines import POOL_HEADER, voice_lines

LISTED = 200  # users listed in one group before "N more"

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;
color:#1f2328;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.sub{color:#57606a;margin:0 0 16px}.tiles{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.tile{border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;min-width:130px}
.tile b{display:block;font-size:26px}.tile.bad b{color:#cf222e}.tile.warn b{color:#9a6700}.tile.ok b{color:#1a7f37}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;
vertical-align:top}th{font-weight:600;background:#f6f8fa}details{margin:4px 0;border:1px solid #eaeef2;
border-radius:6px;padding:4px 10px}summary{cursor:pointer;font-weight:600}.error{color:#cf222e}.warning{color:#9a6700}
.info{color:#57606a}.legend{color:#57606a;font-size:12px}ul{margin:4px 0 4px 18px;padding:0}.seat{margin:6px 0}
.seat svg{display:block}.product{color:#57606a}
.refuse{border:2px solid #cf222e;background:#ffebe9;border-radius:8px;padding:8px 16px;margin:12px 0}
.refuse h2{border:0;margin:4px 0;color:#cf222e}.goes{color:#1a7f37}td.n,th.n{text-align:right}
.meta{color:#57606a;font-size:12px;margin:0 0 8px}
"""

COLOURS = {"consumed": "#8c959f", "add": "#2da44e", "remove": "#fa4549", "short": "#bf8700"}


def html_report(
    plan: Plan,
    title: str,
    meta: ReportMeta | None = None,
    outcome: Iterable[str] | None = None,
    history: Iterable[str] = (),
) -> str:
    """The page; with `meta`, its title names the tenant and the date (a browser tab, a saved file), and a line
    under the heading says where it comes from; with `outcome` (an apply's), what happened comes first."""
    heading = title or "teams-licensing plan"
    if meta is None:
        return "".join(_page(heading, itertools.chain(outcome or (), _plan_body(plan, history))))
    day = f" — {meta.generated_at:%Y-%m-%d}" if meta.generated_at is not None else ""
    tab = f"teams-licensing plan — {tenant_label(meta)}{day}"
    where = f"<p class='meta'>{escape(meta_line(meta))}</p>\n"
    return "".join(_page(heading, itertools.chain((where,), outcome or (), _plan_body(plan, history)), tab))


def html_usage(report: UsageReport, title: str) -> str:
    return "".join(_page(title or "teams-licensing usage", _usage_body(report)))


def _page(title: str, body: Iterator[str], tab: str | None = None) -> Iterator[str]:
    yield "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
    yield "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    yield f"<title>{escape(tab or title)}</title><style>{STYLE}</style></head><body>\n"
    yield f"<h1>{escape(title)}</h1>\n"
    yield from body
    yield "</body></html>\n"


def _plan_body(plan: Plan, history: Iterable[str] = ()) -> Iterator[str]:
    yield f"<p class='sub'>{escape(summary_line(plan))}</p>\n"
    yield from _refusals(plan)
    destructive = sum(1 for c in plan.changes if c.destructive)
    broad = beyond_voice(plan)
    errors, warnings = plan.gap_count(Severity.ERROR), plan.gap_count(Severity.WARNING)
    yield "<div class='tiles'>"
    yield _tile("users to change", len(plan.changes), "ok")
    if plan.group_changes:
        yield _tile("groups to change", len(plan.group_changes), "ok")
    yield _tile("destructive", destructive, "bad" if destructive else "ok")
    yield _tile("removals beyond voice", len(broad), "warn" if broad else "ok")
    yield _tile("errors", errors, "bad" if errors else "ok")
    yield _tile("warnings", warnings, "warn" if warnings else "ok")
    yield from cost_tiles(plan.cost)  # what a manager asks first
    yield "</div>\n"
    if not plan.changes and not plan.group_changes:
        yield f"<p>{escape(no_changes_line(plan))}</p>\n"
    if destructive:
        yield from _destructive([c for c in plan.changes if c.destructive])
    if broad:
        yield f"<h2 class='warning' id='removals'>{escape(beyond_voice_heading(len(broad)))}</h2>\n<ul>"
        for change in broad[:LISTED]:
            what = escape(removed_beyond_voice(change))
            yield f"<li><b>{escape(change.user_principal_name)}</b>: removes {what}</li>"
        if len(broad) > LISTED:
            yield f"<li>… and {len(broad) - LISTED:,} more (the JSON report lists every one)</li>"
        yield "</ul>\n"
    if plan.rule_summaries:
        yield from _rule_table(plan)
    if plan.seats:
        yield "<h2>Seats</h2>\n"
        yield from _seat_bars(plan.seats)
    if plan.cost:
        yield from cost_html(plan.cost)
    if plan.number_pools:
        yield "<h2>Numbers</h2>\n<table><tr>" + "".join(f"<th>{h}</th>" for h in POOL_HEADER) + "</tr>"
        for pool in plan.number_pools:
            cells = (pool.iso_country_code, pool.number_type, pool.free, pool.needed, pool.short)
            style = " class='error'" if pool.short else ""
            yield f"<tr{style}>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>"
        yield "</table>\n"
    yield from history
    if plan.changes:
        yield "<h2>Changes by rule</h2>\n"
        yield from _changes_by_rule(plan.changes)
    if plan.gaps:
        yield "<h2>Gaps</h2>\n"
        yield from _gap_groups(plan.gaps)
    if plan.group_changes:
        yield "<h2>Group license changes</h2>\n<ul>"
        for group in plan.group_changes:
            adds = ", ".join(_sku(a.sku_part_number) for a in group.add_licenses)
            removes = ", ".join(_sku(r.sku_part_number) for r in group.remove_licenses)
            parts = [f"adds {adds}" if adds else "", f"removes {removes}" if removes else ""]
            yield (
                f"<li><b>{escape(group.group_name)}</b> ({counted(group.members, 'direct member')}): "
                f"{'; '.join(p for p in parts if p)}</li>"
            )
        yield "</ul>\n"


def _refusals(plan: Plan) -> Iterator[str]:
    """What apply would do with the plan, above the tiles: refuse it (and why), or go ahead."""
    if not plan.refusals:
        yield "<p class='goes' id='apply-would'>Apply would go ahead: no limit exceeded, nothing blocking.</p>\n"
        return
    yield "<div class='refuse' id='apply-would'><h2>Apply would refuse this plan</h2><ul>"
    for refusal in plan.refusals:
        yield f"<li>{escape(refusal_text(refusal))}</li>"
    yield f"</ul><p class='legend'>{escape(LIMITS_OVERRIDE)}.</p></div>\n"


def _rule_table(plan: Plan) -> Iterator[str]:
    yield "<h2>Rules</h2>\n<table id='rules'><tr>"
    first, *numeric = RULE_HEADER
    yield f"<th>{escape(first)}</th>" + "".join(f"<th class='n'>{escape(h)}</th>" for h in numeric)
    yield "</tr>"
    for rule, *numbers in rule_rows(plan.rule_summaries):
        yield f"<tr><td>{escape(rule)}</td>" + "".join(f"<td class='n'>{n:,}</td>" for n in numbers) + "</tr>"
    yield f"</table>\n<p class='legend'>{escape(RULE_LEGEND[0].upper() + RULE_LEGEND[1:])}.</p>\n"


def _destructive(changes: Sequence[UserChange]) -> Iterator[str]:
    """Every user who loses a phone number, named above the rest (the groups by rule list only their first rows)."""
    yield f"<h2 class='error'>{counted(len(changes), 'destructive change')}: users lose their phone number</h2>\n<ul>"
    for change in changes[:LISTED]:
        yield f"<li><b>{escape(change.user_principal_name)}</b>: {escape(removed(change))}</li>"
    if len(changes) > LISTED:
        yield f"<li>… and {len(changes) - LISTED:,} more (the JSON report lists every one)</li>"
    yield "</ul>\n"


def _tile(label: str, value: int, kind: str) -> str:
    return f"<div class='tile {kind}'><b>{value:,}</b>{escape(label)}</div>"


def _sku(part_number: str) -> str:
    name = product_name(part_number)
    suffix = f" <span class='product'>({escape(name)})</span>" if name else ""
    return f"<code>{escape(part_number)}</code>{suffix}"


def _seat_bars(seats: Sequence[SeatLine]) -> Iterator[str]:
    """One bar per SKU: consumed, to add, to remove and shortfall against the seats the subscription has."""
    for seat in seats:
        if seat.enabled == 0:
            yield _no_seats(seat)
            continue
        scale = max(seat.enabled, seat.consumed + seat.to_add + seat.shortfall, 1)
        width = 600

        def span(value: int, scale: int = scale, width: int = width) -> float:
            return round(value / scale * width, 1)

        kept = max(seat.consumed - seat.to_remove, 0)
        pieces = [("consumed", kept), ("remove", seat.to_remove), ("add", seat.to_add), ("short", seat.shortfall)]
        x = 0.0
        rects = []
        for kind, value in pieces:
            if value:
                rects.append(f"<rect x='{x}' y='0' width='{span(value)}' height='18' fill='{COLOURS[kind]}'/>")
                x += span(value)
        enabled = span(seat.enabled)
        yield (
            f"<div class='seat' id='seat-{escape(seat.sku_part_number)}'>{_sku(seat.sku_part_number)}: "
            f"{seat.consumed:,} consumed of {seat.enabled:,}, +{seat.to_add:,} to add, -{seat.to_remove:,} to remove"
            + (f", <span class='error'>{seat.shortfall:,} short</span>" if seat.shortfall else "")
            + (
                f", <span class='error'>{seat.consumed - seat.enabled:,} more in use than the subscription has "
                "(suspended or expired seats?)</span>"
                if seat.consumed > seat.enabled
                else ""
            )
            + f"<svg width='{width + 2}' height='22' role='img' aria-label='seats of {escape(seat.sku_part_number)}'>"
            f"<rect x='0' y='0' width='{width}' height='18' fill='#eaeef2'/>{''.join(rects)}"
            f"<line x1='{enabled}' y1='0' x2='{enabled}' y2='22' stroke='#1f2328' stroke-width='2'/></svg></div>\n"
        )
    yield (
        "<p class='legend'>grey consumed (and kept), red to remove, green to add, amber short of seats; the black "
        f"line is the seats the subscription has. {escape(SEAT_LEGEND)}</p>\n"
    )


def _no_seats(seat: SeatLine) -> str:
    """A subscription with no seat enabled (suspended, expired or deleted): a hatched bar, not a full grey one."""
    held = f"{seat.consumed:,} still assigned" if seat.consumed else "none assigned"
    wanted = f", <span class='error'>{seat.shortfall:,} wanted and short</span>" if seat.shortfall else ""
    return (
        f"<div class='seat suspended' id='seat-{escape(seat.sku_part_number)}'>{_sku(seat.sku_part_number)}: "
        f"<span class='warning'>no seat enabled (suspended, expired or deleted subscription)</span>, {held}{wanted}"
        f"<svg width='602' height='22' role='img' aria-label='no seats of {escape(seat.sku_part_number)}'>"
        f"<path class='hatch' d='{HATCH}' stroke='#d0d7de' stroke-width='3'/>"
        "<rect x='0' y='0' width='600' height='18' fill='none' stroke='#9a6700'/></svg></div>\n"
    )


# diagonal stripes across a 600x18 bar: drawn, not a pattern, so the page names no url() at all
HATCH = " ".join(f"M{x} 18 L{x + 18} 0" for x in range(0, 582, 10))


def _gap_groups(gaps: Sequence[Gap]) -> Iterator[str]:
    by_code: dict[tuple[int, str], list[Gap]] = defaultdict(list)
    for gap in gaps:
        by_code[(gap.severity.rank, gap.code.value)].append(gap)
    for (_, code), found in sorted(by_code.items()):
        severity = found[0].severity.value
        opened = " open" if severity == "error" and len(found) <= 20 else ""
        label = f"<span class='{severity}'>{severity}</span> {escape(code)} ({len(found):,})"
        yield f"<details{opened}><summary>{label}</summary><ul>"
        for gap in found[:LISTED]:
            who = escape(gap.user_principal_name or "tenant")
            sku = f" {_sku(gap.sku_part_number)}" if gap.sku_part_number else ""
            yield f"<li><b>{who}</b>{sku}: {escape(gap.message)}</li>"
        if len(found) > LISTED:
            yield f"<li>… and {len(found) - LISTED:,} more (the JSON report lists every one)</li>"
        yield "</ul></details>\n"


OPEN_WHEN_AT_MOST = 50  # changed users: a plan this short shows every rule's users without a click


def _changes_by_rule(changes: Sequence[UserChange]) -> Iterator[str]:
    by_rule: dict[str, list[UserChange]] = defaultdict(list)
    for change in changes:
        for rule in change.rules or ("prune (no rule)",):
            by_rule[rule].append(change)
    for rule, found in sorted(by_rule.items()):
        destructive = sum(1 for c in found if c.destructive)
        flag = f" <span class='error'>{destructive} destructive</span>" if destructive else ""
        opened = " open" if len(changes) <= OPEN_WHEN_AT_MOST else ""
        yield f"<details{opened}><summary>{escape(rule)} ({counted(len(found), 'user')}){flag}</summary><table>"
        yield "<tr><th>User</th><th>Usage location</th><th>Add</th><th>Remove</th></tr>"
        for change in found[:LISTED]:
            user = escape(change.user_principal_name)
            user = f"<span class='error'>⚠ {user}</span>" if change.destructive else user
            voice = [escape(line) for line in voice_lines(change)]
            adds = "<br>".join([*(_sku(a.sku_part_number) for a in change.add_licenses), *voice])
            removes = "<br>".join(_sku(r.sku_part_number) for r in change.remove_licenses)
            location = escape(change.set_usage_location or "")
            yield f"<tr><td>{user}</td><td>{location}</td><td>{adds}</td><td>{removes}</td></tr>"
        if len(found) > LISTED:
            yield f"<tr><td colspan='4'>… and {len(found) - LISTED:,} more (the JSON report lists every one)</td></tr>"
        yield "</table></details>\n"


def _usage_body(report: UsageReport) -> Iterator[str]:
    yield f"<p class='sub'>{report.window_from} to {report.window_to}: {report.calls:,} PSTN calls</p>\n"
    for currency in report.currencies:
        yield f"<h2>{escape(currency.currency)}: {currency.spend:,.2f}</h2>\n"
        yield from _month_chart(currency.monthly, currency.currency)
        if currency.funding is not None:
            f = currency.funding
            yield "<div class='tiles'>"
            yield _tile(f"recharge amount ({currency.currency})", f.recharge_amount, "ok")
            yield _tile(f"trigger balance ({currency.currency})", f.trigger_balance, "ok")
            yield _tile(f"initial funds ({currency.currency})", f.initial_funds, "ok")
            yield "</div>"
            if f.note:
                yield f"<p class='warning'>{escape(f.note)}</p>"
            yield f"<p class='legend'>{escape(f.formula)}</p>\n"
    if report.pools:
        yield "<h2>Minute pools</h2>\n<table><tr><th>Where</th><th>Plan</th><th>Destination</th><th>Licenses</th>"
        yield "<th>Included</th><th>Used</th><th>Forecast</th><th>Runs out</th></tr>"
        for pool in report.pools:
            for row in pool_rows(pool):
                runs_out = " class='error'" if row.runs_out else ""
                forecast = f"{row.forecast:,.0f}" if row.forecast is not None else ""
                yield (
                    f"<tr{runs_out}><td>{escape(row.where)}</td><td><code>{escape(row.plan)}</code> "
                    f"<span class='product'>({escape(pool.meaning)})</span></td><td>{escape(row.destination)}</td>"
                    f"<td>{row.licences:,}</td><td>{row.included}</td><td>{row.used:,.0f}</td><td>{forecast}</td>"
                    f"<td>{'yes' if row.runs_out else ''}</td></tr>"
                )
        yield "</table>\n"
        notes = [note for pool in report.pools for note in pool_notes(pool)]
        if notes:
            yield "<ul class='legend'>" + "".join(f"<li>{escape(note)}</li>" for note in notes) + "</ul>\n"
    if report.gaps:
        yield "<h2>Gaps</h2>\n"
        yield from _gap_groups(report.gaps)


def _month_chart(monthly: Sequence[tuple[str, float]], currency: str) -> Iterator[str]:
    if not monthly:
        return
    top = max(spend for _, spend in monthly) or 1.0
    bar, gap, height = 60, 16, 180  # 30 px above the tallest bar for its label, 20 below for the month
    width = len(monthly) * (bar + gap) + gap
    bars = []
    for n, (month, spend) in enumerate(monthly):
        x = gap + n * (bar + gap)
        h = round(spend / top * (height - 50), 1)
        bars.append(
            f"<rect x='{x}' y='{height - 20 - h}' width='{bar}' height='{h}' fill='#0969da'/>"
            f"<text x='{x + bar / 2}' y='{height - 4}' font-size='11' text-anchor='middle'>{month}</text>"
            f"<text x='{x + bar / 2}' y='{height - 24 - h}' font-size='11' text-anchor='middle'>{spend:,.0f}</text>"
        )
    yield (
        f"<svg id='monthly-{escape(currency)}' width='{width}' height='{height}' role='img' "
        f"aria-label='spend per month in {escape(currency)}'>{''.join(bars)}</svg>\n"
    )
