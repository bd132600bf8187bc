"""The Graph client's own promises: which credential signs in, token caching and renewal, claims challenges, OData
escaping, batch limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from types import SimpleNamespace
from typing import Any, ClassVar, TypeVar

import pytest

from teamslicensing.errors import AuthenticationError
from teamslicensing.graph import Connection, Graph
from teamslicensing.graph.client import BATCH_LIMIT
from teamslicensing.graph.connection import token_provider
from teamslicensing.graph.requests import odata_string
from teamslicensing.graph.tokens import claims_challenge
from teamslicensing.graph.wire import BatchRequest


class RecordingCredential:
    instances: ClassVar[list[RecordingCredential]] = []

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.scopes: list[str] = []
        self.claims: list[str | None] = []
        self.closed = False
        RecordingCredential.instances.append(self)

    async def get_token(self, scope: str, *, claims: str | None = None) -> Any:
        self.scopes.append(scope)
        self.claims.append(claims)
        fetched = sum(len(c.scopes) for c in RecordingCredential.instances)
        return SimpleNamespace(token=f"token-{fetched}", expires_on=time.time() + 3600)

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> type[RecordingCredential]:
    import azure.identity.aio

    RecordingCredential.instances = []
    monkeypatch.delenv("TEAMS_LICENSING_ACCESS_TOKEN", raising=False)
    monkeypatch.setattr(azure.identity.aio, "DefaultAzureCredential", RecordingCredential)
    monkeypatch.setattr(azure.identity.aio, "ManagedIdentityCredential", RecordingCredential)
    return RecordingCredential


T = TypeVar("T")


def run(awaitable: Awaitable[T]) -> T:
    async def wait() -> T:
        return await awaitable

    return asyncio.run(wait())


def test_a_given_token_is_used_as_is_without_any_credential(credentials: type[RecordingCredential]) -> None:
    tokens = token_provider(Connection(), "ci-token")
    assert run(tokens.get()) == "ci-token"
    assert not tokens.refreshable
    run(tokens.close())
    assert credentials.instances == []


def test_default_credential_uses_the_cloud_authority_and_caches_the_token(
    credentials: type[RecordingCredential],
) -> None:
    tokens = token_provider(Connection.from_options("usgov"))

    async def twice() -> tuple[str, str]:
        return await tokens.get(), await tokens.get()

    assert asyncio.run(twice()) == ("token-1", "token-1")
    (credential,) = credentials.instances
    assert credential.options == {"authority": "login.microsoftonline.us"}
    assert credential.scopes == ["https://graph.microsoft.us/.default"]
    run(tokens.close())
    assert credential.closed


def test_user_assigned_managed_identity_by_client_id(credentials: type[RecordingCredential]) -> None:
    tokens = token_provider(Connection.from_options(managed_identity_client_id="1111-2222"))
    run(tokens.get())
    (credential,) = credentials.instances
    assert credential.options == {"client_id": "1111-2222"}


def test_a_refused_token_is_renewed_once_however_many_requests_met_the_refusal(
    credentials: type[RecordingCredential],
) -> None:
    """Four batches in flight meet the revocation at once: one fresh token for all. A plain refusal gets it from a
    new credential (the old one's cache would give the refused token back, and it is closed); a claims challenge
    from the same credential, with the claims."""
    tokens = token_provider(Connection.from_options(managed_identity_client_id="1111-2222"))

    async def refusals() -> tuple[str, list[str], str]:
        refused = await tokens.get()
        renewed = await asyncio.gather(*(tokens.renew(refused, None) for _ in range(4)))
        challenged = await tokens.renew(renewed[0], '{"access_token":{"nbf":{"essential":true}}}')
        return refused, renewed, challenged

    refused, renewed, challenged = run(refusals())
    assert refused == "token-1"
    assert renewed == ["token-2"] * 4
    assert challenged == "token-3"
    first, second = credentials.instances
    assert first.closed
    assert first.options == second.options == {"client_id": "1111-2222"}
    assert (first.claims, second.claims) == ([None], [None, '{"access_token":{"nbf":{"essential":true}}}'])
    assert tokens.fetches == 3


def test_a_given_token_is_never_renewed() -> None:
    tokens = token_provider(Connection(), "ci-token")
    with pytest.raises(AuthenticationError, match="a given access token cannot be refreshed here"):
        run(tokens.renew("ci-token", None))


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        (  # Entra's example (claims-challenge page)
            'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
            'error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbH'
            'VlIjoiY3AxIn19fQ=="',
            '{"access_token":{"acrs":{"essential":true,"value":"cp1"}}}',
        ),
        (  # as Graph sent it (msgraph-sdk-dotnet#1416): authorization_uri unquoted
            'Bearer realm="", authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, '
            'client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", '
            'claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTY1NzgzNDQxNyJ9fX0="',
            '{"access_token":{"nbf":{"essential":true, "value":"1657834417"}}}',
        ),
        ('Bearer realm="", error="invalid_token"', None),
        ('Bearer error="insufficient_claims", claims="%%%not base64"', None),
        ('Basic realm="x", error="insufficient_claims", claims="e30="', None),
    ],
)
def test_a_claims_challenge_is_read_as_entra_documents_it(header: str, claims: str | None) -> None:
    assert claims_challenge({"WWW-Authenticate": header}) == claims
    assert claims_challenge({"www-authenticate": header}) == claims  # inside a $batch item: lower-case names


def test_odata_strings_double_quotes_and_encode() -> None:
    assert odata_string("Voice - Sales") == "%27Voice%20-%20Sales%27"
    assert odata_string("O'Brien's team") == "%27O%27%27Brien%27%27s%20team%27"


def test_a_batch_never_holds_more_than_twenty_requests() -> None:
    requests = [BatchRequest(str(n), "PATCH", f"/users/{n}", {"usageLocation": "US"}) for n in range(BATCH_LIMIT + 1)]

    async def send() -> None:
        async with Graph(Connection(), client=object(), token=lambda: asyncio.sleep(0, "t")) as graph:  # type: ignore[arg-type]
            await graph.batch(requests)

    with pytest.raises(ValueError, match="at most 20"):
        asyncio.run(send())
