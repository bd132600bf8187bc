"""Every pool figure in every usage format: CSV carries all of them (the usage how-to says every figure is in JSON and
CSV), Markdown and HTML the licences, included, used and forecast minutes, whether the pool runs out and the minutes
to destinations the pool does not cover."""

from __future__ import annotations

import csv
import io

from teamslicensing.model.usage import UsageReport
from teamslicensing.report.usage import render_usage
from tests.planner.test_usage_pools import report, row

CONFERENCING = {
    "subscribedSkus": [{"part": "MCOMEETADV", "enabled": 5}],
    "users": [{"upn": "erin@contoso.com", "licenses": ["MCOMEETADV"]}],
}


def dial_outs() -> UsageReport:
    """5 Audio Conferencing units: 5 x 60 = 300 Zone A minutes. 300 minutes to the United Kingdom (Zone A) in
    1 to 10 May forecast 300 / 10 x 31 = 930: the pool runs out. 50 minutes to Zimbabwe (not Zone A) are not drawn
    from it: its otherMinutes."""
    rows = [
        row("erin@contoso.com", "MCOMEETADD", 300, callType="conf_out", international=True, to="United Kingdom"),
        row("erin@contoso.com", "MCOMEETADD", 50, callType="conf_out", international=True, to="Zimbabwe"),
    ]
    return report(CONFERENCING, rows)


def test_csv_gives_every_pool_figure() -> None:
    """The pool row: included 300, used 300.0, licences 5, forecast 930.0, runs out true; a poolOther row: 50.0
    minutes the pool does not cover."""
    table = list(csv.DictReader(io.StringIO(render_usage(dial_outs(), "csv"))))
    (pool,) = [r for r in table if r["section"] == "pool"]
    assert (pool["name"], pool["value"], pool["minutes"]) == ("tenant MCOMEETADD Zone A", "300", "300.0")
    assert (pool["licences"], pool["forecast"], pool["runsOut"]) == ("5", "930.0", "true")
    (other,) = [r for r in table if r["section"] == "poolOther"]
    assert (other["name"], other["minutes"]) == ("tenant MCOMEETADD", "50.0")
    assert "does not cover" in other["message"]


def test_markdown_and_html_give_the_minutes_a_pool_does_not_cover_and_whether_it_runs_out() -> None:
    result = dial_outs()
    markdown = render_usage(result, "markdown")
    assert "| tenant | MCOMEETADD | Zone A | 5 | 300 | 300 | 930 | **yes** |" in markdown
    assert "tenant MCOMEETADD: 50 minutes to destinations the pool does not cover" in markdown
    html = render_usage(result, "html")
    assert "<th>Runs out</th>" in html
    assert "<td>930</td><td>yes</td>" in html
    assert "tenant MCOMEETADD: 50 minutes to destinations the pool does not cover" in html


def test_a_pool_without_other_minutes_says_nothing_of_them_but_csv_still_gives_zero() -> None:
    """Only the 300 Zone A minutes: no note in Markdown, and CSV's poolOther row says 0.0."""
    rows = [row("erin@contoso.com", "MCOMEETADD", 300, callType="conf_out", international=True, to="France")]
    result = report(CONFERENCING, rows)
    assert "does not cover" not in render_usage(result, "markdown")
    table = list(csv.DictReader(io.StringIO(render_usage(result, "csv"))))
    assert [r["minutes"] for r in table if r["section"] == "poolOther"] == ["0.0"]
