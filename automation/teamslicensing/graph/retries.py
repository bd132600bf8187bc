"""The one retry policy of every Graph request: what is sent again, how long to wait first, and when to stop.

Whole requests (a read, a `$batch` as a whole) are retried by tenacity (`RetryPolicy.retrying`); the items of a
`$batch` by `BatchRun`, which asks the same policy. The rules:

- What: a read, and anything that surely did not reach Graph (a 429, a connection never made). A write that may
  have reached Graph (`repeatable=False`) goes to the caller to verify.
- How long: Graph's `Retry-After`, capped at MAX_RETRY_AFTER; without one, exponential backoff with full jitter.
- Until: MAX_ATTEMPTS transient failures (429s are bounded by time instead: a throttling storm may last minutes),
  MAX_TOTAL_WAIT seconds per request, and MAX_RUN_WAIT seconds of waiting in all for the run. Once the run's
  waiting is spent (`spent` says why) nothing waits any more: whatever would have been retried settles as it is.
- A caller's stop (`stopping()`) ends the retries: tenacity gives up at the next failure, and a wait for
  Retry-After or backoff is cut short (`pause`).

A wait counts against the run's only when it is taken: tenacity computes a wait before it decides to stop, so it is
accounted in `before_sleep`, never in `wait`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_delay
from tenacity.stop import stop_base

from teamslicensing.errors import RetryableError
from teamslicensing.graph.pacing import pause

MAX_ATTEMPTS = 8
MAX_TOTAL_WAIT = 15 * 60.0  # seconds one request may spend retrying before we give up on it
MAX_RETRY_AFTER = 300.0  # one Retry-After is honoured up to 5 minutes (a larger one is capped, and said)
MAX_RUN_WAIT = 3600.0  # seconds a run may spend waiting for Retry-After and backoff in all, before giving up
LONG_WAIT = 5.0  # a wait this long or longer is said, so a throttled run is never silent


class RetryPolicy:
    """The bounds of every retry of one `Graph`, and the waiting its run has done so far."""

    def __init__(
        self,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        max_total_wait: float = MAX_TOTAL_WAIT,
        backoff_base: float = 1.0,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.max_attempts = max_attempts
        self.max_total_wait = max_total_wait
        self.backoff_base = backoff_base  # seconds; the first backoff is up to twice this, doubling per attempt
        self.max_retry_after = MAX_RETRY_AFTER
        self.max_run_wait = MAX_RUN_WAIT
        self.waited = 0.0  # seconds spent waiting for Retry-After and backoff so far
        self.spent: str | None = None  # why the run may wait no more, once `max_run_wait` would be passed
        self._say = say or (lambda _: None)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped at a minute."""
        return random.uniform(0, min(60.0, self.backoff_base * 2.0**attempt))

    def delay(self, retry_after: float | None, attempt: int) -> float:
        """The wait before attempt `attempt + 1`: Graph's Retry-After (capped), else the backoff."""
        return min(retry_after, self.max_retry_after) if retry_after is not None else self.backoff(attempt)

    def within(self, failures: int, started: float) -> bool:
        """Whether a request first sent at `started` (time.monotonic()) may go again after `failures` transient
        failures (429s not counted): within its attempts and its time."""
        return failures < self.max_attempts and time.monotonic() - started <= self.max_total_wait

    def may_wait(self, seconds: float, why: str) -> bool:
        """Whether the run may still wait `seconds`; once it may not, `spent` says why, for good."""
        if self.spent is None and self.waited + min(seconds, self.max_retry_after) > self.max_run_wait:
            self.spent = (
                f"Graph kept this run waiting {self.waited / 60:.0f} min in all ({why}); giving up rather than "
                "stalling: run again later"
            )
        return self.spent is None

    def wait(self, seconds: float, why: str, asked: float | None = None) -> float:
        """Account for a wait about to be taken (`may_wait` said yes), and say it when it is long."""
        wait = min(seconds, self.max_retry_after)
        self.waited += wait
        if wait >= LONG_WAIT:
            asked = seconds if asked is None else asked
            capped = f" (it asked for {asked:.0f} s; capped)" if asked > wait else ""
            self._say(f"{why}: waiting {wait:.0f} s{capped}")
        return wait

    def take(self, seconds: float, why: str) -> float | None:
        """`may_wait`, then `wait`: the seconds to wait, or None once the run may wait no more."""
        return self.wait(seconds, why) if self.may_wait(seconds, why) else None

    def resend_delay(self, failures: int) -> float | None:
        """The wait before an item that failed `failures` times goes again, or None once `max_attempts` failures or
        the run's waiting time are spent: the bounds of every retry, for a write sent again after a read-back."""
        if failures >= self.max_attempts:
            return None
        return self.take(self.backoff(failures), f"sending again writes read back as not done (attempt {failures + 1})")

    def retrying(
        self,
        *,
        repeatable: bool,
        before_sleep: Callable[[RetryCallState], None],
        stopping: Callable[[], bool] | None = None,
    ) -> AsyncRetrying:
        """Tenacity's loop for one request. `before_sleep` is the caller's (counting, pacing, progress lines), once
        the wait was accounted; `stopping` (None: never) ends the retries and cuts their waits short."""

        def worth_retrying(exc: BaseException) -> bool:
            if not isinstance(exc, RetryableError):
                return False
            return repeatable or exc.status == 429 or not exc.maybe_sent

        def wait(state: RetryCallState) -> float:
            exc = _failure(state)
            return self.delay(exc.retry_after if exc is not None else None, state.attempt_number)

        def accounted(state: RetryCallState) -> None:
            exc = _failure(state)
            self.wait(state.upcoming_sleep, _why(exc), exc.retry_after if exc is not None else None)
            before_sleep(state)

        async def sleep(seconds: float) -> None:  # cut short by the stop: the next try then gives up without sending
            await pause(seconds, stopping)

        stop = _StopAfterFailures(self.max_attempts) | stop_after_delay(self.max_total_wait) | _RunWaitSpent(self)
        return AsyncRetrying(
            retry=retry_if_exception(worth_retrying),
            wait=wait,
            stop=stop if stopping is None else _Stopping(stopping) | stop,
            sleep=sleep,
            before_sleep=accounted,
            reraise=True,
        )


def _failure(state: RetryCallState) -> RetryableError | None:
    exc = state.outcome.exception() if state.outcome else None
    return exc if isinstance(exc, RetryableError) else None


def _why(exc: RetryableError | None) -> str:
    if exc is not None and exc.retry_after is not None:
        return f"Graph asked to wait (HTTP {exc.status})"
    return f"retrying after {exc}" if exc is not None else "retrying"


class _StopAfterFailures(stop_base):
    """Give up after `limit` transient failures; a throttling storm may last minutes, so 429s are bounded by
    the total wait instead of by count."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures = 0

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if not (isinstance(exc, RetryableError) and exc.status == 429):
            self.failures += 1
        return self.failures >= self.limit


class _RunWaitSpent(stop_base):
    """Give up when the wait ahead would pass the run's bound (tenacity computes the wait before it asks)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: RetryCallState) -> bool:
        return not self.policy.may_wait(retry_state.upcoming_sleep, _why(_failure(retry_state)))


class _Stopping(stop_base):
    """Give up once the caller's stop came: a stopping run sends nothing again."""

    def __init__(self, stopping: Callable[[], bool]) -> None:
        self.stopping = stopping

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.stopping()
