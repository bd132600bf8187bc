"""`usage`: PSTN call records read window by window from the stateful fake (or a file), aggregated as read, and
turned into spend, pools, a Credits funding recommendation and gaps. The formula is checked on hand-computed cases."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from teamslicensing.cli import main
from teamslicensing.plan.usage import funding
from teamslicensing.tenant.calls import parse_call, windows
from tests.support.fakegraph.calls import generate_calls
from tests.support.faults import fake_for
from tests.support.graphmetadata import DEFAULT_ROLES
from tests.support.rollout import rollout_document, user_id

BASE = "https://graph.microsoft.com/v1.0"
TOKEN = "test-token-not-a-secret"
TOLL_FREE = "+18005550100"
RESOURCE_ACCOUNT = "aa000000-0000-4000-8000-000000000001"

pytestmark = pytest.mark.usefixtures("graph_token")


def days(start: date, spends: list[float]) -> dict[date, float]:
    return {start + timedelta(days=n): spend for n, spend in enumerate(spends) if spend}


START = date(2026, 9, 1)


@pytest.mark.parametrize(
    ("spends", "expected"),
    [
        # ten days at 10, then quiet: 30-day max 100, 7-day 70; monthly 100 / 3 = 33.3, x12 = 400: 170 stands
        ([10.0] * 10 + [0.0] * 80, (100, 70, 170)),
        # a trickle: both windows under the minimum of 50; 100 is under the cap of 12 x 30 = 360
        ([1.0] * 60 + [0.0] * 30, (50, 50, 100)),
        # 30-day max 101.5 rounds up to 110; 7-day 7 x 3.5 = 24.5 -> 50; monthly 101.5, cap 1,218 -> 1,220
        ([3.5] * 29 + [0.0] * 61, (110, 50, 160)),
    ],
)
def test_the_funding_formula_on_hand_computed_cases(spends: list[float], expected: tuple[int, int, int]) -> None:
    result = funding(days(START, spends), START, START + timedelta(days=len(spends) - 1))
    assert (result.recharge_amount, result.trigger_balance, result.initial_funds) == expected
    assert "30 consecutive UTC days" in result.formula
    assert result.note is None


def test_funds_are_capped_at_twelve_months_of_average_spend() -> None:
    """One 1,000 day in a year: recharge and trigger 1,000 each, but 2,000 would outlive its 12 months:
    12 x (1,000 / (365 / 30)) = 986.3, rounded up to 990."""
    spends = [0.0] * 365
    spends[100] = 1000.0
    result = funding(days(START, spends), START, START + timedelta(days=364))
    assert (result.recharge_amount, result.trigger_balance, result.initial_funds) == (1000, 1000, 990)


def test_fewer_than_thirty_days_recommend_the_minimum_and_say_so() -> None:
    result = funding(days(START, [40.0] * 20), START, START + timedelta(days=19))
    assert (result.recharge_amount, result.trigger_balance, result.initial_funds) == (50, 50, 50)
    assert result.note is not None
    assert "fewer than 30" in result.note


def test_a_row_as_graph_writes_it_is_counted_on_every_supported_python() -> None:
    """Graph's example row has 7 fractional digits, which Python 3.10's fromisoformat (Azure Automation's) refuses:
    such rows were dropped there, and a month's spend came out near zero."""
    row = {
        "id": "9c4984c7-6c3c-427d-a30c-bd0b2eacee90",
        "startDateTime": "2019-11-01T00:00:08.2589935Z",
        "endDateTime": "2019-11-01T00:03:47.2589935Z",
        "duration": 219,
        "charge": 0.5,
        "currency": "USD",
        "callType": "user_out_domestic",
    }
    call = parse_call(row)
    assert call is not None
    assert call.day == date(2019, 11, 1)
    assert call.charge == 0.5


def test_windows_are_at_most_ninety_days_and_share_their_edges() -> None:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    cuts = windows(start, start + timedelta(days=200))
    assert [high - low for low, high in cuts] == [timedelta(days=90), timedelta(days=90), timedelta(days=20)]
    assert all(cuts[n][1] == cuts[n + 1][0] for n in range(len(cuts) - 1))


def tenant(holding: int = 4, *, credits: bool = False) -> dict[str, Any]:
    document = rollout_document(6, holding_calling_plan=holding)
    document["users"].append(
        {
            "id": RESOURCE_ACCOUNT,
            "userPrincipalName": "tollfree-aa@contoso.com",
            "displayName": "Toll-free auto attendant",
            "accountEnabled": True,
            "usageLocation": "US",
            "assignedLicenses": [],
            "licenseAssignmentStates": [],
        }
    )
    document["numberAssignments"] = [
        {
            "telephoneNumber": TOLL_FREE,
            "numberType": "callingPlan",
            "assignmentStatus": "voiceApplicationAssigned",
            "assignmentTargetId": RESOURCE_ACCOUNT,
        },
        {
            "telephoneNumber": "+14255550001",
            "numberType": "callingPlan",
            "assignmentStatus": "userAssigned",
            "assignmentTargetId": user_id(0),
        },
    ]
    if credits:
        document["subscribedSkus"].append(
            {
                "skuId": "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0",
                "skuPartNumber": "MCOPSTNC",
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": 0,
                "prepaidUnits": {"enabled": 10, "suspended": 0, "warning": 0},
                "servicePlans": [
                    {
                        "servicePlanId": "505e180f-f7e0-4b65-91d4-00d670bbd18c",
                        "servicePlanName": "MCOPSTNC",
                        "provisioningStatus": "Success",
                    }
                ],
            }
        )
    return document


def calls(start: datetime, n_days: int, per_day: int, callers: int = 3, **options: Any) -> list[dict[str, Any]]:
    users = [(user_id(n), f"user{n:06d}@contoso.com", "US") for n in range(callers)]
    return list(generate_calls(users, start, n_days, per_day, **options))


def usage_json(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> dict[str, Any]:
    assert main(["usage", *args, "--format", "json"]) == code
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_a_year_of_calls_is_read_in_windows_without_counting_an_edge_call_twice(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    """200 days: three windows. A call starting exactly on a window boundary is served by both windows (both
    bounds are inclusive) and counted once; the spend is the rows' sum to the cent."""
    first, last = date(2026, 3, 1), date(2026, 9, 16)
    start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc)
    rows = calls(start, (last - first).days + 1, 30, plan="MCOPSTN2")
    edge = start + timedelta(days=90)
    rows.append({**rows[0], "id": "edge-call", "startDateTime": edge.strftime("%Y-%m-%dT%H:%M:%SZ"), "charge": 7.25})
    routed = [
        {"id": f"dr-{n}", "startDateTime": f"2026-05-{n + 1:02d}T10:00:00Z", "duration": 120, "callType": "ByoPSTN"}
        for n in range(12)
    ]
    document = {**tenant(), "pstnCalls": rows, "directRoutingCalls": routed}
    fake = fake_for(document, router)
    report = usage_json(capsys, "--from", first.isoformat(), "--to", last.isoformat())
    assert report["calls"] == len(rows), "every row once, the edge call included"
    assert report["directRoutingCalls"] == 12, "Direct Routing rows are read too, for minutes (no charge)"
    assert {"kind": "direct routing", "minutes": 24.0} in report["minutesByKind"]
    expected = round(sum(r["charge"] + r["connectionCharge"] for r in rows), 2)
    assert report["currencies"]["USD"]["spend"] == pytest.approx(expected, abs=0.01)
    assert sum(m["spend"] for m in report["currencies"]["USD"]["monthly"]) == pytest.approx(expected, abs=0.05)
    function_calls = [p for _, p in fake.requests if "getPstnCalls" in p]
    assert len({p.split("?")[0] for p in function_calls}) == 3, "three windows of at most 90 days"
    assert any("$skip=1000" in p for p in function_calls), "pages of 1,000 followed"
    assert report["window"] == {"from": first.isoformat(), "to": last.isoformat()}


def test_the_fake_refuses_more_than_ninety_days_and_calls_without_the_permission(router: respx.MockRouter) -> None:
    fake_for(tenant(), router)
    window = "fromDateTime=2026-01-01T00:00:00Z,toDateTime=2026-04-02T00:00:00Z"
    url = f"{BASE}/communications/callRecords/getPstnCalls({window})"
    assert httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 400
    fake = fake_for(tenant(), router)
    fake.roles = DEFAULT_ROLES - {"CallRecords.Read.All"}
    one_day = "fromDateTime=2026-01-01T00:00:00Z,toDateTime=2026-01-02T00:00:00Z"
    url = f"{BASE}/communications/callRecords/getPstnCalls({one_day})"
    assert httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 403, "no CallRecords.Read.All"


def test_without_call_records_permission_the_error_says_which_to_grant(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_for(tenant(), router, roles=DEFAULT_ROLES - {"CallRecords.Read.All"})
    assert main(["usage", "--days", "30"]) == 1
    assert "CallRecord-PstnCalls.Read.All" in capsys.readouterr().err


def test_the_report_names_toll_free_without_credits_idle_plans_and_a_pool_running_out(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    now = datetime.now(timezone.utc)
    start = (now - timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = calls(start, 41, 400, callers=3, toll_free=TOLL_FREE)  # ~45 h of calls a day on 4 licences of 3,000 min
    fake_for({**tenant(holding=4), "pstnCalls": rows}, router)
    report = usage_json(capsys, "--days", "45", code=3)
    codes = {(g["code"], g["userPrincipalName"]) for g in report["gaps"]}
    assert ("TOLL_FREE_WITHOUT_CREDITS", "tollfree-aa@contoso.com") in codes, "joined to the resource account"
    assert ("RECLAIMABLE_LICENSE", "user000003@contoso.com") in codes, "a plan, no number, no call"
    assert ("RECLAIMABLE_LICENSE", "user000000@contoso.com") not in codes, "has a number"
    assert report["version"] == 2
    (pool,) = [p for p in report["pools"] if p["plan"] == "MCOPSTN1"]
    assert pool["licences"] == 4
    assert pool["countries"] == ["PR", "US"], "users in the US and Puerto Rico share one pool"
    assert [a["destination"] for a in pool["allowances"]] == ["domestic"]
    assert pool["includedMinutes"] == 4 * 3000
    assert pool["forecastExhausted"] is True, "about 4,800 minutes a day against 12,000 a month"
    (conferencing,) = [p for p in report["pools"] if p["plan"] == "MCOMEETADD"]
    assert conferencing["usedMinutes"] > 0, "dial-outs carry MCOMEETADD, and Zone A (the United Kingdom) counts"
    uses = {c["code"]: c for c in report["capabilities"]}
    assert uses["MCOPSTNPP"]["pool"] == "credits", "toll-free and international calls paid from Credits"
    assert ("CREDITS_NEEDED_BY_USAGE", "user000001@contoso.com") in codes, "no Credits subscription, no licence"
    kinds = {m["kind"] for m in report["minutesByKind"]}
    assert {"outbound user calls", "conference dial-out", "toll-free inbound (resource accounts)"} <= kinds
    funding_block = report["currencies"]["USD"]["funding"]
    assert set(funding_block) == {"rechargeAmount", "triggerBalance", "initialFunds", "formula", "note"}
    assert report["topUsers"], "charged users are ranked"
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\npolicy: {funding: postpaid}\n")
    postpaid = usage_json(capsys, str(config), "--days", "45")
    assert postpaid["currencies"]["USD"]["funding"] is None, "postpaid: spend only"
    assert not {g["code"] for g in postpaid["gaps"]} & {"TOLL_FREE_WITHOUT_CREDITS", "CREDITS_NEEDED_BY_USAGE"}


def test_a_small_pool_is_forecast_to_run_out_and_users_without_credits_are_named(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    start = datetime(2026, 5, 1, tzinfo=timezone.utc)  # fixed dates: the forecast is of the window's last month
    rows = calls(start, 10, 200, callers=2)
    fake_for({**tenant(holding=2, credits=True), "pstnCalls": rows}, router)
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\nincludedMinutes:\n  - {plan: MCOPSTN1, countries: [US], minutes: 10}\n")
    report = usage_json(capsys, str(config), "--from", "2026-05-01", "--to", "2026-05-10")
    (pool,) = [p for p in report["pools"] if p["plan"] == "MCOPSTN1"]
    assert pool["includedMinutes"] == 20, "the configuration's figure wins over the shipped table"
    assert pool["forecastExhausted"] is True
    gaps = {(g["code"], g["userPrincipalName"]) for g in report["gaps"]}
    assert ("POOL_FORECAST_EXHAUSTED", None) in gaps
    assert ("CREDITS_NEEDED_BY_USAGE", "user000000@contoso.com") in gaps
    assert not any(code == "TOLL_FREE_WITHOUT_CREDITS" for code, _ in gaps)


def test_an_exported_calls_file_gives_the_same_report_as_the_live_read(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    now = datetime.now(timezone.utc)
    start = (now - timedelta(days=60)).replace(hour=0, minute=0, second=0, microsecond=0)
    document = {**tenant(), "pstnCalls": calls(start, 55, 40, plan="MCOPSTN2")}
    fake_for(document, router)
    calls_file = tmp_path / "calls.jsonl"
    assert main(["export", "--calls", str(calls_file), "--days", "70"]) == 0
    assert "call rows of the last 70 days" in capsys.readouterr().out
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(tenant()))
    live = usage_json(capsys, "--days", "70")
    offline = usage_json(capsys, "--snapshot", str(snapshot), "--calls", str(calls_file))
    assert offline["calls"] == live["calls"] == 55 * 40
    assert offline["currencies"]["USD"]["spend"] == live["currencies"]["USD"]["spend"]
    assert offline["topUsers"] == live["topUsers"]
    for fmt in ("text", "markdown", "csv", "github"):
        assert main(["usage", "--snapshot", str(snapshot), "--calls", str(calls_file), "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "USD" in out
        if fmt == "github":
            assert "::notice title=RECLAIMABLE_LICENSE::" in out, "the gaps as annotations"
        if fmt == "csv":
            gap_rows = [line for line in out.splitlines() if line.startswith("gap,")]
            assert gap_rows
            assert all("holds a Calling Plan but has no Teams number" in line for line in gap_rows), "messages kept"
    assert not any(g["code"] == "CALL_ROWS_UNREADABLE" for g in offline["gaps"])

    with calls_file.open("a", encoding="utf-8") as more:  # rows the report cannot read are counted, not dropped
        more.write(json.dumps({"startDateTime": "2026-01-01T00:00:00Z", "charge": 9.0}) + "\n")
        more.write(json.dumps({"id": "x-1", "startDateTime": "yesterday", "charge": 9.0}) + "\n")
    damaged = usage_json(capsys, "--snapshot", str(snapshot), "--calls", str(calls_file))
    assert damaged["calls"] == 55 * 40
    assert damaged["currencies"]["USD"]["spend"] == live["currencies"]["USD"]["spend"]
    (unreadable,) = [g for g in damaged["gaps"] if g["code"] == "CALL_ROWS_UNREADABLE"]
    assert unreadable["message"].startswith("2 call rows")


def test_a_snapshot_without_a_calls_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(tenant()))
    assert main(["usage", "--snapshot", str(snapshot)]) == 1
    assert "give --calls FILE" in capsys.readouterr().err
    bad = tmp_path / "calls.jsonl"
    bad.write_text('{"id": "a", "startDateTime": "2026-01-01T00:00:00Z"}\nnot json\n')
    assert main(["usage", "--snapshot", str(snapshot), "--calls", str(bad)]) == 1
    assert "calls.jsonl:2:1" in capsys.readouterr().err


def test_plan_usage_adds_the_usage_gaps_unless_the_plan_already_gives_credits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(tenant(holding=2, credits=True)))
    usage = tmp_path / "usage.json"
    gap = {"severity": "warning", "skuPartNumber": None, "message": "pool runs out"}
    usage.write_text(
        json.dumps(
            {
                "version": 1,
                "window": {"from": "2026-05-01", "to": "2026-05-10"},
                "pools": [],
                "gaps": [
                    {**gap, "code": "CREDITS_NEEDED_BY_USAGE", "userPrincipalName": "user000000@contoso.com"},
                    {**gap, "code": "CREDITS_NEEDED_BY_USAGE", "userPrincipalName": "user000005@contoso.com"},
                    {**gap, "code": "TOLL_FREE_WITHOUT_CREDITS", "severity": "error", "userPrincipalName": None},
                ],
            }
        )
    )
    config = tmp_path / "licensing.yaml"
    config.write_text(
        "version: 1\nrules:\n  - name: credits\n    select: {users: [user000000@contoso.com]}\n    assign: [MCOPSTNC]\n"
    )
    assert main(["plan", str(config), "--snapshot", str(snapshot), "--usage", str(usage), "--format", "json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    gaps = {(g["code"], g["userPrincipalName"]) for g in planned["gaps"]}
    assert ("CREDITS_NEEDED_BY_USAGE", "user000005@contoso.com") in gaps
    assert ("CREDITS_NEEDED_BY_USAGE", "user000000@contoso.com") not in gaps, "the plan gives them Credits"
    assert ("TOLL_FREE_WITHOUT_CREDITS", None) in gaps
    args = ["plan", str(config), "--snapshot", str(snapshot), "--usage", str(usage), "--detailed-exitcode"]
    assert main(args) == 3, "an error gap of the usage report fails CI like the plan's own"
    usage.write_text("{}")
    assert main(["plan", str(config), "--snapshot", str(snapshot), "--usage", str(usage)]) == 1
    assert "is not the JSON of `teams-licensing usage" in capsys.readouterr().err


def test_the_china_cloud_has_no_call_records_and_says_so_before_asking(router: respx.MockRouter) -> None:
    """getPstnCalls and getDirectRoutingCalls are not offered by 21Vianet: one clear error, no request sent."""
    from teamslicensing.graph import CLOUDS, Connection, Graph
    from teamslicensing.tenant.calls import CallsUnavailable, call_rows

    async def go() -> None:
        async with Graph(Connection(CLOUDS["china"][0]), access_token=TOKEN) as graph:
            async for _ in call_rows(graph, datetime(2026, 1, 1, tzinfo=timezone.utc), datetime.now(timezone.utc)):
                pass

    with pytest.raises(CallsUnavailable, match="21Vianet"):
        asyncio.run(go())
    assert not router.calls
