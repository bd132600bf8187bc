"""The audit log kept in Azure Storage (the runbook's `TeamsLicensing_AuditContainer`): one Put Blob of the
finished log, signed in with the managed identity for Storage (never with the Graph token).

Azure Automation deletes a job's sandbox, temp folder included, and keeps its output about 30 days; a blob
outlives both. Storage's rules followed (Put Blob, REST reference): `x-ms-blob-type: BlockBlob`, an OAuth bearer
token for the scope https://storage.azure.com/.default, which needs `x-ms-version` 2017-11-09 or later; 201 when
created. The identity needs the "Storage Blob Data Contributor" role on the container. It sits in graph/ because it
is the package's other HTTP call, and every HTTP call lives here.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

import httpx

from teamslicensing.errors import TeamsLicensingError

STORAGE_SCOPE = "https://storage.azure.com/.default"
STORAGE_VERSION = "2021-08-06"
# the public and national clouds' blob endpoints; loopback for emulators (Azurite) and tests
_BLOB_HOST = re.compile(
    r"[a-z0-9]{3,24}\.blob\.core\.(?:windows\.net|usgovcloudapi\.net|chinacloudapi\.cn)", re.IGNORECASE
)
TIMEOUT = 120.0


class BlobError(TeamsLicensingError):
    """The audit log could not be stored in the container (it is still in the job output)."""


def checked_container(url: str) -> str:
    """`https://ACCOUNT.blob.core.windows.net/CONTAINER` (or a national cloud's, or loopback), without a slash at
    the end; anything else is refused before a token is asked for."""
    parts = urlsplit(url.strip())
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    if not (loopback or (parts.scheme == "https" and _BLOB_HOST.fullmatch(parts.hostname or ""))):
        raise BlobError(f"{url!r} is not a blob container URL: write https://ACCOUNT.blob.core.windows.net/CONTAINER")
    if not parts.path.strip("/") or parts.query:
        raise BlobError(f"{url!r} names no container (or carries a query, e.g. a SAS: use the managed identity)")
    return url.strip().rstrip("/")


async def put_blob(
    container_url: str,
    name: str,
    content: bytes,
    *,
    managed_identity_client_id: str | None = None,
    access_token: str | None = None,
) -> str:
    """Store `content` as the block blob `name` in the container; its URL. `access_token`: a Storage token the
    caller holds (an emulator, tests), else the managed identity's."""
    container = checked_container(container_url)
    token = access_token or await _storage_token(managed_identity_client_id)
    url = f"{container}/{quote(name)}"
    headers = {
        "Authorization": f"Bearer {token}",
        "x-ms-version": STORAGE_VERSION,
        "x-ms-blob-type": "BlockBlob",
        "x-ms-date": datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Content-Type": "application/x-ndjson",
    }
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
            response = await client.put(url, content=content, headers=headers)
    except httpx.HTTPError as exc:
        raise BlobError(f"cannot reach {container}: {exc}") from exc
    if response.status_code != 201:
        code = response.headers.get("x-ms-error-code", "")
        raise BlobError(f"Storage answered {response.status_code} {code} for {url}".rstrip())
    return url


async def _storage_token(client_id: str | None) -> str:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity.aio import ManagedIdentityCredential

    credential = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    try:
        async with credential:
            return str((await credential.get_token(STORAGE_SCOPE)).token)
    except ClientAuthenticationError as exc:
        raise BlobError(f"no managed identity token for Storage: {exc.message or exc}") from exc
