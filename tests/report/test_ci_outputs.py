"""CI outputs: GitHub annotations and step summary, Azure Pipelines logging commands and summary, byte for byte."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from teamslicensing.cli import main
from teamslicensing.model.plan import Gap, GapCode, LicenseAdd, Plan, SeatLine, Severity, UserChange
from teamslicensing.report import render
from teamslicensing.report.ci import azure_logissues, github_annotations

CHANGE = UserChange(
    user_id="u1",
    user_principal_name="grace@contoso.com",
    set_usage_location=None,
    add_licenses=(LicenseAdd("sku-ev", "MCOEV", ()),),
    remove_licenses=(),
    rules=("sales",),
    destructive=False,
)
GAPS = (
    Gap(GapCode.SEAT_SHORTAGE, Severity.ERROR, None, "MCOEV", "100% used;\r\nbuy 2 [more] seats"),
    Gap(GapCode.PHONE_NUMBER_AT_RISK, Severity.WARNING, "dave@contoso.com", None, "a: b, c"),
    Gap(GapCode.CREDITS_RECOMMENDED, Severity.INFO, "erin@contoso.com", "MCOPSTN1", "add credits"),
)
SEAT = SeatLine("sku-ev", "MCOEV", enabled=1, consumed=1, to_add=1, to_remove=0, available=0, shortfall=1)
PLAN = Plan(changes=(CHANGE,), gaps=GAPS, seats=(SEAT,))
SUMMARY = "Plan: 1 user to change (1 license add, 0 removals, 0 usage locations); gaps: 1 error, 1 warning, 1 info."


@pytest.fixture(autouse=True)
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_STEP_SUMMARY", "TF_BUILD", "AGENT_TEMPDIRECTORY"):
        monkeypatch.delenv(name, raising=False)


def test_github_annotations_escape_data_and_title() -> None:
    assert list(github_annotations(PLAN)) == [
        "::error title=SEAT_SHORTAGE::tenant MCOEV: 100%25 used;%0D%0Abuy 2 [more] seats\n",
        "::warning title=PHONE_NUMBER_AT_RISK::dave@contoso.com: a: b, c\n",
        "::notice title=CREDITS_RECOMMENDED::erin@contoso.com MCOPSTN1: add credits\n",
    ]


def test_github_format_is_annotations_then_the_summary_line() -> None:
    assert render(PLAN, "github") == "".join(github_annotations(PLAN)) + SUMMARY + "\n"


def test_azure_logissues_escape_per_agent_rules_and_skip_info() -> None:
    assert list(azure_logissues(PLAN)) == [
        "##vso[task.logissue type=error;code=SEAT_SHORTAGE]tenant MCOEV: 100%AZP25 used%3B%0D%0Abuy 2 [more%5D seats\n",
        "##vso[task.logissue type=warning;code=PHONE_NUMBER_AT_RISK]dave@contoso.com: a: b, c\n",
    ]


def test_repeated_gaps_are_bounded_in_annotations() -> None:
    many = tuple(
        Gap(GapCode.USAGE_LOCATION_MISSING, Severity.ERROR, f"u{n:03}@contoso.com", None, "none") for n in range(30)
    )
    lines = list(github_annotations(Plan((), many, ())))
    assert len(lines) == 26
    assert (
        lines[-1] == "::error title=USAGE_LOCATION_MISSING::5 more USAGE_LOCATION_MISSING gaps: see the JSON report\n"
    )


def test_cli_plan_github_format_prints_annotations_and_summary(
    example_config: Path, demo_tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(example_config), "--snapshot", str(demo_tenant), "--format", "github"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[-1].startswith("Plan: ")
    assert lines[-2].startswith("Report: teams-licensing "), "where the report comes from, before the summary"
    assert all(re.fullmatch(r"::(error|warning|notice) title=[A-Z_]+::.*", line) for line in lines[:-2])
    assert any(line.startswith("::error title=USAGE_LOCATION_MISSING::") for line in lines)
    assert any(line.startswith("::notice title=") for line in lines)


def test_cli_plan_appends_markdown_to_the_github_step_summary(
    example_config: Path,
    demo_tenant: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    args = ["plan", str(example_config), "--snapshot", str(demo_tenant), "--detailed-exitcode"]
    assert main([*args, "--format", "markdown", "--output", str(tmp_path / "report.md")]) == 3
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + markdown
    assert capsys.readouterr().out == "", "nothing extra on stdout outside Azure Pipelines"


def test_cli_plan_in_azure_pipelines_emits_logissues_and_uploads_the_summary(
    example_config: Path,
    demo_tenant: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TF_BUILD", "True")
    monkeypatch.setenv("AGENT_TEMPDIRECTORY", str(tmp_path))
    args = ["plan", str(example_config), "--snapshot", str(demo_tenant)]
    assert main([*args, "--format", "json", "--output", str(tmp_path / "plan.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert main([*args, "--format", "markdown", "--output", str(tmp_path / "report.md")]) == 0
    capsys.readouterr()
    from teamslicensing.config import load_desired_state
    from teamslicensing.plan.planner import plan
    from teamslicensing.reference.availability import load_availability
    from teamslicensing.tenant.snapshot import load_snapshot

    desired = load_desired_state(example_config)
    expected = plan(desired, load_snapshot(demo_tenant, desired.selected_attributes), load_availability())
    assert lines[:-1] == [line.rstrip("\n") for line in azure_logissues(expected)]
    assert lines[:-1], "the demo has error and warning gaps"
    upload = re.fullmatch(r"##vso\[task\.uploadsummary\](.+)", lines[-1])
    assert upload is not None
    uploaded = Path(upload.group(1))
    assert uploaded.is_absolute()
    assert uploaded.parent == tmp_path
    assert uploaded.read_text(encoding="utf-8") == (tmp_path / "report.md").read_text(encoding="utf-8")


def test_cli_apply_adds_the_outcome_to_the_step_summary(
    example_config: Path,
    demo_tenant: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = tmp_path / "tenant.json"
    tenant.write_bytes(demo_tenant.read_bytes())
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    args = ["apply", str(example_config), "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "a")]
    assert main([*args, "--format", "github"]) == 3
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("Plan: ")
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## teams-licensing apply: ")
    assert "### Apply" in text
    assert re.search(r"\*\*Apply: \d+ applied, 0 failed, 0 not attempted in ", text)


def test_a_big_plan_and_a_long_apply_outcome_fit_one_step_summary_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub takes 1 MiB per step summary: the plan gets what the outcome leaves, and each listed reason is cut
    (Graph's messages have no bound). The plan's cap alone left the two together able to pass it."""
    from teamslicensing.cli.ci import ci_outputs
    from teamslicensing.model.outcome import FAILED, ApplyResult, UserResult

    changes = tuple(
        UserChange(f"u{n}", f"user{n:06d}@contoso.com", "US", (LicenseAdd("s", "MCOPSTN1", ()),), (), ("r",), False)
        for n in range(100_000)
    )
    failed = tuple(UserResult(f"u{n}", f"user{n:06d}@contoso.com", FAILED, "x" * 5000) for n in range(300))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.delenv("TF_BUILD", raising=False)
    ci_outputs(Plan(changes=changes, gaps=(), seats=()), "apply", ApplyResult(failed, 1.0, 100_000))
    text = summary.read_text(encoding="utf-8")
    assert len(text.encode()) <= 1_048_576
    assert "more changed users" in text
    assert "### Apply" in text
    assert "… and 100 more" in text
