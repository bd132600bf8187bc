"""What a stopped apply lists: every user who needs a person (failed, unknown, stale, in sync), failed and unknown
first; the users it never reached are counted, and only the first 100 named in the JSON result (the audit log and
the next plan name them all), so a stop of 100,000 users makes a JSON line of kilobytes, not 21 MB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import respx

from teamslicensing.cli import main
from teamslicensing.model.outcome import (
    FAILED,
    NOT_ATTEMPTED,
    STALE,
    UNKNOWN,
    ApplyResult,
    Stop,
    StopReason,
    UserResult,
)
from teamslicensing.report.outcome import failure_lines, outcome_json, outcome_markdown
from tests.support.faults import BASE, fake_for
from tests.support.rollout import rollout_document

WHY = "the run stopped before its writes were all sent: the next run does them"


def stopped_result(not_attempted: int, *others: UserResult) -> ApplyResult:
    """A time-budget stop: `not_attempted` users never reached (listed first, in plan order), then `others`."""
    never = tuple(UserResult(f"id-{i}", f"user{i:06d}@contoso.com", NOT_ATTEMPTED, WHY) for i in range(not_attempted))
    return ApplyResult(
        never + others,
        3.0,
        not_attempted + len(others) + 99,
        stopped=Stop(StopReason.TIME_BUDGET, "the time budget ran out"),
        applied=99,
    )


FAILED_ZED = UserResult("id-z", "zed@contoso.com", FAILED, "assignLicense: HTTP 400: mutually exclusive plans")
UNKNOWN_YVES = UserResult("id-y", "yves@contoso.com", UNKNOWN, "no answer came, and the read-back could not settle it")
STALE_XAVI = UserResult("id-x", "xavi@contoso.com", STALE, "changed since the plan")


@pytest.mark.usefixtures("graph_token")
def test_a_time_budget_stop_names_only_the_first_hundred_users_it_never_reached(
    router: respx.MockRouter, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_for(rollout_document(2000), router, write_quota=(20, 2.0))  # 10 writes a second: most are never reached
    report = tmp_path / "report.json"
    args = ["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(tmp_path / "audit.jsonl")]
    status = main([*args, "--max-changes", "5000", "--format", "json", "--output", str(report), "--time-budget", "2s"])
    err = capsys.readouterr().err
    assert status == 4, err
    result = json.loads(report.read_text(encoding="utf-8"))["result"]
    assert result["notAttempted"] > 1000
    listed = [user for user in result["users"] if user["status"] == "notAttempted"]
    assert len(listed) == 100
    assert result["notAttemptedOmitted"] == result["notAttempted"] - 100
    assert result["applied"] + result["notAttempted"] + result["failed"] + result["unknown"] == 2000
    assert not [line for line in err.splitlines() if line.startswith("  NOTATTEMPTED")], "counted, not listed"
    assert f"{result['notAttempted']} not attempted" in next(
        line for line in err.splitlines() if line.startswith("Apply: ")
    )


def test_a_stop_of_a_hundred_thousand_users_makes_a_json_result_of_kilobytes() -> None:
    result = outcome_json(stopped_result(100_000))
    line = json.dumps(result, separators=(",", ":"))
    assert len(line) < 30_000, f"{len(line):,} bytes"
    assert (result["notAttempted"], len(result["users"]), result["notAttemptedOmitted"]) == (100_000, 100, 99_900)


def test_failed_and_unknown_users_come_first_and_are_never_hidden_behind_users_not_attempted() -> None:
    outcome = stopped_result(300, STALE_XAVI, FAILED_ZED, UNKNOWN_YVES)
    lines = list(failure_lines(outcome))
    assert lines == [
        f"  FAILED zed@contoso.com: {FAILED_ZED.reason}",
        f"  UNKNOWN yves@contoso.com: {UNKNOWN_YVES.reason}",
        f"  STALE xavi@contoso.com: {STALE_XAVI.reason}",
    ]
    markdown = outcome_markdown(outcome)
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "@" in line]
    assert [row.split(" | ")[0] for row in rows] == ["| zed@contoso.com", "| yves@contoso.com", "| xavi@contoso.com"]
    assert "300 not attempted" in markdown, "the outcome line counts them"
    users = outcome_json(outcome)["users"]
    assert [user["status"] for user in users[:3]] == ["failed", "unknown", "stale"]
    assert [user["status"] for user in users[3:]] == ["notAttempted"] * 100
