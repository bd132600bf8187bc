"""Stops during an apply against the stateful fake: the time budget during throttling, a Graph that stops
answering, writes cut off in flight that Graph still carries out, and a stop that comes while abandoned writes are
being read back. However it stops, the run ends within its bounds and accounts for every user."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import respx

from teamslicensing import app
from teamslicensing.apply.audit import AuditLog
from teamslicensing.apply.executor import execute
from teamslicensing.apply.journal import read_journal
from teamslicensing.apply.stop import StopSwitch
from teamslicensing.cli import main
from teamslicensing.config import load_desired_state
from teamslicensing.graph import Connection
from teamslicensing.graph.requests import write_request
from teamslicensing.model.outcome import APPLIED, FAILED, UNKNOWN, StopReason, Write, WriteAttempt
from teamslicensing.plan.planner import plan
from teamslicensing.reference.availability import load_availability
from teamslicensing.tenant.snapshot import parse_snapshot
from tests.support.fakegraph import FakeGraph
from tests.support.faults import BASE, TOKEN, audit_records, fake_for, on_each_batch
from tests.support.rollout import holders, rollout_document

pytestmark = pytest.mark.usefixtures("graph_token")


def test_the_time_budget_holds_during_a_throttling_storm(
    router: respx.MockRouter, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_for(rollout_document(400), router, write_quota=(20, 2.0))  # 10 writes a second: 40 s of work
    started = time.monotonic()
    args = ["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(tmp_path / "a.jsonl")]
    status = main([*args, "--time-budget", "3s"])
    took = time.monotonic() - started
    err = capsys.readouterr().err
    assert status == 4, err
    assert took < 3 + 5, f"stopped in time ({took:.1f} s)"
    summary = next(line for line in err.splitlines() if line.startswith("Apply: "))
    assert "0 failed" in summary, "a throttled write left at the stop is not attempted, not failed"
    assert "the time budget ran out" in summary


def test_a_graph_that_stops_answering_holds_a_stopped_run_only_for_the_grace_period(
    router: respx.MockRouter, config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the time budget runs out, batches in flight get the grace period and their read-back a bounded time
    more; a Graph that hangs is not waited out (it once held a 3 s budget for 8.5 minutes). What was not read back
    is unknown; a write read back as never done is left for the next run, not counted as a failure."""
    fake = fake_for(rollout_document(200), router)

    def hanging_after_the_first_batch(batch: int) -> None:
        if batch == 1:
            fake.latency = 600.0  # from now on every request hangs

    on_each_batch(fake, hanging_after_the_first_batch)
    source = app.TenantSource(graph=app.GraphAccess(Connection(BASE), access_token=TOKEN))
    run = app.plan(config, source)
    started = time.monotonic()
    options = app.ApplyOptions(audit_path=tmp_path / "a.jsonl", deadline=started + 2.0, grace=1.0)
    result = app.apply(run, options)
    took = time.monotonic() - started
    assert took < 2.0 + 1.0 + 1.0 + 3.0, f"the stopped run waited {took:.1f} s on a Graph that does not answer"
    assert result.stopped is not None
    assert result.stopped.reason is StopReason.TIME_BUDGET
    assert result.count(APPLIED) == 20, "the one answered batch"
    assert result.count(FAILED) == 0, "nothing Graph refused"
    assert result.count(UNKNOWN) > 0, "the batches abandoned in flight could not be read back"
    end = audit_records(tmp_path / "a.jsonl")[-1]
    assert end["type"] == "end"
    assert end["applied"] + end["unknown"] + end["notAttempted"] == 200


def test_writes_cut_off_in_flight_are_unknown_and_undo_still_sees_them_once_graph_carries_them_out(
    router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    """Write batches outlast the grace period while reads still answer. Graph received them, so it may still carry
    them out after the read-back found them not done: they are `unknown` (not failed, not "not attempted"), the
    audit log says `pending`, and once Graph has done them `undo` takes every one of them back."""
    fake = FakeGraph(copy.deepcopy(rollout_document(200)), base_url=BASE, fractional_retry_after=True)
    received: list[Any] = []  # write batches Graph received and had not finished when the run gave up on them
    write_batches = 0
    slow = True

    async def never_in_time(request: Any) -> Any:
        received.append(request)
        await asyncio.sleep(60.0)

    def slow_writes(request: Any) -> Any:
        nonlocal write_batches
        if slow and request.url.path.endswith("/$batch") and b'"POST"' in request.content:
            write_batches += 1
            if write_batches > 1:
                return never_in_time(request)
        return fake.handle(request)

    router.route(host="graph.microsoft.com").mock(side_effect=slow_writes)
    run = app.plan(config, app.TenantSource(graph=app.GraphAccess(Connection(BASE), access_token=TOKEN)))
    started = time.monotonic()
    result = app.apply(run, app.ApplyOptions(audit_path=tmp_path / "a.jsonl", deadline=started + 3.0, grace=0.5))
    cut_off = {item["url"].split("/")[2] for r in received for item in json.loads(r.content)["requests"]}
    assert cut_off, "some batches were in flight at the stop"
    assert result.count(FAILED) == 0, [r for r in result.results if r.status == FAILED][:3]
    assert result.count(APPLIED) == 20
    unknown = {r.user_id for r in result.results if r.status == UNKNOWN}
    assert unknown == cut_off
    assert all("Graph may still apply it" in (r.reason or "") for r in result.results if r.status == UNKNOWN)
    log = audit_records(tmp_path / "a.jsonl")
    assert {r["state"] for r in log if r["type"] == "verified"} == {"pending"}
    assert log[-1]["notAttempted"] == 180 - len(cut_off), "never sent: the next run does them"
    listed = [r for r in result.results if r.status == "notAttempted"]
    assert len(listed) == result.not_attempted == 180 - len(cut_off), "each user not attempted is named"
    assert not {r.user_id for r in listed} & unknown

    for request in received:  # Graph finishes what it had received
        fake.handle(request)
    landed = holders(fake.document())
    assert len(landed) == 20 + len(cut_off)
    assert landed <= {user.user_id for user in read_journal(tmp_path / "a.jsonl").users}, "the log names every one"

    slow = False
    undo = ["undo", str(tmp_path / "a.jsonl"), "--graph-url", BASE, "--yes", "--audit-log", str(tmp_path / "u.jsonl")]
    assert main([*undo, "--allow-number-loss"]) == 0  # (undo withholds a calling plan's removal by default)
    assert holders(fake.document()) == set(), "every write of the run taken back, the late ones too"


class UnansweredWrites:
    """A write backend whose writes all lose their answer and whose read-back then hangs: Graph gone quiet."""

    batch_size = 20
    concurrency = 1

    def __init__(self) -> None:
        self.reading = asyncio.Event()

    async def write(
        self,
        writes: Sequence[Write],
        on_answers: Callable[..., None],
        keep_trying: Callable[[], bool],
        on_sent: Callable[[Sequence[Write]], None],
    ) -> list[WriteAttempt]:
        on_sent(writes)
        attempts = [WriteAttempt(*write_request(w), 0, "connection reset", None, trustworthy=False) for w in writes]
        on_answers(list(zip(writes, attempts, strict=True)))
        return attempts

    async def read_users(self, user_ids: Sequence[str]) -> dict[str, Any]:
        self.reading.set()
        await asyncio.sleep(600.0)  # the retry policy would allow 15 minutes per batch
        return {}


def _execute_while(
    config: Path, tmp_path: Path, switch: StopSwitch, during_read_back: Callable[[StopSwitch], None] | None
) -> tuple[Any, float]:
    desired = load_desired_state(config)
    tenant = parse_snapshot(rollout_document(20), "t", desired.selected_attributes)
    before = {user.id: user for user in tenant.users}
    planned = plan(desired, tenant, load_availability())
    backend = UnansweredWrites()
    audit = AuditLog.open(tmp_path / "a.jsonl", before)

    async def go() -> Any:
        async def stop_once_reading() -> None:
            await backend.reading.wait()
            if during_read_back is not None:
                during_read_back(switch)

        asyncio.get_running_loop().create_task(stop_once_reading())
        return await execute(planned.changes, backend, audit, before, switch=switch)  # type: ignore[arg-type]  # user writes only

    started = time.monotonic()
    try:
        result = asyncio.run(go())
    finally:
        audit.close()
    return result, time.monotonic() - started


def _ctrl_c(times: int) -> Callable[[StopSwitch], None]:
    def press(switch: StopSwitch) -> None:
        for _ in range(times):
            switch.request(StopReason.INTERRUPTED, "interrupted (SIGINT)")

    return press


@pytest.mark.parametrize(
    ("what", "during_read_back", "deadline", "bound"),
    [
        ("Ctrl-C once", _ctrl_c(1), None, 1.0 + 2.0),  # the read-back window (the grace, 1 s here)
        ("Ctrl-C twice", _ctrl_c(2), None, 2.0),  # at once
        ("the time budget", None, 2.0, 2.0 + 1.0 + 2.0),  # the deadline, then the window
    ],
)
def test_a_stop_that_comes_while_abandoned_writes_are_read_back_ends_the_read_back(
    config: Path,
    tmp_path: Path,
    what: str,
    during_read_back: Callable[[StopSwitch], None] | None,
    deadline: float | None,
    bound: float,
) -> None:
    """The read-back of writes whose answer was lost used to be bounded only by a stop asked for before it began:
    a Ctrl-C (even twice) or the time budget running out while Graph did not answer the read-back was waited out
    for the retry policy's 15 minutes per batch."""
    switch = StopSwitch(deadline=time.monotonic() + deadline if deadline else None, grace=1.0)
    result, took = _execute_while(config, tmp_path, switch, during_read_back)
    assert took < bound, f"{what}: the read-back held the stopped run for {took:.1f} s"
    assert switch.stop is not None
    assert result.count(UNKNOWN) == 20, "sent, never answered, never read back"
    assert audit_records(tmp_path / "a.jsonl")[-1]["unknown"] == 20
