"""`deploy automation` moving a working deployment to another bundle: the new bundle's packages go into a runtime
environment of their own, the runbook moves there only once every one is imported, and the environments deploy
made for earlier bundles are removed after it (never one it did not make, never one a runbook still uses). A
failed import leaves the deployment that runs as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from teamslicensing import __version__
from tests.support.fakearm import FakeAzure
from tests.support.fakearm.bundles import ROOT, make_test_bundle
from tests.support.fakearm.cli import deploy

pytestmark = pytest.mark.usefixtures("fast_and_signed_in")

RUNBOOK = "Reconcile-TeamsLicenses"
FAILURE = "Orchestrator.Shared.AsyncModuleImport: the wheel's native library does not load in the sandbox"


def bundles(tmp_path: Path) -> tuple[Path, Path]:
    """Two bundles of this version: the second's runbook, and so its teams_licensing wheel, differs."""
    newer_runbook = (ROOT / "runbooks" / "reconcile_licenses.py").read_bytes() + b"\n# the next release\n"
    return (
        make_test_bundle(tmp_path / "first", __version__),
        make_test_bundle(tmp_path / "second", __version__, runbook=newer_runbook),
    )


def running(azure: FakeAzure) -> str:
    """The runtime environment the runbook runs on."""
    environment: str = azure.arm.runbooks[RUNBOOK]["properties"]["runtimeEnvironment"]
    return environment


def imported(azure: FakeAzure, environment: str) -> dict[str, tuple[str, str | None]]:
    """Each package of `environment`: its state and the SHA-256 of what its import fetched."""
    return {name: (p.state, p.content_sha256) for name, p in azure.arm.packages[environment].items()}


def digests(bundle: Path) -> dict[str, str]:
    manifest: dict[str, Any] = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
    return {str(entry["file"]).split("-")[0]: str(entry["sha256"]) for entry in manifest["wheels"]}


def test_a_failed_upgrade_leaves_the_working_deployment_untouched_and_says_so(
    azure: FakeAzure, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = bundles(tmp_path)
    assert deploy(azure, first, "--schedule", "daily@06:00") == 0
    before = running(azure)
    published = azure.arm.runbooks[RUNBOOK]["published"]
    packages_before = imported(azure, before)
    assert {state for state, _ in packages_before.values()} == {"Succeeded"}
    log_before = len(azure.arm.log)
    capsys.readouterr()

    azure.arm.fail_imports["teams_licensing"] = FAILURE
    assert deploy(azure, second) == 1
    err = capsys.readouterr().err
    assert f"teams_licensing: Failed: PackageImportFailed {FAILURE}" in err
    assert f"runbook {RUNBOOK} still runs as it was published, on runtime environment {before}, untouched" in err
    touched = [e for e in azure.arm.log[log_before:] if e.method in ("PUT", "POST", "PATCH", "DELETE")]
    assert not [e for e in touched if e.path.lower().startswith(f"/runtimeenvironments/{before.lower()}")], (
        "nothing was written to the environment the runbook runs on"
    )
    assert not [e for e in touched if e.path.startswith(("/runbooks", "/jobSchedules", "/schedules"))]
    assert running(azure) == before
    assert azure.arm.runbooks[RUNBOOK]["published"] == published
    assert imported(azure, before) == packages_before, "every package it runs with is still Succeeded, as it was"
    assert len(azure.arm.job_schedules) == 1

    del azure.arm.fail_imports["teams_licensing"]
    assert deploy(azure, second) == 0
    out = capsys.readouterr().out
    after = running(azure)
    assert after != before
    assert before not in azure.arm.environments, "the environment of the replaced bundle is removed"
    assert f"remove runtime environment {before}" in out
    wanted = digests(second)
    assert imported(azure, after) == {name: ("Succeeded", digest) for name, digest in wanted.items()}
    assert azure.arm.runbooks[RUNBOOK]["published"] == (second / "reconcile_licenses.py").read_text(encoding="utf-8")

    writes = len(azure.arm.writes())
    assert deploy(azure, second) == 0
    assert azure.arm.writes()[writes:] == [], "the same bundle again changes nothing"
    assert "Deploy: no changes" in capsys.readouterr().out


def test_publishing_waits_for_the_new_environment_and_the_old_one_serves_until_then(
    azure: FakeAzure, tmp_path: Path
) -> None:
    """While the new bundle's packages are imported the runbook stays on its environment, whose packages are never
    written to: a job starting meanwhile runs on a whole environment, never a half-replaced one."""
    first, second = bundles(tmp_path)
    assert deploy(azure, first) == 0
    before = running(azure)
    start = len(azure.arm.log)
    assert deploy(azure, second) == 0
    after = running(azure)
    upgrade = azure.arm.log[start:]
    move = next(i for i, e in enumerate(upgrade) if e.method == "PUT" and e.path == f"/runbooks/{RUNBOOK}")
    assert all(upgrade[move].packages[f"{after}/{name}"] == "Succeeded" for name in azure.arm.packages[after]), (
        "the runbook moved only once every package of the new environment was imported"
    )
    assert all(state == "Succeeded" for key, state in upgrade[move].packages.items() if key.startswith(f"{before}/"))
    assert not [e for e in upgrade if e.method != "GET" and e.path.startswith(f"/runtimeEnvironments/{before}/")]
    removed = next(
        i for i, e in enumerate(upgrade) if e.method == "DELETE" and e.path == f"/runtimeEnvironments/{before}"
    )
    published = next(i for i, e in enumerate(upgrade) if e.method == "POST" and e.path.endswith("/publish"))
    assert published < removed, "the old environment goes only after the runbook is published on the new one"


def test_a_rebuilt_wheel_of_the_same_version_is_imported_again(azure: FakeAzure, tmp_path: Path) -> None:
    """Azure does not say what a package was imported from (no contentLink in its answers), so the bundle's digests
    decide: a wheel rebuilt under the same version means another bundle, and a new environment imports it."""
    first = make_test_bundle(tmp_path / "first", __version__)
    rebuilt = make_test_bundle(tmp_path / "rebuilt", __version__, rebuilt=["pydantic-2.9.2-py3-none-any.whl"])
    assert digests(first)["pydantic"] != digests(rebuilt)["pydantic"]
    assert deploy(azure, first) == 0
    assert deploy(azure, rebuilt) == 0
    assert imported(azure, running(azure))["pydantic"] == ("Succeeded", digests(rebuilt)["pydantic"])


def test_environments_deploy_did_not_make_or_a_runbook_still_uses_are_kept(
    azure: FakeAzure, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = bundles(tmp_path)
    mine = {"location": "westeurope", "tags": {}, "properties": {"runtime": {"language": "Python", "version": "3.10"}}}
    azure.arm.environments["teams-licensing-py310-by-hand"] = {"name": "teams-licensing-py310-by-hand", **mine}
    assert deploy(azure, first) == 0
    before = running(azure)
    other = {**azure.arm.runbooks[RUNBOOK], "name": "Another-Runbook"}
    azure.arm.runbooks["Another-Runbook"] = other  # an admin's second runbook on the same environment
    assert deploy(azure, second) == 0
    out = capsys.readouterr().out
    assert {"teams-licensing-py310-by-hand", before, running(azure)} <= set(azure.arm.environments)
    assert f"runtime environment {before} is kept: runbook Another-Runbook uses it" in out
    assert not azure.arm.requests("DELETE", r"/runtimeEnvironments/teams-licensing-py310-by-hand")


def test_package_names_azure_spells_in_another_case_are_the_same_packages(azure: FakeAzure, tmp_path: Path) -> None:
    first, _ = bundles(tmp_path)
    assert deploy(azure, first) == 0
    packages = azure.arm.packages[running(azure)]
    package = packages.pop("PyYAML")
    package.name = "pyyaml"
    packages["pyyaml"] = package
    writes = len(azure.arm.writes())
    assert deploy(azure, first) == 0
    assert azure.arm.writes()[writes:] == [], "pyyaml is PyYAML: neither imported again nor removed"


@pytest.mark.parametrize(
    ("description", "removed"),
    [
        ("teams-licensing 0.2.0: the runbook's Python 3.10 packages", True),  # what deploy 0.2.0 wrote
        ("our own Python 3.10 packages", False),
    ],
)
def test_the_environment_deploy_0_2_0_made_is_replaced_and_one_of_that_name_it_did_not_make_is_kept(
    azure: FakeAzure, tmp_path: Path, description: str, removed: bool
) -> None:
    """0.2.0 imported into one environment named exactly the prefix, without tags: recognised by its description."""
    first, _ = bundles(tmp_path)
    assert deploy(azure, first) == 0
    legacy = azure.arm.environments[running(azure)]
    azure.arm.environments["teams-licensing-py310"] = {
        **legacy,
        "name": "teams-licensing-py310",
        "tags": {},
        "properties": {**legacy["properties"], "description": description},
    }
    azure.arm.packages["teams-licensing-py310"] = {}
    azure.arm.runbooks[RUNBOOK]["properties"]["runtimeEnvironment"] = "teams-licensing-py310"
    assert deploy(azure, first) == 0
    assert running(azure) != "teams-licensing-py310"
    assert ("teams-licensing-py310" not in azure.arm.environments) is removed


def test_an_environment_a_job_still_runs_on_is_removed_only_once_the_job_has_ended(
    azure: FakeAzure, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job started on the old environment just before the runbook moved keeps running there."""
    first, second = bundles(tmp_path)
    assert deploy(azure, first) == 0
    before = running(azure)
    job = azure.arm.job(RUNBOOK, before, "Running")
    azure.arm.job(RUNBOOK, before, "Completed")
    assert deploy(azure, second) == 0
    assert f"runtime environment {before} is kept: 1 job still runs on it; a later deploy removes it" in (
        capsys.readouterr().out
    )
    assert before in azure.arm.environments
    job["properties"]["status"] = "Completed"
    assert deploy(azure, second) == 0
    assert before not in azure.arm.environments
