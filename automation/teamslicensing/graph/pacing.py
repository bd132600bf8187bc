"""Pacing writes as a good citizen of the tenant's write quota, which every app of the tenant shares.

Graph throttles each `$batch` item on its own and says so inside the item (status 429, `Retry-After`,
`x-ms-throttle-limit-percentage` once 80% of a limit is used, `x-ms-throttle-scope`). Hammering until refused
wastes everybody's quota, so writes are metered at a rate learnt from the refusals themselves:

- Unpaced until the first 429 (or the first item saying the quota is 80% used): a small run never waits; only the
  first few batches go one at a time. Then a first guess, half of what got through lately, until a measurement.
- A 429 means the quota was just exhausted. Between two such moments the writes Graph accepted are what the
  quota let through, so accepted writes / elapsed time measures the quota's rate: exactly, when every round in
  between was refused too; when some went through clean the pace ran below the quota for a while, and 0.9x the
  pace that overran it may be the better guess. The pace is set a little below (`margin`), and batches are spaced
  by `writes / rate` across every batch in flight.
- Without refusals the pace speeds up: fast while it is only a guess, barely once measured (so a quota that grew,
  or room another app left, is found again); the next 429 re-measures. The limit-percentage header starts the
  pacing but never slows it: on a sliding window it is present at full speed too.
- Only a 429 about this app's own quota in the tenant is measured: Graph names the limit it enforced in
  `x-ms-throttle-scope` (`<Scope>/<Limit>/<ApplicationId>/<TenantId>`, Scope `Tenant_Application`, `Tenant` or
  `Application`: *Microsoft Graph service-specific throttling limits*, identity and access, "Throttled responses";
  microsoft-graph-docs-contrib `concepts/throttling-limits.md`, the same words at 0135174 and in later revisions, read
  2026-12). A `Tenant` 429 is every app of the tenant together, an `Application` one this app across every tenant:
  what got through between two of those is our share of another app's burst, not our quota, and a pace set from it
  would crawl long after the burst. Such a 429 is honoured (its Retry-After holds everyone) but not measured. A 429
  that names no scope is taken as ours: slowing down for a limit we cannot name is the safer mistake.
- A `Retry-After` pauses every request, reads included, until it has passed; a stop cuts every wait short.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping

MARGIN = 0.95  # pace at this share of the measured quota rate
PROBE_FAST = 0.03  # speed-up per clean batch while the rate is still a guess (before a measurement)
PROBE_SLOW = 0.002  # and once measured: just enough to find a quota that grew, or room another app left
MIN_SAMPLE = 40  # accepted writes between two refusals before they count as a measurement
WARMUP_ROUNDS = 3  # write batches sent one at a time at the start, until Graph has said something of its quota
STOP_POLL = 0.1  # seconds between looks at a stop while a wait goes on
NEAR_LIMIT = 0.8  # x-ms-throttle-limit-percentage from which Graph reports a limit nearly used (0.8 to 1.8)
OWN_SCOPE = "tenant_application"  # the x-ms-throttle-scope of the quota this app has in this tenant (lower case)


class WritePacer:
    """Shared by every request of one `Graph`: the Retry-After pause, and the learnt write rate."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, margin: float = MARGIN) -> None:
        self._clock = clock
        self.margin = margin
        self.rate: float | None = None  # writes per second; None: unpaced
        self._next_send = 0.0
        self._not_before = 0.0
        self._last_refusal: float | None = None
        self._accepted_since = 0
        self._recent: deque[tuple[float, int]] = deque()  # (time, writes accepted) over the last few seconds
        self.near_limit = False
        self.scope: str | None = None  # x-ms-throttle-scope of the last signal, for progress lines
        self.refusals = 0  # rounds with 429s, for the benchmark
        self.measured = False  # a rate measured between two refusals, not only guessed from the first
        self._clean_rounds = 0
        self._clean_since = 0  # rounds without a refusal since the last counted one

    @property
    def warming(self) -> bool:
        """The first few write batches go one at a time: a burst of every batch in flight at once could overrun
        a small quota before its first near-limit header had a chance to start the pacing."""
        return self.rate is None and self.refusals == 0 and not self.near_limit and self._clean_rounds < WARMUP_ROUNDS

    async def before_send(self, writes: int, stopping: Callable[[], bool] | None = None) -> bool:
        """Wait for the Retry-After pause, and for this batch's turn at the learnt rate (`writes` items); False when
        `stopping()` cut the wait short (then send nothing)."""
        now = self._clock()
        start = max(now, self._not_before)
        if writes and self.rate:
            start = max(start, self._next_send)
            self._next_send = start + writes / self.rate
        return await pause(start - now, stopping)

    def throttled(self, seconds: float) -> None:
        """Graph said Retry-After: nobody sends before it has passed."""
        self._not_before = max(self._not_before, self._clock() + seconds)

    def observe(self, accepted: int, refused: int, headers: Iterable[Mapping[str, str]]) -> None:
        """One round of a write batch: items accepted, items refused with a 429 about our own quota (`own_quota`;
        other 429s are not counted), and the headers that came with them (the outer response's and each item's)."""
        now = self._clock()
        usage = None
        for found in headers:
            value = _fraction(found.get("x-ms-throttle-limit-percentage"))
            if value is not None:
                usage = value if usage is None else max(usage, value)
            self.scope = found.get("x-ms-throttle-scope") or self.scope
        self.near_limit = usage is not None and usage >= NEAR_LIMIT
        if accepted:
            self._recent.append((now, accepted))
        while self._recent and self._recent[0][0] < now - 5.0:
            self._recent.popleft()
        self._accepted_since += accepted  # a round's accepted items went through before the quota ran dry
        self._clean_rounds += 1 if accepted and not refused else 0
        self._clean_since += 1 if accepted and not refused else 0
        if refused:
            self.refusals += 1
            self._measure(now)
            if self.rate:  # the quota is empty now: the refused items go when the pace has refilled it for them
                self._next_send = max(self._next_send, now + refused / self.rate)
        elif self.rate is None and self.near_limit:
            self._guess(now)  # the quota is 80% used before anything was refused: start pacing now, not at the wall
        elif self.rate is not None and accepted:
            self.rate *= 1 + (PROBE_SLOW if self.measured else PROBE_FAST)

    def _measure(self, now: float) -> None:
        if self._last_refusal is not None and self._accepted_since >= MIN_SAMPLE and now > self._last_refusal:
            # what got through since the last refusal is the quota's rate if we were at it all along, and less if
            # we ran below it for a while: then the pace that just overran it, a little lower, is the better guess
            measured = self._accepted_since / (now - self._last_refusal)
            if self.rate and self._clean_since:  # ran below the quota for a while: the measure is low
                self.rate = self.margin * max(measured, 0.9 * self.rate)
            else:  # refused all along: what got through is exactly the quota's rate
                self.rate = self.margin * measured
            self.measured = True
        elif self.rate is None:
            self._guess(now)
        elif self._accepted_since < MIN_SAMPLE:
            return  # refusals close together (concurrent batches hit the same empty quota): one moment, not many
        self._last_refusal = now
        self._accepted_since = 0
        self._clean_since = 0

    def _guess(self, now: float) -> None:
        """A first pace, until a measurement comes: half of what got through lately, over at least a second (the
        burst that used the quota up). After only a handful of writes there is nothing to tell: Retry-After only."""
        recent = sum(n for _, n in self._recent)
        if recent >= MIN_SAMPLE:
            span = max(now - self._recent[0][0], 1.0)
            self.rate = max(0.5 * recent / span, 1.0)


async def pause(seconds: float, stopping: Callable[[], bool] | None = None) -> bool:
    """Sleep `seconds`, cut short once `stopping()` (looked at every STOP_POLL seconds); False when it was."""
    left = seconds
    while left > 0:
        step = left if stopping is None else min(left, STOP_POLL)
        await asyncio.sleep(step)
        left -= step
        if stopping is not None and stopping():
            return False
    return True


def own_quota(headers: Mapping[str, str]) -> bool:
    """Whether a 429 with these (lower-case) headers is about this app's own quota in the tenant: its
    x-ms-throttle-scope says `Tenant_Application`, or names no scope at all."""
    scope = headers.get("x-ms-throttle-scope", "").strip()
    return not scope or scope.split("/", 1)[0].strip().lower() == OWN_SCOPE


def _fraction(value: str | None) -> float | None:
    """x-ms-throttle-limit-percentage: documented as a fraction (0.8 to 1.8); a true percentage is tolerated."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    if number is None or number != number:
        return None
    return number / 100 if number > 2 else number
