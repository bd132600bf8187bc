"""How an apply ends early and still explains itself: one switch, flipped by a signal handler, the time budget, the
audit log or a fatal Graph error, read by the executor before every batch and by Graph's retry loop."""

from __future__ import annotations

import time

from teamslicensing.model.outcome import Stop, StopReason

GRACE_SECONDS = 60.0  # how long batches in flight may take to finish once a stop was asked for
# how long reading back the writes abandoned at a stop may take: a Graph that stopped answering must not hold a
# stopped run for the retry policy's full 15 minutes (what is not read back by then is reported unknown)
READ_BACK_AFTER_STOP = 15.0


class StopSwitch:
    """Asks the executor to take no new batches: set by a signal handler, the time budget, the audit log or a
    fatal Graph error; `hard` (a second Ctrl-C) also abandons batches in flight."""

    def __init__(self, deadline: float | None = None, grace: float = GRACE_SECONDS) -> None:
        self.stop: Stop | None = None
        self.deadline = deadline  # time.monotonic() after which no batch may still be running
        self.grace = grace
        self.hard = False
        self.longest_batch = 0.0

    def request(self, reason: StopReason, message: str) -> None:
        if self.stop is None:
            self.stop = Stop(reason, message)
        elif reason in (StopReason.INTERRUPTED, StopReason.TERMINATED):
            self.hard = True  # asked twice

    def check_deadline(self) -> None:
        """Past the deadline, ask for a stop (once)."""
        if self.stop is None and self.deadline is not None and time.monotonic() > self.deadline:
            self.request(StopReason.TIME_BUDGET, "the time budget ran out")

    def read_back_limit(self) -> float | None:
        """Seconds a read-back may take now: unbounded (the retry policy bounds it) until a stop was asked for."""
        if self.stop is None:
            return None
        return min(self.grace, READ_BACK_AFTER_STOP)

    def keep_trying(self) -> bool:
        """Whether retries may go on: not once a stop was asked for, nor past the deadline."""
        self.check_deadline()
        return self.stop is None

    def may_start_batch(self) -> bool:
        if self.stop is not None:
            return False
        if self.deadline is not None and time.monotonic() + max(self.longest_batch, 1.0) > self.deadline:
            self.request(StopReason.TIME_BUDGET, "the time budget would run out before another batch finished")
            return False
        return True
