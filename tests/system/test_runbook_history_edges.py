"""The runbook's run history on the edges a review found it wrong on (27d): an append whose answer was lost, a
hostile line, SIGTERM, a refused apply, an unreachable Storage, setting values, the fake's conditional headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.graph.blobhistory import append_line
from tests.conftest import STORAGE_TOKEN
from tests.support.fakestorage import FakeStorage
from tests.support.fakestorage import store as fakestore
from tests.support.faults import sigterm_during
from tests.support.shipped_demo import demo_changes
from tests.support.tokens import entra_token
from tests.system.test_runbook import DEMO_TENANT, demo_document, environment, fake, run
from tests.system.test_runbook_job_end import RUNBOOK, job_environment

__all__ = ["demo_document", "environment", "fake"]  # fixtures shared with test_runbook

HISTORY = "history.jsonl"


@pytest.fixture
def job(storage: FakeStorage, example_config: Path, monkeypatch: pytest.MonkeyPatch) -> FakeStorage:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_AUDIT_CONTAINER", storage.container_url())
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", entra_token(DEMO_TENANT))
    return storage


def lines_of(storage: FakeStorage, name: str = HISTORY) -> list[dict[str, Any]]:
    content = storage.content(name)
    assert content is not None, f"{name} was not written"
    return [json.loads(line) for line in content.decode("utf-8").splitlines()]


def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Storage SDK's retry waits 15 s and more between tries; the tries themselves are what is under test."""
    from azure.core.pipeline.transport import RequestsTransport

    monkeypatch.setattr(RequestsTransport, "sleep", lambda self, duration: None)


# ---- the append -------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fake")
def test_an_append_whose_answer_was_lost_is_in_the_history_once(
    job: FakeStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storage's 500 OperationTimedOut means the operation "may or may not have succeeded on the server side"
    (Azure Blob Storage error codes). Append Block's remarks ("Avoiding duplicate or delayed appends"): a writer
    avoids a second copy with x-ms-blob-condition-appendpos. The job looks where it sent the line and finds it."""
    no_backoff(monkeypatch)
    monkeypatch.setitem(
        fakestore.ERRORS,
        "OperationTimedOut",
        (500, "The operation could not be completed within the permitted time."),
    )
    real = job.store.handle
    timed_out: list[int] = []

    def committed_then_timed_out(method: str, container: str, name: str, query: dict[str, str], *rest: Any) -> Any:
        reply = real(method, container, name, query, *rest)
        if query.get("comp") == "appendblock" and not timed_out:
            timed_out.append(1)
            raise fakestore.StorageFault("OperationTimedOut")
        return reply

    monkeypatch.setattr(job.store, "handle", committed_then_timed_out)
    status, _, _, result = run()
    assert status == 3
    assert timed_out, "the first append was answered 500 OperationTimedOut after Storage committed it"
    assert result["historyError"] is None, "the job says the history was kept as it should be"
    assert len(lines_of(job)) == 1, "one plan job, one line in the history"


# ---- what is read -----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fake")
def test_a_deeply_nested_line_in_the_history_is_left_out_and_the_job_ends_as_it_would(job: FakeStorage) -> None:
    """Anyone who can write to the audit container can add a line; json.loads raises RecursionError (not a
    ValueError) on a deeply nested array. The line is left out, and the job ends as it would have (3)."""
    nested = b"[" * 100_000 + b"]" * 100_000 + b"\n"
    append_line(job.container_url(), HISTORY, nested, managed_identity_client_id=None, access_token=STORAGE_TOKEN)
    status, _, _, result = run()
    assert (status, result["exitCode"], result["error"]) == (3, 3, None), result.get("error")
    assert result["historyBlob"] is not None


# ---- the job ------------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fake")
def test_sigterm_while_the_history_is_appended_after_the_writes_is_said_like_the_audit_upload(
    job: FakeStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every write was made; Azure stops the job while the history is appended. As for the audit upload in the same
    spot, the apply's outcome is kept and the JSON line says `historyError: "stopped by SIGTERM"`."""
    import teamslicensing.app.history as history

    sigterm_during(monkeypatch, history, "append_blob_history")
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    status, _, _, result = run()
    assert result["applied"] == demo_changes()
    assert (status, result["exitCode"]) == (143, 143)
    assert (result.get("historyBlob"), result.get("historyError")) == (None, "stopped by SIGTERM")


@pytest.mark.usefixtures("fake")
def test_an_apply_job_refused_by_its_limits_is_in_the_history(
    job: FakeStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history holds "one summary per run": a job whose apply TeamsLicensing_MaxChanges refused (exit 1,
    nothing written) is one too, or the admin would see an apply schedule that silently did nothing."""
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    monkeypatch.setenv("TEAMS_LICENSING_MAX_CHANGES", "3")
    status, _, _, result = run()
    assert status == 1
    assert result["error"].startswith("refusing to apply")
    assert job.content(HISTORY) is not None, "the refused run is in the history"


def test_a_storage_that_does_not_answer_costs_a_plan_job_seconds(
    demo_document: dict[str, Any], example_config: Path, tmp_path: Path
) -> None:
    """Plan mode touches Storage only for the history; with the audit container unreachable (a firewall dropping
    packets, a private endpoint gone) the SDK's defaults (20 s connect, 60 s read, 3 retries 15-24 s apart) would
    hold every plan job for minutes. Its requests are bounded as the lease's are. A plan against the fake tenant
    takes a few seconds: 60 s is generous."""
    import copy

    from tests.support.fakegraph import FakeGraph
    from tests.support.loopback import never_answering, serving

    with (
        never_answering() as (port, _),
        serving(lambda url: FakeGraph(copy.deepcopy(demo_document), base_url=url)) as loopback,
    ):
        env = job_environment(
            tmp_path,
            TEAMS_LICENSING_CONFIG=str(example_config),
            TEAMS_LICENSING_MODE="plan",
            TEAMS_LICENSING_GRAPH_URL=loopback.url,
            TEAMS_LICENSING_AUDIT_CONTAINER=f"https://127.0.0.1:{port}/devstoreaccount1/teams-licensing",
            TEAMS_LICENSING_STORAGE_TOKEN="storage-token-not-a-secret",
        )
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, str(RUNBOOK)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            child.communicate(timeout=float(os.environ.get("REVIEW_WAIT", "60")))
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
        took = time.monotonic() - started
    assert took < 60, f"the plan job was still waiting on Storage after {took:.0f} s"


# ---- the setting ------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fake")
def test_a_history_name_with_dot_segments_is_a_bad_setting(job: FakeStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    """TeamsLicensing_History is a blob *in the audit container*; the SDK quotes neither `.` nor `/`, and the HTTP
    client drops dot segments (RFC 3986), so `../other/history.jsonl` would reach another container of the
    account. It is a bad setting."""
    job.store.containers.add("other")
    monkeypatch.setenv("TEAMS_LICENSING_HISTORY", "../other/history.jsonl")
    status, _, _, result = run()
    touched = {(r.container, r.blob) for r in job.requests}
    assert ("other", "history.jsonl") not in touched, f"written outside the audit container: {result['historyBlob']}"
    assert status == 1, "a history name that leaves the container is a bad setting"


@pytest.mark.parametrize("value", ["0", "disabled", "off "])
def test_values_an_admin_means_as_off_are_off_or_refused(value: str) -> None:
    """Whatever an admin means as "off" is off, or refused: never quietly a blob of that name."""
    from tests.system.test_runbook import runbook

    container = "https://acct.blob.core.windows.net/teams-licensing-audit"
    env = {
        "TEAMS_LICENSING_CONFIG": "x.yaml",
        "TEAMS_LICENSING_AUDIT_CONTAINER": container,
        "TEAMS_LICENSING_HISTORY": value,
    }
    try:
        settings = runbook.read_settings(None, env)
    except runbook.SettingError:
        return
    assert settings.history is None, f"{value!r} kept a history in the blob {settings.history!r}"


# ---- the fake Storage -----------------------------------------------------------------------------------------


def test_the_fake_honours_if_match_on_append_block(storage: FakeStorage) -> None:
    """Append Block (REST API): "This operation supports the use of additional conditional headers" (If-Match and
    the others, "Specifying conditional headers for Blob service operations": 412 ConditionNotMet), as Azure
    answers them."""
    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceModifiedError
    from azure.storage.blob import ContainerClient

    with ContainerClient.from_container_url(storage.container_url(), credential=_Token()) as container:
        blob = container.get_blob_client(HISTORY)
        stale = str(blob.create_append_blob()["etag"])
        blob.append_block(b"first\n")
        with pytest.raises(ResourceModifiedError):
            blob.append_block(b"second\n", etag=stale, match_condition=MatchConditions.IfNotModified)
    assert storage.content(HISTORY) == b"first\n"


class _Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(STORAGE_TOKEN, int(time.time()) + 3600)


def test_the_tutorial_no_longer_says_a_plan_job_writes_nothing() -> None:
    """Every plan job appends to history.jsonl in the audit container (by default, needing its Storage role): the
    Azure Automation tutorial says so."""
    tutorial = (Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "azure-automation.md").read_text()
    assert "each job reads and reports, and writes nothing" not in tutorial
    assert "TeamsLicensing_History" in tutorial
