"""Minute pools from call rows, keyed by the licenseCapability codes the rows carry: a calling plan's pool per usage
location (the US and Puerto Rico together), one either/or allowance for a Domestic and International plan, and the
tenant's Audio Conferencing dial-out pool, 60 minutes per purchased licence to Zone A destinations only. Pure:
an aggregate and the tenant in, pools out; the gaps they lead to are the usage report's (plan.usage)."""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from teamslicensing.model.capability import Capability
from teamslicensing.model.tenant import Tenant, TenantUser
from teamslicensing.model.usage import Allowance, CapabilityUse, Pool
from teamslicensing.reference.minutes import TENANT, MinutesTable, PoolRule
from teamslicensing.reference.pstn import (
    AUDIO_CONFERENCING,
    CALLING_PLAN,
    POOLED,
    LicenseCapability,
    domestic_across_border,
    in_zone_a,
    license_capabilities,
)

# Audio Conferencing plans whose units add nothing to the tenant's Zone A dial-out pool: pay-per-minute (the dial-out
# benefit page excludes it) and dial-out to select geographies (MCOMEETBASIC, sold as "Microsoft Teams Audio
# Conferencing with dial-out to USA/CAN" in Microsoft's product names and service plan identifiers): the benefit
# page gives its 60 Zone A minutes to Audio Conferencing subscriptions, and no Microsoft page gives them to this one.
NOT_IN_DIAL_OUT_POOL = frozenset({"MCOMEETACPEA", "MCOMEETBASIC", "MCOMEETBASIC_GOV"})
PoolKey = tuple[str, tuple[str, ...]]  # (plan code, the countries of the pool, or (TENANT,))
# (usage country, licenseCapability or None, international, destination name, YYYY-MM) -> [calls, seconds]
CallsByCode = Mapping[tuple[str, str | None, bool, str, str], list[int]]


@dataclass(frozen=True)
class Month:
    """The latest month of the window and the days of it the window read: a forecast is the pace read over the
    whole month, since a pool's allowance is the whole month's (read from a day after the 1st, the minutes used
    before it were not seen, and the month is partial)."""

    label: str  # YYYY-MM
    first: date  # the first day of the month the window read
    last: date  # the last
    length: int  # days in the month

    @classmethod
    def ending(cls, first: date, last: date) -> Month:
        seen = max(first, last.replace(day=1))
        return cls(last.strftime("%Y-%m"), seen, last, calendar.monthrange(last.year, last.month)[1])

    @property
    def elapsed(self) -> int:
        """Days of the month read."""
        return (self.last - self.first).days + 1

    @property
    def partial(self) -> bool:
        """Whether days at the month's start (minutes already counted against its pools) were not read."""
        return self.first.day > 1

    def forecast(self, used: float) -> float | None:
        return used / self.elapsed * self.length if self.elapsed > 0 else None


def conferencing_units(tenant: Tenant) -> int:
    """Purchased units of every subscription carrying the Audio Conferencing plan (E5 too), the dial-out pool's
    licences; pay-per-minute Audio Conferencing and dial-out to USA/CAN add none."""
    return sum(
        sku.enabled
        for sku in tenant.skus
        if any(
            p.capability is Capability.AUDIO_CONFERENCING and p.name.upper() not in NOT_IN_DIAL_OUT_POOL
            for p in sku.service_plans
        )
    )


def conferencing_users(holders: Mapping[str, list[TenantUser]], tenant: Tenant) -> list[TenantUser]:
    """The users an Audio Conferencing plan that adds to the dial-out pool is enabled for: the pool's users."""
    names = {
        p.name.upper()
        for sku in tenant.skus
        for p in sku.service_plans
        if p.capability is Capability.AUDIO_CONFERENCING and p.name.upper() not in NOT_IN_DIAL_OUT_POOL
    }
    found = {u.id: u for name in sorted(names) for u in holders.get(name, [])}
    return list(found.values())


def _allowance_for(rule: PoolRule | None, international: bool, destination: str, country: str) -> str | None:
    """Which allowance of `rule` a row of a user in `country` draws on, or None when none covers its destination.
    The row's code names the plan that paid for the call (a call a plan does not include carries MCOPSTNPP), so a
    domestic-only plan's row is domestic whatever the report's destinationContext; for the others a call between
    the US and Canada or Puerto Rico is domestic (Microsoft's country pages), though the report says International."""
    covered = dict(rule.allowances) if rule is not None else {}
    if "any" in covered:
        return "any"
    if "zoneA" in covered:
        return "zoneA" if in_zone_a(destination) is not False else None
    if "domestic" in covered and "international" not in covered:
        return "domestic"
    kind = "international" if international and not domestic_across_border(country, destination) else "domestic"
    if not covered:  # no figures known: the row still shows where it went
        return kind
    return kind if kind in covered else None


def pools(
    calls_by_code: CallsByCode,
    month: Month,
    tenant: Tenant,
    holders: Mapping[str, list[TenantUser]],
    table: MinutesTable,
) -> tuple[Pool, ...]:
    """Each pool's minutes in `month`, against what its licences include, and at the pace read over the whole month
    (a blocked call leaves no row, so the forecast is the signal)."""
    codes = license_capabilities()
    used: defaultdict[PoolKey, Counter[str]] = defaultdict(Counter)  # key -> allowance -> seconds
    other: Counter[PoolKey] = Counter()  # seconds to destinations no allowance covers
    rules: dict[PoolKey, PoolRule | None] = {}
    for (country, code, international, destination, row_month), (_, seconds) in calls_by_code.items():
        capability = codes.get(code) if code is not None else None
        if capability is None or code is None:
            continue
        if row_month != month.label or capability.pool not in POOLED:
            continue
        countries, rule = table.pool_of(code, TENANT if capability.pool == AUDIO_CONFERENCING else country)
        key = (code, countries)
        rules[key] = rule
        allowance = _allowance_for(rule, international, destination, country)
        if allowance is None:
            other[key] += seconds
        else:
            used[key][allowance] += seconds
    licences = _licences(codes.values(), tenant, holders, table, rules)
    result = []
    for key in sorted(set(used) | set(other) | set(licences)):
        code, countries = key
        rule = rules[key]
        held = licences.get(key, 0)
        allowances = rule.allowances if rule is not None else tuple((d, 0) for d in sorted(used[key]))
        result.append(
            Pool(
                plan=code,
                countries=() if countries == (TENANT,) else countries,
                licences=held,
                allowances=tuple(
                    _allowance(d, per_licence * held if rule is not None and held else None, used[key][d], month)
                    for d, per_licence in allowances
                ),
                either_or=rule.either_or if rule is not None else False,
                month=month.label,
                meaning=codes[code].meaning,
                other_minutes=round(other[key] / 60, 1),
                read_from=month.first,
                read_to=month.last,
            )
        )
    return tuple(result)


def _allowance(destination: str, included: int | None, seconds: float, month: Month) -> Allowance:
    used = seconds / 60
    forecast = month.forecast(used)
    exhausted = None if included is None or forecast is None else forecast > included
    return Allowance(
        destination, included, round(used, 1), round(forecast, 1) if forecast is not None else None, exhausted
    )


def _licences(
    codes: Iterable[LicenseCapability],
    tenant: Tenant,
    holders: Mapping[str, list[TenantUser]],
    table: MinutesTable,
    rules: dict[PoolKey, PoolRule | None],
) -> Counter[PoolKey]:
    """Licences per pool: a calling plan's holders by usage location, the dial-out pool's purchased units."""
    found: Counter[PoolKey] = Counter()
    for capability in codes:
        if capability.pool == CALLING_PLAN and capability.service_plan:
            for user in holders.get(capability.service_plan.upper(), []):
                countries, rule = table.pool_of(capability.code, user.usage_location or "")
                rules.setdefault((capability.code, countries), rule)
                found[(capability.code, countries)] += 1
        elif capability.pool == AUDIO_CONFERENCING:
            units = conferencing_units(tenant)
            if units:
                countries, rule = table.pool_of(capability.code, TENANT)
                rules.setdefault((capability.code, countries), rule)
                found[(capability.code, countries)] += units
    return found


def pool_users(pool: Pool, holders: Mapping[str, list[TenantUser]], tenant: Tenant) -> list[TenantUser]:
    """The users whose calls draw on `pool`: the plan's holders in its countries, or the dial-out pool's users."""
    capability = license_capabilities().get(pool.plan)
    if capability is None:
        return []
    if capability.pool == AUDIO_CONFERENCING:
        return conferencing_users(holders, tenant)
    users = holders.get((capability.service_plan or "").upper(), [])
    return [u for u in users if pool.tenant_wide or (u.usage_location or "") in pool.countries]


def capability_use(calls_by_code: CallsByCode) -> tuple[CapabilityUse, ...]:
    """The calls and minutes of each licenseCapability code the rows carried; a code the table does not know is
    listed as unknown, never left out."""
    codes = license_capabilities()
    totals: dict[str | None, list[int]] = {}
    for (_, code, _, _, _), (calls, seconds) in calls_by_code.items():
        total = totals.setdefault(code, [0, 0])
        total[0] += calls
        total[1] += seconds
    uses = []
    for code, (calls, seconds) in totals.items():
        known = codes.get(code) if code is not None else None
        meaning = known.meaning if known else ("no licenseCapability" if code is None else "not in the tool's table")
        pool = known.pool if known else ("none" if code is None else "unknown")
        uses.append(CapabilityUse(code, meaning, pool, calls, round(seconds / 60, 1)))
    return tuple(sorted(uses, key=lambda u: (u.code is None, u.code or "")))
