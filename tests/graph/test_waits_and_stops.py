"""Every wait of a run ends when the run stops, and all of them together are bounded.

A stop (a signal, the time budget, a lost lease) cuts short the wait for a throttled item's Retry-After between a
`$batch`'s rounds, tenacity's wait before a whole `$batch` goes again, and the pacer's wait for a batch's turn; and
nothing is sent after it. The run's waiting in all is bounded (MAX_RUN_WAIT): once the next wait would pass the
bound, the run settles what it holds (what Graph did is applied, what it did not is not attempted) instead of
sleeping on. Against the stateful fake Graph; the retry policy's accounting on its own.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import respx

from teamslicensing import app
from teamslicensing.cli import main
from teamslicensing.errors import RetryableError
from teamslicensing.graph import Connection, Graph
from teamslicensing.graph.batching import NOT_SENT, STOPPED
from teamslicensing.graph.retries import RetryPolicy
from teamslicensing.graph.wire import BatchRequest, BatchResponse
from teamslicensing.model.outcome import APPLIED, FAILED, StopReason
from tests.support.faults import BASE, TOKEN, audit_records, fake_for, on_each_batch
from tests.support.rollout import MCOPSTN1, holders, rollout_document

pytestmark = pytest.mark.usefixtures("graph_token")

LONG = 60.0  # seconds Graph asks to wait: far longer than any of these tests may take


def write_batches(router: respx.MockRouter) -> int:
    """`$batch` requests carrying writes that reached Graph."""
    return sum(
        1
        for call in router.calls
        if call.request.url.path.endswith("/$batch")
        and any(item["method"] != "GET" for item in json.loads(call.request.content)["requests"])
    )


def patches(users: list[str]) -> list[BatchRequest]:
    return [BatchRequest(str(n), "PATCH", f"/users/{user}", {"usageLocation": "GB"}) for n, user in enumerate(users)]


def stopped_after(seconds: float, send: Callable[[Graph, Callable[[], bool]], Awaitable[Any]]) -> tuple[Any, float]:
    """Run `send(graph, keep_trying)`, a stop asked for `seconds` after it began: what it returned, how long it took."""
    stop = False

    def keep_trying() -> bool:
        return not stop

    def stop_now() -> None:
        nonlocal stop
        stop = True

    async def go() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN, backoff_base=0.001) as graph:
            asyncio.get_running_loop().call_later(seconds, stop_now)
            return await send(graph, keep_trying)

    started = time.monotonic()
    result = asyncio.run(go())
    return result, time.monotonic() - started


@pytest.mark.parametrize("outright", [False, True], ids=["items throttled", "the whole batch throttled"])
def test_a_stop_ends_the_wait_for_retry_after_and_nothing_is_sent_again(
    router: respx.MockRouter, outright: bool
) -> None:
    """Graph throttles a batch of writes, each item on its own or the `$batch` as a whole, and asks for a minute;
    the run stops a moment later. The wait ends then, and the writes settle with Graph's 429 (none of them was done)
    and why they were not sent again."""
    document = rollout_document(20)
    fake = fake_for(document, router)
    fake.throttle_next(1 if outright else 20, retry_after=LONG, outright=outright)
    users = [user["id"] for user in document["users"]]

    async def send(graph: Graph, keep_trying: Callable[[], bool]) -> list[BatchResponse]:
        return await graph.batch(patches(users), None, keep_trying)

    answers, took = stopped_after(0.3, send)
    assert took < 2.0, f"the stopped batch waited {took:.1f} s"
    assert write_batches(router) == 1, "nothing was sent after the stop"
    assert [a.status for a in answers] == [429] * 20
    assert all(STOPPED in a.error_message for a in answers)
    assert holders(fake.document(), MCOPSTN1) == set()


def test_a_stop_ends_the_wait_for_a_batchs_turn_at_the_pace_and_the_batch_never_leaves(
    router: respx.MockRouter,
) -> None:
    """At a learnt pace of one write a second, the second batch of 20 waits 20 s for its turn. The run stops a moment
    later: the second batch never leaves (no attempt; the caller is never told it was sent), the first stands."""
    document = rollout_document(40)
    fake_for(document, router)
    users = [user["id"] for user in document["users"]]
    sent: list[int] = []

    async def send(graph: Graph, keep_trying: Callable[[], bool]) -> list[list[BatchResponse]]:
        graph.pacer.rate = 1.0
        first, second = patches(users[:20]), patches(users[20:])
        on_send = lambda round_requests: sent.append(len(round_requests))  # noqa: E731
        return list(
            await asyncio.gather(
                graph.batch(first, None, keep_trying, on_send), graph.batch(second, None, keep_trying, on_send)
            )
        )

    (first, second), took = stopped_after(0.3, send)
    assert took < 2.0, f"the stopped batch waited {took:.1f} s for its turn"
    assert sent == [20], "only the first batch left"
    assert all(a.ok for a in first)
    assert [(a.status, a.attempts) for a in second] == [(0, 0)] * 20
    assert all(NOT_SENT in a.error_message for a in second)
    assert write_batches(router) == 1


@pytest.mark.parametrize("outright", [False, True], ids=["items throttled", "the whole batch throttled"])
def test_the_time_budget_ends_a_long_retry_after_at_once_with_the_summary(
    router: respx.MockRouter, config: Path, tmp_path: Path, outright: bool
) -> None:
    """The second batch of writes is throttled for two minutes and the time budget runs out two seconds in:
    the run ends then (not after the grace period, nor after the two minutes), the first batch applied, the others
    not attempted, nothing failed."""
    fake = fake_for(rollout_document(60), router)
    run = app.plan(config, app.TenantSource(graph=app.GraphAccess(Connection(BASE), access_token=TOKEN)))
    on_each_batch(
        fake,
        lambda n: fake.throttle_next(1 if outright else 20, retry_after=120.0, outright=outright) if n == 2 else None,
    )
    started = time.monotonic()
    result = app.apply(run, app.ApplyOptions(audit_path=tmp_path / "a.jsonl", deadline=started + 2.0))
    took = time.monotonic() - started
    assert took < 5.0, f"the stopped run waited {took:.1f} s"
    assert result.stopped is not None
    assert result.stopped.reason is StopReason.TIME_BUDGET
    assert (result.count(APPLIED), result.count(FAILED), result.not_attempted) == (20, 0, 40)
    assert write_batches(router) == 2, "nothing was sent after the stop"


@pytest.fixture
def short_run_wait(monkeypatch: pytest.MonkeyPatch) -> float:
    """The run may wait half a second in all (an hour in real runs)."""
    monkeypatch.setattr("teamslicensing.graph.retries.MAX_RUN_WAIT", 0.5)
    return 0.5


@pytest.mark.usefixtures("short_run_wait")
@pytest.mark.parametrize(
    ("outright", "applied"), [(False, 15), (True, 0)], ids=["items throttled", "the whole batch throttled"]
)
def test_once_the_runs_waiting_is_spent_what_graph_did_is_applied_and_the_rest_not_attempted(
    router: respx.MockRouter,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    outright: bool,
    applied: int,
) -> None:
    """Graph carries out 15 writes of a batch of 20 and throttles 5 for 30 s (or throttles the whole batch), more
    than the run may still wait. The run does not sleep on: it stops, says why, counts what Graph did as applied and
    leaves the rest not attempted (none of it failed: Graph did nothing with a 429), and exits 1."""
    fake = fake_for(rollout_document(20), router)
    on_each_batch(
        fake,
        lambda n: fake.throttle_next(1 if outright else 5, retry_after=30.0, outright=outright) if n == 1 else None,
    )
    log = tmp_path / "a.jsonl"
    started = time.monotonic()
    status = main(["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(log)])
    took = time.monotonic() - started
    err = capsys.readouterr().err
    assert status == 1, err
    assert took < 10.0, f"the run slept {took:.1f} s"
    assert len(holders(fake.document(), MCOPSTN1)) == applied
    end = audit_records(log)[-1]
    assert (end["applied"], end["failed"], end["notAttempted"]) == (applied, 0, 20 - applied)
    assert end["stopped"] == "graphError"
    summary = next(line for line in err.splitlines() if line.startswith("Apply: "))
    assert "Graph kept this run waiting" in summary
    assert write_batches(router) == 1


@pytest.mark.usefixtures("short_run_wait")
def test_a_read_the_runs_spent_waiting_stops_says_so(
    router: respx.MockRouter, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read Graph throttles for longer than the run may still wait fails at once, saying why."""
    fake = fake_for(rollout_document(20), router)
    fake.throttle_next(1, retry_after=30.0, outright=True)  # the plan's first read
    started = time.monotonic()
    assert main(["plan", str(config), "--graph-url", BASE]) == 1
    assert time.monotonic() - started < 5.0
    err = capsys.readouterr().err
    assert "Graph kept this run waiting" in err, err
    assert "run again later" in err


def test_only_the_waits_taken_count_against_the_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three attempts are two waits: tenacity also computes a wait after the last failure, before it gives up, and
    that one is never slept, so it does not count."""
    slept: list[float] = []

    async def pause(seconds: float, stopping: Callable[[], bool] | None = None) -> bool:
        slept.append(seconds)
        return True

    monkeypatch.setattr("teamslicensing.graph.retries.pause", pause)
    policy = RetryPolicy(max_attempts=3, backoff_base=1.0)

    async def always_busy() -> None:
        async for attempt in policy.retrying(repeatable=True, before_sleep=lambda state: None):
            with attempt:
                raise RetryableError(503, "ServiceUnavailable", "busy")

    with pytest.raises(RetryableError):
        asyncio.run(always_busy())
    assert len(slept) == 2
    assert policy.waited == pytest.approx(sum(slept))
    assert policy.spent is None
