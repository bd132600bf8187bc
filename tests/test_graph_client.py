"""The Graph client's own promises: which credential signs in, token caching, OData escaping, batch limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from types import SimpleNamespace
from typing import Any, ClassVar, TypeVar

import pytest

from teamslicensing.graph import Connection, Graph
from teamslicensing.graph.client import BATCH_LIMIT
from teamslicensing.graph.connection import token_provider
from teamslicensing.graph.requests import odata_string
from teamslicensing.graph.wire import BatchRequest


class RecordingCredential:
    instances: ClassVar[list[RecordingCredential]] = []

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.scopes: list[str] = []
        self.closed = False
        RecordingCredential.instances.append(self)

    async def get_token(self, scope: str) -> Any:
        self.scopes.append(scope)
        return SimpleNamespace(token=f"token-{len(self.scopes)}", expires_on=time.time() + 3600)

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
    fetch, close = token_provider(Connection(), "ci-token")
    assert run(fetch()) == "ci-token"
    run(close())
    assert credentials.instances == []


def test_default_credential_uses_the_cloud_authority_and_caches_the_token(
    credentials: type[RecordingCredential],
) -> None:
    fetch, close = token_provider(Connection.from_options("usgov"))

    async def twice() -> tuple[str, str]:
        return await fetch(), await fetch()

    assert asyncio.run(twice()) == ("token-1", "token-1")
    (credential,) = credentials.instances
    assert credential.options == {"authority": "login.microsoftonline.us"}
    assert credential.scopes == ["https://graph.microsoft.us/.default"]
    run(close())
    assert credential.closed


def test_user_assigned_managed_identity_by_client_id(credentials: type[RecordingCredential]) -> None:
    fetch, _ = token_provider(Connection.from_options(managed_identity_client_id="1111-2222"))
    run(fetch())
    (credential,) = credentials.instances
    assert credential.options == {"client_id": "1111-2222"}


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
