"""Where Graph is and how to sign in: national clouds, the credential chain or a given token (kept and renewed by
`tokens`), msgraph-core's client."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from teamslicensing.graph.tokens import TOKEN_ENV as TOKEN_ENV  # the front ends' name for a given token
from teamslicensing.graph.tokens import CredentialTokens, Tokens

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
REQUEST_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
GRAPH_URL_ENV = "TEAMS_LICENSING_GRAPH_URL"

# cloud -> (Graph host, Entra authority host)
CLOUDS: dict[str, tuple[str, str]] = {
    "global": ("https://graph.microsoft.com", "login.microsoftonline.com"),
    "usgov": ("https://graph.microsoft.us", "login.microsoftonline.us"),
    "usgovdod": ("https://dod-graph.microsoft.us", "login.microsoftonline.us"),
    "china": ("https://microsoftgraph.chinacloudapi.cn", "login.chinacloudapi.cn"),
}


@dataclass(frozen=True)
class Connection:
    """Where Graph is and how to sign in. Never holds a token itself (a given one travels beside it, to `Graph`)."""

    graph_url: str = DEFAULT_GRAPH_URL
    authority_host: str = CLOUDS["global"][1]
    managed_identity_client_id: str | None = None

    @property
    def scope(self) -> str:
        parts = urlsplit(self.graph_url)
        return f"{parts.scheme}://{parts.netloc}/.default"

    @classmethod
    def from_options(
        cls, cloud: str = "global", graph_url: str | None = None, managed_identity_client_id: str | None = None
    ) -> Connection:
        host, authority = CLOUDS[cloud]
        url = graph_url or f"{host}/v1.0"
        return cls(url.rstrip("/"), authority, managed_identity_client_id)


def cloud_of(graph_url: str) -> str:
    """The national cloud a Graph endpoint belongs to; an emulator or loopback URL counts as global."""
    host = urlsplit(graph_url).netloc.lower()
    return next((name for name, (graph, _) in CLOUDS.items() if urlsplit(graph).netloc == host), "global")


def token_tenant(token: str) -> str | None:
    """The directory (tenant) id an Entra access token was issued for: its `tid` claim, read without verifying
    the signature (Graph verifies it; we only need to know which tenant we reached). None for opaque tokens."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError, RecursionError):
        return None
    tid = claims.get("tid") if isinstance(claims, dict) else None
    return tid.strip().lower() if isinstance(tid, str) and tid.strip() else None


def token_provider(connection: Connection, access_token: str | None = None) -> Tokens:
    """Bearer tokens for `connection`: `access_token`, a token the caller already holds (a CI step, an emulator),
    used as is and never logged; else the managed identity (when its client id is configured) or the credential
    chain, renewed when Graph refuses a token (see `tokens`)."""
    if access_token:
        return Tokens.given(access_token)
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    def credential() -> Any:
        if connection.managed_identity_client_id:
            return ManagedIdentityCredential(client_id=connection.managed_identity_client_id)
        return DefaultAzureCredential(authority=connection.authority_host)

    return CredentialTokens(credential, connection.scope)


def graph_http_client(connection: Connection) -> httpx.AsyncClient:
    """msgraph-core's client and middleware for `connection`, without its retry handler."""
    from kiota_http.kiota_client_factory import KiotaClientFactory
    from kiota_http.middleware import RedirectHandler, RetryHandler
    from msgraph_core import GraphClientFactory
    from msgraph_core.middleware import GraphTelemetryHandler

    # no retry handler (one retry layer, ours) and no redirect handler: Graph's API never redirects, so a redirect
    # is a proxy or a captive portal, reported rather than followed with the token
    middleware = [
        m for m in KiotaClientFactory.get_default_middleware(None) if not isinstance(m, (RetryHandler, RedirectHandler))
    ]
    middleware.append(GraphTelemetryHandler())
    # base_url set here and again below: kiota-http ≥ 1.9.4 keeps the client's own (docs/explanation/facts.md)
    client = httpx.AsyncClient(base_url=connection.graph_url, timeout=REQUEST_TIMEOUT)
    wrapped: httpx.AsyncClient = GraphClientFactory.create_with_custom_middleware(middleware=middleware, client=client)
    wrapped.base_url = httpx.URL(connection.graph_url + "/")
    return wrapped
