"""The runbook's run history as an append blob in its audit container: each run adds one line as one Append Block,
which Storage writes whole or not at all, so two jobs finishing together never interleave or lose a line.

An append blob takes at most 50,000 blocks (Append Block, REST API): a run a day for 136 years, one an hour for five
and a half. Past that Storage refuses the append (BlockCountExceedsLimit), which is said, and the run's outcome is
unchanged: rename the blob (`TeamsLicensing_History`) to start a new one.
"""

from __future__ import annotations

import contextlib

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError

from teamslicensing.graph.blob import BlobError, container_client, storage_credential, storage_message

APPEND_BLOB = "AppendBlob"


def append_line(
    container_url: str, name: str, line: bytes, *, managed_identity_client_id: str | None, access_token: str | None
) -> str:
    """`line` appended to the append blob `name` (made on the first run); the blob's URL. Raises BlobError."""
    credential = storage_credential(managed_identity_client_id, access_token)
    try:
        with container_client(container_url, credential) as container:
            blob = container.get_blob_client(name)
            # made only if missing (If-None-Match: *), so that two first runs cannot empty each other's line
            with contextlib.suppress(ResourceExistsError):
                blob.create_append_blob(match_condition=MatchConditions.IfMissing)
            blob.append_block(line)
            return str(blob.url)
    except AzureError as exc:
        raise BlobError(f"cannot append to {name} in {container_url}: {storage_message(exc)}") from exc
    finally:
        credential.close()  # type: ignore[attr-defined]


def read_tail(
    container_url: str,
    name: str,
    most: int,
    *,
    managed_identity_client_id: str | None,
    access_token: str | None,
) -> tuple[bytes, int] | None:
    """The last `most` bytes of the append blob `name` and its size; None when it does not exist yet. A blob of
    another type there is no history of ours: BlobError."""
    credential = storage_credential(managed_identity_client_id, access_token)
    try:
        with container_client(container_url, credential) as container:
            blob = container.get_blob_client(name)
            try:
                properties = blob.get_blob_properties()
            except ResourceNotFoundError:
                return None
            kind = str(getattr(properties.blob_type, "value", properties.blob_type))
            if kind != APPEND_BLOB:
                raise BlobError(f"{name} in {container_url} is a {kind}, not a run history (an append blob)")
            size = int(properties.size)
            if size == 0:
                return b"", 0
            start = max(size - most, 0)
            return blob.download_blob(offset=start, length=size - start).readall(), size
    except AzureError as exc:
        raise BlobError(f"cannot read {name} in {container_url}: {storage_message(exc)}") from exc
    finally:
        credential.close()  # type: ignore[attr-defined]
