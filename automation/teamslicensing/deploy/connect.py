"""Azure's own clients for the deployment: `azure-mgmt-automation` (API 2024-10-23) for Resource Manager and
`azure-storage-blob` for the wheels, each signed in for its own audience and sending its token only to its own origin.

Sign-in: `TEAMS_LICENSING_ARM_TOKEN` / `TEAMS_LICENSING_STORAGE_TOKEN`, when set, are bearer tokens used as they are
(CI that already holds one, emulators, tests); otherwise azure-identity's DefaultAzureCredential (environment,
workload identity, managed identity, Azure CLI, ...) at the cloud's authority. Every request goes through a hook that
refuses any origin but the client's own, so a `Location` header pointing elsewhere cannot carry a token away; an
`--arm-url`/`--blob-url` off this machine is taken only with its token variable set (`options.check_options`), so
DefaultAzureCredential's tokens go only to Azure's own endpoints or to loopback. Each client's credential serves its
own scope only (`OneScope`): answered 401 with a challenge naming another resource, an Azure client asks its
credential for that resource's token and sends it to the endpoint that answered; a Resource Manager token is never
fetched for the blob endpoint that way.
Azure's answers that refuse become `DeployError` with Azure's code and message; the automation swagger's errors are
flat `{"code", "message"}` while the 2.0.0 SDK expects ARM's `{"error": {...}}`, so both are read.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from teamslicensing.deploy.options import ARM_TOKEN_ENV, STORAGE_TOKEN_ENV, DeployOptions, Pace
from teamslicensing.errors import AuthenticationError, DeployError

if TYPE_CHECKING:
    from azure.mgmt.automation import AutomationClient
    from azure.storage.blob import BlobServiceClient

T = TypeVar("T")
CONNECT_SECONDS, READ_SECONDS, RETRIES = 30, 300, 4  # every request bounded in time; azure-core retries 429 and 5xx
MAX_SINGLE_PUT = 128 * 1024 * 1024  # wheels are at most 100 MB: one Put Blob each, no block lists
STORAGE_SCOPE = "https://storage.azure.com/.default"  # Storage's audience in every cloud (no `audience` given)


class GivenToken:
    """A TokenCredential answering with a token the caller holds, for one audience only."""

    def __init__(self, token: str, scope: str) -> None:
        self._token = token
        self._scope = scope

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        if scopes and scopes[0] != self._scope:
            raise ClientAuthenticationError(f"the given token is for {self._scope}, not {scopes[0]}")
        return AccessToken(self._token, int(time.time()) + 3600)


class OneScope:
    """A credential as an Azure client sees it, serving `scope` only: a token for any other is refused, never
    fetched (ClientAuthenticationError, which the client reports as a failed sign-in)."""

    def __init__(self, credential: TokenCredential, scope: str) -> None:
        self._credential = credential
        self._scope = scope

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        if scopes != (self._scope,):
            asked = ", ".join(scopes) or "no scope"
            raise ClientAuthenticationError(
                f"a token for {asked} was asked for on the way to an endpoint of {self._scope} (a 401 challenge "
                "naming another resource?): refused"
            )
        return self._credential.get_token(*scopes, **kwargs)


@dataclass
class Azure:
    automation: AutomationClient
    blobs: BlobServiceClient
    options: DeployOptions
    pace: Pace

    @property
    def group(self) -> str:
        return self.options.resource_group

    @property
    def account(self) -> str:
        return self.options.account


@contextlib.contextmanager
def connect(options: DeployOptions, pace: Pace) -> Iterator[Azure]:
    from azure.mgmt.automation import AutomationClient
    from azure.storage.blob import BlobServiceClient

    arm_token, storage_token = os.environ.get(ARM_TOKEN_ENV), os.environ.get(STORAGE_TOKEN_ENV)
    chain = None
    if not (arm_token and storage_token):
        from azure.identity import DefaultAzureCredential

        chain = DefaultAzureCredential(authority=options.endpoints.authority_host)
    arm_scope = options.endpoints.arm_scope
    arm_given = GivenToken(arm_token, arm_scope) if arm_token else chain
    storage_given = GivenToken(storage_token, STORAGE_SCOPE) if storage_token else chain
    assert arm_given is not None  # the chain is there whenever a token is not given
    assert storage_given is not None
    arm_credential = OneScope(arm_given, arm_scope)
    storage_credential = OneScope(storage_given, STORAGE_SCOPE)
    automation = AutomationClient(
        arm_credential,
        options.subscription,
        base_url=options.arm,
        credential_scopes=[arm_scope],
        raw_request_hook=_only_to(options.arm),
        polling_interval=pace.poll_seconds,
        connection_timeout=CONNECT_SECONDS,
        read_timeout=READ_SECONDS,
        retry_total=RETRIES,
    )
    blobs = BlobServiceClient(
        options.blob,
        credential=storage_credential,
        raw_request_hook=_only_to(options.blob),
        max_single_put_size=MAX_SINGLE_PUT,
        connection_timeout=CONNECT_SECONDS,
        read_timeout=READ_SECONDS,
        retry_total=RETRIES,
    )
    try:
        with automation, blobs:
            yield Azure(automation, blobs, options, pace)
    finally:
        if chain is not None:
            chain.close()


def _only_to(base: str) -> Callable[[Any], None]:
    origin = _origin(base)

    def check(request: Any) -> None:
        if _origin(request.http_request.url) != origin:
            raise DeployError(f"refused to send a request to {_origin(request.http_request.url)}: only {origin}")

    return check


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    """Azure's refusals and unreachable endpoints, as one message naming the step."""
    try:
        yield
    except ClientAuthenticationError as exc:
        raise AuthenticationError(
            f"{what}: no token for Azure ({_first_line(exc)}); sign in (az login, a workload identity, or "
            f"{ARM_TOKEN_ENV}/{STORAGE_TOKEN_ENV})"
        ) from exc
    except HttpResponseError as exc:
        raise DeployError(f"{what}: {azure_said(exc)}") from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise DeployError(f"{what}: cannot reach Azure: {_first_line(exc)}") from exc


def found_or_none(call: Callable[[], T]) -> T | None:
    """The resource, or None when Azure answers 404."""
    try:
        return call()
    except ResourceNotFoundError:
        return None


def azure_said(exc: HttpResponseError) -> str:
    """`Azure answered STATUS CODE: MESSAGE`, from either error shape, or Storage's error code."""
    status = exc.status_code or "?"
    code, message = getattr(exc, "error_code", None), ""
    response = exc.response
    if response is not None:
        try:
            body = json.loads(response.text())
        except (ValueError, UnicodeDecodeError, TypeError):
            body = None
        if isinstance(body, dict):
            detail = body.get("error", body)
            if isinstance(detail, dict):
                code = detail.get("code") or code
                message = str(detail.get("message") or "")
    if not message:
        message = _first_line(exc)
    return f"Azure answered {status} {code or ''}: {message}".replace("  ", " ")


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
