"""The configuration-repository template (examples/config-repo): its CI recipes install the pinned release, plan
on pull requests and apply a saved plan behind an approval on the default branch, sign in with every federated
subject their jobs present spelled out, and run, step by step, on the demo in a folder holding only the template."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from teamslicensing.reference.permissions import grants

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "examples" / "config-repo"
GITHUB = TEMPLATE / ".github" / "workflows" / "teams-licensing.yml"
AZURE = TEMPLATE / "azure-pipelines.yml"
INSTALL = "python -m pip install -r requirements.txt"


def triggers_of(workflow: dict[Any, Any]) -> dict[str, Any]:
    """A workflow's `on:`, which YAML 1.1 reads as the key True."""
    found: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]
    return found


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = job["steps"]
    return found


def test_the_github_recipe_installs_the_pin_and_applies_the_reviewed_saved_plan_behind_a_gate() -> None:
    workflow = load(GITHUB)
    triggers = triggers_of(workflow)
    assert {"pull_request", "push", "workflow_dispatch"} <= set(triggers)
    assert workflow["permissions"]["id-token"] == "write"
    plan_job, apply_job = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert "if" not in plan_job, "plans on pull requests, pushes and runs by hand alike"
    assert apply_job["needs"] == "plan"
    assert "!= 'pull_request'" in apply_job["if"]
    assert "default_branch" in apply_job["if"]
    assert "needs.plan.outputs.changes != '0'" in apply_job["if"], "the JSON report's change count decides"
    assert apply_job["environment"] == "teams-licensing", "the approval gate"
    for job, identity in ((plan_job, "AZURE_PLAN_CLIENT_ID"), (apply_job, "AZURE_APPLY_CLIENT_ID")):
        runs = [step.get("run", "") for step in steps(job)]
        assert any(INSTALL in run for run in runs), "the pinned release, never the checkout"
        assert not any("pip install ." in run for run in runs)
        login = next(step for step in steps(job) if step.get("uses", "").startswith("azure/login@"))
        assert login["with"]["client-id"] == "${{ vars." + identity + " }}"
        assert "client-secret" not in login["with"]
        first_tool_step = next(i for i, run in enumerate(runs) if "teams-licensing plan" in run or "apply out/" in run)
        assert steps(job).index(login) < first_tool_step
    plan_step = next(step for step in steps(plan_job) if "teams-licensing plan" in step.get("run", ""))
    plan_run = plan_step["run"]
    assert 'case "$code" in 0|2|3) ;; *) exit "$code" ;; esac' in plan_run, "error gaps are findings, not failures"
    signing_key = plan_step["env"]["TEAMS_LICENSING_PLAN_KEY"]
    assert "github.event_name != 'pull_request' && secrets.TEAMS_LICENSING_PLAN_KEY" in signing_key, (
        "a pull request's run executes what its branch brings: it never holds the key that vouches for plans"
    )
    assert not any(step.get("continue-on-error") for step in steps(plan_job))
    upload = next(s for s in steps(plan_job) if s.get("uses", "").startswith("actions/upload-artifact@"))
    download = next(s for s in steps(apply_job) if s.get("uses", "").startswith("actions/download-artifact@"))
    assert upload["with"]["name"] == download["with"]["name"]
    apply_run = next(step["run"] for step in steps(apply_job) if "teams-licensing apply" in step.get("run", ""))
    assert "teams-licensing apply out/plan.tlplan.json --config config/licensing.yaml --yes" in apply_run
    assert '[ "$code" -eq 0 ] || [ "$code" -eq 3 ] || exit "$code"' in apply_run


def github_subjects() -> set[str]:
    """The OIDC subjects the recipe's jobs present, from its triggers and jobs (GitHub's default subject format): a
    job naming an environment presents `environment:NAME`; any other job `pull_request` on a pull request and
    `ref:refs/heads/BRANCH` on a push or a run by hand (on the default branch, main)."""
    workflow = load(GITHUB)
    triggers = triggers_of(workflow)
    subjects = set()
    for job in workflow["jobs"].values():
        if "environment" in job:
            subjects.add(f"repo:OWNER/REPO:environment:{job['environment']}")
            continue
        if "pull_request" in triggers:
            subjects.add("repo:OWNER/REPO:pull_request")
        for branch in (triggers.get("push") or {}).get("branches", []):
            subjects.add(f"repo:OWNER/REPO:ref:refs/heads/{branch}")
    return subjects


def test_every_federated_subject_the_github_jobs_present_is_spelled_out() -> None:
    subjects = github_subjects()
    assert subjects == {
        "repo:OWNER/REPO:pull_request",
        "repo:OWNER/REPO:ref:refs/heads/main",
        "repo:OWNER/REPO:environment:teams-licensing",
    }
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    recipe = GITHUB.read_text(encoding="utf-8")
    for subject in subjects:
        assert f"`{subject}`" in readme, subject
        assert subject in recipe, subject
        assert subject.removeprefix("repo:OWNER/REPO:") in readme.split("```sh\nplan=$(az ad app create")[1]


def test_the_azure_recipe_installs_the_pin_and_signs_in_with_a_connection_per_stage() -> None:
    pipeline = load(AZURE)
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    assert "condition" not in stages["plan"]
    assert stages["apply"]["dependsOn"] == "plan"
    assert "refs/heads/main" in stages["apply"]["condition"]
    assert "ne(dependencies.plan.outputs['plan.plan.changes'], '0')" in stages["apply"]["condition"]
    deployment = stages["apply"]["jobs"][0]
    assert deployment["environment"] == "teams-licensing"
    plan_steps, apply_steps = steps(stages["plan"]["jobs"][0]), steps(deployment["strategy"]["runOnce"]["deploy"])
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    for found, connection in ((plan_steps, "teams-licensing-plan"), (apply_steps, "teams-licensing-apply")):
        assert any(INSTALL in step.get("script", "") for step in found)
        assert not any("pip install ." in step.get("script", "") for step in found)
        cli = next(step for step in found if step.get("task") == "AzureCLI@2")
        assert cli["inputs"]["azureSubscription"] == connection
        assert f"`sc://ORGANIZATION/PROJECT/{connection}`" in readme
        assert f"sc://ORGANIZATION/PROJECT/{connection}" in AZURE.read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", ["plan", "apply"])
def test_the_roles_each_identity_is_given_are_what_the_permissions_command_prints(mode: str) -> None:
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith(f"| {mode} | "))
    required, optional = row.split(" | ")[1:3]
    listed = set(re.findall(r"`([A-Za-z.\-]+\.[A-Za-z]+)`", required))
    assert listed == {g.permission for g in grants(mode) if not g.optional}
    if "the same" not in optional:
        assert set(re.findall(r"`([A-Za-z.\-]+\.[A-Za-z]+)`", optional)) == {
            g.permission for g in grants(mode) if g.optional
        }


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(
        [bash, "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def template_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A folder holding only the template's files (as a new configuration repository would), and the demo tenant
    beside it, standing in for the live tenant."""
    repository = tmp_path / "repository"
    shutil.copytree(TEMPLATE, repository)
    snapshot = tmp_path / "tenant.json"
    shutil.copy(ROOT / "config" / "examples" / "contoso-tenant.json", snapshot)
    return repository, snapshot


def test_the_github_recipes_steps_plan_the_demo_and_apply_the_saved_plan_in_a_configuration_repository(
    tmp_path: Path,
) -> None:
    """The recipe's own plan and apply steps, run by bash in a copy of the template with this install's
    teams-licensing on PATH (.ci/run also runs its install step against the built wheel)."""
    repository, snapshot = template_copy(tmp_path)
    workflow = load(GITHUB)
    plan_run = next(s["run"] for s in steps(workflow["jobs"]["plan"]) if "teams-licensing plan" in s.get("run", ""))
    apply_run = next(s["run"] for s in steps(workflow["jobs"]["apply"]) if "teams-licensing apply" in s.get("run", ""))
    outputs = tmp_path / "github-output"
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "GITHUB_OUTPUT": str(outputs),
        "TEAMS_LICENSING_LOCK_DIR": str(tmp_path),
    }
    offline = f"--snapshot {snapshot} "
    planned = run_step(plan_run.replace("teams-licensing plan ", f"teams-licensing plan {offline}"), repository, env)
    assert planned.returncode == 0, planned.stderr
    said = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines())
    assert said["exitcode"] == "3", "the demo's error gaps: exit 3, which does not say whether there are changes"
    assert int(said["changes"]) > 0, "so the JSON report's change count decides: the apply job runs"
    report = json.loads((repository / "out" / "report.json").read_text(encoding="utf-8"))
    assert int(said["changes"]) == len(report["changes"]) + len(report["groupChanges"]), "users and groups"
    applied = run_step(apply_run.replace("teams-licensing apply ", f"teams-licensing apply {offline}"), repository, env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "0 failed" in applied.stderr
    assert (repository / "out" / "audit.jsonl").is_file()


def test_the_azure_recipes_steps_plan_the_demo_and_apply_the_saved_plan_in_a_configuration_repository(
    tmp_path: Path,
) -> None:
    repository, snapshot = template_copy(tmp_path)
    stages = {stage["stage"]: stage for stage in load(AZURE)["stages"]}
    plan_cli = next(s for s in steps(stages["plan"]["jobs"][0]) if s.get("task") == "AzureCLI@2")
    deploy = stages["apply"]["jobs"][0]["strategy"]["runOnce"]["deploy"]
    apply_cli = next(s for s in steps(deploy) if s.get("task") == "AzureCLI@2")
    staging, workspace = tmp_path / "staging", tmp_path / "workspace"
    staging.mkdir()
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "TEAMS_LICENSING_LOCK_DIR": str(tmp_path)}

    def step(script: str, command: str) -> subprocess.CompletedProcess[str]:
        script = script.replace("$(Build.ArtifactStagingDirectory)", str(staging))
        script = script.replace("$(Pipeline.Workspace)", str(workspace))
        script = script.replace(f"teams-licensing {command} ", f"teams-licensing {command} --snapshot {snapshot} ")
        return run_step(script, repository, env)

    planned = step(plan_cli["inputs"]["inlineScript"], "plan")
    assert planned.returncode == 0, planned.stderr
    variables = dict(re.findall(r"##vso\[task\.setvariable variable=(\w+);isOutput=true\](\S+)", planned.stdout))
    assert variables["planExitCode"] == "3"
    assert int(variables["changes"]) > 0
    shutil.copytree(staging, workspace / "teams-licensing-plan")  # the published artifact, downloaded
    applied = step(apply_cli["inputs"]["inlineScript"], "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (staging / "audit" / "audit.jsonl").exists()


def check_jsonschema(*arguments: str) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run([str(tool), *arguments], capture_output=True, text=True, timeout=300, check=False)


GITHUB_SCHEMA = ("--builtin-schema", "vendor.github-workflows")
AZURE_SCHEMA = (
    "--builtin-schema",
    "vendor.azure-pipelines",
    "--data-transform",
    "azure-pipelines",
    "--regex-variant",
    "nonunicode",
)


@pytest.mark.parametrize(
    ("schema", "recipe"),
    [
        (GITHUB_SCHEMA, GITHUB),
        (GITHUB_SCHEMA, ROOT / ".github" / "workflows" / "release.yml"),
        (AZURE_SCHEMA, AZURE),
    ],
)
def test_the_recipes_validate_against_their_ci_systems_schemas(
    schema: tuple[str, ...], recipe: Path, tmp_path: Path
) -> None:
    """check-jsonschema with the schemas it vendors (GitHub's workflow schema from SchemaStore, Azure Pipelines'
    service schema): offline. A recipe with one key misspelt fails, so the check is not vacuous."""
    valid = check_jsonschema(*schema, str(recipe))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    broken = tmp_path / recipe.name
    text = recipe.read_text(encoding="utf-8")
    broken.write_text(
        text.replace("runs-on:", "runs-onn:", 1) if "runs-on:" in text else text.replace("steps:", "stepz:", 1),
        encoding="utf-8",
    )
    assert check_jsonschema(*schema, str(broken)).returncode == 1
