"""Apply under faults, in process against the stateful fake: answers lost after Graph applied a batch, a second
run doing the same work, the audit log failing mid-run, Graph refusing the run midway, and sign-in failures."""

from __future__ import annotations

import asyncio
import copy
import gc
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import respx

from teamslicensing import app
from teamslicensing.apply.audit import AuditLog
from teamslicensing.apply.executor import execute
from teamslicensing.cli import main
from teamslicensing.config import load_desired_state
from teamslicensing.errors import UsageError
from teamslicensing.graph import Connection, Graph
from teamslicensing.graph.writer import GraphWriter
from teamslicensing.model.outcome import APPLIED, FAILED, IN_SYNC, UNKNOWN, StopReason
from teamslicensing.plan.planner import plan
from teamslicensing.reference.availability import load_availability
from teamslicensing.tenant.snapshot import parse_snapshot
from tests.support.faults import BASE, TOKEN, audit_records, fake_for, on_each_batch
from tests.support.rollout import CONFIG, MCOPSTN1, holders, rollout_document

pytestmark = pytest.mark.usefixtures("graph_token")


def planned_for(document: dict[str, Any], config: Path) -> tuple[Any, dict[str, Any]]:
    desired = load_desired_state(config)
    tenant = parse_snapshot(copy.deepcopy(document), "t", desired.selected_attributes)
    before = {user.id: user for user in tenant.users}
    return plan(desired, tenant, load_availability()), before


def run_execute(planned: Any, before: dict[str, Any], audit: AuditLog) -> Any:
    async def go() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN, backoff_base=0.001) as graph:
            return await execute(planned.changes, GraphWriter(graph), audit, before)

    return asyncio.run(go())


@pytest.mark.parametrize("fault", ["reset", "missing", "duplicate", "gateway"])
def test_a_batch_applied_but_not_answered_is_read_back_not_guessed(
    fault: str, router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    document = rollout_document(60)
    fake = fake_for(document, router)
    fake.lose_answer(fault)
    planned, before = planned_for(document, config)
    audit = AuditLog.open(tmp_path / "audit.jsonl", before)
    result = run_execute(planned, before, audit)
    audit.close()
    assert result.results == (), "no user left unapplied (applied users are counted, not listed)"
    assert result.count(APPLIED) == 60
    assert holders(fake.document()) == {u["id"] for u in document["users"]}
    log = audit_records(tmp_path / "audit.jsonl")
    verified = [r for r in log if r["type"] == "verified"]
    assert verified, "the users of the spoilt batch were read back"
    assert all(r["state"] == "done" for r in verified)
    writes_per_user: dict[str, int] = {}
    for write in fake.writes:
        writes_per_user[write["url"]] = writes_per_user.get(write["url"], 0) + 1
    assert max(writes_per_user.values()) == 1, "a write that happened is never sent again"


def test_a_usage_location_patch_left_unanswered_does_not_cost_the_license(
    router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    document = rollout_document(3)
    for user in document["users"]:
        user["usageLocation"] = None
    path = tmp_path / "licensing.yaml"
    path.write_text(CONFIG + "defaults:\n  usageLocation: US\n", encoding="utf-8")
    fake = fake_for(document, router)
    fake.lose_answer("reset")  # the PATCH batch: applied, then the connection drops
    planned, before = planned_for(document, path)
    assert all(c.set_usage_location == "US" for c in planned.changes)
    audit = AuditLog.open(tmp_path / "audit.jsonl", before)
    result = run_execute(planned, before, audit)
    audit.close()
    assert result.count(APPLIED) == 3
    assert holders(fake.document()) == {u["id"] for u in document["users"]}


def test_a_second_run_finding_its_work_done_reports_in_sync_not_failures(
    router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    document = rollout_document(40, holding_calling_plan=40)
    path = tmp_path / "prune.yaml"  # Calling Plans are no longer wanted: both runs plan to remove all 40
    path.write_text(
        "version: 1\nrules:\n  - name: phone\n    select: {groups: [Voice]}\n    assign: [MCOEV]\n"
        "  - name: calling\n    select: {attributes: {department: Nobody}}\n    assign: [MCOPSTN1]\n"
        "policy:\n  prune: true\n  allowNumberLoss: true\n",
        encoding="utf-8",
    )
    fake = fake_for(document, router)
    first, before = planned_for(document, path)
    second, _ = planned_for(document, path)  # planned at the same moment, before either wrote
    assert len(first.changes) == 40
    assert all(c.remove_licenses for c in first.changes)
    with AuditLog.open(tmp_path / "first.jsonl", before) as audit:
        assert run_execute(first, before, audit).count(APPLIED) == 40
    with AuditLog.open(tmp_path / "second.jsonl", before) as audit:
        result = run_execute(second, before, audit)
    assert result.count(FAILED) == 0
    assert result.count(UNKNOWN) == 0
    assert result.count(IN_SYNC) == 40
    assert holders(fake.document()) == set()


def test_an_audit_log_failing_mid_run_stops_the_run_and_no_write_goes_unrecorded(
    router: respx.MockRouter, config: Path
) -> None:
    document = rollout_document(400)
    fake = fake_for(document, router)
    planned, before = planned_for(document, config)

    class FillingDisk(io.StringIO):
        """A log file that takes 120 records, then fails like a full disk."""

        def write(self, text: str) -> int:
            if self.getvalue().count("\n") + text.count("\n") > 120:
                raise OSError(28, "No space left on device")
            return super().write(text)

        def fileno(self) -> int:
            return 2  # fsync(stderr) is harmless

    disk = FillingDisk()
    audit = AuditLog(disk, before)
    audit.header(tenant_id=None, config_digest=None, source=BASE, mode="apply", planned=len(planned.changes))
    result = run_execute(planned, before, audit)
    assert result.audit_error
    assert "No space left" in result.audit_error
    assert result.stopped is not None
    assert result.stopped.reason is StopReason.AUDIT_FAILED
    assert result.not_attempted > 0, "no new batch after the failure"
    intents = {r["request"]["url"] for r in map(json.loads, disk.getvalue().splitlines()) if r["type"] == "intent"}
    sent = {w["url"] for w in fake.writes}
    assert sent, "some batches went out before the disk filled"
    assert sent <= intents, "every write Graph received has its intent on disk"


def test_a_401_midway_stops_with_a_summary_of_what_was_applied(
    router: respx.MockRouter, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = rollout_document(200)
    fake = fake_for(document, router)

    def expiring(batch: int) -> Any:
        if batch >= 2:  # the token expired after the first batch
            import httpx

            body = {"error": {"code": "InvalidAuthenticationToken", "message": "Lifetime validation failed."}}
            return httpx.Response(401, json=body)
        return None

    on_each_batch(fake, expiring)
    status = main(["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(tmp_path / "a.jsonl")])
    err = capsys.readouterr().err
    assert status == 1, err
    line = next((line for line in err.splitlines() if line.startswith("Apply: ")), err)
    assert "20 applied" in line
    assert "not attempted" in line
    assert "Graph refused" in line
    log = audit_records(tmp_path / "a.jsonl")
    assert log[-1]["type"] == "end"
    assert log[-1]["applied"] == 20


def test_a_sign_in_failure_is_one_message_without_stray_task_errors(
    router: respx.MockRouter,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from teamslicensing.errors import AuthenticationError
    from teamslicensing.graph.tokens import Tokens

    fake_for(rollout_document(5), router)
    monkeypatch.delenv("TEAMS_LICENSING_ACCESS_TOKEN", raising=False)

    def no_token(connection: Any, access_token: str | None = None) -> Any:
        async def fetch() -> str:
            raise AuthenticationError("could not get a token: no credential worked. Sign in with `az login`.")

        return Tokens(fetch)

    monkeypatch.setattr("teamslicensing.graph.client.token_provider", no_token)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        assert main(["plan", str(config), "--graph-url", BASE]) == 1
        gc.collect()
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["could not get a token: no credential worked. Sign in with `az login`."]
    assert "never retrieved" not in caplog.text
    assert "Traceback" not in err


def test_two_applies_on_one_machine_one_waits_its_turn(config: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(rollout_document(3)), encoding="utf-8")
    first = app.plan(config, app.TenantSource(snapshot=snapshot))
    from teamslicensing.apply.lock import tenant_lock

    with (
        tenant_lock(f"snapshot:{snapshot.resolve()}", "the test"),
        pytest.raises(UsageError, match="another apply is running"),
    ):
        app.apply(first, app.ApplyOptions(audit_path=tmp_path / "a.jsonl"))
    assert not (tmp_path / "a.jsonl").exists() or (tmp_path / "a.jsonl").stat().st_size == 0
    result = app.apply(first, app.ApplyOptions(audit_path=tmp_path / "b.jsonl"))
    assert result.count(APPLIED) == 3
    assert len(holders(json.loads(snapshot.read_text(encoding="utf-8")), MCOPSTN1)) == 3


def test_graph_going_down_midway_stops_the_run_and_says_what_is_unknown(
    router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    document = rollout_document(400)
    fake = fake_for(document, router)
    planned, before = planned_for(document, config)
    original = fake.handle
    batches = {"answered": 0}

    def outage(request: Any) -> Any:
        import httpx

        if batches["answered"] >= 1:  # after the first batch, every request meets a 503
            return httpx.Response(503, json={"error": {"code": "ServiceUnavailable", "message": "down"}})
        if request.url.path.endswith("/$batch"):
            batches["answered"] += 1
        return original(request)

    fake.handle = outage  # type: ignore[method-assign]
    with AuditLog.open(tmp_path / "audit.jsonl", before) as audit:
        result = run_execute(planned, before, audit)
    assert result.stopped is not None
    assert result.stopped.reason is StopReason.GRAPH_ERROR
    assert result.count(APPLIED) == 20
    assert result.count(UNKNOWN) >= 40, "sent into the outage and not readable back: unknown, not 'failed'"
    assert result.not_attempted > 0, "no new batches once Graph was seen down"
    assert result.count(APPLIED) + result.count(UNKNOWN) + result.count(FAILED) + result.not_attempted == 400


def test_a_lock_held_by_a_killed_process_is_free_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from teamslicensing.apply.lock import tenant_lock

    monkeypatch.setenv("TEAMS_LICENSING_LOCK_DIR", str(tmp_path))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom teamslicensing.apply.lock import tenant_lock\n"
            "with tenant_lock('tenant:x', 'x'):\n    print('held', flush=True)\n    time.sleep(60)",
        ],
        env={**os.environ, "TEAMS_LICENSING_LOCK_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(UsageError, match=f"pid {holder.pid} on"), tenant_lock("tenant:x", "x"):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    started = time.monotonic()
    with tenant_lock("tenant:x", "x"):  # the operating system released it with the process: nothing stale
        assert time.monotonic() - started < 1


def test_an_unforeseen_transport_error_midway_is_read_back_and_the_run_completes(
    router: respx.MockRouter, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import httpx

    fake = fake_for(rollout_document(100), router)

    def garbled(batch: int) -> None:
        if batch == 2:
            raise httpx.DecodingError("Error -3 while decompressing data: incorrect header check")

    on_each_batch(fake, garbled)
    status = main(["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(tmp_path / "a.jsonl")])
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert "Traceback" not in err
    assert status == 0, err
    assert "Apply: 100 applied, 0 failed, 0 not attempted" in err, "the garbled batch was read back and re-sent"
    log = audit_records(tmp_path / "a.jsonl")
    assert any(r["type"] == "verified" and r["state"] == "notDone" for r in log)
    assert log[-1]["type"] == "end"
