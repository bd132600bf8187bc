"""`--history FILE`: each run appends its summary (JSON Lines), and the HTML and Markdown reports show the last runs
of the same tenant as a chart and a table; a line that is not a run record is left out and said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teamslicensing.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config" / "licensing.yaml")
DEMO = ROOT / "config" / "examples" / "contoso-tenant.json"
DAY = 86_400
DECEMBER_7 = 1_796_601_600


def plan_on(
    day: int, history: Path, report: Path, monkeypatch: pytest.MonkeyPatch, snapshot: Path = DEMO, fmt: str = "html"
) -> int:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(DECEMBER_7 + day * DAY))
    args = ["plan", CONFIG, "--snapshot", str(snapshot), "--history", str(history)]
    return main([*args, "--format", fmt, "--output", str(report)])


def test_the_second_run_shows_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    history, first, second = tmp_path / "history.jsonl", tmp_path / "first.html", tmp_path / "second.html"
    assert plan_on(0, history, first, monkeypatch) == 0
    assert "Last runs" not in first.read_text(encoding="utf-8"), "one run is no trend"
    assert plan_on(1, history, second, monkeypatch) == 0
    page = second.read_text(encoding="utf-8")
    assert "<h2>Last runs</h2>" in page
    assert "<td>2026-12-07 00:00</td><td>plan</td><td>10</td><td>15</td>" in page
    assert "<td>2026-12-08 00:00</td><td>plan</td><td>10</td><td>15</td>" in page
    assert page.count("<rect x=") >= 4, "two bars a run"
    records = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines()]
    assert [r["generatedAt"] for r in records] == ["2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z"]
    assert records[0]["tenant"] == "Contoso"
    markdown = tmp_path / "third.md"
    assert plan_on(2, history, markdown, monkeypatch, fmt="markdown") == 0
    assert markdown.read_text(encoding="utf-8").count("| plan | 10 | 15 |") == 3


def test_an_apply_records_what_it_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, history = tmp_path / "tenant.json", tmp_path / "history.jsonl"
    tenant.write_bytes(DEMO.read_bytes())
    args = ["apply", CONFIG, "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "audit.jsonl")]
    assert main([*args, "--history", str(history), "--format", "json", "--output", str(tmp_path / "r.json")]) == 3
    (record,) = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines()]
    assert (record["command"], record["changes"], record["applied"], record["failed"]) == ("apply", 10, 10, 0)


def test_a_damaged_line_and_another_tenants_runs_are_left_out_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history, report = tmp_path / "history.jsonl", tmp_path / "report.html"
    assert plan_on(0, history, report, monkeypatch) == 0
    other = json.loads(history.read_text(encoding="utf-8"))
    other["tenant"] = "Fabrikam"
    with history.open("a", encoding="utf-8") as handle:
        handle.write('{"version": 1, "changes": "lots"}\n')
        handle.write(json.dumps(other) + "\n")
    capsys.readouterr()
    assert plan_on(1, history, report, monkeypatch) == 0
    err = capsys.readouterr().err
    assert f"history {history}, line 2: not a run record" in err
    assert "1 run of another tenant left out" in err
    page = report.read_text(encoding="utf-8")
    assert page.count("<td>plan</td>") == 2, "the first run and this one"
