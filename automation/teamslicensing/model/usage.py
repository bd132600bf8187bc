"""PSTN usage as the usage report reads it: slim call rows in, a report of spend, pools and funding out.

Stdlib types only, like the rest of the model: the aggregation (`plan.usage`) is pure and the sources
(`tenant.calls`) and renderers (`report.usage`) meet here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

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
    license_capability: str | None  # the plan the call used (MCOPSTN1, MCOPSTN2, MCOMEETADV...)
    usage_country: str | None  # the user's country (usage location), ISO alpha-2
    destination: str | None  # country or region dialled
    international: bool  # destinationContext == International
    numbers: tuple[str, ...]  # calleeNumber and callerNumber, for joining toll-free rows to the inventory
    direct_routing: bool = False


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
class Pool:
    country: str  # ISO code, or "*" for a tenant-wide pool
    plan: str
    destination: str  # domestic, international, any
    licences: int
    included_minutes: int | None  # licences x minutes per licence; None: the table does not know the plan
    used_minutes: float  # in the latest month of the window
    month: str  # YYYY-MM the used minutes are for
    forecast_minutes: float | None  # at this pace, by the end of that month
    forecast_exhausted: bool | None  # None when there is nothing to forecast against


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
