"""Bearer tokens for Graph: the one in use, and a fresh one once Graph refused it before its expiry.

Graph may refuse a token it accepted a moment ago: 401 `InvalidAuthenticationToken` when Entra revoked it early
(continuous access evaluation, "TokenCreatedWithOutdatedPolicies"), or a claims challenge, `WWW-Authenticate:
Bearer ... error="insufficient_claims", claims="<base64 JSON>"` (Entra, *Claims challenges, claims requests and
client capabilities*). The client then asks for a new token once per refused request: `renew`.

What azure-identity does (1.27, the version this was written against): a credential keeps the tokens it fetched
in its own in-memory cache, per instance, and hands back the cached one until it nears expiry; asked with
`claims=` it skips that cache (managed identity and client credentials alike: `get_cached_token` returns nothing
when claims are given) and passes the claims on where the sign-in takes them (a managed identity endpoint does
not; the Azure CLI refuses them and says to run `az login --claims-challenge`). A plain 401 has no claims to pass,
so the credential is replaced by a new instance, whose cache is empty. Continuous access evaluation does not yet
cover managed identities (Entra, *Continuous access evaluation for workload identities*), but a refused token is
replaced whatever the reason Graph gave.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from teamslicensing.errors import AuthenticationError, GraphError

TokenProvider = Callable[[], Awaitable[str]]
TOKEN_ENV = "TEAMS_LICENSING_ACCESS_TOKEN"  # read by the front ends (CLI, runbook), never here
EARLY_RENEWAL = 300.0  # seconds before its expiry a token is replaced anyway

NOT_RENEWABLE = (
    f"a given access token cannot be refreshed here: pass a fresh one in {TOKEN_ENV}, or unset it to sign in with "
    "a managed identity or `az login`"
)
REFUSED_AGAIN = "refused again with a token fetched just now"
# one auth-param of a challenge: name=value or name="quoted value" (RFC 9110, 11.2)
_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


class Tokens:
    """A token given by the caller (a CI step, an emulator, `TEAMS_LICENSING_ACCESS_TOKEN`): used as is, never
    logged, and never refreshed, since nothing here could fetch another."""

    refreshable = False

    def __init__(self, provider: TokenProvider, close: Callable[[], Awaitable[None]] | None = None) -> None:
        self._provider = provider
        self._close = close
        self.fetches = 0  # tokens fetched from a credential (none for a given token)

    @classmethod
    def given(cls, token: str) -> Tokens:
        async def provide() -> str:
            return token

        return cls(provide)

    async def get(self) -> str:
        return await self._provider()

    async def renew(self, refused: str, claims: str | None) -> str:
        """A token to use instead of `refused` (Graph refused it), asked with `claims` from a claims challenge."""
        raise AuthenticationError(f"Graph refused the access token: {NOT_RENEWABLE}")

    async def close(self) -> None:
        if self._close is not None:
            await self._close()


class CredentialTokens(Tokens):
    """Tokens from an azure-identity credential, fetched once and kept until 5 minutes before their expiry; one
    renewal for every token refused, however many requests in flight met the refusal at once."""

    refreshable = True

    def __init__(self, make_credential: Callable[[], Any], scope: str) -> None:
        super().__init__(self._current)
        self._make_credential = make_credential
        self._credential = make_credential()
        self._scope = scope
        self._token: Any = None  # azure.core.credentials.AccessToken
        self._lock = asyncio.Lock()  # one fetch at a time: requests waiting for a token share the one fetched

    async def _current(self) -> str:
        async with self._lock:
            if self._token is None or self._token.expires_on - EARLY_RENEWAL < time.time():
                self._token = await self._fetch(None)
            return str(self._token.token)

    async def renew(self, refused: str, claims: str | None) -> str:
        async with self._lock:
            if self._token is not None and str(self._token.token) != refused:
                return str(self._token.token)  # another request met the refusal first and renewed it
            if claims is None:  # the credential's own cache would hand back the refused token: start a new one
                old, self._credential = self._credential, self._make_credential()
                await old.close()
            self._token = await self._fetch(claims)
            return str(self._token.token)

    async def _fetch(self, claims: str | None) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        self.fetches += 1
        try:
            if claims is None:
                return await self._credential.get_token(self._scope)
            return await self._credential.get_token(self._scope, claims=claims)
        except ClientAuthenticationError as exc:
            again = " again after Graph refused the last one" if self.fetches > 1 else ""
            raise AuthenticationError(
                f"could not get a token{again} for {self._scope}: {str(exc).splitlines()[0]}. Sign in with "
                f"`az login`, run with a managed identity, or set {TOKEN_ENV}."
            ) from exc

    async def close(self) -> None:
        await self._credential.close()


class TokenRefused(GraphError):
    """Graph answered 401: the token it was sent (`token`), and the claims of its challenge if it sent one."""

    def __init__(self, code: str, message: str, request_id: str | None, token: str, claims: str | None) -> None:
        super().__init__(401, code, message, request_id)
        self.token = token
        self.claims = claims

    def final(self, why: str) -> GraphError:
        """The refusal as the run's error, saying why no fresh token was tried (`why`)."""
        return GraphError(401, self.code, f"{self.message} ({why})", self.request_id)


def claims_challenge(headers: Mapping[str, str]) -> str | None:
    """The claims a `WWW-Authenticate: Bearer ... error="insufficient_claims", claims="<base64>"` challenge asks
    for, decoded (the JSON text a credential takes as `claims=`); None when there is no such challenge, or its
    claims are not base64 of UTF-8 text."""
    header = next((value for name, value in headers.items() if name.lower() == "www-authenticate"), None)
    if not header or not header.lstrip().lower().startswith("bearer"):
        return None
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM.finditer(header)}
    encoded = params.get("claims")
    if params.get("error") != "insufficient_claims" or not encoded:
        return None
    try:
        claims = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return claims or None
