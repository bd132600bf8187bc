"""PSTN usage as the usage report reads it: slim call rows in, a report of spend, pools and funding out.

Stdlib types only, like the rest of the model: the aggregation (`plan.usage`) is pure and the sources
(`tenant.calls`) and renderers (`report.usage`) meet here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from teamslicensing.model.plan import Gap

# what a call was, for "charged minutes by call type" (Graph's callType values, grouped)
USER_OUT = "outbound user calls"
CONFERENCE_OUT = "conference dial-out"
TOLL_FREE_IN = "toll-free inbound (resource accounts)"
OTHER = "other"
DIRECT_ROUTING = "direct routing"


@dataclass(frozen=True, slots=True)
class CallRow:
    """One pstnCallLogRow (or directRoutingLogRow), reduced to what the report reads."""

    id: str
    day: date  # UTC day the call started
    user_id: str | None  # lowercase; None for toll-free inbound and bots (ucap_in, ucap_out)
    user_principal_name: str | None
    call_type: str  # Graph's callType, e.g. user_out, conf_out, ucap_in
    kind: str  # USER_OUT, CONFERENCE_OUT, TOLL_FREE_IN, DIRECT_ROUTING or OTHER
    seconds: int
    charge: float  # charge + connectionCharge
    currency: str | None
    license_capability: str | None  # the licence the call used, as Microsoft codes it (MCOPSTN1, MCOMEETADD...)
    usage_country: str | None  # the user's country (usage location), ISO alpha-2
    destination: str | None  # country or region dialled
    international: bool  # destinationContext == International
    numbers: tuple[str, ...]  # calleeNumber and callerNumber, for joining toll-free rows to the inventory
    direct_routing: bool = False

    @property
    def month(self) -> str:
        """YYYY-MM of the day the call started."""
        return f"{self.day.year:04d}-{self.day.month:02d}"


@dataclass(frozen=True, slots=True)
class Funding:
    recharge_amount: int
    trigger_balance: int
    initial_funds: int
    formula: str
    note: str | None = None  # e.g. fewer than 30 days of data: the minimum is recommended


@dataclass(frozen=True, slots=True)
class CurrencyUsage:
    currency: str
    spend: float
    monthly: tuple[tuple[str, float], ...]  # (YYYY-MM, spend)
    weekly: tuple[tuple[str, float], ...]  # (YYYY-Www, spend)
    funding: Funding | None  # None with policy.funding postpaid: spend only
    charged_minutes: tuple[tuple[str, float], ...]  # (call kind, minutes of calls that cost something)


@dataclass(frozen=True, slots=True)
class Ranked:
    name: str
    currency: str
    charge: float
    minutes: float
    calls: int


@dataclass(frozen=True, slots=True)
class Allowance:
    """One destination's minutes of a pool, in the latest month of the window."""

    destination: str  # domestic, international, zoneA (Audio Conferencing's Zone A) or any
    included_minutes: int | None  # licences x minutes per licence; None: no licence held, or no figure known
    used_minutes: float
    forecast_minutes: float | None  # at the pace read, over the whole month
    forecast_exhausted: bool | None  # None when there is nothing to forecast against

    @property
    def share(self) -> float:
        """How much of its limit is used (0 when there is no limit to measure against)."""
        return self.used_minutes / self.included_minutes if self.included_minutes else 0.0


@dataclass(frozen=True, slots=True)
class Pool:
    """A pool of included minutes: the usage locations it serves (one, several sharing it, or the whole tenant),
    its plan (the licenseCapability code call rows carry), and its allowances, one either/or allowance when
    `either_or` (a Domestic and International plan: used up when either limit is reached)."""

    plan: str
    countries: tuple[str, ...]  # ISO codes sharing the pool, sorted; () for a tenant-wide pool
    licences: int  # users holding the plan there; Audio Conferencing: purchased units
    allowances: tuple[Allowance, ...]
    either_or: bool
    month: str  # YYYY-MM the used minutes are for
    meaning: str = ""
    other_minutes: float = 0.0  # the plan's minutes to destinations no allowance covers (AC outside Zone A)
    read_from: date | None = None  # the days of `month` the window read (None: not known)
    read_to: date | None = None

    @property
    def tenant_wide(self) -> bool:
        return not self.countries

    @property
    def partial(self) -> bool:
        """Whether the window began after the month's 1st: minutes used before it are not in the used figures."""
        return self.read_from is not None and self.read_from.day > 1

    @property
    def not_read(self) -> tuple[date, date] | None:
        """The days at the month's start the window did not read, when it is partial."""
        if self.read_from is None or not self.partial:
            return None
        return self.read_from.replace(day=1), self.read_from - timedelta(days=1)

    @property
    def binding(self) -> Allowance:
        """The allowance nearest its limit: the one reached first (the first when none has a limit)."""
        return max(self.allowances, key=lambda a: a.share, default=Allowance("any", None, 0.0, None, None))

    @property
    def used_minutes(self) -> float:
        return self.binding.used_minutes

    @property
    def included_minutes(self) -> int | None:
        return self.binding.included_minutes

    @property
    def forecast_minutes(self) -> float | None:
        return self.binding.forecast_minutes

    @property
    def forecast_exhausted(self) -> bool | None:
        """Whether any allowance is forecast to run out (for an either/or pool that ends the whole allowance)."""
        flags = [a.forecast_exhausted for a in self.allowances if a.forecast_exhausted is not None]
        return any(flags) if flags else None


@dataclass(frozen=True, slots=True)
class CapabilityUse:
    """The PSTN calls of one licenseCapability code in the window, and what the code means."""

    code: str | None  # None: rows that carry no licenseCapability
    meaning: str
    pool: str  # callingPlan, audioConferencing, credits, payPerMinute, none, or unknown
    calls: int
    minutes: float

    @property
    def known(self) -> bool:
        return self.pool != "unknown"


@dataclass(frozen=True)
class UsageReport:
    window_from: date
    window_to: date
    currencies: tuple[CurrencyUsage, ...]
    top_users: tuple[Ranked, ...]
    top_destinations: tuple[Ranked, ...]
    pools: tuple[Pool, ...]
    gaps: tuple[Gap, ...]
    calls: int
    direct_routing_calls: int = 0
    minutes_by_kind: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    capabilities: tuple[CapabilityUse, ...] = ()
