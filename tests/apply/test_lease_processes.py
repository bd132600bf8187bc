"""Two Azure Automation jobs at once (an overlapping schedule, a manual start), as real runbook processes.

Each job runs in a sandbox of its own, so the file lock cannot see the other: here each process has its own
temporary and lock folders, against one fake tenant (loopback HTTP) and one fake Storage account (HTTPS). The
first job's writes are held at the fake tenant's door until the others have shown what they do, so the jobs
overlap for certain: one applies, one that may not wait stops at once (exit 4, `tenantLocked`), and one that may
wait does so, then plans afresh and finds nothing left. The tenant receives each write once, and each job's audit
trail tells what that job did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import STORAGE_TOKEN
from tests.support.fakegraph import FakeGraph
from tests.support.fakestorage import FakeStorage
from tests.support.loopback import serving
from tests.support.rollout import CONFIG, TENANT_ID, rollout_document
from tests.support.tokens import entra_token

ROOT = Path(__file__).resolve().parents[2]
USERS = 300
LOCK = f"locks/{TENANT_ID}"
PATIENCE = 120.0  # seconds any one step may take before the test gives up on it


@dataclass
class Job:
    """A runbook process on a 'machine' of its own: its temporary and lock folders, where its output goes too (a
    pipe nobody reads while it runs would stop it when full)."""

    machine: Path
    process: subprocess.Popen[str]

    def output(self) -> tuple[str, str]:
        return (self.machine / "output.txt").read_text("utf-8"), (self.machine / "errors.txt").read_text("utf-8")

    def finished(self) -> tuple[int, list[str], dict[str, Any], str]:
        self.process.wait(timeout=PATIENCE)
        out, err = self.output()
        assert "Traceback" not in out + err, err
        lines = out.splitlines()
        return self.process.returncode, lines, json.loads(lines[-1]), err

    def wait_until(self, condition: Any, what: str) -> None:
        """Until `condition()` holds, while the job runs; its output if it ends first."""
        deadline = time.monotonic() + PATIENCE
        while not condition():
            if self.process.poll() is not None:
                out, err = self.output()
                ended = f"the job ended first (exit {self.process.returncode})"
                raise AssertionError(f"{what}: {ended}:\n{out[-3000:]}{err}")
            assert time.monotonic() < deadline, f"gave up waiting: {what}"
            time.sleep(0.05)


def runbook(graph_url: str, storage: FakeStorage, machine: Path, **settings: str) -> Job:
    machine.mkdir()
    config = machine / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMS_LICENSING_")}
    env.update(
        PYTHONPATH=str(ROOT / "automation"),
        TMPDIR=str(machine),
        TEAMS_LICENSING_LOCK_DIR=str(machine),
        TEAMS_LICENSING_CONFIG=str(config),
        TEAMS_LICENSING_MODE="apply",
        TEAMS_LICENSING_GRAPH_URL=graph_url,
        TEAMS_LICENSING_ACCESS_TOKEN=entra_token(TENANT_ID),
        TEAMS_LICENSING_AUDIT_CONTAINER=storage.container_url(),
        TEAMS_LICENSING_STORAGE_TOKEN=STORAGE_TOKEN,
        REQUESTS_CA_BUNDLE=str(storage.ca_path),
        **settings,
    )
    command = [sys.executable, str(ROOT / "runbooks" / "reconcile_licenses.py")]
    with open(machine / "output.txt", "w") as out, open(machine / "errors.txt", "w") as err:  # the child has copies
        return Job(machine, subprocess.Popen(command, env=env, cwd=machine, stdout=out, stderr=err, text=True))


def test_two_jobs_at_once_write_each_change_once_and_each_audit_tells_the_truth(
    tmp_path: Path, storage: FakeStorage
) -> None:
    document = rollout_document(USERS)
    writing, go_on = threading.Event(), threading.Event()
    with serving(lambda url: FakeGraph(document, base_url=url)) as loopback:
        plain = loopback.answer

        def hold_the_writes(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/$batch") and b"assignLicense" in request.content:
                writing.set()
                go_on.wait(PATIENCE)
            return plain(request)

        loopback.answer = hold_the_writes  # type: ignore[method-assign]
        first = runbook(loopback.url, storage, tmp_path / "first")
        first.wait_until(writing.is_set, "the first job's writes")
        impatient = runbook(loopback.url, storage, tmp_path / "impatient", TEAMS_LICENSING_LEASE_WAIT="0")
        patient = runbook(loopback.url, storage, tmp_path / "patient")  # waits up to 10 minutes (the default)
        status, _, impatient_result, _ = impatient.finished()
        assert status == 4
        assert impatient_result["stopped"]["reason"] == "tenantLocked"
        assert impatient_result["stopped"]["message"].startswith(f"another run holds tenant {TENANT_ID}: the runbook")
        patient.wait_until(lambda: storage.lease_actions(LOCK).count("acquire 409") >= 2, "its first try")
        assert patient.process.poll() is None, "the patient job waits"
        go_on.set()
        status, _, result, err = first.finished()
        assert (status, result["applied"], result["failed"]) == (0, USERS, 0), err
        status, patient_lines, patient_result, err = patient.finished()
        assert status == 0, err
        writes = loopback.fake.writes
    assert (patient_result["changes"], patient_result["applied"]) == (0, 0), "it planned after the first had written"
    assert "Nothing to apply." in patient_lines
    said = f"Tenant {TENANT_ID} is held by the runbook as pid {first.process.pid}"
    assert any(line.startswith(said) for line in patient_lines), "it said whom it waited for"
    assert len(writes) == USERS, "each write once"
    assert len({write["url"] for write in writes}) == USERS
    (audit,) = (tmp_path / "first").glob("teams-licensing-audit-*.jsonl")
    intents = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert sum(1 for record in intents if record["type"] == "intent") == USERS
    for other in ("impatient", "patient"):
        assert not list((tmp_path / other).glob("teams-licensing-audit-*.jsonl")), f"{other} wrote and audited nothing"
    actions = storage.lease_actions(LOCK)
    assert actions[:2] == ["acquire 404", "acquire 201"]
    assert actions.count("acquire 201") == 2, "the first job, then the patient one"
    assert actions.count("release 200") == 2
