"""Azure Storage through azure-storage-blob: where a container is, how we sign in to it, and the finished audit log
kept there as a blob (the runbook's `TeamsLicensing_AuditContainer`). Leases on blobs are in `graph/lease.py`.

Azure Automation deletes a job's sandbox, temp folder included, and keeps its output about 30 days; a blob
outlives both. Storage is signed in to with a managed identity (the runbook), or the credential chain (the CLI),
never with the Graph token; a Storage token the caller already holds (emulators, tests) is handed to the SDK as a
credential that returns it. The identity needs "Storage Blob Data Contributor" on the container. It sits in graph/
because every HTTP call lives here.

Where a token can go: azure-storage-blob refuses a bearer token over plain http, and we turn its redirects off. But
when Storage (or whatever answers in its place: a TLS-inspecting proxy, anything on loopback) answers 401 with a
`WWW-Authenticate` challenge, the SDK's StorageBearerTokenCredentialPolicy asks the credential for a token for
`<the challenge's resource_id>/.default`, whatever resource that names, and sends the request again with it: a
challenge naming Graph would have a managed identity's Graph token sent to the Storage endpoint. So every client
here gets its credential through `StorageOnly`, which hands out tokens for Storage's scope only and refuses any
other with ClientAuthenticationError. That scope is https://storage.azure.com/.default in every cloud: we give the
SDK no `audience`, so it asks for that one in the national clouds too (Storage's default audience,
"https://storage.azure.com", authorizes requests to any storage account).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from teamslicensing.errors import TeamsLicensingError

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenCredential
    from azure.storage.blob import ContainerClient

STORAGE_SCOPE = "https://storage.azure.com/.default"
STORAGE_TOKEN_ENV = "TEAMS_LICENSING_STORAGE_TOKEN"  # read by the front ends (CLI, runbook), never here
# the public and national clouds' blob endpoints; loopback (an emulator, tests) as https://127.0.0.1:PORT/ACCOUNT/C
_BLOB_HOST = re.compile(
    r"[a-z0-9]{3,24}\.blob\.core\.(?:windows\.net|usgovcloudapi\.net|chinacloudapi\.cn)", re.IGNORECASE
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_CONTAINER_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")  # Storage's naming rules
# an upload goes in blocks of this size, so a long audit log is never read into memory whole (400 MB sandbox)
BLOCK_BYTES = 4 * 1024 * 1024


class BlobError(TeamsLicensingError):
    """Azure Storage could not be reached or refused us (the audit log is still in the job output)."""


def checked_container(url: str) -> str:
    """`https://ACCOUNT.blob.core.windows.net/CONTAINER` (or a national cloud's, or an emulator's on loopback,
    `https://127.0.0.1:PORT/ACCOUNT/CONTAINER`), without a slash at the end; anything else is refused before a
    token is asked for."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme == "http" and (host in LOOPBACK_HOSTS or _BLOB_HOST.fullmatch(host)):
        raise BlobError(f"{url!r} is plain http: Storage is reached over https only (no token travels unencrypted)")
    account_in_path = host in LOOPBACK_HOSTS
    if parts.scheme != "https" or not (account_in_path or _BLOB_HOST.fullmatch(host)):
        raise BlobError(f"{url!r} is not a blob container URL: write https://ACCOUNT.blob.core.windows.net/CONTAINER")
    segments = [segment for segment in parts.path.split("/") if segment]
    if parts.query or parts.fragment:
        raise BlobError(f"{url!r} carries a query (a SAS?): name the container only; the identity signs in")
    if len(segments) != (2 if account_in_path else 1) or not _CONTAINER_NAME.fullmatch(segments[-1]):
        raise BlobError(f"{url!r} names no container: write https://ACCOUNT.blob.core.windows.net/CONTAINER")
    return f"https://{parts.netloc}/{'/'.join(segments)}"


class StorageOnly:
    """A credential as azure-storage-blob sees it, serving only Storage's scope (`STORAGE_SCOPE`): a token for any
    other scope (a 401 challenge naming Graph, say) is refused with ClientAuthenticationError, never fetched."""

    def __init__(self, credential: Any) -> None:
        self._credential = credential

    def __repr__(self) -> str:
        return f"StorageOnly({self._credential!r})"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        _storage_scope_only(scopes)
        token: AccessToken = self._credential.get_token(*scopes, **kwargs)
        return token

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        _storage_scope_only(scopes)
        if hasattr(self._credential, "get_token_info"):
            info: AccessTokenInfo = self._credential.get_token_info(*scopes, options=options)
            return info
        from azure.core.credentials import AccessTokenInfo

        wanted = {key: value for key, value in dict(options or {}).items() if key in ("claims", "tenant_id")}
        token = self._credential.get_token(*scopes, **wanted)
        return AccessTokenInfo(token.token, token.expires_on)

    def close(self) -> None:
        getattr(self._credential, "close", lambda: None)()


def _storage_scope_only(scopes: tuple[str, ...]) -> None:
    if scopes != (STORAGE_SCOPE,):
        from azure.core.exceptions import ClientAuthenticationError

        asked = ", ".join(scopes) or "no scope"
        raise ClientAuthenticationError(
            f"a token for {asked} was asked for on the way to Storage (a 401 challenge naming another resource?): "
            f"refused, only a token for {STORAGE_SCOPE} is sent to Storage"
        )


class GivenToken:
    """A Storage token the caller holds, as the credential azure-storage-blob asks for; never printed."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "GivenToken(<hidden>)"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)  # a fixed token has no expiry we could know

    def close(self) -> None:
        return None


def storage_credential(
    managed_identity_client_id: str | None, access_token: str | None, *, chain_authority: str | None = None
) -> TokenCredential:
    """The credential for Storage: a token given as is; else a managed identity (the user-assigned one named, or
    the system-assigned one); else, with `chain_authority` (the CLI), the credential chain signing in there."""
    if access_token:
        return GivenToken(access_token)
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if managed_identity_client_id:
        return ManagedIdentityCredential(client_id=managed_identity_client_id)
    if chain_authority is not None:
        return DefaultAzureCredential(authority=chain_authority)
    return ManagedIdentityCredential()


@contextmanager
def container_client(container_url: str, credential: TokenCredential, **settings: Any) -> Iterator[ContainerClient]:
    """An azure-storage-blob client of the container, redirects off, its credential serving Storage's scope only
    (`StorageOnly`); `settings` tune its timeouts and retries."""
    from azure.storage.blob import ContainerClient

    client = ContainerClient.from_container_url(
        checked_container(container_url),
        credential=StorageOnly(credential),
        permit_redirects=False,  # a redirect would carry the token elsewhere: an error instead
        max_single_put_size=BLOCK_BYTES,
        max_block_size=BLOCK_BYTES,
        **settings,
    )
    with client:
        yield client


def upload_file(
    path: str | Path,
    container_url: str,
    *,
    managed_identity_client_id: str | None = None,
    access_token: str | None = None,
) -> str:
    """Store the file at `path` as the block blob of its name in the container (read block by block); its URL.
    `access_token`: a Storage token the caller holds, else the managed identity's."""
    from azure.core.exceptions import AzureError

    source = Path(path)
    credential = storage_credential(managed_identity_client_id, access_token)
    try:
        with container_client(container_url, credential) as container, open(source, "rb") as data:
            blob = container.get_blob_client(source.name)
            blob.upload_blob(data, length=source.stat().st_size, overwrite=True, max_concurrency=1)
            return str(blob.url)
    except AzureError as exc:
        raise BlobError(f"cannot store {source.name} in {container_url}: {storage_message(exc)}") from exc
    finally:
        credential.close()  # type: ignore[attr-defined]


def storage_message(exc: BaseException) -> str:
    """Storage's error in one line: the status and error code it sent, else the first line of the SDK's text."""
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None)
    code = getattr(code, "value", code)  # the SDK's StorageErrorCode, or the code as Storage sent it
    first = (str(getattr(exc, "message", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
    if status:
        return f"Storage answered {status} {code or ''}: {first}".replace("  ", " ")
    return first
