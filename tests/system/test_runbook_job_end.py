"""How an Azure Automation job ends: stopped at any moment, it still ends with its JSON line, and after the writes
that line keeps what they did; its refusals are those of the limits the job's apply uses; error-severity gaps
complete the job in every mode (the JSON line says 3); its summary says first what apply would refuse and who loses
licenses beyond voice, and its change count includes group changes."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from teamslicensing import app
from teamslicensing.report.joblog import job_summary, plan_counts_json
from tests.planner.test_plans import CASES, load_case
from tests.planner.test_plans import run as plan_case
from tests.support.fakegraph import FakeGraph
from tests.support.fakestorage import FakeStorage
from tests.support.faults import sigterm_during
from tests.support.loopback import never_answering, serving
from tests.support.shipped_demo import demo_changes
from tests.support.tokens import entra_token
from tests.system.test_runbook import DEMO_TENANT, demo_document, environment, fake, run  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "runbooks" / "reconcile_licenses.py"


def job_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """A job's environment as the runbook reads it outside Azure: these settings, locks and temp files here."""
    return {
        **os.environ,
        "TEAMS_LICENSING_ACCESS_TOKEN": "test-token-not-a-secret",
        "TEAMS_LICENSING_LOCK_DIR": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "PYTHONPATH": str(ROOT / "automation"),
        **settings,
    }


@pytest.mark.parametrize("mode", ["plan", "apply"])
def test_the_job_judges_the_plan_with_its_own_max_changes_setting(
    fake: FakeGraph,  # noqa: F811
    example_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    """TeamsLicensing_MaxChanges 3 against the demo's users to change (more): the summary opens with the refusal,
    naming the setting, the JSON line's applyWouldRefuse holds it, and apply mode refuses for exactly it."""
    changes = demo_changes()
    assert changes > 3
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", mode)
    monkeypatch.setenv("TEAMS_LICENSING_MAX_CHANGES", "3")
    status, summary, _, result = run()
    assert result["applyWouldRefuse"] == [{"reason": "maxChanges", "limit": 3, "planned": changes}]
    assert summary[1:3] == [
        "APPLY WOULD REFUSE THIS PLAN:",
        f"- {changes} users and groups to change, more than TeamsLicensing_MaxChanges (3)",
    ]
    if mode == "apply":
        assert status == 1
        assert result["error"].startswith(f"refusing to apply: the plan changes {changes} users and groups")
        assert "TeamsLicensing_MaxChanges" in result["error"]
    else:
        assert (status, result["error"]) == (3, None)
    assert fake.writes == []


def test_a_job_stopped_while_it_reads_its_configuration_blob_ends_with_the_json_line(tmp_path: Path) -> None:
    """TeamsLicensing_Config names a blob and Storage is slow to answer: SIGTERM then still ends the job with the
    JSON line (exit 143), not with a job killed mid-way and no result."""
    with never_answering() as (port, held):
        url = f"https://127.0.0.1:{port}/devstoreaccount1/config/licensing.yaml"
        env = job_environment(
            tmp_path,
            TEAMS_LICENSING_CONFIG=url,
            TEAMS_LICENSING_MODE="apply",
            TEAMS_LICENSING_STORAGE_TOKEN="storage-token-not-a-secret",
        )
        child = subprocess.Popen(
            [sys.executable, str(RUNBOOK)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 30
        while not held and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held, "the job asked Storage for its configuration"
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 143, err
    result = json.loads(out.splitlines()[-1])
    assert (result["exitCode"], result["stopped"]["reason"]) == (143, "terminated")
    assert "Traceback" not in err


def test_sigterm_while_the_audit_log_is_stored_keeps_what_the_writes_did(
    fake: FakeGraph,  # noqa: F811
    storage: FakeStorage,
    example_config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every write was made when Azure stops the job during the audit log's upload: the JSON line still says what
    was applied (and whom it did not), that the log was not stored (it is in the job output), and exit 143."""
    sigterm_during(monkeypatch, app, "store_audit")
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", entra_token(DEMO_TENANT))
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    monkeypatch.setenv("TEAMS_LICENSING_AUDIT_CONTAINER", storage.container_url())
    status, summary, err, result = run()
    assert fake.writes
    assert result["applied"] == result["changes"] == demo_changes()
    assert result["users"] == []
    assert (result["auditBlob"], result["auditBlobError"]) == (None, "stopped by SIGTERM")
    assert (status, result["exitCode"]) == (143, 143)
    assert result["stopped"]["reason"] == "terminated"
    assert "while the audit log was stored" in result["stopped"]["message"]
    assert any(line.startswith(f"Apply: {result['applied']} applied") for line in summary)
    assert "The audit log was not stored" in err


def test_error_gaps_complete_a_plan_job_as_they_complete_an_apply_job(
    demo_document: dict[str, Any],  # noqa: F811
    example_config: Path,
    tmp_path: Path,
) -> None:
    """As a process, the way Azure Automation runs it: the demo keeps error-severity gaps. In either mode the JSON
    line says 3 and the job completes (status 0): gaps are findings about users, the same in a plan as after an
    apply, as `plan --detailed-exitcode`'s 3 passes the CI recipes' plan step."""

    def job(url: str, mode: str) -> tuple[int, int]:
        env = job_environment(
            tmp_path,
            TEAMS_LICENSING_CONFIG=str(example_config),
            TEAMS_LICENSING_MODE=mode,
            TEAMS_LICENSING_GRAPH_URL=url,
        )
        done = subprocess.run(
            [sys.executable, str(RUNBOOK)], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        return done.returncode, json.loads(done.stdout.splitlines()[-1])["exitCode"]

    with serving(lambda url: FakeGraph(copy.deepcopy(demo_document), base_url=url)) as loopback:
        assert job(loopback.url, "plan") == (0, 3)
        assert job(loopback.url, "apply") == (0, 3)


def test_the_job_summary_says_first_what_apply_would_refuse_and_who_loses_licenses_beyond_voice(
    tmp_path: Path,
) -> None:
    """The prune-reach case whose plan removes Microsoft 365 E3 from two users (policy.pruneAlso) and takes
    service plans from three, over maxRemovals 2: the job's summary says so before the changed users."""
    (path,) = [p for p in CASES if p.stem == "prune_reach_prune_also"]
    _, desired, document = load_case(path, tmp_path)
    plan = plan_case(desired, document)
    lines = list(job_summary(plan, "licensing.yaml", "plan", "https://graph.microsoft.com/v1.0"))
    assert lines[1:3] == [
        "APPLY WOULD REFUSE THIS PLAN:",
        "- 3 users lose service plans, more than policy.maxRemovals (2)",
    ]
    removals = lines.index(
        "Removals: 2 users lose licenses beyond voice (policy.pruneAlso): each counts against maxRemovals"
    )
    assert lines[removals + 1 : removals + 3] == [
        "  - carol@contoso.com: SPE_E3 (Microsoft 365 E3)",
        "  - dan@contoso.com: SPE_E3 (Microsoft 365 E3)",
    ]
    first_change = next(i for i, line in enumerate(lines) if line.startswith(("  ~ ", "  !! ")))
    assert removals < first_change


def test_the_job_counts_group_changes_among_its_changes(tmp_path: Path) -> None:
    (path,) = [p for p in CASES if p.stem == "group_license_add"]
    _, desired, document = load_case(path, tmp_path)
    plan = plan_case(desired, document)
    assert plan.group_changes
    assert plan_counts_json(plan)["changes"] == len(plan.changes) + len(plan.group_changes)
