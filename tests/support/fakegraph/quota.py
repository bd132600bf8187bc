"""Graph's identity write quota as a sliding window, and scripted 429s and 5xx faults."""

from __future__ import annotations

import math

from tests.support.fakegraph.common import (
    THROTTLE_WARNING,
)
from tests.support.fakegraph.store import TenantStore


class WriteQuota(TenantStore):
    """The write quota and the scripted faults; `x-ms-throttle-limit-percentage` near the limit."""

    def throttle_next(self, n: int, *, retry_after: float = 1.0, outright: bool = False) -> None:
        """429 with `Retry-After: retry_after` for the next `n` HTTP requests (`outright=True`, a $batch as a
        whole included), or else for the next `n` operations: $batch items, and requests sent on their own."""
        target = self._outright if outright else self._item_throttles
        target.extend([retry_after] * n)

    def lose_answer(self, *faults: str) -> None:
        """Script what happens to the answers of the next $batch requests that carry writes, after the writes took
        effect: "reset" (the connection drops: no answer at all), "missing" (one item left out of `responses`),
        "duplicate" (one item answered twice, the copy with status 500), "gateway" (a 504 instead of the answer,
        as a gateway timing out on a batch Graph completed)."""
        self._lost_answers.extend(faults)

    def fail_next(self, n: int, status: int = 503) -> None:
        """A transient `status` (503 or 504) for the next `n` HTTP requests; nothing in them takes effect."""
        self._failures.extend([status] * n)

    def _prune(self, now: float) -> None:
        assert self.write_quota is not None
        window = self.write_quota[1]
        times = self._write_times
        while times and times[0] <= now - window:
            times.popleft()

    def _take_write_slot(self) -> float | None:
        """Record one write; or, past the quota, the seconds until the oldest write leaves the window."""
        if self.write_quota is None:
            return None
        limit, window = self.write_quota
        now = self._clock()
        self._prune(now)
        if len(self._write_times) < limit:
            self._write_times.append(now)
            return None
        return self._write_times[0] + window - now

    def _retry_after(self, seconds: float) -> str:
        if self.fractional_retry_after:
            return f"{max(seconds, 0.001):.3f}"
        return str(max(1, math.ceil(seconds)))

    def _usage_headers(self) -> dict[str, str]:
        if self.write_quota is None:
            return {}
        self._prune(self._clock())
        usage = len(self._write_times) / self.write_quota[0]
        if usage < THROTTLE_WARNING:
            return {}
        # Graph: "returned only when the application consumed more than 0.8 of its limit; the value ranges from
        # 0.8 to 1.8" -- a fraction, not a percent (Graph throttling-limits, identity and access)
        return {"x-ms-throttle-limit-percentage": f"{min(usage, 1.8):.2f}"}
