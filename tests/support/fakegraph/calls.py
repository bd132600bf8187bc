"""PSTN and Direct Routing call records as Graph serves them (callRecords getPstnCalls / getDirectRoutingCalls,
v1.0): both bounds inclusive on the call's start, at most 90 days per call (else 400), pages of 1,000 with an
@odata.nextLink carrying $skip; application permissions only (CallRecord-PstnCalls.Read.All or CallRecords.Read.All,
enforced with every other permission in front of the routes).

Rows come from the document (`pstnCalls`, `directRoutingCalls`: Graph's own row objects) or from `generate_calls`,
a seeded model of a tenant's calling: users calling out on their plan, conference dial-outs, toll-free calls into a
resource account, in Graph's shape.
"""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

from tests.support.fakegraph.common import Json, _bad_request, _Reply
from tests.support.fakegraph.store import TenantStore

PAGE = 1000
MAX_DAYS = 90
FUNCTION = re.compile(
    r"/communications/callRecords/(?:microsoft\.graph\.callRecords\.)?(getPstnCalls|getDirectRoutingCalls)"
    r"\(fromDateTime=([^,]+),toDateTime=([^)]+)\)"
)


def _when(text: str) -> datetime | None:
    plain = unquote(text).strip().strip("'").replace("Z", "+00:00")
    plain = re.sub(r"\.(\d+)", lambda digits: "." + digits.group(1).ljust(6, "0")[:6], plain, count=1)  # 3.10
    try:
        moment = datetime.fromisoformat(plain)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class CallRecordRoutes(TenantStore):
    _calls: dict[str, tuple[list[datetime], list[Json]]]  # function -> (sorted starts, rows in that order)

    def load_calls(self, function: str, rows: Sequence[Json]) -> None:
        ordered = sorted(rows, key=lambda r: str(r.get("startDateTime")))
        starts = [_when(str(r.get("startDateTime"))) or datetime.min.replace(tzinfo=timezone.utc) for r in ordered]
        self._calls[function] = (starts, list(ordered))

    def _call_records(self, path: str, query: dict[str, str]) -> _Reply | None:
        match = FUNCTION.fullmatch(unquote(path))
        if match is None:
            return None
        function, low, high = match.group(1), _when(match.group(2)), _when(match.group(3))
        if low is None or high is None or high < low:
            return _bad_request("Invalid fromDateTime or toDateTime.")
        if high - low > timedelta(days=MAX_DAYS):
            return _bad_request("The date range between fromDateTime and toDateTime cannot exceed 90 days.")
        try:
            skip = int(query.get("skip", "0"))
        except ValueError:
            return _bad_request("Invalid $skip.")
        starts, rows = self._calls.get(function, ([], []))
        # getPstnCalls: both bounds inclusive; getDirectRoutingCalls: toDateTime exclusive (its v1.0 page)
        end = bisect.bisect_left if function == "getDirectRoutingCalls" else bisect.bisect_right
        first, last = bisect.bisect_left(starts, low), end(starts, high)
        chunk = rows[first + skip : min(first + skip + PAGE, last)]
        body: Json = {
            "@odata.context": f"{self.base_url}/$metadata#Collection(microsoft.graph.callRecords.pstnCallLogRow)",
            "@odata.count": len(chunk),
            "value": chunk,
        }
        if first + skip + PAGE < last:
            body["@odata.nextLink"] = f"{self.base_url}{path}?$skip={skip + PAGE}"
        return _Reply(200, body)


def generate_calls(
    users: Sequence[tuple[str, str, str]],
    start: datetime,
    days: int,
    calls_per_day: int,
    *,
    seed: int = 7,
    currency: str = "USD",
    toll_free: str | None = None,
    plan: str = "MCOPSTN1",
) -> Iterator[Json]:
    """Deterministic PSTN rows: (user id, UPN, usage country) callers; about 80% outbound user calls on `plan`,
    10% conference dial-outs, 10% toll-free inbound to `toll_free` (no user) if given. Rows carry Microsoft's
    licenseCapability codes (PSTN usage report): a dial-out MCOMEETADD, a toll-free call and an international call
    a Domestic plan does not include MCOPSTNPP (paid from Communications Credits, charged), an international call
    on a Domestic and International plan MCOPSTN2 (from its allowance)."""
    rng = random.Random(seed)
    for day in range(days):
        base = start + timedelta(days=day)
        for n in range(calls_per_day):
            # 7 fractional digits, as Graph writes them
            moment = base + timedelta(seconds=rng.randrange(86_400), microseconds=rng.randrange(1_000_000))
            draw = rng.random()
            user_id, upn, country = users[rng.randrange(len(users))]
            seconds = rng.randrange(30, 1800)
            row: Json = {
                "id": f"{seed:04d}{day:05d}{n:07d}-0000-4000-8000-000000000000"[:36],
                "callId": f"call-{day}-{n % 97}",  # not unique, as Graph says
                "startDateTime": moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{n % 10}Z",
                "endDateTime": (moment + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
                "duration": seconds,
                "currency": currency,
                "usageCountryCode": country,
                "tenantCountryCode": "US",
                "connectionCharge": 0.0,
                "callDurationSource": "microsoft",
            }
            if toll_free is not None and draw < 0.1:
                row.update(_toll_free_call(toll_free, n, seconds))
            elif draw < 0.2:
                row.update(_dial_out(user_id, upn, n))
            else:
                row.update(_user_call(user_id, upn, n, seconds, plan, international=draw > 0.95))
            yield row


def _toll_free_call(number: str, n: int, seconds: int) -> Json:
    """A call into a resource account's toll-free number: no user, paid from Communications Credits."""
    return {
        "callType": "ucap_in",
        "inventoryType": "Toll-Free",
        "calleeNumber": number,
        "callerNumber": f"+1206555{n % 10000:04d}",
        "userId": None,
        "userPrincipalName": None,
        "licenseCapability": "MCOPSTNPP",
        "charge": round(seconds / 60 * 0.03, 4),
        "destinationContext": "Domestic",
        "destinationName": "United States",
    }


def _dial_out(user_id: str, upn: str, n: int) -> Json:
    """A conference dial-out to the United Kingdom (Zone A): drawn from the Audio Conferencing pool."""
    return {
        "callType": "conf_out",
        "inventoryType": "Subscriber",
        "calleeNumber": f"+4420755{n % 10000:04d}",
        "userId": user_id,
        "userPrincipalName": upn,
        "licenseCapability": "MCOMEETADD",
        "charge": 0.0,
        "destinationContext": "International",
        "destinationName": "United Kingdom",
    }


def _user_call(user_id: str, upn: str, n: int, seconds: int, plan: str, *, international: bool) -> Json:
    """An outbound call on the user's plan; an international one on a Domestic plan is paid from Credits."""
    credits = international and plan != "MCOPSTN2"  # a Domestic plan includes no international minute
    return {
        "callType": "user_out",
        "inventoryType": "Subscriber",
        "calleeNumber": f"+1425555{n % 10000:04d}" if not international else f"+3314{n % 100000:05d}",
        "userId": user_id,
        "userPrincipalName": upn,
        "licenseCapability": "MCOPSTNPP" if credits else plan,
        "charge": round(seconds / 60 * 0.12, 4) if credits else 0.0,
        "destinationContext": "International" if international else "Domestic",
        "destinationName": "France" if international else "United States",
    }
