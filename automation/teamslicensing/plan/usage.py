"""Step 2 of the procedure, sized from real usage: aggregate PSTN call rows as they are read, then the report:
spend per currency, month and week, top users and destinations, minute pools against what the licences include,
a Communications Credits funding recommendation, and whose calls would stop. Pure: rows and the tenant in,
a `UsageReport` out; memory grows with days, users and destinations, never with calls.

The funding formula (docs/how-to/usage-and-credits.md): recharge amount = the highest spend in any 30 consecutive UTC
days of the window; trigger balance = the highest in any 7; each rounded up to a multiple of 10 and at least 50; initial
funds = recharge + trigger, capped at 12 x the average monthly spend (total / (days / 30)) rounded up to a multiple of
10, and never below 50, because funds expire after 12 months. The floor of 50 is this tool's own: the current "What are
Communications Credits?" (2024-11-18) names no amount (a superseded revision suggested starting at $50).

Pools are keyed by the licenseCapability codes call rows carry (reference/data/license-capabilities.csv) and
computed in plan.pools; a code the table does not know is counted and reported (CALL_CAPABILITY_UNKNOWN).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta

from teamslicensing.model.capability import Capability
from teamslicensing.model.desired import Funding as FundingMode
from teamslicensing.model.plan import Gap, GapCode, Plan, Severity
from teamslicensing.model.tenant import Tenant, TenantUser
from teamslicensing.model.usage import (
    TOLL_FREE_IN,
    CallRow,
    CapabilityUse,
    CurrencyUsage,
    Funding,
    Pool,
    Ranked,
    UsageReport,
)
from teamslicensing.model.words import counted
from teamslicensing.plan.pools import Month, capability_use, pool_users
from teamslicensing.plan.pools import pools as pool_report
from teamslicensing.reference.minutes import TABLE_DATE, MinutesTable

MINIMUM = 50  # the smallest recharge, trigger and initial amount recommended: this tool's floor, not Microsoft's
TOP = 20  # users and destinations listed
FORMULA = (
    "recharge = highest spend in any 30 consecutive UTC days; trigger = highest spend in any 7; each rounded up "
    "to a multiple of 10, at least 50; initial funds = recharge + trigger, capped at 12 x the average monthly "
    "spend (total / (days / 30), rounded up to a multiple of 10), at least 50 (funds expire after 12 months); "
    "the floor of 50 is this tool's own, Microsoft names no amount"
)
SHORT_WINDOW = 30  # days of data below which no sizing is trusted


class UsageAggregate:
    """Running sums over call rows; `add` each row once (the sources de-duplicate by id)."""

    def __init__(self, window_from: date, window_to: date) -> None:
        self.window_from, self.window_to = window_from, window_to
        self.daily: dict[str, defaultdict[date, float]] = defaultdict(lambda: defaultdict(float))  # spend per day
        self.users: dict[tuple[str, str], list[float]] = {}  # (currency, user) -> [charge, seconds, calls]
        self.destinations: dict[tuple[str, str], list[float]] = {}
        self.charged_seconds: dict[str, Counter[str]] = defaultdict(Counter)  # currency -> kind -> seconds
        self.seconds_by_kind: Counter[str] = Counter()
        # (usage country, licenseCapability or None, international, destination, YYYY-MM) -> [calls, seconds]:
        # what the pools and the per-code counts read, one lookup a row
        self.calls_by_code: dict[tuple[str, str | None, bool, str, str], list[int]] = {}
        self.callers: set[str] = set()
        self.toll_free_numbers: Counter[str] = Counter()  # numbers seen on toll-free inbound rows
        self.calls = 0
        self.direct_routing_calls = 0
        self.unreadable = 0  # rows without an id or a readable start: not counted, and reported as such

    def add(self, row: CallRow | None) -> None:
        if row is None:
            self.unreadable += 1
            return
        if row.direct_routing:
            self.direct_routing_calls += 1
        else:
            self.calls += 1
        self.seconds_by_kind[row.kind] += row.seconds
        if row.user_id:
            self.callers.add(row.user_id)
        if row.kind == TOLL_FREE_IN:
            self.toll_free_numbers.update(row.numbers)
        if not row.direct_routing:
            code = row.license_capability.upper() if row.license_capability else None
            key = (row.usage_country or "", code, row.international, row.destination or "", row.month)
            use = self.calls_by_code.get(key)
            if use is None:
                use = self.calls_by_code[key] = [0, 0]
            use[0] += 1
            use[1] += row.seconds
        if not row.currency or row.direct_routing:
            return
        currency = row.currency.upper()
        self.daily[currency][row.day] += row.charge
        if row.charge > 0:
            self.charged_seconds[currency][row.kind] += row.seconds
        who = row.user_principal_name or row.user_id
        if who:
            _bump(self.users, (currency, who.lower()), row)
        if row.destination:
            _bump(self.destinations, (currency, row.destination), row)


def _bump(table: dict[tuple[str, str], list[float]], key: tuple[str, str], row: CallRow) -> None:
    entry = table.get(key)
    if entry is None:
        entry = table[key] = [0.0, 0.0, 0.0]
    entry[0] += row.charge
    entry[1] += row.seconds
    entry[2] += 1


def funding(daily: Mapping[date, float], start: date, end: date) -> Funding:
    """The Credits funding recommendation for one currency's daily spend over [start, end] (UTC days)."""
    days = (end - start).days + 1
    if days < SHORT_WINDOW:
        note = (
            f"only {counted(days, 'day')} of data (fewer than {SHORT_WINDOW}): start at the minimum and look again "
            "later"
        )
        return Funding(MINIMUM, MINIMUM, MINIMUM, FORMULA, note)
    series = [daily.get(start + timedelta(days=n), 0.0) for n in range(days)]
    recharge = max(MINIMUM, _up_to_ten(_highest(series, 30)))
    trigger = max(MINIMUM, _up_to_ten(_highest(series, 7)))
    monthly = sum(series) / (days / 30)
    initial = max(MINIMUM, min(recharge + trigger, _up_to_ten(12 * monthly)))
    return Funding(recharge, trigger, initial, FORMULA)


def _highest(series: list[float], width: int) -> float:
    total = sum(series[:width])
    best = total
    for n in range(width, len(series)):
        total += series[n] - series[n - width]
        best = max(best, total)
    return best


def _up_to_ten(amount: float) -> int:
    return int(math.ceil(round(amount, 6) / 10) * 10)


def usage_report(
    aggregate: UsageAggregate,
    tenant: Tenant,
    table: MinutesTable,
    funding_mode: FundingMode = "credits",
) -> UsageReport:
    """The report of `aggregate` for `tenant`; with postpaid funding, spend only and no Credits gap."""
    holders = _plan_holders(tenant)
    currencies = tuple(
        CurrencyUsage(
            currency=currency,
            spend=round(sum(days.values()), 2),
            monthly=_grouped(days, lambda d: d.strftime("%Y-%m")),
            weekly=_grouped(days, lambda d: "{}-W{:02d}".format(*d.isocalendar()[:2])),
            funding=None if funding_mode == "postpaid" else funding(days, aggregate.window_from, aggregate.window_to),
            charged_minutes=tuple(
                (kind, round(seconds / 60, 1)) for kind, seconds in sorted(aggregate.charged_seconds[currency].items())
            ),
        )
        for currency, days in sorted(aggregate.daily.items())
    )
    month = Month.ending(aggregate.window_from, aggregate.window_to)
    pools = pool_report(aggregate.calls_by_code, month, tenant, holders, table)
    capabilities = capability_use(aggregate.calls_by_code)
    gaps = _gaps(aggregate, tenant, holders, pools, funding_mode)
    gaps += _unknown_capability_gaps(capabilities)
    return UsageReport(
        window_from=aggregate.window_from,
        window_to=aggregate.window_to,
        currencies=currencies,
        top_users=_ranked(aggregate.users),
        top_destinations=_ranked(aggregate.destinations),
        pools=pools,
        gaps=tuple(sorted(gaps, key=Gap.sort_key)),
        calls=aggregate.calls,
        direct_routing_calls=aggregate.direct_routing_calls,
        minutes_by_kind=tuple((k, round(s / 60, 1)) for k, s in sorted(aggregate.seconds_by_kind.items())),
        capabilities=capabilities,
    )


def _grouped(days: Mapping[date, float], label: Callable[[date], str]) -> tuple[tuple[str, float], ...]:
    sums: defaultdict[str, float] = defaultdict(float)
    for day, spend in days.items():
        sums[label(day)] += spend
    return tuple((key, round(value, 2)) for key, value in sorted(sums.items()))


def _ranked(table: Mapping[tuple[str, str], list[float]]) -> tuple[Ranked, ...]:
    entries = [
        Ranked(name=name, currency=currency, charge=round(v[0], 2), minutes=round(v[1] / 60, 1), calls=int(v[2]))
        for (currency, name), v in table.items()
        if v[0] > 0
    ]
    return tuple(sorted(entries, key=lambda r: (-r.charge, r.currency, r.name))[:TOP])


def _plan_holders(tenant: Tenant) -> dict[str, list[TenantUser]]:
    """Service plan name (upper case) -> the users whose active licenses enable it."""
    holders: dict[str, list[TenantUser]] = defaultdict(list)
    plans_of = {sku.sku_id: sku.service_plans for sku in tenant.skus}
    for user in tenant.users:
        enabled: set[str] = set()
        for assignment in user.licenses:
            if assignment.grants_plans:
                enabled.update(
                    p.name.upper() for p in plans_of.get(assignment.sku_id, ()) if p.id not in assignment.disabled_plans
                )
        for name in enabled:
            holders[name].append(user)
    return holders


def _gaps(
    aggregate: UsageAggregate,
    tenant: Tenant,
    holders: Mapping[str, list[TenantUser]],
    pools: tuple[Pool, ...],
    funding_mode: FundingMode,
) -> list[Gap]:
    gaps: list[Gap] = []
    if aggregate.unreadable:
        message = (
            f"{counted(aggregate.unreadable, 'call row')} had no id or no readable startDateTime and are not counted: "
            "spend and minutes may be understated"
        )
        gaps.append(Gap(GapCode.CALL_ROWS_UNREADABLE, Severity.WARNING, None, None, message))
    credits_funded = funding_mode == "postpaid" or tenant.has_active_credits
    with_credits = {u.id for name, users in holders.items() if _is_credits(tenant, name) for u in users}
    for pool in pools:
        if not pool.forecast_exhausted:
            continue
        where = pool_place(pool)
        message = f"{pool.plan} minutes in {where}: {pool_state(pool)}: calls past the pool are paid per minute"
        gaps.append(Gap(GapCode.POOL_FORECAST_EXHAUSTED, Severity.WARNING, None, pool.plan, message))
        if funding_mode == "postpaid":
            continue
        for user in pool_users(pool, holders, tenant):
            if user.id not in with_credits:
                message = (
                    f"the {pool.plan} pool in {where} is forecast to run out before the month ends, and this user "
                    "has no Communications Credits license: their calls past the pool will fail"
                )
                gaps.append(
                    Gap(GapCode.CREDITS_NEEDED_BY_USAGE, Severity.WARNING, user.user_principal_name, None, message)
                )
    if aggregate.toll_free_numbers and not credits_funded:
        owners = _number_owners(tenant)
        accounts = sorted({owners[n] for n in aggregate.toll_free_numbers if n in owners})
        calls = sum(aggregate.toll_free_numbers.values())
        message = (
            f"{counted(calls, 'toll-free inbound call leg')} in the window while the tenant has no active "
            "Communications Credits subscription: toll-free numbers stop working without funded Credits (or NCE "
            "overage)"
        )
        if accounts:
            gaps.extend(Gap(GapCode.TOLL_FREE_WITHOUT_CREDITS, Severity.ERROR, upn, None, message) for upn in accounts)
        else:
            gaps.append(Gap(GapCode.TOLL_FREE_WITHOUT_CREDITS, Severity.ERROR, None, None, message))
    if tenant.numbers is not None:
        with_number = {n.user_id for n in tenant.numbers}
        calling = {u.id: u for name, users in holders.items() if _is_calling_plan(tenant, name) for u in users}
        idle = [u for u in calling.values() if u.id not in with_number and u.id not in aggregate.callers]
        for user in sorted(idle, key=lambda u: u.user_principal_name.lower()):
            message = (
                f"holds a Calling Plan but has no Teams number and made no PSTN call from {aggregate.window_from} to "
                f"{aggregate.window_to}: its seat could be freed ({len(idle)} such {_users(len(idle))})"
            )
            gaps.append(Gap(GapCode.RECLAIMABLE_LICENSE, Severity.INFO, user.user_principal_name, None, message))
    return gaps


def pool_place(pool: Pool) -> str:
    """Where a pool is, in words: the tenant, a country, or the countries sharing it."""
    return "the tenant" if pool.tenant_wide else " and ".join(pool.countries) or "no usage location"


def pool_state(pool: Pool) -> str:
    """A pool's allowances as used and forecast in its month: "domestic 100 of 3,000 and international 590 of
    600 used in 2026-05 (one allowance: whichever is reached first); international 1,200 forecast", saying which
    days of the month were not read when the window began after its 1st."""
    used = " and ".join(
        f"{a.destination} {a.used_minutes:,.0f} of {a.included_minutes or 0:,}" for a in pool.allowances
    )
    either = " (one allowance: whichever is reached first)" if pool.either_or and len(pool.allowances) > 1 else ""
    ending = [a for a in pool.allowances if a.forecast_exhausted]
    forecast = ", ".join(f"{a.destination} {a.forecast_minutes or 0:,.0f}" for a in ending)
    read = ""
    if pool.not_read is not None:
        read = f" (read from {pool.read_from} only, {pool.not_read[0]} to {pool.not_read[1]} not read)"
    return f"{used} used in {pool.month}{read}{either}; {forecast} forecast by the month's end at the pace read"


def _unknown_capability_gaps(uses: Iterable[CapabilityUse]) -> list[Gap]:
    gaps = []
    for use in uses:
        if use.known:
            continue
        message = (
            f"{counted(use.calls, 'call row')}, {use.minutes:,.1f} minutes, carry licenseCapability '{use.code}', "
            f"which the tool's table of Microsoft's codes (reference data, {TABLE_DATE}) does not know: they are "
            "counted under capabilities and drawn from no pool, so a pool may be fuller than shown"
        )
        gaps.append(Gap(GapCode.CALL_CAPABILITY_UNKNOWN, Severity.WARNING, None, None, message))
    return gaps


def _is_credits(tenant: Tenant, plan_name: str) -> bool:
    return any(
        p.name.upper() == plan_name and p.capability is Capability.COMMUNICATIONS_CREDITS
        for sku in tenant.skus
        for p in sku.service_plans
    )


def _is_calling_plan(tenant: Tenant, plan_name: str) -> bool:
    return any(
        p.name.upper() == plan_name and p.capability is Capability.CALLING_PLAN and not p.pay_as_you_go
        for sku in tenant.skus
        for p in sku.service_plans
    )


def _number_owners(tenant: Tenant) -> dict[str, str]:
    """Teams number (E.164, as call rows carry it) -> the UPN (else id) of the account holding it."""
    upns = {u.id: u.user_principal_name for u in tenant.users}
    return {n.number: upns.get(n.user_id, n.user_id) for n in tenant.numbers or ()}


def with_usage_gaps(plan: Plan, gaps: Iterable[Gap], tenant: Tenant) -> Plan:
    """The plan with a usage report's gaps (`plan --usage FILE`), so CI and the runbook judge them alike; a
    CREDITS_NEEDED_BY_USAGE gap is dropped for a user the plan already gives a Credits license."""
    credited = {
        change.user_principal_name.lower()
        for change in plan.changes
        for add in change.add_licenses
        if add.sku_id in tenant.sku_by_id
        and Capability.COMMUNICATIONS_CREDITS in tenant.sku_by_id[add.sku_id].capabilities
    }
    kept = [
        gap
        for gap in gaps
        if not (gap.code is GapCode.CREDITS_NEEDED_BY_USAGE and (gap.user_principal_name or "").lower() in credited)
    ]
    return dataclasses.replace(plan, gaps=tuple(sorted((*plan.gaps, *kept), key=Gap.sort_key)))


def _users(count: int) -> str:
    return "user" if count == 1 else "users"
