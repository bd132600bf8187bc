"""A stop signal that comes just as a piece of work finishes still stops the run: the lease's take, the end of a
read and the last writes each install a handler for a while, and a signal it recorded is never lost when the work
it watched is already done (the run then stops, and says so, instead of writing on and exiting 0)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.app.signals import SignalStop, run_stoppable
from teamslicensing.apply.executor import execute
from teamslicensing.cli import main
from teamslicensing.graph.blob import BlobError
from teamslicensing.graph.lease import BlobLease
from teamslicensing.tenant.groups import licensing_group_names
from tests.apply.test_tenant_lease import LOCK, cli_apply
from tests.apply.test_tenant_lease import fake as rollout_fake  # noqa: F401
from tests.support.fakegraph import FakeGraph
from tests.support.fakestorage import FakeStorage
from tests.support.shipped_demo import demo_changes
from tests.system.test_runbook import demo_document, environment, fake, run  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def stopped_now(signum: int = signal.SIGTERM) -> None:
    """The job is stopped at this moment: the signal is sent, and its handler has run before this returns."""
    os.kill(os.getpid(), signum)
    time.sleep(0.2)


@pytest.fixture
def sigterm_default() -> Iterator[None]:
    """SIGTERM as a process starts with it, whatever an earlier test left; checked back at the end."""
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, before)


@pytest.mark.usefixtures("graph_token", "sigterm_default")
def test_sigterm_while_storage_gives_the_lease_stops_the_run_before_it_reads_and_gives_the_lease_back(
    rollout_fake: FakeGraph,  # noqa: F811
    storage: FakeStorage,
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Azure stops the job while Storage answers the acquire that gets the lease: the run reads and writes
    nothing, exits 143 with its summary, and releases the lease at once (the next job need not wait a minute)."""
    real_take = BlobLease.take

    def take_as_the_job_is_stopped(self: BlobLease, holder: Any) -> Any:
        stopped_now()
        return real_take(self, holder)

    monkeypatch.setattr(BlobLease, "take", take_as_the_job_is_stopped)
    status = cli_apply(config, tmp_path, storage, "--lease-wait", "60s")
    err = capsys.readouterr().err
    assert status == 143, err
    assert rollout_fake.writes == []
    line = next(line for line in err.splitlines() if line.startswith("Apply: "))
    assert "stopped by SIGTERM: SIGTERM received while waiting for tenant" in line
    assert storage.lease_actions(LOCK)[-1] == "release 200", "given back, not left to expire"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "the handler before the wait is back"


@pytest.mark.usefixtures("graph_token", "sigterm_default")
def test_sigterm_as_storage_refuses_the_lease_ends_the_run_as_stopped_not_as_the_storage_error(
    rollout_fake: FakeGraph,  # noqa: F811
    storage: FakeStorage,
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The wait's own handler recorded the signal, then the wait ended another way: the signal is handed to the
    handler that was there before (the CLI's), so the run still ends as a stopped one (143), nothing written."""

    def refused_as_the_job_is_stopped(self: BlobLease, holder: Any) -> Any:
        stopped_now()
        raise BlobError("cannot lease it: 403 AuthorizationPermissionMismatch")

    monkeypatch.setattr(BlobLease, "take", refused_as_the_job_is_stopped)
    status = cli_apply(config, tmp_path, storage, "--lease-wait", "60s")
    err = capsys.readouterr().err
    assert status == 143, err
    assert "terminated (SIGTERM)" in err
    assert rollout_fake.writes == []


def test_a_signal_that_comes_as_a_read_returns_stops_it() -> None:
    """The read's coroutine finishes without waiting again after the signal: its result is not handed back as if
    nothing had happened; SignalStop says which signal came, and the handler before is back."""
    before = signal.getsignal(signal.SIGINT)

    async def read_that_finishes_as_ctrl_c_comes() -> str:
        await asyncio.sleep(0)
        stopped_now(signal.SIGINT)
        return "the tenant"

    with pytest.raises(SignalStop) as stopped:
        run_stoppable(read_that_finishes_as_ctrl_c_comes())
    assert stopped.value.exit_code == 130
    assert signal.getsignal(signal.SIGINT) is before


def test_sigterm_at_the_end_of_the_runbooks_read_stops_the_job_before_any_write(
    fake: FakeGraph,  # noqa: F811
    example_config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job is stopped after the read's last request, while the read assembles the tenant: no write is made
    and the JSON line says the job was terminated."""

    async def last_request_then_stopped(*args: Any, **kwargs: Any) -> Any:
        names = await licensing_group_names(*args, **kwargs)
        stopped_now()
        return names

    monkeypatch.setattr("teamslicensing.tenant.live.licensing_group_names", last_request_then_stopped)
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    status, _, _, result = run()
    assert fake.writes == []
    assert (status, result["exitCode"]) == (143, 143)
    assert result["stopped"]["reason"] == "terminated"


def test_sigterm_as_the_last_writes_finish_is_reported_with_everything_they_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The signal comes after the executor settled the last write, while the writes' handler still holds it: every
    write stands and is counted, and the run says it was stopped (143) instead of exiting as if it had not been."""
    snapshot = tmp_path / "tenant.json"
    shutil.copy(ROOT / "config" / "examples" / "contoso-tenant.json", snapshot)

    async def writes_then_stopped(*args: Any, **kwargs: Any) -> Any:
        result = await execute(*args, **kwargs)
        stopped_now()
        return result

    monkeypatch.setattr("teamslicensing.app.core.execute", writes_then_stopped)
    config = str(ROOT / "config" / "licensing.yaml")
    status = main(["apply", config, "--snapshot", str(snapshot), "--yes", "--audit-log", str(tmp_path / "a.jsonl")])
    err = capsys.readouterr().err
    assert status == 143, err
    line = next(line for line in err.splitlines() if line.startswith("Apply: "))
    assert line.startswith(f"Apply: {demo_changes()} applied, 0 failed, 0 not attempted"), line
    assert "stopped by SIGTERM: SIGTERM received as the last writes finished" in line
