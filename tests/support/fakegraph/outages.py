"""Graph on a bad day: a token revoked before its expiry.

Revocation, as Graph answers a token Entra revoked early (continuous access evaluation): 401
`InvalidAuthenticationToken`, and with a claims challenge `WWW-Authenticate: Bearer realm="", authorization_uri=...,
error="insufficient_claims", claims="<base64 JSON>"` (Entra, *Claims challenges, claims requests and client
capabilities*; the header and code as Graph sent them in msgraph-sdk-dotnet#1416). A refused request does nothing.

"""

from __future__ import annotations

import base64

from tests.support.fakegraph.common import _error, _Reply
from tests.support.fakegraph.store import TenantStore

# the claims of Graph's challenge for a token issued before a revocation (msgraph-sdk-dotnet#1416)
REVOCATION_CLAIMS = '{"access_token":{"nbf":{"essential":true, "value":"1657834417"}}}'
REVOCATION_MESSAGE = (
    "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: "
    "TokenIssuedBeforeRevocationTimestamp"
)


class Outages(TenantStore):
    """Token revocation; the router asks `refusal` before answering."""

    _revoke_at: int | None = None
    _revoked: frozenset[str] = frozenset()
    _challenge: bool = False
    _refuse_items: bool = False
    token_refusals: int = 0  # requests and $batch items refused for their token

    def revoke_token(self, at_request: int, *, challenge: bool = False, in_items: bool = False) -> None:
        """At the `at_request`-th HTTP request (from 1), the token it carries is revoked: that request and every later
        one bearing it are refused with 401 (`challenge`: with a claims challenge). `in_items`: a `$batch` bearing
        it is taken, and each of its items refused instead."""
        self._revoke_at = at_request
        self._challenge = challenge
        self._refuse_items = in_items

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
