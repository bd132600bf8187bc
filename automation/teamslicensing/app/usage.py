"""`usage` and `export --calls`: PSTN call records read and aggregated as they come (never held whole), joined to
the tenant (licences, Credits, the number inventory) for the funding recommendation and whose calls would stop."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from teamslicensing.app.core import (
    PlanRun,
    read,
    user_principal_names,
    utc_today,
)
from teamslicensing.app.files import written_whole
from teamslicensing.app.signals import run_stoppable
from teamslicensing.app.source import GraphAccess, TenantSource
from teamslicensing.config import load_desired_state
from teamslicensing.errors import UsageError
from teamslicensing.model.desired import DesiredPolicy, DesiredState
from teamslicensing.model.plan import Gap, Plan
from teamslicensing.model.planjson import gap_from_json
from teamslicensing.model.usage import CallRow, UsageReport
from teamslicensing.plan.acknowledge import acknowledge
from teamslicensing.plan.usage import UsageAggregate, usage_report, with_usage_gaps
from teamslicensing.reference.minutes import MinutesTable
from teamslicensing.tenant.calls import call_rows, parse_call, read_call_file, window_for_dates, window_for_days
from teamslicensing.tenant.need import TenantNeed

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class UsageWindow:
    """The calls to read: the last `days` days, or `first` to `last` (UTC dates, both whole days)."""

    days: int | None = DEFAULT_DAYS
    first: date | None = None
    last: date | None = None

    def bounds(self) -> tuple[datetime, datetime]:
        if self.first is not None and self.last is not None:
            if self.last < self.first:
                raise UsageError(f"--to {self.last} is before --from {self.first}")
            return window_for_dates(self.first, self.last)
        if self.first is not None or self.last is not None:
            raise UsageError("give both --from and --to, or neither (then --days)")
        days = self.days if self.days is not None else DEFAULT_DAYS
        if days < 1:
            raise UsageError("--days must be at least 1")
        return window_for_days(days)


def usage(
    config: str | Path | None, source: TenantSource, window: UsageWindow, calls_file: str | Path | None = None
) -> UsageReport:
    """The usage report: call rows from `calls_file` (else Graph, in windows of at most 90 days), aggregated row
    by row, against the tenant `source` holds (licences per pool, Credits, numbers)."""
    desired = load_desired_state(config) if config else _everyone()
    if calls_file is None and source.graph is None:
        raise UsageError("a snapshot holds no call records: give --calls FILE (written by `export --calls`)")
    start, end = window.bounds()
    explicit = window.first is not None
    # every user: pool licences, Credits holders, idle plans and toll-free owners are counted across the tenant
    tenant = read(source, TenantNeed.to_plan(desired, "all"))  # pools count every licence holder
    table = MinutesTable(desired.included_minutes)
    if calls_file is not None:
        aggregate = _aggregate_file(calls_file, start.date(), end.date(), explicit)
    else:
        assert source.graph is not None
        aggregate = run_stoppable(_aggregate_live(source.graph, start, end))
    return usage_report(aggregate, tenant, table, desired.policy.funding)


def _everyone() -> DesiredState:
    """Without a configuration: every user read (licences of every plan count), default policy."""
    return DesiredState(
        source="usage", default_usage_location=None, policy=DesiredPolicy(read="all"), rules=(), availability={}
    )


def _aggregate_file(path: str | Path, first: date, last: date, explicit: bool) -> UsageAggregate:
    """A calls file read twice when no window was named (once for its first and last day, once to sum), so that
    the rows never sit in memory together."""
    if not explicit:
        first_day: date | None = None
        last_day: date | None = None
        for row in _parsed(read_call_file(path)):
            if row is None:
                continue
            first_day = row.day if first_day is None or row.day < first_day else first_day
            last_day = row.day if last_day is None or row.day > last_day else last_day
        if first_day is None or last_day is None:
            raise UsageError(f"{path} holds no call rows")
        first, last = first_day, last_day
    aggregate = UsageAggregate(first, last)
    for row in _parsed(read_call_file(path)):
        if row is None or first <= row.day <= last:
            aggregate.add(row)
    return aggregate


def _parsed(rows: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[CallRow | None]:
    """Each row as the report reads it; None for one it cannot (counted as unreadable, never silently dropped)."""
    for source, raw in rows:
        yield parse_call(raw, source)


async def _aggregate_live(access: GraphAccess, start: datetime, end: datetime) -> UsageAggregate:
    aggregate = UsageAggregate(start.date(), end.date())
    async with access.open() as graph:
        async for source, raw in call_rows(graph, start, end):
            aggregate.add(parse_call(raw, source))
    return aggregate


def export_calls(output: str | Path, access: GraphAccess, days: int) -> int:
    """Write Graph's own call rows of the last `days` days to `output` as JSON Lines (a `_source` key says PSTN or
    Direct Routing), de-duplicated across window edges; the file appears only when whole. Returns the rows."""
    if days < 1:
        raise UsageError("--days must be at least 1")
    start, end = window_for_days(days)

    async def write(handle: TextIO) -> int:
        count = 0
        async with access.open() as graph:
            async for source, raw in call_rows(graph, start, end):
                handle.write(json.dumps({**raw, "_source": source}, separators=(",", ":")) + "\n")
                count += 1
        return count

    return written_whole(output, write)


def with_usage(run: PlanRun, path: str | Path) -> PlanRun:
    """`plan --usage FILE`: the plan judged against a usage report's JSON as well (its gaps join the plan's)."""
    gaps = read_usage_gaps(path)
    if run.desired is not None and run.desired.policy.acknowledge:  # the usage gaps can be acknowledged too
        alone = Plan(changes=(), gaps=tuple(gaps), seats=())
        upns = user_principal_names(run.tenant)
        gaps = list(acknowledge(alone, run.desired.policy.acknowledge, utc_today(), upns, report_expired=False).gaps)
    return dataclasses.replace(run, plan=with_usage_gaps(run.plan, gaps, run.tenant))


USAGE_VERSIONS = (1, 2)  # the usage JSON versions whose gaps `plan --usage` reads


def read_usage_gaps(path: str | Path) -> list[Gap]:
    """The gaps of a usage report's JSON, once the file is seen to be one: an object with a `version` this tool
    writes and reads (1 or 2), `window` (from, to), `pools` and `gaps` lists. A plan's JSON has a version and gaps
    too, so the gaps alone prove nothing."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise UsageError(f"{path} is not the JSON of `teams-licensing usage --format json` ({exc})") from exc
    problem = _not_a_usage_report(document)
    if problem:
        raise UsageError(f"{path} is not the JSON of `teams-licensing usage --format json`: {problem}")
    try:
        return [gap_from_json(g) for g in document["gaps"]]
    except (ValueError, KeyError, TypeError) as exc:
        message = f"{path} is not the JSON of `teams-licensing usage --format json`: a gap it lists is not one ({exc})"
        raise UsageError(message) from exc


def _not_a_usage_report(document: Any) -> str | None:
    """Why `document` is not a usage report's JSON, or None when it has the shape of one."""
    if not isinstance(document, dict):
        return f"it holds a {type(document).__name__}, not an object"
    if "version" not in document:
        return "it has no version"
    version = document["version"]
    if isinstance(version, bool) or version not in USAGE_VERSIONS:
        return f"its version is {version!r}; this tool reads versions 1 and 2"
    missing = [key for key in ("window", "pools", "gaps") if key not in document]
    if missing:
        hint = " (a plan's JSON?)" if "changes" in document else ""
        return f"it lacks {', '.join(missing)}{hint}"
    window = document["window"]
    if not isinstance(window, dict) or not {"from", "to"} <= set(window):
        return "its window is not an object with from and to"
    for key in ("pools", "gaps"):
        if not isinstance(document[key], list):
            return f"its {key} is not a list"
    return None
