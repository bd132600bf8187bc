"""PSTN and Direct Routing call records: read from Graph window by window and page by page, or from a JSON Lines file
of Graph's own rows (`export --calls`), and parsed into the slim rows the usage report aggregates.

Graph's rules followed (callRecords getPstnCalls / getDirectRoutingCalls, v1.0, stored copies of 2025-2026): both
bounds inclusive for getPstnCalls, toDateTime exclusive for getDirectRoutingCalls (a Direct Routing call starting in
the very last second of the whole window is not read); at most 90 days per call (beyond that, 400); pages of 1,000
with @odata.nextLink; `callId` is not unique, `id` is; toll-free inbound (`ucap_in`) rows carry no user; application
permissions only (CallRecord-PstnCalls.Read.All, least privileged, or CallRecords.Read.All), not in the China
cloud. Windows share their boundary instants, so a call starting exactly on one comes twice: rows within a second
of an inner boundary are de-duplicated by `id` (a set of those few ids, not of every call). Every read is bounded
like any other: the Graph client's origin, loop and page rules apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from teamslicensing.errors import GraphError, InputError, Problem
from teamslicensing.graph import Graph
from teamslicensing.graph.connection import cloud_of
from teamslicensing.model.usage import CONFERENCE_OUT, DIRECT_ROUTING, OTHER, TOLL_FREE_IN, USER_OUT, CallRow
from teamslicensing.reference.permissions import refusal_hint

MAX_WINDOW = timedelta(days=90)
EDGE = timedelta(seconds=1)  # rows this close to an inner window boundary may come in both windows
MAX_CALL_PAGES = 20_000  # 20 million rows per window: past that something is looping
FUNCTIONS = {"pstn": "getPstnCalls", "directRouting": "getDirectRoutingCalls"}


class CallsUnavailable(GraphError):
    """Graph would not give call records (no permission for them, a delegated sign-in, the China cloud)."""


def windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end] cut into windows of at most 90 days that share their boundaries (both bounds inclusive)."""
    cuts = []
    low = start
    while low < end:
        high = min(low + MAX_WINDOW, end)
        cuts.append((low, high))
        low = high
    return cuts or [(start, end)]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def call_rows(graph: Graph, start: datetime, end: datetime) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Every PSTN and Direct Routing row from `start` to `end`, once: ("pstn" or "directRouting", Graph's row)."""
    if cloud_of(graph.connection.graph_url) == "china":  # both functions' national-cloud tables: not 21Vianet
        raise CallsUnavailable(
            400,
            "NotAvailableInCloud",
            "call records (getPstnCalls, getDirectRoutingCalls) are not available in "
            "Microsoft 365 operated by 21Vianet: usage cannot be read there",
        )
    cuts = windows(start, end)
    inner = [high for _, high in cuts[:-1]]
    for source, function in FUNCTIONS.items():
        edge_ids: set[str] = set()
        for low, high in cuts:
            url = f"/communications/callRecords/{function}(fromDateTime={_stamp(low)},toDateTime={_stamp(high)})"
            try:
                async for page in graph.pages(url, max_pages=MAX_CALL_PAGES):
                    for row in page:
                        if not isinstance(row, dict):
                            continue
                        if _near_edge(row, inner):
                            key = str(row.get("id"))
                            if key in edge_ids:
                                continue  # the same call, seen in the window before
                            edge_ids.add(key)
                        yield source, row
            except GraphError as exc:
                if exc.status in (401, 403):
                    hint = "" if exc.status == 403 else f" {refusal_hint('GET', url)}"  # a 403's message has it
                    raise CallsUnavailable(
                        exc.status,
                        exc.code,
                        "Graph refused the call records (application permissions only; a delegated sign-in cannot "
                        f"read them): {exc.message}{hint}",
                        exc.request_id,
                    ) from exc
                raise


def _near_edge(row: dict[str, Any], inner: list[datetime]) -> bool:
    if not inner:
        return False
    started = _moment(row.get("startDateTime"))
    return started is not None and any(abs(started - edge) <= EDGE for edge in inner)


# Graph writes up to 7 fractional digits (getPstnCalls' own example: 2019-11-01T00:00:08.2589935Z); Python 3.10's
# fromisoformat, Azure Automation's, takes only 3 or 6 and would make such a row unreadable
_FRACTION = re.compile(r"\.(\d+)")


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = _FRACTION.sub(lambda digits: "." + digits.group(1).ljust(6, "0")[:6], value.replace("Z", "+00:00"), 1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_call(row: dict[str, Any], source: str = "pstn") -> CallRow | None:
    """A Graph row as the report reads it; None for a row without an id or a start (nothing safe to count)."""
    started = _moment(row.get("startDateTime"))
    if not row.get("id") or started is None:
        return None
    direct = source == "directRouting"
    call_type = str(row.get("callType") or "")
    inventory = str(row.get("inventoryType") or "").lower().replace("-", " ")
    if direct:
        kind = DIRECT_ROUTING
    elif "toll free" in inventory and call_type.endswith("_in"):
        kind = TOLL_FREE_IN
    elif call_type.startswith("user_out"):
        kind = USER_OUT
    elif call_type.startswith("conf") and "out" in call_type:
        kind = CONFERENCE_OUT
    else:
        kind = OTHER
    user_id = row.get("userId")
    return CallRow(
        id=str(row["id"]),
        day=started.astimezone(timezone.utc).date(),
        user_id=str(user_id).lower() if user_id else None,
        user_principal_name=row.get("userPrincipalName") or None,
        call_type=call_type,
        kind=kind,
        seconds=_number(row.get("duration"), int),
        charge=0.0 if direct else _number(row.get("charge"), float) + _number(row.get("connectionCharge"), float),
        currency=str(row["currency"]).upper() if row.get("currency") else None,
        license_capability=str(row["licenseCapability"]) if row.get("licenseCapability") else None,
        usage_country=str(row["usageCountryCode"]).upper() if row.get("usageCountryCode") else None,
        destination=row.get("destinationName") or None,
        international=str(row.get("destinationContext") or "").lower() == "international",
        numbers=tuple(str(row[k]) for k in ("calleeNumber", "callerNumber") if row.get(k)),
        direct_routing=direct,
    )


def _number(value: Any, kind: type[Any]) -> Any:
    try:
        return kind(value) if value is not None and not isinstance(value, bool) else kind(0)
    except (TypeError, ValueError):
        return kind(0)


def read_call_file(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows of a JSON Lines file `export --calls` wrote (one Graph row per line, already de-duplicated, with
    "_source"), one at a time; a damaged line is an error naming it: a sizing built on part of the calls would
    mislead."""
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below, after the last row was yielded
    except OSError as exc:
        raise InputError([Problem(str(path), 0, 0, f"cannot read: {exc.strerror or exc}")]) from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InputError([Problem(str(path), number, 1, f"not a JSON call row: {exc}")]) from exc
            if not isinstance(row, dict):
                raise InputError([Problem(str(path), number, 1, "not a JSON object")])
            yield str(row.pop("_source", "pstn")), row


def window_for_days(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    end = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    return end - timedelta(days=days), end


def window_for_dates(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc)
    end = datetime(last.year, last.month, last.day, 23, 59, 59, tzinfo=timezone.utc)
    return start, end
