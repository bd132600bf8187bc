"""A runbook setting stored as a blob: `deploy automation` puts a configuration (or a numbers CSV) too large for an
Automation variable (1,048,576 characters) into a blob container and stores the blob's URL in the variable; the
runbook reads it here through azure-storage-blob with its managed identity for Storage (Storage Blob Data Reader on
that container), never with the Graph token (`graph.blob`: https only, redirects off).

The URL is the one `deploy automation` writes: `https://ACCOUNT.blob.core.windows.net/CONTAINER/NAME`, where NAME
may hold slashes of its own (`config/licensing.yaml`: the numbers' blob never overwrites the configuration's) and is
percent-encoded once. The container is the first segment of the path (the second on loopback, where an emulator
puts the account first); the blob's name is the rest, decoded once (the SDK encodes it again as it sends it)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from teamslicensing.graph.blob import (
    LOOPBACK_HOSTS,
    BlobError,
    checked_container,
    container_client,
    storage_credential,
    storage_message,
)

MAX_BYTES = 64 * 1024 * 1024  # a configuration of this size would already be far past any sandbox's patience


def blob_url(value: str) -> str | None:
    """`value` when it is one blob's URL (https on a public or national cloud blob endpoint, or on loopback for an
    emulator), else None: YAML text or a file path is not one."""
    return value.strip() if blob_location(value) is not None else None


def blob_location(value: str) -> tuple[str, str] | None:
    """(container URL, blob name) of a blob's URL, the name decoded once; None when `value` is not one."""
    text = value.strip()
    if not text or any(c.isspace() for c in text):
        return None
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        return None
    account_in_path = (parts.hostname or "") in LOOPBACK_HOSTS
    segments = parts.path.lstrip("/").split("/", 2 if account_in_path else 1)
    if len(segments) != (3 if account_in_path else 2) or not segments[-1]:
        return None
    container = "/".join(segments[:-1])
    try:
        container_url = checked_container(f"{parts.scheme}://{parts.netloc}/{container}")
    except BlobError:
        return None
    name = unquote(segments[-1])
    if not name or name.endswith("/") or any(c.isspace() and c != " " for c in name):
        return None
    return container_url, name


def stored_text(value: str, managed_identity_client_id: str | None, access_token: str | None) -> str:
    """A runbook setting: the text of the blob it names when it is a blob URL, else the value as it is."""
    url = blob_url(value)
    if url is None:
        return value
    return read_blob_text(url, managed_identity_client_id=managed_identity_client_id, access_token=access_token)


def read_blob_text(url: str, *, managed_identity_client_id: str | None = None, access_token: str | None = None) -> str:
    """The blob's content as UTF-8 text; `BlobError` saying what Storage answered, or why the content is unusable."""
    from azure.core.exceptions import AzureError

    location = blob_location(url)
    if location is None:
        raise BlobError(f"{url!r} is not a blob's URL: write https://ACCOUNT.blob.core.windows.net/CONTAINER/NAME")
    container_url, name = location
    credential = storage_credential(managed_identity_client_id, access_token)
    try:
        with container_client(container_url, credential) as container:
            blob = container.get_blob_client(name)
            size = blob.get_blob_properties().size
            if size > MAX_BYTES:
                raise BlobError(f"{url} is over {MAX_BYTES // (1024 * 1024)} MB: not a setting")
            content = blob.download_blob(max_concurrency=1).readall()
    except AzureError as exc:
        hint = " (the identity needs Storage Blob Data Reader on the container)" if "403" in str(exc) else ""
        raise BlobError(f"cannot read {url}: {storage_message(exc)}{hint}") from exc
    finally:
        credential.close()  # type: ignore[attr-defined]
    try:
        return bytes(content).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BlobError(f"{url} is not UTF-8 text: {exc}") from exc
