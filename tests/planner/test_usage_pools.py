"""Minute pools against the codes call rows really carry (Microsoft's PSTN usage report: MCOPSTN1, MCOPSTN2,
MCOMEETADD, MCOPSTNPP…), with hand-computed figures: the US and Puerto Rico share one pool, a Domestic and
International plan is one allowance used up when either limit is reached, the Audio Conferencing pool is 60 minutes
per purchased licence to Zone A only, Credits-paid rows are recognised, and an unknown code is reported.

Every case's window is 2026-05-01 to 2026-05-10: ten days of a 31-day month, so a forecast is used x 3.1."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from teamslicensing.model.desired import MinutesOverride
from teamslicensing.model.usage import Pool, UsageReport
from teamslicensing.plan.usage import UsageAggregate, usage_report
from teamslicensing.reference.minutes import MinutesTable
from teamslicensing.tenant.calls import parse_call
from teamslicensing.tenant.snapshot import parse_snapshot
from tests.planner.test_plans import expand_tenant, guid

FIRST, LAST = date(2026, 5, 1), date(2026, 5, 10)
ROW_IDS = itertools.count(1)


def row(upn: str | None, code: str, minutes: int, **fields: Any) -> dict[str, Any]:
    """A pstnCallLogRow as Graph writes it; `international` and `to` set destinationContext and destinationName."""
    international = fields.pop("international", False)
    return {
        "id": f"00000000-0000-4000-8000-{next(ROW_IDS):012d}",
        "startDateTime": "2026-05-04T09:00:00.1234567Z",
        "duration": minutes * 60,
        "userId": guid("user", upn) if upn else None,
        "userPrincipalName": upn,
        "callType": fields.pop("callType", "user_out"),
        "licenseCapability": code,
        "usageCountryCode": fields.pop("country", "US"),
        "destinationContext": "International" if international else "Domestic",
        "destinationName": fields.pop("to", "France" if international else "United States"),
        "charge": fields.pop("charge", 0.0),
        "currency": "USD",
        **fields,
    }


def report(
    spec: dict[str, Any], rows: list[dict[str, Any]], overrides: tuple[MinutesOverride, ...] = ()
) -> UsageReport:
    tenant = parse_snapshot(expand_tenant(spec), "case")
    aggregate = UsageAggregate(FIRST, LAST)
    for raw in rows:
        aggregate.add(parse_call(raw))
    return usage_report(aggregate, tenant, MinutesTable(overrides))


def pool(result: UsageReport, plan: str) -> Pool:
    (found,) = [p for p in result.pools if p.plan == plan]
    return found


def figures(found: Pool) -> dict[str, tuple[int | None, float, float | None, bool | None]]:
    return {
        a.destination: (a.included_minutes, a.used_minutes, a.forecast_minutes, a.forecast_exhausted)
        for a in found.allowances
    }


def test_us_and_puerto_rico_share_one_domestic_and_international_allowance_reached_by_its_international_limit() -> None:
    """Two MCOPSTN2 licences, one in the US and one in Puerto Rico: one pool of 2 x 3,000 domestic OR 2 x 600
    international minutes. 1,000 domestic minutes (forecast 3,100 of 6,000) and 400 international (forecast 1,240
    of 1,200): the international limit is reached first, so the whole allowance is forecast to run out."""
    spec = {
        "subscribedSkus": ["MCOEV", "MCOPSTN2"],
        "users": [
            {"upn": "una@contoso.com", "licenses": ["MCOEV", "MCOPSTN2"]},
            {"upn": "pablo@contoso.com", "usageLocation": "PR", "licenses": ["MCOEV", "MCOPSTN2"]},
        ],
    }
    rows = [
        row("una@contoso.com", "MCOPSTN2", 1000),
        row("pablo@contoso.com", "MCOPSTN2", 400, country="PR", international=True),
    ]
    result = report(spec, rows)
    (shared,) = result.pools
    assert (shared.plan, shared.countries, shared.licences, shared.either_or) == ("MCOPSTN2", ("PR", "US"), 2, True)
    assert figures(shared) == {
        "domestic": (6000, 1000.0, 3100.0, False),
        "international": (1200, 400.0, 1240.0, True),
    }
    assert shared.binding.destination == "international"
    assert (shared.included_minutes, shared.used_minutes, shared.forecast_exhausted) == (1200, 400.0, True)
    (gap,) = [g for g in result.gaps if g.code.value == "POOL_FORECAST_EXHAUSTED"]
    assert "PR and US" in gap.message
    assert "whichever is reached first" in gap.message


def test_a_domestic_and_international_allowance_runs_out_on_either_limit_and_not_on_their_sum() -> None:
    """One MCOPSTN2 licence in Great Britain: 1,200 domestic OR 600 international minutes. 300 domestic and 150
    international minutes forecast 930 and 465: neither limit is reached (their shares add up past one, which is
    not the rule), so nothing runs out. 400 domestic minutes alone forecast 1,240 of 1,200: it runs out."""
    gus = {"upn": "gus@contoso.com", "usageLocation": "GB", "licenses": ["MCOEV", "MCOPSTN2"]}
    spec = {"subscribedSkus": ["MCOEV", "MCOPSTN2"], "users": [gus]}
    both = report(
        spec,
        [
            row("gus@contoso.com", "MCOPSTN2", 300, country="GB", to="United Kingdom"),
            row("gus@contoso.com", "MCOPSTN2", 150, country="GB", international=True),
        ],
    )
    assert figures(pool(both, "MCOPSTN2")) == {
        "domestic": (1200, 300.0, 930.0, False),
        "international": (600, 150.0, 465.0, False),
    }
    assert pool(both, "MCOPSTN2").forecast_exhausted is False
    domestic = report(spec, [row("gus@contoso.com", "MCOPSTN2", 400, country="GB", to="United Kingdom")])
    assert figures(pool(domestic, "MCOPSTN2"))["domestic"] == (1200, 400.0, 1240.0, True)
    assert pool(domestic, "MCOPSTN2").forecast_exhausted is True


def test_the_audio_conferencing_pool_is_60_minutes_per_purchased_licence_to_zone_a_only() -> None:
    """Purchased units of every subscription carrying the Audio Conferencing plan: E5 10 + MCOMEETADV 5 = 15 (the
    7 pay-per-minute units do not count), so 900 minutes, whoever holds them. MCOMEETADD dial-outs: 300 minutes to
    the United Kingdom and 100 to France are Zone A (400 used, forecast 1,240: it runs out); 50 to Zimbabwe are
    not drawn from the pool."""
    spec = {
        "subscribedSkus": [
            {"part": "SPE_E5", "enabled": 10},
            {"part": "MCOMEETADV", "enabled": 5},
            {"part": "MCOMEETACPEA", "enabled": 7},
        ],
        "users": [
            {"upn": "erin@contoso.com", "licenses": ["SPE_E5"]},
            {"upn": "max@contoso.com", "licenses": ["MCOMEETADV", "MCOPSTNC"]},
        ],
    }
    rows = [
        row("erin@contoso.com", "MCOMEETADD", 300, callType="conf_out", international=True, to="United Kingdom"),
        row("erin@contoso.com", "MCOMEETADD", 100, callType="conf_out", international=True, to="France"),
        row("max@contoso.com", "MCOMEETADD", 50, callType="conf_out", international=True, to="Zimbabwe"),
    ]
    result = report(spec, rows)
    conferencing = pool(result, "MCOMEETADD")
    assert (conferencing.tenant_wide, conferencing.licences) == (True, 15)
    assert figures(conferencing) == {"zoneA": (900, 400.0, 1240.0, True)}
    assert conferencing.other_minutes == 50.0
    needed = {g.user_principal_name for g in result.gaps if g.code.value == "CREDITS_NEEDED_BY_USAGE"}
    assert needed == {"erin@contoso.com"}, "max holds Communications Credits"


def test_credits_paid_rows_are_recognised_and_an_unknown_code_is_counted_and_reported() -> None:
    """A toll-free call (20 minutes) and an international call on a Domestic plan (10 minutes) carry MCOPSTNPP:
    30 Credits-paid minutes, drawn from no pool (the MCOPSTN1 pool keeps its 60 domestic minutes). A row with a
    code Microsoft does not document is listed as unknown with its 5 minutes and a gap, never dropped."""
    spec = {
        "subscribedSkus": ["MCOEV", "MCOPSTN1"],
        "users": [{"upn": "dan@contoso.com", "licenses": ["MCOEV", "MCOPSTN1"]}],
    }
    rows = [
        row("dan@contoso.com", "MCOPSTN1", 60),
        row("dan@contoso.com", "MCOPSTNPP", 10, international=True, charge=1.2),
        row(None, "MCOPSTNPP", 20, callType="ucap_in", inventoryType="Toll-Free", charge=0.6),
        row("dan@contoso.com", "MCOPSTNXYZ", 5),
    ]
    result = report(spec, rows)
    uses = {u.code: (u.pool, u.known, u.calls, u.minutes) for u in result.capabilities}
    assert uses == {
        "MCOPSTN1": ("callingPlan", True, 1, 60.0),
        "MCOPSTNPP": ("credits", True, 2, 30.0),
        "MCOPSTNXYZ": ("unknown", False, 1, 5.0),
    }
    domestic = pool(result, "MCOPSTN1")
    assert figures(domestic) == {"domestic": (3000, 60.0, 186.0, False)}
    assert domestic.other_minutes == 0.0
    (unknown,) = [g for g in result.gaps if g.code.value == "CALL_CAPABILITY_UNKNOWN"]
    assert "'MCOPSTNXYZ'" in unknown.message
    assert "5.0 minutes" in unknown.message
    assert result.currencies[0].spend == 1.8


def test_the_configuration_corrects_one_allowance_or_a_whole_pool() -> None:
    """`{plan: MCOPSTN2, countries: [US], destination: international, minutes: 300}` changes one allowance of the
    pool the US is in, which stays shared with Puerto Rico and either/or; `allowances` replace a pool."""
    spec = {
        "subscribedSkus": ["MCOEV", "MCOPSTN2"],
        "users": [
            {"upn": "una@contoso.com", "licenses": ["MCOEV", "MCOPSTN2"]},
            {"upn": "pablo@contoso.com", "usageLocation": "PR", "licenses": ["MCOEV", "MCOPSTN2"]},
        ],
    }
    one = (MinutesOverride("MCOPSTN2", ("US",), (("international", 300),), partial=True),)
    corrected = pool(report(spec, [], one), "MCOPSTN2")
    assert corrected.countries == ("PR", "US")
    assert corrected.either_or
    assert {a.destination: a.included_minutes for a in corrected.allowances} == {"domestic": 6000, "international": 600}
    whole = (MinutesOverride("MCOPSTN2", ("PR",), (("domestic", 100),), either_or=False),)
    result = report(spec, [], whole)
    assert {(p.countries, p.licences) for p in result.pools} == {(("PR",), 1), (("PR", "US"), 1)}
    (alone,) = [p for p in result.pools if p.countries == ("PR",)]
    assert figures(alone) == {"domestic": (100, 0.0, 0.0, False)}


def test_calls_between_the_us_and_canada_draw_on_a_domestic_plan_s_pool() -> None:
    """Microsoft's PSTN usage report judges a row by the user's location, so a US user's call to Canada is
    International; Microsoft's Canada page says a Calling Plan treats calls between the US and Canada as domestic,
    and the row's MCOPSTN1 says the Domestic plan paid for it. One licence in the US (3,000 minutes with Puerto
    Rico) and one in Canada (3,000 of its own): the US user's 500 minutes in the US and 600 to Canada make 1,100
    used, forecast 1,100 x 3.1 = 3,410 of 3,000: it runs out; the Canadian's 200 minutes to the US are Canada's
    (forecast 620). No minute is left outside a pool."""
    spec = {
        "subscribedSkus": ["MCOEV", "MCOPSTN1"],
        "users": [
            {"upn": "dan@contoso.com", "licenses": ["MCOEV", "MCOPSTN1"]},
            {"upn": "chloe@contoso.com", "usageLocation": "CA", "licenses": ["MCOEV", "MCOPSTN1"]},
        ],
    }
    rows = [
        row("dan@contoso.com", "MCOPSTN1", 500),
        row("dan@contoso.com", "MCOPSTN1", 600, international=True, to="Canada"),
        row("chloe@contoso.com", "MCOPSTN1", 200, country="CA", international=True, to="United States"),
    ]
    result = report(spec, rows)
    by_place = {p.countries: p for p in result.pools}
    assert figures(by_place[("PR", "US")]) == {"domestic": (3000, 1100.0, 3410.0, True)}
    assert figures(by_place[("CA",)]) == {"domestic": (3000, 200.0, 620.0, False)}
    assert [p.other_minutes for p in result.pools] == [0.0, 0.0]
    (gap,) = [g for g in result.gaps if g.code.value == "POOL_FORECAST_EXHAUSTED"]
    assert "PR and US" in gap.message


def test_a_domestic_and_international_plan_counts_us_canada_calls_as_domestic_and_the_rest_as_international() -> None:
    """One MCOPSTN2 licence in the US: 3,000 domestic OR 600 international minutes. 300 minutes to Canada,
    reported International, are domestic by the US/Canada rule; 200 to France stay international. Domestic 300
    (forecast 930 of 3,000), international 200 (forecast 620 of 600: it runs out). Were the Canadian minutes taken
    as international, 500 would forecast 1,550 and the domestic allowance would show none used."""
    spec = {
        "subscribedSkus": ["MCOEV", "MCOPSTN2"],
        "users": [{"upn": "una@contoso.com", "licenses": ["MCOEV", "MCOPSTN2"]}],
    }
    rows = [
        row("una@contoso.com", "MCOPSTN2", 300, international=True, to="Canada"),
        row("una@contoso.com", "MCOPSTN2", 200, international=True, to="France"),
    ]
    shared = pool(report(spec, rows), "MCOPSTN2")
    assert figures(shared) == {
        "domestic": (3000, 300.0, 930.0, False),
        "international": (600, 200.0, 620.0, True),
    }
    assert shared.other_minutes == 0.0


def test_audio_conferencing_with_dial_out_to_usa_can_adds_no_zone_a_minutes() -> None:
    """Microsoft sells MCOMEETBASIC as "Microsoft Teams Audio Conferencing with dial-out to USA/CAN" (its service
    plan: "dial-out to select geographies"); the dial-out benefit page gives 60 Zone A minutes to Audio Conferencing
    subscriptions and no page gives them to this one. 5 MCOMEETADV units make 5 x 60 = 300 minutes; the 1,000
    select dial-out units add none (they made 60,300). 300 minutes to the United Kingdom forecast 930: the pool runs
    out, and only erin, who holds MCOMEETADV, draws on it (sam's licence is the select dial-out one)."""
    spec = {
        "subscribedSkus": [
            {"part": "MCOMEETADV", "enabled": 5},
            {"part": "Microsoft_Teams_Audio_Conferencing_select_dial_out", "enabled": 1000},
        ],
        "users": [
            {"upn": "erin@contoso.com", "licenses": ["MCOMEETADV"]},
            {"upn": "sam@contoso.com", "licenses": ["Microsoft_Teams_Audio_Conferencing_select_dial_out"]},
        ],
    }
    rows = [row("erin@contoso.com", "MCOMEETADD", 300, callType="conf_out", international=True, to="United Kingdom")]
    result = report(spec, rows)
    conferencing = pool(result, "MCOMEETADD")
    assert conferencing.licences == 5
    assert figures(conferencing) == {"zoneA": (300, 300.0, 930.0, True)}
    needed = {g.user_principal_name for g in result.gaps if g.code.value == "CREDITS_NEEDED_BY_USAGE"}
    assert needed == {"erin@contoso.com"}


def test_a_domestic_and_international_plan_in_canada_is_3000_domestic_or_600_international_minutes() -> None:
    """Microsoft's Canada page (availability-in-canada.md at ab47ff88): "Domestic and International Calling Plan:
    3000 minutes of domestic -OR- 600 minutes of international calling (whichever is reached first in the calendar
    month)"; an earlier revision (01345c79) said only "600 minute for Domestic and International Calling Plans".
    Two licences in Canada: 6,000 domestic OR 1,200 international, one either/or allowance."""
    spec = {
        "subscribedSkus": ["MCOEV", "MCOPSTN2"],
        "users": [
            {"upn": f"{name}@contoso.com", "usageLocation": "CA", "licenses": ["MCOEV", "MCOPSTN2"]}
            for name in ("chloe", "remi")
        ],
    }
    canada = pool(report(spec, []), "MCOPSTN2")
    assert (canada.countries, canada.licences, canada.either_or) == (("CA",), 2, True)
    assert {a.destination: a.included_minutes for a in canada.allowances} == {"domestic": 6000, "international": 1200}
