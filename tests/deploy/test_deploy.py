"""`teams-licensing deploy automation` end to end against the fake Azure Resource Manager and Blob Storage
(tests/support/fakearm, built from Microsoft.Automation's 2024-10-23 specification): twice, the second a no-op."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from teamslicensing import __version__
from tests.support.fakearm import ARM_TOKEN, FakeAzure, fake_azure
from tests.support.fakearm.cli import deploy

pytestmark = pytest.mark.usefixtures("fast_and_signed_in")

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "licensing.yaml"
RUNBOOK = "Reconcile-TeamsLicenses"


def test_a_first_deploy_sets_everything_up_and_a_second_changes_nothing(
    azure: FakeAzure, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(azure, bundle, "--config", str(CONFIG), "--schedule", "daily@06:00") == 0
    first = capsys.readouterr().out
    arm = azure.arm
    (environment,) = arm.environments
    assert re.fullmatch(rf"teams-licensing-py310-{__version__.replace('.', '_')}-[0-9a-f]{{12}}", environment)
    assert arm.environments[environment]["tags"]["teams-licensing-version"] == __version__
    assert set(arm.packages[environment]) == {"teams_licensing", "PyYAML", "pydantic", "pydantic_core"}
    assert all(p.state == "Succeeded" for p in arm.packages[environment].values())
    publish = arm.requests("POST", rf"/runbooks/{RUNBOOK}/publish")
    assert len(publish) == 1
    assert publish[0].status == 202
    assert set(publish[0].packages.values()) == {"Succeeded"}, "every package imported before publishing"
    runbook = arm.runbooks[RUNBOOK]
    assert runbook["published"] == (ROOT / "runbooks" / "reconcile_licenses.py").read_text(encoding="utf-8")
    assert runbook["properties"]["runbookType"] == "Python"
    assert runbook["properties"]["runtimeEnvironment"] == environment
    config = arm.variables["TeamsLicensing_Config"]
    assert config["isEncrypted"]
    assert json.loads(config["value"]) == CONFIG.read_text(encoding="utf-8")
    assert json.loads(arm.variables["TeamsLicensing_Mode"]["value"]) == "plan"
    assert (
        json.loads(arm.variables["TeamsLicensing_AuditContainer"]["value"]) == f"{azure.blob_url}/teams-licensing-audit"
    )
    assert "teams-licensing-audit" in azure.storage.store.containers
    start = datetime.fromisoformat(arm.schedules["teams-licensing-daily"]["properties"]["startTime"])
    assert (start.hour, start.minute) == (6, 0)
    assert start - datetime.now(timezone.utc) >= timedelta(minutes=5)
    links = [d["properties"] for d in arm.job_schedules.values()]
    assert [(link["runbook"]["name"], link["schedule"]["name"]) for link in links] == [
        (RUNBOOK, "teams-licensing-daily")
    ]
    assert arm.identity_principal in first
    assert f"grant-permissions.sh --mode plan {arm.identity_principal}" in first
    assert '--role "Storage Blob Data Contributor"' in first
    assert "/containers/teams-licensing-audit" in first

    writes_before, storage_before = len(arm.writes()), len(azure.storage.requests)
    assert deploy(azure, bundle, "--config", str(CONFIG), "--schedule", "daily@06:00") == 0
    second = capsys.readouterr().out
    assert arm.writes()[writes_before:] == [], "a second run sends no write to Resource Manager"
    assert [r for r in azure.storage.requests[storage_before:] if r.method not in ("GET", "HEAD")] == []
    assert "Deploy: no changes" in second
    assert "  ~ " not in second


def test_a_package_that_fails_to_import_fails_the_deploy_with_azures_message_and_nothing_is_published(
    tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = "Orchestrator.Shared.AsyncModuleImport: the wheel's native library does not load in the sandbox"
    with fake_azure(tmp_path, fail_imports={"pydantic_core": message}) as azure:
        assert deploy(azure, bundle, "--config", str(CONFIG)) == 1
        out, err = capsys.readouterr()
        assert f"pydantic_core: Failed: PackageImportFailed {message}" in err
        assert "Deploy stopped: 10 changes were made before it (listed above); run it again" in out
        assert f"runbook {RUNBOOK} was not published" in err
        assert azure.arm.requests("POST", r"/runbooks/.*") == []
        assert azure.arm.requests("PUT", r"/runbooks/.*") == []
        assert "Traceback" not in err


def test_azure_fetches_each_wheel_through_a_read_only_link_to_that_blob_with_its_hash(
    azure: FakeAzure, bundle: Path
) -> None:
    """No account key and no public blob: a user delegation SAS per wheel, read-only, for one day, and the
    bundle's SHA-256 beside it (the fake fetches each link as Azure does, and checks the hash)."""
    assert deploy(azure, bundle) == 0
    manifest = json.loads((bundle / "bundle.json").read_text(encoding="utf-8"))
    digests = {entry["file"]: entry["sha256"].upper() for entry in manifest["wheels"]}
    (environment,) = azure.arm.packages
    for package in azure.arm.packages[environment].values():
        link = package.content_link
        uri, query = link["uri"].split("?", 1)
        fields = dict(part.split("=", 1) for part in query.split("&"))
        blob = uri.rsplit("/", 1)[-1]
        assert uri == f"{azure.blob_url}/teams-licensing-wheels/{blob}"
        assert (fields["sp"], fields["sr"]) == ("r", "b"), "read, one blob"
        assert {"skoid", "sktid", "sig"} <= set(fields), "signed with a user delegation key"
        assert link["contentHash"] == {"algorithm": "SHA256", "value": digests[blob]}
    fetched = [r for r in azure.storage.requests if r.auth == "sas"]
    assert len(fetched) == 4
    assert all(r.container == "teams-licensing-wheels" and r.status == 200 for r in fetched)
    assert all(r.auth != "denied" for r in azure.storage.requests)


def test_imports_wait_within_the_timeout_and_then_stop_saying_which(
    tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tests.support.fakearm.spec.IMPORT_PATH", ("Creating",) * 10_000 + ("Succeeded",))
    with fake_azure(tmp_path) as azure:
        assert deploy(azure, bundle, "--timeout", "1s") == 1
        err = capsys.readouterr().err
        assert "package imports did not finish within" in err
        assert "teams_licensing still Creating" in err
        assert f"runbook {RUNBOOK} was not published" in err
        assert azure.arm.requests("POST", r"/runbooks/.*") == []


def test_a_schedule_a_few_minutes_away_first_runs_tomorrow_and_azure_takes_it(azure: FakeAzure, bundle: Path) -> None:
    """Azure refuses a start less than five minutes ahead (the fake too): the next occurrence far enough is taken."""
    soon = datetime.now(timezone.utc) + timedelta(minutes=3)
    assert deploy(azure, bundle, "--schedule", f"daily@{soon:%H:%M}") == 0
    start = datetime.fromisoformat(azure.arm.schedules["teams-licensing-daily"]["properties"]["startTime"])
    assert (start.hour, start.minute) == (soon.hour, soon.minute)
    assert start - datetime.now(timezone.utc) > timedelta(hours=23)


def test_a_numbers_csv_is_stored_encrypted_beside_the_configuration(
    azure: FakeAzure, bundle: Path, tmp_path: Path
) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("userPrincipalName,telephoneNumber\ngrace@contoso.com,+14255550100\n", encoding="utf-8")
    assert deploy(azure, bundle, "--config", str(CONFIG), "--numbers", str(numbers)) == 0
    stored = azure.arm.variables["TeamsLicensing_Numbers"]
    assert stored["isEncrypted"]
    assert json.loads(stored["value"]) == numbers.read_text(encoding="utf-8")


def test_a_location_header_pointing_elsewhere_gets_no_token(
    tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Long-running operations are polled where Azure's Location headers say: one naming another origin (here the
    storage server's) is refused before the Resource Manager token could travel there."""
    with fake_azure(tmp_path) as azure:
        elsewhere = azure.blob_url.rsplit("/", 1)[0]
        azure.arm.origin = elsewhere  # the fake now writes its operation URLs on the other server
        assert deploy(azure, bundle) == 1
        err = capsys.readouterr().err
        assert f"refused to send a request to {elsewhere}: only {azure.arm_url}" in err
        assert not any(r.headers.get("authorization") == f"Bearer {ARM_TOKEN}" for r in azure.storage.requests)
        assert azure.arm.requests("POST", r"/runbooks/.*") == [], "the draft never finished: nothing published"
