"""Included PSTN minutes per licence and month, by calling plan, country and destination (a shipped, dated table
that the configuration's `includedMinutes` corrects). See the header of data/included-minutes.csv for sources."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files

TABLE_DATE = "2026-12-01"
TENANT = "tenant"  # a pool that spans the tenant rather than a country (Audio Conferencing dial-out)
ANY = "*"


@dataclass(frozen=True, slots=True)
class IncludedMinutes:
    plan: str  # service plan name, as call records name it in licenseCapability (MCOPSTN1, MCOMEETADV...)
    country: str  # ISO code, "*" for any other, or "tenant"
    destination: str  # domestic, international, or any
    minutes: int  # per licence per month


def parse_included_minutes(text: str) -> tuple[IncludedMinutes, ...]:
    lines = [line for line in text.removeprefix("\ufeff").splitlines() if line and not line.startswith("#")]
    rows = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        for country in row["countries"].split(";"):
            rows.append(
                IncludedMinutes(row["plan"].strip(), country.strip(), row["destination"].strip(), int(row["minutes"]))
            )
    return tuple(rows)


@functools.cache
def load_included_minutes() -> tuple[IncludedMinutes, ...]:
    text = files("teamslicensing.reference").joinpath("data").joinpath("included-minutes.csv").read_text("utf-8")
    return parse_included_minutes(text)


class MinutesTable:
    """Lookups over the shipped rows, with the configuration's rows taking precedence."""

    def __init__(self, overrides: Iterable[IncludedMinutes] = (), shipped: Iterable[IncludedMinutes] | None = None):
        self._rows: dict[tuple[str, str, str], int] = {}
        for row in (*(load_included_minutes() if shipped is None else shipped), *overrides):
            self._rows[(row.plan.upper(), row.country.upper(), row.destination.lower())] = row.minutes

    def pool_of(self, plan: str) -> str | None:
        """`TENANT` when the plan's minutes pool tenant-wide, "country" when per country, None when unknown."""
        keys = [k for k in self._rows if k[0] == plan.upper()]
        if not keys:
            return None
        return TENANT if any(k[1] == TENANT.upper() for k in keys) else "country"

    def minutes(self, plan: str, country: str, destination: str) -> int | None:
        """Included minutes per licence per month; None when the table does not know the plan there."""
        plan, country = plan.upper(), country.upper()
        for key in (
            (plan, country, destination),
            (plan, ANY, destination),
            (plan, TENANT.upper(), destination),
            (plan, TENANT.upper(), "any"),
            (plan, country, "any"),
            (plan, ANY, "any"),
        ):
            if key in self._rows:
                return self._rows[key]
        return None
