"""The month a pool is judged in, read whole or not: a window starting after the month's 1st has not seen the minutes
used before it, so the forecast is the pace read over the whole month (not only the days left from the window's
start), and every format says which days were not read."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main
from teamslicensing.plan.pools import Month
from tests.planner.test_plans import expand_tenant
from tests.planner.test_usage_pools import figures, pool, report, row

FRANCE = {
    "subscribedSkus": ["MCOEV", "MCOPSTN1"],
    "users": [{"upn": "flo@contoso.com", "usageLocation": "FR", "licenses": ["MCOEV", "MCOPSTN1"]}],
}


def french_call(minutes: int, when: str) -> dict[str, Any]:
    call = row("flo@contoso.com", "MCOPSTN1", minutes, country="FR", to="France")
    call["startDateTime"] = when
    return call


def test_a_window_starting_mid_month_forecasts_the_pace_read_over_the_whole_month(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A window from 20 to 25 May reads 6 of May's 31 days. One licence in France: 1,200 domestic minutes a month.
    500 minutes in those 6 days is a pace of 83.3 a day: 500 / 6 x 31 = 2,583.3 by the month's end, over 1,200, so
    the pool runs out. (Projected over the 12 days from the 20th only, it was 1,000 and looked safe, though the 1st
    to the 19th had been used too and never read.) The pool says so: partial, read 20 to 25 May, 1 to 19 not."""
    monkeypatch.setattr("tests.planner.test_usage_pools.FIRST", date(2026, 5, 20))
    monkeypatch.setattr("tests.planner.test_usage_pools.LAST", date(2026, 5, 25))
    result = report(FRANCE, [french_call(500, "2026-05-22T09:00:00Z")])
    france = pool(result, "MCOPSTN1")
    assert figures(france) == {"domestic": (1200, 500.0, 2583.3, True)}
    assert france.partial
    assert (france.read_from, france.read_to) == (date(2026, 5, 20), date(2026, 5, 25))
    assert france.not_read == (date(2026, 5, 1), date(2026, 5, 19))
    (gap,) = [g for g in result.gaps if g.code.value == "POOL_FORECAST_EXHAUSTED"]
    assert "2026-05-01 to 2026-05-19 not read" in gap.message


def test_a_month_read_from_its_first_day_is_whole_and_forecast_as_before() -> None:
    """1 to 10 May: 10 of 31 days from the 1st, so nothing used in May went unread. 300 minutes forecast 930 of
    1,200 (300 / 10 x 31); the pool is not partial."""
    result = report(FRANCE, [french_call(300, "2026-05-04T09:00:00Z")])
    france = pool(result, "MCOPSTN1")
    assert figures(france) == {"domestic": (1200, 300.0, 930.0, False)}
    assert not france.partial
    assert france.not_read is None


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # --days 7 on the 25th: the 18th to the 25th, 8 of 31 days read; 100 minutes -> 100 / 8 x 31 = 387.5
        (date(2026, 5, 18), date(2026, 5, 25), (8, 31, True, 387.5)),
        # a window over two months is judged in the later one, read from its 1st: 100 / 25 x 31 = 124
        (date(2026, 4, 20), date(2026, 5, 25), (25, 31, False, 124.0)),
        # February 2028 has 29 days; read from the 10th to the 19th: 100 / 10 x 29 = 290
        (date(2028, 2, 10), date(2028, 2, 19), (10, 29, True, 290.0)),
    ],
)
def test_the_month_s_days_read_and_its_forecast(
    first: date, last: date, expected: tuple[int, int, bool, float]
) -> None:
    month = Month.ending(first, last)
    assert (month.elapsed, month.length, month.partial, month.forecast(100.0)) == expected


def test_every_format_says_which_days_of_the_month_were_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`usage --from 2026-05-20 --to 2026-05-25` over a calls file: the pool's 500 minutes forecast 2,583 of 1,200
    in every format, each saying that 2026-05-01 to 2026-05-19 were not read; JSON carries `partial`, `read` and
    `notRead`."""
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(expand_tenant(FRANCE)))
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps(french_call(500, "2026-05-22T09:00:00Z")) + "\n")
    args = ["usage", "--snapshot", str(snapshot), "--calls", str(calls), "--from", "2026-05-20", "--to", "2026-05-25"]
    assert main([*args, "--format", "json"]) == 0
    (france,) = json.loads(capsys.readouterr().out)["pools"]
    assert (france["partial"], france["forecastMinutes"], france["forecastExhausted"]) == (True, 2583.3, True)
    assert france["read"] == {"from": "2026-05-20", "to": "2026-05-25"}
    assert france["notRead"] == {"from": "2026-05-01", "to": "2026-05-19"}
    for fmt in ("text", "markdown", "html", "csv"):
        assert main([*args, "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "2026-05-01 to 2026-05-19 not read" in out, fmt
        assert "2,583" in out or "2583.3" in out, fmt
