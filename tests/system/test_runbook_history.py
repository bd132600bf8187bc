"""The runbook's run history in its audit container: every plan or apply job shows the tenant's last runs and adds its
own, one Append Block each, and `plan --history` reads a downloaded copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teamslicensing.cli import main
from teamslicensing.model.history import record_from_json
from tests.support.fakestorage import FakeStorage
from tests.support.tokens import entra_token
from tests.system.test_runbook import DEMO_TENANT, demo_document, environment, fake, run

__all__ = ["demo_document", "environment", "fake"]  # the fixtures these tests share with test_runbook


@pytest.fixture
def job(storage: FakeStorage, example_config: Path, monkeypatch: pytest.MonkeyPatch) -> FakeStorage:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_AUDIT_CONTAINER", storage.container_url())
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", entra_token(DEMO_TENANT))  # apply leases the tenant by its id
    return storage


def history(storage: FakeStorage, name: str = "history.jsonl") -> list[dict[str, object]]:
    content = storage.content(name)
    assert content is not None, f"{name} was not written"
    return [json.loads(line) for line in content.decode("utf-8").splitlines()]


@pytest.mark.usefixtures("fake")
def test_each_job_shows_the_last_runs_and_adds_its_own(job: FakeStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    _, first, _, result = run()
    assert result["historyBlob"] == f"{job.container_url()}/history.jsonl"
    assert result["historyError"] is None
    table = first.index("Last runs of this tenant (history.jsonl):")
    assert len(first[table + 2 :]) >= 1
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    _, _, _, applied = run()
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "plan")
    _, third, _, _ = run()
    records = [record_from_json(line) for line in history(job)]
    assert [r.command for r in records] == ["plan", "apply", "plan"]
    assert records[1].applied == applied["applied"] > 0
    assert records[0].changes == applied["changes"]
    assert records[2].changes == 0, "the apply wrote everything"
    rows = third[third.index("Last runs of this tenant (history.jsonl):") + 2 :]
    assert [row.split()[2] for row in rows[:3]] == ["plan", "apply", "plan"]
    appends = [r for r in job.requests if r.blob == "history.jsonl" and r.query.get("comp") == "appendblock"]
    assert len(appends) == 3, "one Append Block per run"


@pytest.mark.usefixtures("fake")
def test_a_downloaded_history_shows_in_the_cli_reports(
    job: FakeStorage, example_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run()
    run()
    downloaded = tmp_path / "history.jsonl"
    content = job.content("history.jsonl")
    assert content is not None
    downloaded.write_bytes(content)
    capsys.readouterr()
    # the same tenant, planned by hand (live, as the runbook reads it: the history is per tenant id)
    main(["plan", str(example_config), "--format", "markdown", "--history", str(downloaded)])
    report = capsys.readouterr().out
    assert "### Last runs" in report
    assert report.count("| plan |") == 3, "the two jobs' runs and this one"


@pytest.mark.usefixtures("fake")
def test_a_blob_of_another_kind_in_its_place_is_said_and_left_alone(
    job: FakeStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    job.store.put("teams-licensing", "history.jsonl", b"somebody's notes\n")
    status, _, err, result = run()
    assert status == 3, "the job's outcome stands: the demo's error gaps"
    assert result["historyBlob"] is None
    assert "not a run history" in result["historyError"]
    assert "This run is not in the history" in err
    assert job.content("history.jsonl") == b"somebody's notes\n"


@pytest.mark.usefixtures("fake")
def test_off_keeps_no_history(job: FakeStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_HISTORY", "off")
    _, summary, _, result = run()
    assert "historyBlob" not in result
    assert not any(line.startswith("Last runs") for line in summary)
    assert job.content("history.jsonl") is None


@pytest.mark.usefixtures("fake")
def test_a_history_without_an_audit_container_is_a_setting_error(
    example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_HISTORY", "runs.jsonl")
    status, _, _, result = run()
    assert status == 1
    assert "TeamsLicensing_History / TEAMS_LICENSING_HISTORY needs TeamsLicensing_AuditContainer" in result["error"]


def test_the_default_name_without_an_audit_container_keeps_no_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy sets TeamsLicensing_History to history.jsonl; an admin who later removes the audit container gets
    jobs without a history, not jobs that all fail (another name without a container is a slip: refused)."""
    from tests.system.test_runbook import runbook

    settings = runbook.read_settings(
        None, {"TEAMS_LICENSING_CONFIG": "x.yaml", "TEAMS_LICENSING_HISTORY": "history.jsonl"}
    )
    assert settings.history is None
