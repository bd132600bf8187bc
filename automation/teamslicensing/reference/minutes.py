"""Included PSTN minutes as pools: which usage locations share one, its allowances per destination and whether
they are one either/or allowance (a Domestic and International plan: domestic OR international, whichever is
reached first). A shipped, dated table (data/included-minutes.csv, whose header names its sources) that the
configuration's `includedMinutes` corrects."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files

from teamslicensing.model.desired import MinutesOverride

TABLE_DATE = "2026-12-07"
TENANT = "TENANT"  # a pool that spans the tenant rather than a country (Audio Conferencing dial-out)
ANY = "*"  # any country no row names
DESTINATIONS = ("domestic", "international", "zoneA", "any")


@dataclass(frozen=True, slots=True)
class PoolRule:
    """One pool of minutes: per licence per month, for the usage locations it serves."""

    plan: str  # the licenseCapability code call rows carry (MCOPSTN1, MCOPSTN2, MCOMEETADD...)
    countries: tuple[str, ...]  # ISO codes, ("*",) for any other, ("TENANT",) for the whole tenant
    shared: bool  # the countries share one pool (US and Puerto Rico), else one pool each
    allowances: tuple[tuple[str, int], ...]  # (destination, minutes per licence), in DESTINATIONS order
    either_or: bool  # the allowances are one: used up when either is reached

    @property
    def tenant_wide(self) -> bool:
        return self.countries == (TENANT,)


def _allowances(pairs: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    found = dict(pairs)
    return tuple((d, found[d]) for d in DESTINATIONS if d in found)


def parse_included_minutes(text: str) -> tuple[PoolRule, ...]:
    lines = [line for line in text.removeprefix("\ufeff").splitlines() if line and not line.startswith("#")]
    rules = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        pairs = []
        for part in row["allowances"].split(";"):
            destination, _, minutes = part.partition("=")
            if destination.strip() not in DESTINATIONS:
                raise ValueError(f"included-minutes.csv: unknown destination {destination!r}")
            pairs.append((destination.strip(), int(minutes)))
        countries = tuple(c.strip().upper() for c in row["countries"].split(";"))
        rules.append(
            PoolRule(
                plan=row["plan"].strip().upper(),
                countries=countries,
                shared=row["shared"].strip() == "yes",
                allowances=_allowances(pairs),
                either_or=row["eitherOr"].strip() == "yes",
            )
        )
    return tuple(rules)


@functools.cache
def load_included_minutes() -> tuple[PoolRule, ...]:
    text = files("teamslicensing.reference").joinpath("data").joinpath("included-minutes.csv").read_text("utf-8")
    return parse_included_minutes(text)


class MinutesTable:
    """The pool each (plan, usage location) draws on: the configuration's entries over the shipped rows, the later
    over the earlier. An entry naming one allowance (`destination` and `minutes`, the configuration's first form)
    changes that allowance of the pool it finds and keeps the rest."""

    def __init__(self, overrides: Iterable[MinutesOverride] = (), shipped: Iterable[PoolRule] | None = None):
        self._rules: list[PoolRule] = list(load_included_minutes() if shipped is None else shipped)
        for entry in overrides:
            self.add(entry)

    def add(self, entry: MinutesOverride) -> None:
        """Apply one configuration entry over what is there."""
        self._rules.append(self._from_override(entry))

    def _from_override(self, entry: MinutesOverride) -> PoolRule:
        countries = tuple(c.upper() for c in entry.countries)
        shared, either_or, allowances = entry.shared, entry.either_or, entry.allowances
        if entry.partial:  # one allowance changed: the rest of the pool the (first) country is in, as it was
            before = self.rule_for(entry.plan, countries[0])
            if before is not None:
                kept = [(d, m) for d, m in before.allowances if d not in dict(allowances)]
                allowances = (*kept, *allowances)
                either_or = before.either_or if either_or is None else either_or
                # the US alone (or with PR) is still the US and PR pool; with Canada too, a pool of all three
                if before.shared and set(countries) <= set(before.countries):
                    countries, shared = before.countries, True
        return PoolRule(entry.plan.upper(), countries, shared, _allowances(allowances), bool(either_or))

    def rule_for(self, plan: str, country: str) -> PoolRule | None:
        """The pool rule for a plan's licence in `country` (an ISO code, TENANT, or "" for none): the last rule
        naming the country, else the last one for any other country; None when the table does not know it."""
        plan, country = plan.upper(), country.upper()
        named = [r for r in self._rules if r.plan == plan and country in r.countries]
        if named:
            return named[-1]
        other = [r for r in self._rules if r.plan == plan and (ANY in r.countries or r.tenant_wide)]
        return other[-1] if other else None

    def pool_of(self, plan: str, country: str) -> tuple[tuple[str, ...], PoolRule | None]:
        """The countries of the pool a licence in `country` belongs to (the shared ones together, else the country
        alone; ("TENANT",) for a tenant-wide pool), with its rule."""
        rule = self.rule_for(plan, country)
        if rule is None:
            return (country.upper(),), None
        if rule.tenant_wide:
            return (TENANT,), rule
        if rule.shared and country.upper() in rule.countries:
            return tuple(sorted(rule.countries)), rule
        return (country.upper(),), rule
