"""Graph's identity write quotas, and scripted 429s and 5xx faults.

Two shapes of quota, as the emulators Graph is judged against use them: a sliding window (`write_quota=(W, T)`: at
most W writes in any T seconds; Graph's is 3,000 per 150 s per app and tenant) and a token bucket
(`write_bucket=(depth, rate)`: a burst of `depth`, then `rate` writes a second). A per-tenant window
(`tenant_write_quota`, Graph's 18,000 per 5 min) can stand beside either. Near a limit Graph sends
`x-ms-throttle-limit-percentage` (a fraction, 0.8 to 1.8) and says which limit with `x-ms-throttle-scope`; in a
`$batch` these come inside each item, never on the outer response (GRAPH-FACTS).
"""

from __future__ import annotations

import math
from collections import deque

from tests.support.fakegraph.common import (
    THROTTLE_WARNING,
)
from tests.support.fakegraph.store import TenantStore

APP_SCOPE = "Tenant_Application/Write/00000000-0000-0000-0000-00000000fa4e"
TENANT_SCOPE = "Tenant/Write"


class WriteQuota(TenantStore):
    """The write quotas and the scripted faults."""

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

    # ---- the limits ----------------------------------------------------------------------------------------------

    def _window_wait(self, times: deque[float], limit: int, window: float, now: float) -> float | None:
        while times and times[0] <= now - window:
            times.popleft()
        return None if len(times) < limit else times[0] + window - now

    def _bucket_wait(self, now: float) -> float | None:
        assert self.write_bucket is not None
        depth, rate = self.write_bucket
        self._tokens = min(depth, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        return None if self._tokens >= 1 else (1 - self._tokens) / rate

    def _take_write_slot(self) -> tuple[float, str] | None:
        """Record one write; or, past a quota, the seconds until it has room again and the scope that refused."""
        now = self._clock()
        waits: list[tuple[float, str]] = []
        if self.write_quota is not None:
            wait = self._window_wait(self._write_times, *self.write_quota, now)
            if wait is not None:
                waits.append((wait, APP_SCOPE))
        if self.write_bucket is not None:
            wait = self._bucket_wait(now)
            if wait is not None:
                waits.append((wait, APP_SCOPE))
        if self.tenant_write_quota is not None:
            wait = self._window_wait(self._tenant_times, *self.tenant_write_quota, now)
            if wait is not None:
                waits.append((wait, TENANT_SCOPE))
        if waits:
            return max(waits)
        if self.write_quota is not None:
            self._write_times.append(now)
        if self.write_bucket is not None:
            self._tokens -= 1
        if self.tenant_write_quota is not None:
            self._tenant_times.append(now)
        return None

    def _retry_after(self, seconds: float) -> str:
        if self.fractional_retry_after:
            return f"{max(seconds, 0.001):.3f}"
        return str(max(1, math.ceil(seconds)))

    def _usage_headers(self) -> dict[str, str]:
        """The near-limit headers for an answer, when a quota is 80% used or more."""
        now = self._clock()
        usage: list[tuple[float, str]] = []
        if self.write_quota is not None:
            self._window_wait(self._write_times, *self.write_quota, now)
            usage.append((len(self._write_times) / self.write_quota[0], APP_SCOPE))
        if self.write_bucket is not None:
            self._bucket_wait(now)
            usage.append((1 - self._tokens / self.write_bucket[0], APP_SCOPE))
        if self.tenant_write_quota is not None:
            self._window_wait(self._tenant_times, *self.tenant_write_quota, now)
            usage.append((len(self._tenant_times) / self.tenant_write_quota[0], TENANT_SCOPE))
        if not usage or max(usage)[0] < THROTTLE_WARNING:
            return {}
        used, scope = max(usage)
        # Graph: "returned only when the application consumed more than 0.8 of its limit; the value ranges from
        # 0.8 to 1.8" -- a fraction, not a percent (Graph throttling-limits, identity and access)
        return {"x-ms-throttle-limit-percentage": f"{min(used, 1.8):.2f}", "x-ms-throttle-scope": scope}
