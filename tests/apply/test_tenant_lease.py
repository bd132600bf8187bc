"""One writing run per tenant across machines: the lease on `locks/<tenant id>` in a Storage container.

Against the stateful fake Graph (respx) and a fake Storage account over HTTPS on loopback. Tests that watch a
lease expire or be renewed run the fake's clock 20 times faster than the wall clock, and the lease's own clock as
fast (`LeaseTiming(speedup=20)`): a 60-second lease lasts 3 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

from teamslicensing import app
from teamslicensing.apply.stop import LEASE_LOST_SETTLE, StopSwitch, bounded
from teamslicensing.cli import main
from teamslicensing.exitcodes import for_writes
from teamslicensing.graph import Connection
from teamslicensing.graph.blob import GivenToken, container_client
from teamslicensing.graph.lease import LEASE_CLIENT_SETTINGS, BlobLease, LeaseTiming
from teamslicensing.model.outcome import APPLIED, StopReason
from tests.conftest import STORAGE_TOKEN
from tests.support.fakegraph import FakeGraph
from tests.support.fakestorage import FakeStorage
from tests.support.faults import BASE, TOKEN, audit_records, fake_for, on_each_batch
from tests.support.rollout import TENANT_ID, rollout_document

USERS = 200
LOCK = f"locks/{TENANT_ID}"
SPEEDUP = 20.0
FAST = LeaseTiming(speedup=SPEEDUP)

pytestmark = pytest.mark.usefixtures("graph_token")


@pytest.fixture
def fake(router: respx.MockRouter) -> FakeGraph:
    """The rollout tenant: every one of its users needs one write; its subscriptions name the tenant (accountId)."""
    return fake_for(rollout_document(USERS), router)


@pytest.fixture
def fast_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStorage]:
    with FakeStorage(tmp_path, STORAGE_TOKEN, speedup=SPEEDUP) as storage:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(storage.ca_path))
        yield storage


@contextlib.contextmanager
def another_holder(storage: FakeStorage) -> Iterator[BlobLease]:
    """Another run (on another machine) takes the tenant's lease, and neither renews nor releases it: it holds the
    tenant for the lease's minute, as a run that died just after taking it would."""
    with container_client(storage.container_url(), GivenToken(STORAGE_TOKEN), **LEASE_CLIENT_SETTINGS) as container:
        lease = BlobLease(container, LOCK, LeaseTiming(speedup=storage.store.speedup))
        holder = {"command": "the runbook", "pid": 4242, "host": "sandbox-1", "started": "2026-08-30T02:00:00+00:00"}
        assert lease.take(holder) is None
        yield lease


def lease_options(storage: FakeStorage, **overrides: Any) -> app.LeaseOptions:
    return app.LeaseOptions(storage.container_url(), storage_token=STORAGE_TOKEN, **overrides)


def graph_source() -> app.TenantSource:
    return app.TenantSource(graph=app.GraphAccess(Connection.from_options(graph_url=BASE), TOKEN))


def apply_options(tmp_path: Path, name: str = "audit.jsonl") -> app.ApplyOptions:
    return app.ApplyOptions(audit_path=tmp_path / name)


def cli_apply(config: Path, tmp_path: Path, storage: FakeStorage, *args: str) -> int:
    audit = tmp_path / f"audit-{time.monotonic_ns()}.jsonl"
    lease = ["--lease-url", storage.container_url()]
    return main(["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(audit), *lease, *args])


def test_the_lease_is_taken_at_the_first_read_renewed_while_held_and_released_at_the_end(
    fake: FakeGraph, fast_storage: FakeStorage, config: Path, tmp_path: Path
) -> None:
    with app.tenant_lease(graph_source(), lease_options(fast_storage, timing=FAST)) as source:
        assert fast_storage.requests == [], "armed, not taken: nothing asked yet"
        assert fake.requests == []
        run = app.plan(config, source)
        assert fast_storage.lease_actions(LOCK) == ["acquire 404", "acquire 201"], "created, then leased"
        time.sleep(2 * 60 / SPEEDUP)  # two leases' worth: held only if renewed
        result = app.apply(run, apply_options(tmp_path))
        blob = fast_storage.store.blobs[("teams-licensing", LOCK)]
        assert fast_storage.store.lease_state(blob) == "leased"
    actions = fast_storage.lease_actions(LOCK)
    assert actions[-1] == "release 200"
    assert actions.count("renew 200") >= 6, actions  # every 15 lease seconds, over 120 and more
    assert set(actions[2:-1]) == {"renew 200"}
    assert fast_storage.store.lease_state(blob) == "available", "released, free for the next run at once"
    assert result.count(APPLIED) == USERS
    holder = json.loads(fast_storage.content(LOCK) or b"{}")
    assert (holder["command"], holder["pid"]) == ("apply", os.getpid()), "who holds it, for a waiting run"


def test_a_second_run_waits_for_the_lease_then_stops_with_exit_4_having_read_nothing(
    fake: FakeGraph, storage: FakeStorage, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    started = time.monotonic()
    with another_holder(storage):
        status = cli_apply(config, tmp_path, storage, "--lease-wait", "3s", "--format", "json", "--output", str(report))
    waited = time.monotonic() - started
    err = capsys.readouterr().err
    assert status == 4, err
    assert 3 <= waited < 3 + 5
    assert f"another run holds tenant {TENANT_ID}: the runbook as pid 4242 on sandbox-1 since 2026-08-30" in err
    assert f"Tenant {TENANT_ID} is held by the runbook as pid 4242" in err, "the wait is said as it begins"
    result = json.loads(report.read_text(encoding="utf-8"))["result"]
    assert result["stopped"]["reason"] == "tenantLocked"
    assert result["applied"] == result["notAttempted"] == 0
    assert fake.writes == []
    assert [path for _, path in fake.requests] == ["/subscribedSkus"], "which tenant it is; not a user was read"
    tries = storage.lease_actions(LOCK)[2:]  # after the other holder created the blob and took the lease
    assert len(tries) >= 3, "tried again at a growing pace"
    assert set(tries) == {"acquire 409"}
    assert not list(tmp_path.glob("audit-*.jsonl")), "no audit log: nothing was to be written"


def test_a_dead_holders_lease_expires_and_the_waiting_run_applies(
    fake: FakeGraph, fast_storage: FakeStorage, config: Path, tmp_path: Path
) -> None:
    """A holder killed mid-run (a sandbox deleted) neither renews nor releases: Storage ends its lease when the
    minute is up, and the run that waited takes the tenant and writes."""
    with another_holder(fast_storage):
        pass  # it took the lease, and died
    started = time.monotonic()
    with app.tenant_lease(graph_source(), lease_options(fast_storage, timing=FAST, wait=30.0)) as source:
        run = app.plan(config, source)
        waited = time.monotonic() - started
        result = app.apply(run, apply_options(tmp_path))
    assert 60 / SPEEDUP * 0.8 <= waited < 60 / SPEEDUP + 5, f"waited {waited:.1f} s for a 3 s lease to expire"
    actions = fast_storage.lease_actions(LOCK)
    assert actions[:3] == ["acquire 404", "acquire 201", "acquire 409"]
    assert "acquire 201" in actions[3:]
    assert result.count(APPLIED) == USERS == len(fake.writes)


def test_sigterm_while_waiting_for_the_lease_ends_the_run_cleanly_with_its_summary(
    fake: FakeGraph, storage: FakeStorage, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM))
    with another_holder(storage):
        timer.start()
        try:
            status = cli_apply(config, tmp_path, storage, "--lease-wait", "60s")
        finally:
            timer.cancel()
    err = capsys.readouterr().err
    assert status == 143, err
    line = next(line for line in err.splitlines() if line.startswith("Apply: "))
    assert "stopped by SIGTERM: SIGTERM received while waiting for tenant" in line
    assert "nothing was read or written" in line
    assert fake.writes == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "the handler before the wait is back"


@pytest.mark.parametrize(
    ("how", "at_batch", "why"),
    [
        ("broken", None, "Storage refused to renew the lease on"),
        ("broken", 2, "409 LeaseIsBrokenAndCannotBeRenewed"),
        ("unanswered", 2, "got through for 2 s (Storage answered 503 ServerBusy"),
    ],
)
def test_a_lease_lost_stops_the_writes_with_a_summary(
    fake: FakeGraph,
    fast_storage: FakeStorage,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    how: str,
    at_batch: int | None,
    why: str,
) -> None:
    """Storage ends the lease (an administrator broke it) or no renewal gets through for 45 lease seconds: from
    then on another run may take the tenant, so this one takes no new batch, says why, and exits 1. A lease lost
    while the plan was being made stops the writes before the first batch."""

    def lose_it() -> None:
        if how == "broken":
            fast_storage.store.break_lease("teams-licensing", LOCK)
            time.sleep(2 * FAST.real(FAST.renew_every))  # a renewal is refused
        else:
            fast_storage.busy_for.add("renew")
            time.sleep(FAST.real(FAST.renew_every + FAST.give_up_after) + 0.5)  # none gets through in time

    if at_batch is not None:
        on_each_batch(fake, lambda n: lose_it() if n == at_batch else None)
    options = lease_options(fast_storage, timing=FAST, notice=print)
    with app.tenant_lease(graph_source(), options) as source:
        run = app.plan(config, source)
        if at_batch is None:
            lose_it()
        result = app.apply(run, apply_options(tmp_path))
    assert result.stopped is not None
    assert result.stopped.reason is StopReason.LEASE_LOST
    assert why in result.stopped.message
    written = 0 if at_batch is None else 20 * at_batch  # the pacer sends its first batches one at a time
    assert len(fake.writes) == result.count(APPLIED) == written
    assert result.not_attempted == USERS - written
    assert for_writes(result, False) == 1
    assert audit_records(tmp_path / "audit.jsonl")[-1]["stopped"] == "leaseLost"
    assert "release 200" not in fast_storage.lease_actions(LOCK), "a lost lease is not released"
    if how == "unanswered":
        said = capsys.readouterr().out
        assert said.count(f"A renewal of the lease on {LOCK} failed (Storage answered 503 ServerBusy") == 1


def test_undo_and_reprocess_hold_the_lease_too_and_plan_never_does(
    fake: FakeGraph, storage: FakeStorage, config: Path, tmp_path: Path
) -> None:
    lease = ["--lease-url", storage.container_url()]
    audit = tmp_path / "apply.jsonl"
    main(["plan", str(config), "--graph-url", BASE])
    assert storage.requests == [], "plan takes no lease (and has no --lease-url)"
    assert main(["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(audit), *lease]) == 0
    undo = ["undo", str(audit), "--graph-url", BASE, "--yes", "--audit-log", str(tmp_path / "undo.jsonl")]
    assert main([*undo, "--allow-number-loss", "--max-removals", str(USERS), *lease]) == 0
    reprocess = ["reprocess", "--user", "user000001@contoso.com", "--graph-url", BASE, "--yes"]
    assert main([*reprocess, "--audit-log", str(tmp_path / "re.jsonl"), *lease]) == 0
    taken = ["acquire 201", "release 200"]
    assert storage.lease_actions(LOCK) == ["acquire 404", *taken, *taken, *taken]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lease-wait", "1m"], "--lease-wait applies with --lease-url"),
        (["--lease-url", "http://127.0.0.1:10000/devstoreaccount1/locks"], "is plain http"),
        (["--lease-url", "https://attacker.example/locks"], "is not a blob container URL"),
        (["--lease-url", "https://acct.blob.core.windows.net/locks", "--snapshot", "x.json"], "a snapshot file"),
    ],
)
def test_lease_options_that_cannot_work_are_refused_before_graph_is_asked_anything(
    fake: FakeGraph, config: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", str(config), "--graph-url", BASE, "--yes", *args]) == 1
    assert message in capsys.readouterr().err
    assert fake.requests == []


def test_a_tenant_that_cannot_be_named_is_not_leased(
    router: respx.MockRouter, storage: FakeStorage, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An opaque token (no tid claim) and subscriptions without accountId: no lease can name the tenant, so the run
    refuses rather than take a lease that another run, naming it differently, would not see."""
    document = rollout_document(5)
    for sku in document["subscribedSkus"]:
        del sku["accountId"]
    fake = fake_for(document, router)
    assert cli_apply(config, tmp_path, storage) == 1
    assert "cannot tell which tenant" in capsys.readouterr().err
    assert fake.writes == []
    assert storage.requests == []


@pytest.mark.parametrize("outright", [False, True], ids=["items throttled", "the whole batch throttled"])
def test_no_write_leaves_once_the_lease_is_known_lost_not_even_a_retry(
    fake: FakeGraph, fast_storage: FakeStorage, config: Path, tmp_path: Path, outright: bool
) -> None:
    """An administrator breaks the lease while Graph throttles the first batch of writes for 4 s, longer than this
    run takes to find the lease lost: the throttled writes are not sent again once it is known (another run may
    hold the tenant by then), the run ends without waiting the 4 s out, and its summary says the lease was lost."""
    write_batches: list[float] = []  # when each $batch carrying writes reached Graph
    answer = fake.handle

    def handle(request: Any) -> Any:
        if request.url.path.endswith("/$batch") and any(
            i["method"] != "GET" for i in json.loads(request.content)["requests"]
        ):
            write_batches.append(time.monotonic())
            if len(write_batches) == 1:
                fast_storage.store.break_lease("teams-licensing", LOCK)
                fake.throttle_next(1 if outright else 20, retry_after=4.0, outright=outright)
        return answer(request)

    fake.handle = handle  # type: ignore[method-assign]
    lost_at: list[float] = []
    with app.tenant_lease(graph_source(), lease_options(fast_storage, timing=FAST)) as source:
        run = app.plan(config, source)
        lease = source.lease
        assert lease is not None

        def watch() -> None:
            while lease.lost is None and not lost_at:
                time.sleep(0.005)
            lost_at.append(time.monotonic())

        threading.Thread(target=watch, daemon=True).start()
        started = time.monotonic()
        result = app.apply(run, apply_options(tmp_path))
        took = time.monotonic() - started
        lost_at.append(time.monotonic())  # (ends the watch, should the loss not have been seen)
    assert result.stopped is not None
    assert result.stopped.reason is StopReason.LEASE_LOST
    assert [t for t in write_batches if t > lost_at[0]] == [], "a write batch was sent after the lease was lost"
    assert took < 4.0, f"the run waited {took:.1f} s for a Retry-After after its lease was lost"
    assert (result.count(APPLIED), result.not_attempted) == (0, USERS)
    assert for_writes(result, False) == 1


def test_a_renewal_stuck_on_its_timeouts_does_not_hide_that_the_lease_is_lost(fast_storage: FakeStorage) -> None:
    """Storage takes a renewal and does not answer: the renewal thread waits on its request's timeouts, yet the
    lease counts as lost as soon as no renewal was confirmed for 45 lease seconds, before Storage could give it to
    another run (60), not when the stuck request at last gives up."""
    answer = fast_storage.answer

    def renewals_unanswered(method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        if headers.get("x-ms-lease-action") == "renew":
            time.sleep(3.5)  # more than the lease's minute on this clock
        return answer(method, path, headers, body)

    fast_storage.answer = renewals_unanswered  # type: ignore[method-assign]
    with container_client(fast_storage.container_url(), GivenToken(STORAGE_TOKEN), **LEASE_CLIENT_SETTINGS) as client:
        lease = BlobLease(client, LOCK, FAST)
        taken = time.monotonic()  # before Storage confirmed the lease: the 45 s run from when it was asked for
        assert lease.take({"command": "a test"}) is None
        lease.keep_renewed()
        while lease.lost is None and time.monotonic() - taken < 6.0:
            time.sleep(0.01)
        found = time.monotonic() - taken
        lease.release()
    assert lease.lost is not None
    assert "no renewal of the lease" in lease.lost
    assert FAST.real(FAST.give_up_after) <= found < FAST.real(FAST.seconds), f"lost found after {found:.2f} s"


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        (None, StopReason.LEASE_LOST),
        (StopReason.TIME_BUDGET, StopReason.LEASE_LOST),
        (StopReason.TERMINATED, StopReason.TERMINATED),
    ],
)
def test_a_lost_lease_abandons_writes_in_flight_and_is_the_runs_reason_unless_a_signal_came_first(
    first: StopReason | None, reason: StopReason
) -> None:
    """Whenever it comes, a lost lease is a hard stop: a batch of writes still in flight (here one that never ends) is
    abandoned moments later, though the stop before it would let it run for a minute; and it is the reason the run
    gives (exit 1), whatever stop came before, unless a signal did, whose exit code wins; the summary says both."""
    switch = StopSwitch(grace=60.0)
    if first is not None:
        switch.request(first, "the first stop")

    async def in_flight() -> tuple[bool, float]:
        batch = asyncio.ensure_future(asyncio.sleep(3600))
        asyncio.get_running_loop().call_later(0.2, switch.request, StopReason.LEASE_LOST, "Storage refused to renew")
        started = time.monotonic()
        finished = await bounded(batch, switch, switch.grace, None)
        return finished, time.monotonic() - started

    finished, took = asyncio.run(in_flight())
    assert not finished
    assert took < 0.2 + LEASE_LOST_SETTLE + 1.0
    assert switch.stop is not None
    assert switch.stop.reason is reason
    assert "Storage refused to renew" in switch.stop.message
    assert first is None or "the first stop" in switch.stop.message
