"""A runbook setting stored as a blob: `deploy automation` puts a configuration (or a numbers CSV) too large for an
Automation variable (1,048,576 characters) into a blob container and stores the blob's URL in the variable; the
runbook reads it here with its managed identity for Storage (Storage Blob Data Reader on that container), never with
the Graph token. Get Blob (REST reference): GET with an OAuth bearer token and `x-ms-version`; 200 with the content.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx

from teamslicensing.graph.blob import _BLOB_HOST, STORAGE_VERSION, TIMEOUT, BlobError, _storage_token

MAX_BYTES = 64 * 1024 * 1024  # a configuration of this size would already be far past any sandbox's patience


def blob_url(value: str) -> str | None:
    """`value` when it is one blob's URL (https on a public or national cloud blob endpoint, or loopback http for
    emulators), else None: YAML text or a file path is not one."""
    text = value.strip()
    if not text or any(c.isspace() for c in text):
        return None
    parts = urlsplit(text)
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    if not (loopback or (parts.scheme == "https" and _BLOB_HOST.fullmatch(parts.hostname or ""))):
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if loopback:
        segments = segments[1:]  # emulators put the account name first
    return text if len(segments) >= 2 and not parts.query else None


def stored_text(value: str, managed_identity_client_id: str | None, access_token: str | None) -> str:
    """A runbook setting: the text of the blob it names when it is a blob URL, else the value as it is."""
    url = blob_url(value)
    if url is None:
        return value
    import asyncio

    return asyncio.run(
        read_blob_text(url, managed_identity_client_id=managed_identity_client_id, access_token=access_token)
    )


async def read_blob_text(
    url: str, *, managed_identity_client_id: str | None = None, access_token: str | None = None
) -> str:
    """The blob's content as UTF-8 text; `BlobError` saying what Storage answered, or why the content is unusable."""
    token = access_token or await _storage_token(managed_identity_client_id)
    headers = {
        "Authorization": f"Bearer {token}",
        "x-ms-version": STORAGE_VERSION,
        "x-ms-date": datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    try:
        async with (
            httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code != 200:
                code = response.headers.get("x-ms-error-code", "")
                hint = (
                    " (the identity needs Storage Blob Data Reader on the container)"
                    if response.status_code == 403
                    else ""
                )
                raise BlobError(f"Storage answered {response.status_code} {code} for {url}{hint}".replace("  ", " "))
            content = bytearray()
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > MAX_BYTES:
                    raise BlobError(f"{url} is over {MAX_BYTES // (1024 * 1024)} MB: not a setting")
    except httpx.HTTPError as exc:
        raise BlobError(f"cannot read {url}: {exc}") from exc
    try:
        return bytes(content).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BlobError(f"{url} is not UTF-8 text: {exc}") from exc
