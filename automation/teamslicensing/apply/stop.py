"""How an apply ends early and still explains itself: one switch, flipped by a signal handler, the time budget, the
audit log, a fatal Graph error or a watched condition (a tenant lease lost, the run's waiting for Graph spent), read
by the executor before every batch and by Graph's retry loop, its waits included."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from teamslicensing.model.outcome import Stop, StopReason

GRACE_SECONDS = 60.0  # how long batches in flight may take to finish once a stop was asked for
# how long reading back the writes abandoned at a stop may take: a Graph that stopped answering must not hold a
# stopped run for the retry policy's full 15 minutes (what is not read back by then is reported unknown)
READ_BACK_AFTER_STOP = 15.0
# how long batches of writes in flight may still take once the tenant's lease is known lost: long enough for them to
# settle on their own (they send nothing more from then on, and an answer in hand beats a read-back), far short of
# the 15 s before Storage could give the lease to another run
LEASE_LOST_SETTLE = 2.0


class StopSwitch:
    """Asks the executor to take no new batches, and Graph's retries to send nothing more and wait no longer: set by
    a signal handler, the time budget, the audit log, a fatal Graph error or a watched condition. `hard` (a second
    Ctrl-C) also abandons batches in flight at once; a tenant lease lost, whenever it comes, abandons them
    LEASE_LOST_SETTLE seconds later, however long a softer stop was letting them finish: from then on another run
    may hold the tenant, and nothing of this one may be left to leave late (a batch stuck before it sent)."""

    def __init__(self, deadline: float | None = None, grace: float = GRACE_SECONDS) -> None:
        self.stop: Stop | None = None
        self.deadline = deadline  # time.monotonic() after which no batch may still be running
        self.grace = grace
        self.hard = False
        self.lease_lost_at: float | None = None  # time.monotonic() when the lease was known lost
        self.longest_batch = 0.0
        self._watched: list[Callable[[], Stop | None]] = []

    def abandons(self, now: float) -> bool:
        """Whether batches of writes in flight are abandoned by `now` (what they had sent is read back, not waited
        for): at once on a second signal, LEASE_LOST_SETTLE seconds after the lease was known lost."""
        return self.hard or (self.lease_lost_at is not None and now - self.lease_lost_at > LEASE_LOST_SETTLE)

    def watch(self, condition: Callable[[], Stop | None]) -> None:
        """Also stop when `condition()` names a stop: polled wherever the deadline is (before every batch, between
        retries, while batches are in flight), so a condition another thread sets is seen without its help; and
        still after another stop, so a lease lost while a signal's stop lets batches finish abandons them."""
        self._watched.append(condition)

    def request(self, reason: StopReason, message: str) -> None:
        if reason is StopReason.LEASE_LOST:
            self._lease_lost(message)
        elif self.stop is None:
            self.stop = Stop(reason, message)
        elif reason in (StopReason.INTERRUPTED, StopReason.TERMINATED):
            self.hard = True  # asked twice

    def _lease_lost(self, message: str) -> None:
        """A lost lease abandons the writes in flight whenever it comes, and is the reason the run gives (exit 1)
        unless a signal came first, whose exit code wins; the earlier stop is said beside it."""
        if self.lease_lost_at is not None:
            return
        self.lease_lost_at = time.monotonic()
        if self.stop is None:
            self.stop = Stop(StopReason.LEASE_LOST, message)
        elif self.stop.reason in (StopReason.INTERRUPTED, StopReason.TERMINATED):
            self.stop = Stop(self.stop.reason, f"{self.stop.message}; then the lease was lost: {message}")
        else:
            self.stop = Stop(StopReason.LEASE_LOST, f"{message} (after an earlier stop: {self.stop.message})")

    def check_deadline(self) -> None:
        """Past the deadline, or once a watched condition names a stop, ask for a stop (once)."""
        for condition in self._watched:
            found = condition()
            if found is not None:
                self.request(found.reason, found.message)
        if self.stop is None and self.deadline is not None and time.monotonic() > self.deadline:
            self.request(StopReason.TIME_BUDGET, "the time budget ran out")

    @property
    def read_back_window(self) -> float:
        """Seconds a read-back may go on once a stop was asked for (before it, the retry policy bounds it)."""
        return min(self.grace, READ_BACK_AFTER_STOP)

    def keep_trying(self) -> bool:
        """Whether retries may go on: not once a stop was asked for, nor past the deadline."""
        self.check_deadline()
        return self.stop is None

    def may_start_batch(self) -> bool:
        self.check_deadline()
        if self.stop is not None:
            return False
        if self.deadline is not None and time.monotonic() + max(self.longest_batch, 1.0) > self.deadline:
            self.request(StopReason.TIME_BUDGET, "the time budget would run out before another batch finished")
            return False
        return True


@runtime_checkable
class WaitBudget(Protocol):
    """A write backend with a run-wide bound on waiting for its service (Graph's Retry-After and backoff)."""

    def wait_spent(self) -> str | None:
        """Why the run may wait no more, or None."""
        ...


def watch_waiting(switch: StopSwitch, backend: object) -> None:
    """Once a backend's run-wide waiting is spent, the run stops as for a Graph error: it settles what it holds
    (what was not sent is not attempted) rather than sleeping on, or sending into the throttling it gave up on."""
    if isinstance(backend, WaitBudget):
        budget = backend

        def spent() -> Stop | None:
            why = budget.wait_spent()
            return None if why is None else Stop(StopReason.GRAPH_ERROR, why)

        switch.watch(spent)


async def bounded(
    task: asyncio.Future[Any], switch: StopSwitch, after_stop: float, overrun: float | None, *, writes: bool = True
) -> bool:
    """Wait for `task` until a stop is asked for (or the deadline passed, which asks for one), then `after_stop`
    seconds more and never more than `overrun` past the deadline; a hard stop cancels it at once, and a lost lease
    soon after (`abandons`) when the task `writes` (a read-back may go on). A stop that comes while the task runs
    counts as much as one asked for before it. True when the task finished (its result or exception is the caller's
    to take); False when it was cancelled."""
    stop_seen = time.monotonic() if switch.stop is not None else None
    while not task.done():
        await asyncio.wait({task}, timeout=0.1)
        if task.done():
            break
        switch.check_deadline()
        now = time.monotonic()
        if switch.stop is not None and stop_seen is None:
            stop_seen = now
        late = overrun is not None and switch.deadline is not None and now > switch.deadline + overrun
        abandoned = switch.abandons(now) if writes else switch.hard
        if stop_seen is not None and (abandoned or late or now - stop_seen > after_stop):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return False
    return True
