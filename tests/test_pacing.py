"""The write pacer learns the quota's rate from Graph's refusals (pure: a clock of our own, no sleeping)."""

from __future__ import annotations

import asyncio

import pytest

from teamslicensing.graph.pacing import MARGIN, WritePacer


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
