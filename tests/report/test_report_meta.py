"""Reports say when, for which tenant and from what, in every format; an apply's report says what happened; the HTML
page puts the changes before the gaps and draws a subscription with no seat as such."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from teamslicensing import __version__
from teamslicensing.cli import main
from teamslicensing.model.plan import Plan, SeatLine
from teamslicensing.report import render

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "examples" / "contoso-tenant.json"
CONFIG = str(ROOT / "config" / "licensing.yaml")
DECEMBER_7 = "1796601600"  # 2026-12-07T00:00:00Z
WHERE = f"teams-licensing {__version__}, generated 2026-12-07 00:00 UTC, tenant Contoso, snapshot {DEMO}"


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", DECEMBER_7)


def planned(capsys: pytest.CaptureFixture[str], output_format: str) -> str:
    main(["plan", CONFIG, "--snapshot", str(DEMO), "--format", output_format])
    return capsys.readouterr().out


def test_every_format_says_when_for_which_tenant_and_from_what(capsys: pytest.CaptureFixture[str]) -> None:
    text = planned(capsys, "text").splitlines()
    assert text[-2] == f"Report: {WHERE}."
    assert text[-1].startswith("Plan: "), "the summary stays last"
    assert planned(capsys, "markdown").endswith(f"<sub>Report: {WHERE}.</sub>\n")
    assert f"Report: {WHERE}." in planned(capsys, "github")
    rows = list(csv.DictReader(io.StringIO(planned(capsys, "csv"))))
    meta = {row["action"]: row["detail"] for row in rows if row["kind"] == "meta"}
    assert meta == {
        "tool": "teams-licensing",
        "version": __version__,
        "generatedAt": "2026-12-07T00:00:00Z",
        "tenantId": "",
        "tenantName": "Contoso",
        "source": f"snapshot {DEMO}",
    }
    assert rows[0]["kind"] == "meta", "first, before the plan"
    assert json.loads(planned(capsys, "json"))["meta"]["tenantName"] == "Contoso"
    page = planned(capsys, "html")
    assert "<title>teams-licensing plan — Contoso — 2026-12-07</title>" in page
    assert f"<p class='meta'>{WHERE}</p>" in page


def test_the_html_page_shows_the_changes_before_the_gaps_open_when_short(capsys: pytest.CaptureFixture[str]) -> None:
    page = planned(capsys, "html")
    assert page.index("<h2>Changes by rule</h2>") < page.index("<h2>Gaps</h2>")
    rules = re.findall(r"<details( open)?><summary>([\w -]+) \(\d+ users?\)", page)
    assert rules, "the demo's rules"
    assert all(opened for opened, _ in rules), "10 changed users: every rule open"


def test_a_subscription_with_no_seat_is_drawn_as_such() -> None:
    seats = (
        SeatLine("a", "MCOEV", 0, 5, 0, 0, -5, 0),
        SeatLine("b", "MCOPSTN1", 10, 4, 1, 0, 6, 0),
    )
    page = render(Plan(changes=(), gaps=(), seats=seats), "html")
    suspended = page.split("id='seat-MCOEV'>", 1)[1].split("</div>", 1)[0]
    assert "no seat enabled (suspended, expired or deleted subscription)</span>, 5 still assigned" in suspended
    assert "class='hatch'" in suspended
    assert "class='hatch'" not in page.split("id='seat-MCOPSTN1'>", 1)[1], "a subscription with seats: the usual bar"


@pytest.mark.parametrize("output_format", ["html", "markdown", "csv", "text"])
def test_an_apply_report_says_what_happened(output_format: str, tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.json"
    tenant.write_bytes(DEMO.read_bytes())
    report = tmp_path / f"apply.{output_format}"
    args = ["apply", CONFIG, "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "audit.jsonl")]
    assert main([*args, "--format", output_format, "--output", str(report)]) == 3
    written = report.read_text(encoding="utf-8")
    assert "Apply: 10 applied, 0 failed, 0 not attempted" in written
    if output_format == "html":
        assert written.index("Apply: what happened") < written.index("<h2>Changes by rule</h2>")
    if output_format == "csv":
        (outcome,) = [row for row in csv.DictReader(io.StringIO(written)) if row["kind"] == "outcome"]
        assert outcome["detail"].startswith("Apply: 10 applied")
