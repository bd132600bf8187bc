"""CI outputs: GitHub annotations and step summary, Azure Pipelines logging commands and summary, byte for byte."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

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
SUMMARY = (
    "Plan: 1 user to change (1 license add, 0 removals, 0 usage locations); gaps: 1 error(s), 1 warning(s), 1 info."
)


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
        lines[-1] == "::error title=USAGE_LOCATION_MISSING::5 more USAGE_LOCATION_MISSING gap(s): see the JSON report\n"
    )


def test_cli_plan_github_format_prints_annotations_and_summary(
    example_config: Path, demo_tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(example_config), "--snapshot", str(demo_tenant), "--format", "github"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[-1].startswith("Plan: ")
    assert all(re.fullmatch(r"::(error|warning|notice) title=[A-Z_]+::.*", line) for line in lines[:-1])
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


# ---- the example pipelines ---------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "ci"


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def test_github_actions_example_applies_the_reviewed_saved_plan_behind_an_approval_gate() -> None:
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"pull_request", "push", "workflow_dispatch"} <= set(triggers)
    assert workflow["permissions"]["id-token"] == "write"
    plan_job, apply_job = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert "if" not in plan_job, "plans on pull requests, pushes and runs by hand alike"
    assert apply_job["needs"] == "plan"
    assert "!= 'pull_request'" in apply_job["if"], "a push or a run by hand on the default branch applies"
    assert "default_branch" in apply_job["if"]
    assert apply_job["environment"] == "teams-licensing", "the approval gate"
    for job in (plan_job, apply_job):
        steps = _steps(job)
        uses = [step.get("uses", "") for step in steps]
        runs = [step.get("run", "") for step in steps]
        login = next(step for step in steps if step.get("uses", "").startswith("azure/login@"))
        assert set(login["with"]) >= {"client-id", "tenant-id"}
        assert "client-secret" not in login["with"]
        assert "pip install ." in runs
        assert uses.index(login["uses"]) < next(i for i, run in enumerate(runs) if "teams-licensing " in run)
    plan_run = next(step["run"] for step in _steps(plan_job) if "teams-licensing plan" in step.get("run", ""))
    assert "--detailed-exitcode" in plan_run
    assert "--out out/plan.tlplan.json" in plan_run
    assert 'case "$code" in 0|2|3) ;; *) exit "$code" ;; esac' in plan_run, "error gaps are findings, not failures"
    assert "changes=" in plan_run
    assert "needs.plan.outputs.changes != '0'" in apply_job["if"], "the JSON report's change count decides"
    assert not any(step.get("continue-on-error") for step in _steps(plan_job))
    upload = next(s for s in _steps(plan_job) if s.get("uses", "").startswith("actions/upload-artifact@"))
    download = next(s for s in _steps(apply_job) if s.get("uses", "").startswith("actions/download-artifact@"))
    assert upload["with"]["name"] == download["with"]["name"]
    apply_run = next(step["run"] for step in _steps(apply_job) if "teams-licensing apply" in step.get("run", ""))
    assert "teams-licensing apply out/plan.tlplan.json --config config/licensing.yaml --yes" in apply_run, (
        "the artifact, not a re-plan, judged with the reviewed configuration"
    )
    assert '[ "$code" -eq 0 ] || [ "$code" -eq 3 ] || exit "$code"' in apply_run


def test_azure_pipelines_example_applies_the_reviewed_saved_plan_with_workload_identity() -> None:
    pipeline = yaml.safe_load((EXAMPLES / "azure-pipelines.yml").read_text(encoding="utf-8"))
    assert "pr" in pipeline
    assert "trigger" in pipeline
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    assert "condition" not in stages["plan"], "the plan stage runs for pull requests and for main alike"
    assert stages["apply"]["dependsOn"] == "plan"
    assert "refs/heads/main" in stages["apply"]["condition"]
    assert "ne(dependencies.plan.outputs['plan.plan.changes'], '0')" in stages["apply"]["condition"]
    plan_steps = _steps(stages["plan"]["jobs"][0])
    deployment = stages["apply"]["jobs"][0]
    assert deployment["environment"] == "teams-licensing"
    apply_steps = _steps(deployment["strategy"]["runOnce"]["deploy"])
    for steps, command in ((plan_steps, "teams-licensing plan"), (apply_steps, "teams-licensing apply")):
        cli = next(step for step in steps if step.get("task") == "AzureCLI@2")
        assert cli["inputs"]["azureSubscription"] == "teams-licensing-wif"
        assert cli["inputs"]["scriptType"] == "bash"
        assert command in cli["inputs"]["inlineScript"]
        assert any("pip install ." in step.get("script", "") for step in steps)
    plan_cli = next(s for s in plan_steps if s.get("task") == "AzureCLI@2")
    plan_script = plan_cli["inputs"]["inlineScript"]
    assert plan_cli["name"] == "plan"
    assert "--detailed-exitcode" in plan_script
    assert "--out " in plan_script
    assert "planExitCode;isOutput=true" in plan_script
    assert 'case "$code" in 0|2|3) ;; *) exit "$code" ;; esac' in plan_script
    assert "variable=changes;isOutput=true" in plan_script
    published = next(step for step in plan_steps if step.get("publish"))
    assert any(step.get("download") == "current" and step["artifact"] == published["artifact"] for step in apply_steps)
    apply_script = next(s for s in apply_steps if s.get("task") == "AzureCLI@2")["inputs"]["inlineScript"]
    assert "teams-licensing-plan/plan.tlplan.json" in apply_script
    assert "--config config/licensing.yaml" in apply_script
    assert '[ "$code" -eq 0 ] || [ "$code" -eq 3 ] || exit "$code"' in apply_script


def test_the_github_recipe_reaches_the_approval_gate_and_applies_the_demo(tmp_path: Path) -> None:
    """The recipe's own shell steps, run by bash on the shipped demo (a snapshot in place of the live tenant): the
    plan step succeeds despite the demo's error gaps and says there are changes, so the apply job would run; the
    apply step applies the saved plan and succeeds with error gaps remaining."""
    import shutil
    import subprocess
    import sys

    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text(encoding="utf-8"))
    plan_run = next(s["run"] for s in _steps(workflow["jobs"]["plan"]) if "teams-licensing plan" in s.get("run", ""))
    apply_run = next(s["run"] for s in _steps(workflow["jobs"]["apply"]) if "teams-licensing apply" in s.get("run", ""))
    snapshot = tmp_path / "tenant.json"
    shutil.copy(ROOT / "config" / "examples" / "contoso-tenant.json", snapshot)
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "licensing.yaml", tmp_path / "config" / "licensing.yaml")
    outputs = tmp_path / "github-output"
    tool = Path(sys.executable).parent
    env = {"PATH": f"{tool}:/usr/bin:/bin", "GITHUB_OUTPUT": str(outputs), "TEAMS_LICENSING_LOCK_DIR": str(tmp_path)}
    offline = f"--snapshot {snapshot} "

    def step(script: str) -> subprocess.CompletedProcess[str]:
        bash = shutil.which("bash")
        assert bash is not None
        return subprocess.run(
            [bash, "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    planned = step(plan_run.replace("teams-licensing plan ", f"teams-licensing plan {offline}"))
    assert planned.returncode == 0, planned.stderr
    said = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines())
    assert said["exitcode"] == "3", "the demo's error gaps: exit 3, which does not say whether there are changes"
    assert int(said["changes"]) > 0, "so the JSON report's change count decides: the apply job runs"
    applied = step(apply_run.replace("teams-licensing apply ", f"teams-licensing apply {offline}"))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply: " in applied.stderr
    assert "0 failed" in applied.stderr


def test_the_azure_recipe_reaches_the_approval_gate_and_applies_the_demo(tmp_path: Path) -> None:
    """The same for Azure Pipelines: its inline scripts with the agent's macros filled in, on the shipped demo."""
    import shutil
    import subprocess
    import sys

    pipeline = yaml.safe_load((EXAMPLES / "azure-pipelines.yml").read_text(encoding="utf-8"))
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    plan_cli = next(s for s in _steps(stages["plan"]["jobs"][0]) if s.get("task") == "AzureCLI@2")
    deploy = stages["apply"]["jobs"][0]["strategy"]["runOnce"]["deploy"]
    apply_cli = next(s for s in _steps(deploy) if s.get("task") == "AzureCLI@2")
    staging, workspace = tmp_path / "staging", tmp_path / "workspace"
    staging.mkdir()
    snapshot = tmp_path / "tenant.json"
    shutil.copy(ROOT / "config" / "examples" / "contoso-tenant.json", snapshot)
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "licensing.yaml", tmp_path / "config" / "licensing.yaml")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "TEAMS_LICENSING_LOCK_DIR": str(tmp_path)}

    def step(script: str, command: str) -> subprocess.CompletedProcess[str]:
        script = script.replace("$(Build.ArtifactStagingDirectory)", str(staging))
        script = script.replace("$(Pipeline.Workspace)", str(workspace))
        script = script.replace(f"teams-licensing {command} ", f"teams-licensing {command} --snapshot {snapshot} ")
        bash = shutil.which("bash")
        assert bash is not None
        return subprocess.run(
            [bash, "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    planned = step(plan_cli["inputs"]["inlineScript"], "plan")
    assert planned.returncode == 0, planned.stderr
    variables = dict(re.findall(r"##vso\[task\.setvariable variable=(\w+);isOutput=true\](\S+)", planned.stdout))
    assert variables["planExitCode"] == "3"
    assert int(variables["changes"]) > 0, "the apply stage's condition holds"
    shutil.copytree(staging, workspace / "teams-licensing-plan")  # the published artifact, downloaded
    applied = step(apply_cli["inputs"]["inlineScript"], "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (staging / "audit" / "audit.jsonl").exists()
