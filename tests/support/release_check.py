"""Prove a release as an admin meets it: the built wheel, installed into a fresh environment in a folder that holds
only the configuration-repository template, runs the CI recipes' own shell steps.

    python -m tests.support.release_check --dist DIST

DIST holds what `python -m build` made. Checked, in order: one wheel and one sdist, both of the version
`teamslicensing.__version__`, `CHANGELOG.md`'s latest entry and the template's pin say; the wheel's dependencies
downloaded into a wheelhouse beside it (the only step that reaches the index), then, in a copy of
examples/config-repo, each recipe's install step run with that wheelhouse in place of the index
(`PIP_NO_INDEX`, `PIP_FIND_LINKS`), so `pip install -r requirements.txt` must find the pinned release in the local
wheel; `teams-licensing --version`; each recipe's plan step on the demo tenant (a snapshot outside the folder) and
its apply step on the saved plan; and `bundle-runbook` from that install (no checkout in reach), whose
`bundle.json` and README must name the same version. Exit 0 when all of it holds, 1 with the first that did not.
`.ci/run` runs this after building the distributions.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

from teamslicensing import __version__

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "examples" / "config-repo"
DEMO_TENANT = ROOT / "config" / "examples" / "contoso-tenant.json"
INSTALL = "python -m pip install -r requirements.txt"


class CheckFailed(Exception):
    """One step did not hold; the message says which and why."""


def bash(script: str, cwd: Path, env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    shell = shutil.which("bash")
    if shell is None:
        raise CheckFailed("no bash here to run the recipes' steps")
    done = subprocess.run([shell, "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CheckFailed(f"{what} failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


def distributions(dist: Path) -> Path:
    """The wheel, after checking both distributions and every place that names the version."""
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise CheckFailed(f"{dist} should hold one wheel and one sdist: {[p.name for p in [*wheels, *sdists]]}")
    with zipfile.ZipFile(wheels[0]) as archive:
        metadata = archive.read(f"teams_licensing-{__version__}.dist-info/METADATA").decode()
    said = {
        "the wheel's metadata": re.search(r"^Version: (.+)$", metadata, re.M),
        "the sdist's name": re.fullmatch(r"teams_licensing-(.+)\.tar\.gz", sdists[0].name),
        "CHANGELOG.md": re.search(r"^## \[(\d+\.\d+\.\d+)\] - ", (ROOT / "CHANGELOG.md").read_text(), re.M),
        "the template's pin": re.search(r"^teams-licensing==(.+)$", (TEMPLATE / "requirements.txt").read_text(), re.M),
    }
    for where, match in said.items():
        if match is None or match.group(1).strip() != __version__:
            raise CheckFailed(f"{where} says {match.group(1) if match else 'nothing'}, the package {__version__}")
    return wheels[0]


def recipe_steps() -> dict[str, dict[str, str]]:
    """Each recipe's install, plan and apply shell steps, as the CI system would run them."""
    workflow: dict[str, Any] = yaml.safe_load((TEMPLATE / ".github" / "workflows" / "teams-licensing.yml").read_text())
    plan_job, apply_job = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    pipeline: dict[str, Any] = yaml.safe_load((TEMPLATE / "azure-pipelines.yml").read_text())
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    plan_steps = stages["plan"]["jobs"][0]["steps"]
    deploy_steps = stages["apply"]["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"]

    def run_with(found: list[dict[str, Any]], key: str, needle: str) -> str:
        for step in found:
            text = step.get(key) or (step.get("inputs") or {}).get("inlineScript") or ""
            if needle in text:
                return str(text)
        raise CheckFailed(f"no step running {needle!r}")

    return {
        "github": {
            "install": run_with(plan_job["steps"], "run", INSTALL),
            "plan": run_with(plan_job["steps"], "run", "teams-licensing plan"),
            "apply": run_with(apply_job["steps"], "run", "teams-licensing apply"),
        },
        "azure": {
            "install": run_with(plan_steps, "script", INSTALL),
            "plan": run_with(plan_steps, "inlineScript", "teams-licensing plan"),
            "apply": run_with(deploy_steps, "inlineScript", "teams-licensing apply"),
        },
    }


def install(wheel: Path, scratch: Path, repository: Path) -> dict[str, str]:
    """A fresh environment in the repository folder; the recipes' install steps run with a wheelhouse as index."""
    wheelhouse = scratch / "wheelhouse"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "download", "--quiet", "--dest", str(wheelhouse), str(wheel)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(repository / ".venv")], check=True)
    env = {
        "PATH": f"{repository / '.venv' / 'bin'}:/usr/bin:/bin",
        "HOME": str(scratch),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "TEAMS_LICENSING_LOCK_DIR": str(scratch),
    }
    for recipe, found in recipe_steps().items():
        done = bash(found["install"], repository, env, f"the {recipe} recipe's install step")
        if done.stdout.strip().splitlines()[-1] != f"teams-licensing {__version__}":
            raise CheckFailed(f"after the {recipe} install step, teams-licensing --version said {done.stdout!r}")
    return env


def github_recipe(repository: Path, env: dict[str, str], snapshot: Path, scratch: Path) -> str:
    found = recipe_steps()["github"]
    outputs = scratch / "github-output"
    env = {**env, "GITHUB_OUTPUT": str(outputs)}
    offline = f"--snapshot {snapshot} "
    bash(found["plan"].replace("teams-licensing plan ", f"teams-licensing plan {offline}"), repository, env, "plan")
    said = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    if said.get("exitcode") not in ("0", "2", "3") or int(said.get("changes", "0")) == 0:
        raise CheckFailed(f"the GitHub plan step said {said}: the demo has changes to apply")
    applied = bash(
        found["apply"].replace("teams-licensing apply ", f"teams-licensing apply {offline}"), repository, env, "apply"
    )
    if not (repository / "out" / "audit.jsonl").is_file():
        raise CheckFailed("the GitHub apply step left no audit log")
    return f"GitHub: planned {said['changes']} changes (exit {said['exitcode']}), {applied.stderr.splitlines()[-1]}"


def azure_recipe(repository: Path, env: dict[str, str], scratch: Path) -> str:
    found = recipe_steps()["azure"]
    snapshot = scratch / "azure-tenant.json"
    shutil.copy(DEMO_TENANT, snapshot)
    staging, workspace = scratch / "staging", scratch / "workspace"
    staging.mkdir()

    def filled(script: str, command: str) -> str:
        script = script.replace("$(Build.ArtifactStagingDirectory)", str(staging))
        script = script.replace("$(Pipeline.Workspace)", str(workspace))
        return script.replace(f"teams-licensing {command} ", f"teams-licensing {command} --snapshot {snapshot} ")

    planned = bash(filled(found["plan"], "plan"), repository, env, "the Azure plan step")
    said = dict(re.findall(r"##vso\[task\.setvariable variable=(\w+);isOutput=true\](\S+)", planned.stdout))
    if int(said.get("changes", "0")) == 0:
        raise CheckFailed(f"the Azure plan step said {said}: the demo has changes to apply")
    shutil.copytree(staging, workspace / "teams-licensing-plan")
    bash(filled(found["apply"], "apply"), repository, env, "the Azure apply step")
    if not (staging / "audit" / "audit.jsonl").is_file():
        raise CheckFailed("the Azure apply step left no audit log")
    return f"Azure Pipelines: planned {said['changes']} changes (exit {said['planExitCode']}), applied"


def bundle_from_the_install(repository: Path, env: dict[str, str], scratch: Path) -> str:
    """bundle-runbook from the installed release (no checkout in reach): it records that release."""
    index_env = {
        k: v for k, v in env.items() if not k.startswith("PIP_")
    }  # the closure for Linux cp310 comes from the index
    bundle = scratch / "bundle"
    bash(f"teams-licensing bundle-runbook --output {bundle}", repository, index_env, "bundle-runbook")
    manifest = json.loads((bundle / "bundle.json").read_text())
    readme = (bundle / "README.md").read_text()
    if manifest["teamsLicensing"] != __version__ or not readme.startswith(f"# teams-licensing {__version__}: "):
        raise CheckFailed(f"the bundle says {manifest['teamsLicensing']}, the release is {__version__}")
    return (
        f"bundle-runbook from the install: {len(manifest['wheels'])} wheels, bundle.json and README say {__version__}"
    )


def check(dist: Path) -> list[str]:
    wheel = distributions(dist)
    with tempfile.TemporaryDirectory(prefix="teams-licensing-release-") as folder:
        scratch = Path(folder)
        repository = scratch / "repository"
        shutil.copytree(TEMPLATE, repository)  # only the template's files: no checkout of the tool
        snapshot = scratch / "tenant.json"
        shutil.copy(DEMO_TENANT, snapshot)
        env = install(wheel, scratch, repository)
        said = [f"{wheel.name}: installed by both recipes' install steps from the local wheel"]
        said.append(github_recipe(repository, env, snapshot, scratch))
        said.append(azure_recipe(repository, env, scratch))
        said.append(bundle_from_the_install(repository, env, scratch))
        return said


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.release_check")
    parser.add_argument("--dist", required=True, type=Path, help="what python -m build made")
    args = parser.parse_args(argv)
    try:
        for line in check(args.dist):
            print(f"release check: {line}")
    except (CheckFailed, subprocess.CalledProcessError) as exc:
        print(f"release check FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
