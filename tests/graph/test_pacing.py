"""The write pacer learns the quota's rate from Graph's refusals about our own quota (pure: a clock of our own, no
sleeping), and a batch of writes meets the pacer as Graph's answers say (the stateful fake)."""

from __future__ import annotations

import asyncio

import pytest
import respx

from teamslicensing.graph import Connection, Graph
from teamslicensing.graph.pacing import MARGIN, WritePacer, own_quota
from teamslicensing.graph.wire import BatchRequest
from tests.support.fakegraph import Storm
from tests.support.faults import BASE, TOKEN, fake_for
from tests.support.rollout import rollout_document


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


NEAR = {"x-ms-throttle-limit-percentage": "0.85", "x-ms-throttle-scope": "Tenant_Application/Write/x"}


def test_unpaced_until_graph_says_anything() -> None:
    pacer = WritePacer(Clock())
    for _ in range(10):
        pacer.observe(20, 0, [{}])
    assert pacer.rate is None, "a run Graph never pushes back on is never slowed"


def test_the_rate_between_two_refusals_is_the_quotas_and_the_pace_sits_just_below() -> None:
    clock = Clock()
    pacer = WritePacer(clock)
    pacer.observe(20, 0, [{}])
    pacer.observe(20, 0, [{}])
    pacer.observe(20, 0, [NEAR])  # 80% used: a first guess, before anything was refused
    assert pacer.rate is not None
    assert pacer.scope == "Tenant_Application/Write/x"
    clock.now = 1.0
    pacer.observe(0, 20, [{}])  # the quota ran dry
    for step in range(1, 13):  # 240 writes accepted over the next 6 s: a quota of 40 a second
        clock.now = 1.0 + step * 0.5
        pacer.observe(20, 0, [NEAR])  # near the limit all along (the header never slows the pace)
    clock.now = 7.0
    pacer.observe(0, 20, [{}])
    assert pacer.measured
    assert pacer.rate == pytest.approx(MARGIN * 240 / 6.0)


def test_refusals_close_together_are_one_moment_not_many() -> None:
    clock = Clock()
    pacer = WritePacer(clock)
    for _ in range(3):
        pacer.observe(20, 0, [{}])
    pacer.observe(0, 20, [{}])
    first = pacer.rate
    clock.now = 0.01
    pacer.observe(5, 15, [{}])  # a concurrent batch meeting the same empty quota
    assert pacer.rate == first
    assert not pacer.measured


def test_batches_are_spaced_by_the_rate_and_retry_after_holds_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    pacer = WritePacer(clock)
    pacer.rate = 10.0
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # the clock moves, nothing waits
        slept.append(seconds)
        clock.now += seconds

    async def run() -> None:
        await pacer.before_send(20)  # first: at once
        await pacer.before_send(20)  # second: 20 writes at 10/s later
        pacer.throttled(5.0)
        await pacer.before_send(0)  # a read waits for Retry-After too

    monkeypatch.setattr("teamslicensing.graph.pacing.asyncio.sleep", sleep)
    asyncio.run(run())
    assert slept == [pytest.approx(2.0), pytest.approx(5.0)]


OWN = "Tenant_Application/Write/9a3d526c-b3c1-4479-ba74-197b5c5751ae/0785ef7c-2d7a-4542-b048-95bcab406e0b"
TENANT_WIDE = "Tenant/Write/9a3d526c-b3c1-4479-ba74-197b5c5751ae/0785ef7c-2d7a-4542-b048-95bcab406e0b"


@pytest.mark.parametrize(
    ("scope", "ours"),
    [
        (OWN, True),  # Graph's own example of the header
        ("tenant_application/ReadWrite/a/b", True),
        (TENANT_WIDE, False),  # every app of the tenant together
        ("Application/Write/9a3d526c-b3c1-4479-ba74-197b5c5751ae/x", False),  # this app across every tenant
        (None, True),  # a limit Graph does not name is taken as ours: slowing down is the safer mistake
    ],
)
def test_a_429_is_about_our_own_quota_when_graph_names_the_app_and_tenant_pair(scope: str | None, ours: bool) -> None:
    headers = {"retry-after": "1"} if scope is None else {"retry-after": "1", "x-ms-throttle-scope": scope}
    assert own_quota(headers) is ours


@pytest.mark.parametrize(("scope", "paced"), [(TENANT_WIDE, False), (OWN, True)])
def test_another_apps_burst_of_429s_is_waited_out_but_never_sets_our_pace(
    router: respx.MockRouter, scope: str, paced: bool
) -> None:
    """A third of the writes refused for a while because other apps are using the tenant's quota: each refusal's
    Retry-After is honoured and every write goes through, but what got through between those refusals is our share
    of someone else's burst, not our quota, so no pace is learnt from it (one would keep the run crawling after the
    burst). The same refusals about our own quota do set the pace."""
    document = rollout_document(100)
    fake = fake_for(document, router)
    fake.start_storm(Storm(throttled=0.3, unavailable=0.0, retry_after=0.01, seed=5, scope=scope))
    users = [user["id"] for user in document["users"]]

    async def write_all() -> WritePacer:
        async with Graph(Connection(BASE), access_token=TOKEN, backoff_base=0.001) as graph:
            for start in range(0, len(users), 20):
                chunk = users[start : start + 20]
                requests = [
                    BatchRequest(str(n), "PATCH", f"/users/{u}", {"usageLocation": "GB"}) for n, u in enumerate(chunk)
                ]
                assert all(answer.ok for answer in await graph.batch(requests))
            return graph.pacer

    pacer = asyncio.run(write_all())
    assert fake.storm_answers["throttled"] > 20, "the burst refused many writes"
    assert (pacer.rate is not None) is paced
    assert (pacer.refusals > 0) is paced
