"""The usage report as text, JSON (a contract), Markdown, CSV and GitHub annotations."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from teamslicensing.model.plan import Plan, Severity
from teamslicensing.model.planjson import gap_json
from teamslicensing.model.usage import Pool, Ranked, UsageReport
from teamslicensing.model.words import counted
from teamslicensing.report.ci import github_annotations
from teamslicensing.report.common import (
    OTHER_MINUTES,
    gap_sections,
    gap_subject,
    limited,
    md_cell,
    partial_month_note,
    pool_notes,
    pool_rows,
    pool_where,
)
from teamslicensing.report.html import html_usage

USAGE_FORMATS = ("text", "json", "markdown", "csv", "github", "html")
JSON_VERSION = 2  # 2: pools name their countries and allowances (either/or), capabilities listed


def render_usage(report: UsageReport, fmt: str, *, title: str = "") -> str:
    if fmt == "json":
        return json.dumps(usage_to_json(report), indent=2) + "\n"
    if fmt == "csv":
        return usage_csv(report)
    if fmt == "html":
        return html_usage(report, title)
    if fmt == "markdown":
        return "\n".join(_markdown(report, title)) + "\n"
    if fmt == "github":
        plan = Plan(changes=(), gaps=report.gaps, seats=())
        return "".join(github_annotations(plan)) + _summary(report) + "\n"
    return "\n".join(_text(report, title)) + "\n"


def usage_to_json(report: UsageReport) -> dict[str, Any]:
    """`{"version":2, "window":{"from","to"}, "currencies":{"<ISO>":{"spend","monthly":[{"month","spend"}],
    "weekly":[{"week","spend"}],"funding":{"rechargeAmount","triggerBalance","initialFunds","formula","note"} or
    null (postpaid),"chargedMinutes":[{"kind","minutes"}]}}, "topUsers":[…], "topDestinations":[…],
    "pools":[{"plan","meaning","countries","tenantWide","licences","month","eitherOr","allowances":[{"destination",
    "includedMinutes","usedMinutes","forecastMinutes","forecastExhausted"}],"binding","includedMinutes",
    "usedMinutes","forecastMinutes","forecastExhausted","otherMinutes","partial","read":{"from","to"},"notRead":{"from",
    "to"} or null}], "capabilities":[{"code","meaning","pool","known","calls","minutes"}], "gaps":[…the plan's
    shape…], "calls", "directRoutingCalls", "minutesByKind"}`.
    A pool's own includedMinutes, usedMinutes and forecastMinutes are its binding allowance's (the one nearest its
    limit, reached first); forecastExhausted is whether any allowance is forecast to run out; partial is whether the
    window began after its month's 1st (notRead: the days before it, whose minutes are not counted)."""
    return {
        "version": JSON_VERSION,
        "window": {"from": report.window_from.isoformat(), "to": report.window_to.isoformat()},
        "currencies": {
            c.currency: {
                "spend": c.spend,
                "monthly": [{"month": month, "spend": spend} for month, spend in c.monthly],
                "weekly": [{"week": week, "spend": spend} for week, spend in c.weekly],
                "funding": None
                if c.funding is None
                else {
                    "rechargeAmount": c.funding.recharge_amount,
                    "triggerBalance": c.funding.trigger_balance,
                    "initialFunds": c.funding.initial_funds,
                    "formula": c.funding.formula,
                    "note": c.funding.note,
                },
                "chargedMinutes": [{"kind": kind, "minutes": minutes} for kind, minutes in c.charged_minutes],
            }
            for c in report.currencies
        },
        "topUsers": [_ranked_json(r, "user") for r in report.top_users],
        "topDestinations": [_ranked_json(r, "destination") for r in report.top_destinations],
        "pools": [_pool_json(p) for p in report.pools],
        "capabilities": [
            {
                "code": u.code,
                "meaning": u.meaning,
                "pool": u.pool,
                "known": u.known,
                "calls": u.calls,
                "minutes": u.minutes,
            }
            for u in report.capabilities
        ],
        "gaps": [gap_json(g) for g in report.gaps],
        "calls": report.calls,
        "directRoutingCalls": report.direct_routing_calls,
        "minutesByKind": [{"kind": kind, "minutes": minutes} for kind, minutes in report.minutes_by_kind],
    }


def _pool_json(pool: Pool) -> dict[str, Any]:
    return {
        "plan": pool.plan,
        "meaning": pool.meaning,
        "countries": list(pool.countries),
        "tenantWide": pool.tenant_wide,
        "licences": pool.licences,
        "month": pool.month,
        "eitherOr": pool.either_or,
        "allowances": [
            {
                "destination": a.destination,
                "includedMinutes": a.included_minutes,
                "usedMinutes": a.used_minutes,
                "forecastMinutes": a.forecast_minutes,
                "forecastExhausted": a.forecast_exhausted,
            }
            for a in pool.allowances
        ],
        "binding": pool.binding.destination if pool.allowances else None,
        "includedMinutes": pool.included_minutes,
        "usedMinutes": pool.used_minutes,
        "forecastMinutes": pool.forecast_minutes,
        "forecastExhausted": pool.forecast_exhausted,
        "otherMinutes": pool.other_minutes,
        "partial": pool.partial,
        "read": None if pool.read_from is None else {"from": str(pool.read_from), "to": str(pool.read_to)},
        "notRead": None if pool.not_read is None else {"from": str(pool.not_read[0]), "to": str(pool.not_read[1])},
    }


def _ranked_json(entry: Ranked, key: str) -> dict[str, Any]:
    return {
        key: entry.name,
        "currency": entry.currency,
        "charge": entry.charge,
        "minutes": entry.minutes,
        "calls": entry.calls,
    }


POOL_COLUMNS = ("licences", "forecast", "runsOut")  # a pool row's figures past the shared columns


def usage_csv(report: UsageReport) -> str:
    """One table for spreadsheets: section, currency, name, value (and minutes, calls, a gap's message where they
    apply); a `pool` row per allowance (value: included minutes, minutes: used, message: a month not read whole,
    then licences, forecast and runsOut), a `poolOther` row per pool (minutes to destinations it does not cover)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "currency", "name", "value", "minutes", "calls", "message", *POOL_COLUMNS])
    for c in report.currencies:
        writer.writerow(["spend", c.currency, "total", c.spend, "", ""])
        writer.writerows(["month", c.currency, month, spend, "", ""] for month, spend in c.monthly)
        writer.writerows(["week", c.currency, week, spend, "", ""] for week, spend in c.weekly)
        if c.funding is not None:
            writer.writerow(["funding", c.currency, "rechargeAmount", c.funding.recharge_amount, "", ""])
            writer.writerow(["funding", c.currency, "triggerBalance", c.funding.trigger_balance, "", ""])
            writer.writerow(["funding", c.currency, "initialFunds", c.funding.initial_funds, "", ""])
        writer.writerows(["chargedMinutes", c.currency, kind, "", minutes, ""] for kind, minutes in c.charged_minutes)
    writer.writerows(["topUser", r.currency, r.name, r.charge, r.minutes, r.calls] for r in report.top_users)
    writer.writerows(
        ["topDestination", r.currency, r.name, r.charge, r.minutes, r.calls] for r in report.top_destinations
    )
    for pool in report.pools:
        note = partial_month_note(pool) or ""
        for row in pool_rows(pool):
            included = row.included.replace(",", "") if row.included[:1].isdigit() else ""
            forecast = "" if row.forecast is None else row.forecast
            figures = [row.licences, forecast, "true" if row.runs_out else "false"]
            writer.writerow(
                ["pool", "", f"{row.where} {row.plan} {row.destination}", included, row.used, "", note, *figures]
            )
        writer.writerow(["poolOther", "", f"{pool_where(pool)} {pool.plan}", "", pool.other_minutes, "", OTHER_MINUTES])
    writer.writerows(
        ["capability", "", u.code or "", u.pool, u.minutes, u.calls, u.meaning] for u in report.capabilities
    )
    writer.writerows(["minutes", "", kind, "", minutes, ""] for kind, minutes in report.minutes_by_kind)
    writer.writerows(
        ["gap", "", f"{g.code.value} {gap_subject(g)}", g.severity.value, "", "", g.message] for g in report.gaps
    )
    return out.getvalue()


def _summary(report: UsageReport) -> str:
    spend = ", ".join(f"{c.spend:,.2f} {c.currency}" for c in report.currencies) or "no charges"
    errors, warnings = (sum(1 for g in report.gaps if g.severity is s) for s in (Severity.ERROR, Severity.WARNING))
    return (
        f"Usage {report.window_from} to {report.window_to}: {counted(report.calls, 'PSTN call')}, spend {spend}; "
        f"gaps: {counted(errors, 'error')}, {counted(warnings, 'warning')}."
    )


def _text(report: UsageReport, title: str) -> Iterator[str]:
    if title:
        yield title
        yield ""
    yield _summary(report)
    yield ""
    for c in report.currencies:
        yield f"{c.currency}: {c.spend:,.2f} in all"
        yield "  by month: " + ", ".join(f"{m} {s:,.2f}" for m, s in c.monthly)
        if c.funding is None:
            yield "  funding: postpaid (new-commerce overage): spend only, no Credits to fund"
        else:
            f = c.funding
            yield (
                f"  Communications Credits: recharge amount {f.recharge_amount}, trigger balance {f.trigger_balance}, "
                f"initial funds {f.initial_funds} {c.currency}"
            )
            if f.note:
                yield f"    {f.note}"
            yield f"    ({f.formula})"
        for kind, minutes in c.charged_minutes:
            yield f"  charged minutes, {kind}: {minutes:,.1f}"
        yield ""
    if report.top_users:
        yield "Top users by charge:"
        yield from (
            f"  {r.name}: {r.charge:,.2f} {r.currency} ({r.minutes:,.1f} min, {r.calls} calls)"
            for r in report.top_users
        )
        yield ""
    if report.top_destinations:
        yield "Top destinations by charge:"
        yield from (f"  {r.name}: {r.charge:,.2f} {r.currency} ({r.minutes:,.1f} min)" for r in report.top_destinations)
        yield ""
    if report.pools:
        yield "Minute pools (latest month of the window; either/or: one allowance, whichever is reached first):"
        for pool in report.pools:
            for row in pool_rows(pool):
                forecast = "" if row.forecast is None else f", forecast {row.forecast:,.0f}"
                flag = "  RUNS OUT" if row.runs_out else ""
                yield (
                    f"  {row.where} {row.plan} {row.destination}: {row.used:,.0f} of {row.included} in {row.month} "
                    f"({counted(row.licences, 'license')}{forecast}){flag}"
                )
            yield from (f"    {note}" for note in pool_notes(pool))
        yield ""
    unknown = [u for u in report.capabilities if not u.known]
    if unknown:
        yield "Call rows with a licenseCapability the tool does not know (in no pool):"
        yield from (f"  {u.code}: {counted(u.calls, 'call')}, {u.minutes:,.1f} min" for u in unknown)
        yield ""
    yield from gap_sections(report.gaps, " (see --format json)")


def _markdown(report: UsageReport, title: str) -> Iterator[str]:
    yield f"## {title or 'teams-licensing usage'}"
    yield ""
    yield f"**{md_cell(_summary(report))}**"
    yield ""
    for c in report.currencies:
        yield f"### {c.currency}: {c.spend:,.2f}"
        yield ""
        yield "| Month | Spend |"
        yield "|---|---|"
        yield from (f"| {m} | {s:,.2f} |" for m, s in c.monthly)
        yield ""
        if c.funding is not None:
            f = c.funding
            yield (
                f"Communications Credits: **recharge {f.recharge_amount}**, **trigger {f.trigger_balance}**, "
                f"**initial funds {f.initial_funds}** {c.currency}. {md_cell(f.note or '')}"
            )
            yield ""
            yield f"<sub>{md_cell(f.formula)}</sub>"
            yield ""
    if report.pools:
        yield "### Minute pools"
        yield ""
        yield "| Where | Plan | Destination | Licenses | Included | Used | Forecast | Runs out |"
        yield "|---|---|---|---|---|---|---|---|"
        for pool in report.pools:
            for row in pool_rows(pool):
                yield (
                    f"| {row.where} | {row.plan} | {row.destination} | {row.licences} | {row.included} | "
                    f"{row.used:,.0f} | {'' if row.forecast is None else f'{row.forecast:,.0f}'} | "
                    f"{'**yes**' if row.runs_out else ''} |"
                )
        yield ""
        notes = [note for pool in report.pools for note in pool_notes(pool)]
        if notes:
            yield from (f"- {md_cell(note)}" for note in notes)
            yield ""
    if report.gaps:
        yield "### Gaps"
        yield ""
        for gap, more in limited(list(report.gaps)):
            yield (
                f"- … and {more} more `{gap.code.value}`"
                if more
                else f"- `{gap.code.value}` {md_cell(gap_subject(gap))}: {md_cell(gap.message)}"
            )
        yield ""
