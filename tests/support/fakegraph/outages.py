"""Graph on a bad day: a token revoked before its expiry, and a storm of 429 and 503 answers.

Revocation, as Graph answers a token Entra revoked early (continuous access evaluation): 401
`InvalidAuthenticationToken`, and with a claims challenge `WWW-Authenticate: Bearer realm="", authorization_uri=...,
error="insufficient_claims", claims="<base64 JSON>"` (Entra, *Claims challenges, claims requests and client
capabilities*; the header and code as Graph sent them in msgraph-sdk-dotnet#1416). A refused request does nothing.

The storm answers a share of requests 429 and a share 503: whole HTTP requests, and each `$batch` item on its own
(Graph throttles items one by one, GRAPH-FACTS). Each answer is drawn from the seed and what the request is (its
method, URL and body, and how often it was seen before), so the same run meets the same storm whatever order its
concurrent batches arrive in. A 503 to a write is sometimes a write Graph carried out all the same (as a gateway
timing out on a request the service completed), so a client that re-sends it blindly is caught.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.support.fakegraph.common import _error, _Reply, _seconds
from tests.support.fakegraph.store import TenantStore

# the claims of Graph's challenge for a token issued before a revocation (msgraph-sdk-dotnet#1416)
REVOCATION_CLAIMS = '{"access_token":{"nbf":{"essential":true, "value":"1657834417"}}}'
REVOCATION_MESSAGE = (
    "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: "
    "TokenIssuedBeforeRevocationTimestamp"
)


@dataclass(frozen=True)
class Storm:
    """`throttled` and `unavailable`: the shares of answers that are 429 and 503; `applied`: the share of 503s to
    writes that Graph carried out anyway; `retry_after`: the seconds a 429 asks for; `scope`: the limit a 429 names
    in `x-ms-throttle-scope` (None: no such header), e.g. `Tenant/Write/...` for other apps using the tenant's."""

    throttled: float = 0.30
    unavailable: float = 0.05
    applied: float = 0.5
    retry_after: float = 0.01
    seed: int = 0
    scope: str | None = None


class Outages(TenantStore):
    """Token revocation and the storm; the router asks `refusal` and `storm_outcome` before answering."""

    _revoke_at: int | None = None
    _revoked: frozenset[str] = frozenset()
    _challenge: bool = False
    _refuse_items: bool = False
    _storm: Storm | None = None
    _storm_seen: Counter[str]
    token_refusals: int = 0  # requests and $batch items refused for their token
    storm_answers: Counter[str]  # "throttled", "unavailable", "unavailable but applied", per request and item

    def revoke_token(self, at_request: int, *, challenge: bool = False, in_items: bool = False) -> None:
        """At the `at_request`-th HTTP request (from 1), the token it carries is revoked: that request and every later
        one bearing it are refused with 401 (`challenge`: with a claims challenge). `in_items`: a `$batch` bearing
        it is taken, and each of its items refused instead."""
        self._revoke_at = at_request
        self._challenge = challenge
        self._refuse_items = in_items

    def start_storm(self, storm: Storm) -> None:
        self._storm = storm
        self._storm_seen = Counter()
        self.storm_answers = Counter()

    # ---- revocation ------------------------------------------------------------------------------------------------

    def refusal(self, token: str, http_count: int, is_batch: bool) -> _Reply | None:
        """The 401 for an HTTP request bearing `token`, or None; for a `$batch` refused item by item, None too
        (`refuses_items` says so)."""
        if self._revoke_at is not None and http_count >= self._revoke_at:
            self._revoked = self._revoked | {token}
            self._revoke_at = None
        if token not in self._revoked or (is_batch and self._refuse_items):
            return None
        return self.token_refused()

    def refuses_items(self, token: str) -> bool:
        return self._refuse_items and token in self._revoked

    def token_refused(self) -> _Reply:
        self.token_refusals += 1
        if not self._challenge:
            return _error(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
        claims = base64.b64encode(REVOCATION_CLAIMS.encode()).decode()
        challenge = (
            'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
            f'client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="{claims}"'
        )
        return _error(401, "InvalidAuthenticationToken", REVOCATION_MESSAGE, {"WWW-Authenticate": challenge})

    # ---- the storm ---------------------------------------------------------------------------------------------------

    def storm_outcome(self, method: str, url: str, body: Any) -> str | None:
        """What the storm does to this request or item: "throttled", "unavailable", "applied" (a 503 after the
        write took effect), or None (answered as usual)."""
        storm = self._storm
        if storm is None:
            return None
        key = f"{method} {url} {json.dumps(body, sort_keys=True)}"
        self._storm_seen[key] += 1
        digest = hashlib.sha256(f"{storm.seed}|{key}|{self._storm_seen[key]}".encode()).digest()
        draw, second = (int.from_bytes(digest[i : i + 8], "big") / 2**64 for i in (0, 8))
        if draw < storm.throttled:
            outcome = "throttled"
        elif draw < storm.throttled + storm.unavailable:
            outcome = "applied" if method != "GET" and second < storm.applied else "unavailable"
        else:
            return None
        self.storm_answers[outcome] += 1
        return outcome

    def storm_throttled(self) -> _Reply:
        assert self._storm is not None
        headers = {"Retry-After": _seconds(self._storm.retry_after)}
        if self._storm.scope is not None:
            headers["x-ms-throttle-scope"] = self._storm.scope
        return _error(429, "TooManyRequests", "Too many requests.", headers)

    @staticmethod
    def storm_unavailable() -> _Reply:
        return _error(503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry.")
