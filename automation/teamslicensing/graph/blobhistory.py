"""The runbook's run history as an append blob in its audit container: each run adds one line as one Append Block,
which Storage writes whole or not at all, so two jobs finishing together never interleave or lose a line.

Once, never twice. Each append names the position it expects the blob to end at (`x-ms-blob-condition-appendpos`,
Append Block's remedy for duplicate appends): the size just read. An append whose answer was lost (a 500
OperationTimedOut, a dropped connection) may have landed: refused at its old position (412), it reads the blob's
end, and finds its own line there (done) or another job's (it appends after it). A few turns at most.

Bounded in time: the history is a side matter, so its requests have short timeouts and no SDK retries (the turns
above are the retries): an unreachable Storage costs a plan job seconds, not minutes.

An append blob takes at most 50,000 blocks (Append Block, REST API): a run a day for 136 years, one an hour for five
and a half. Past that Storage refuses the append (BlockCountExceedsLimit), which is said, and the run's outcome is
unchanged: name another blob (`TeamsLicensing_History`) to start a new history.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from teamslicensing.graph.blob import BlobError, container_client, storage_credential, storage_message

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

APPEND_BLOB = "AppendBlob"
REQUEST_TIMEOUT = 10  # seconds, to connect and to read
HISTORY_CLIENT_SETTINGS: dict[str, Any] = {
    "retry_total": 0,
    "connection_timeout": REQUEST_TIMEOUT,
    "read_timeout": REQUEST_TIMEOUT,
}
TURNS = 3  # appends tried, each at the blob's end as last read


def append_line(
    container_url: str,
    name: str,
    line: bytes,
    *,
    at: int | None = None,
    managed_identity_client_id: str | None,
    access_token: str | None,
) -> str:
    """`line` appended to the append blob `name` (made if missing) where it ends, `at` bytes as last read (None: not
    read; it is then read first); the blob's URL. Raises BlobError."""
    credential = storage_credential(managed_identity_client_id, access_token)
    try:
        with container_client(container_url, credential, **HISTORY_CLIENT_SETTINGS) as container:
            blob = container.get_blob_client(name)
            if at is None:
                at = _size(blob)
            if at is None:  # made only if missing (If-None-Match: *): two first runs cannot empty each other's line
                with contextlib.suppress(ResourceExistsError):
                    blob.create_append_blob(match_condition=MatchConditions.IfMissing)
                at = 0
            _append_once(blob, line, at)
            return str(blob.url)
    except AzureError as exc:
        raise BlobError(f"cannot append to {name} in {container_url}: {storage_message(exc)}") from exc
    finally:
        credential.close()  # type: ignore[attr-defined]


def _append_once(blob: BlobClient, line: bytes, at: int) -> None:
    """One Append Block of `line` at `at`; after an answer that leaves it unknown (a 5xx, no answer) or a moved end
    (412), the blob is read: the line where it was sent is done, else it goes again at the end."""
    for _ in range(TURNS):
        try:
            blob.append_block(line, appendpos_condition=at)
            return
        except HttpResponseError as exc:
            if _code(exc) != "AppendPositionConditionNotMet" and (exc.status_code or 0) < 500:
                raise
        except (ServiceRequestError, ServiceResponseError):
            pass  # no answer: it may have landed
        size = _size(blob) or 0
        if size >= at + len(line) and _read(blob, at, len(line)) == line:
            return  # it landed though its answer was lost: appendpos let it land only at `at`
        at = size  # not there: again, after whatever other jobs appended meanwhile
    raise BlobError(f"the line could not be appended in {TURNS} tries (other jobs appending, or Storage failing)")


def _code(exc: HttpResponseError) -> str:
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")


def _size(blob: BlobClient) -> int | None:
    """The append blob's size; None when it does not exist. A blob of another type is no history: BlobError."""
    try:
        properties = blob.get_blob_properties()
    except ResourceNotFoundError:
        return None
    kind = str(getattr(properties.blob_type, "value", properties.blob_type))
    if kind != APPEND_BLOB:
        raise BlobError(f"{blob.blob_name} is a {kind}, not a run history (an append blob)")
    return int(properties.size)


def _read(blob: BlobClient, start: int, length: int) -> bytes:
    return bytes(blob.download_blob(offset=start, length=length).readall()) if length else b""


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
        with container_client(container_url, credential, **HISTORY_CLIENT_SETTINGS) as container:
            blob = container.get_blob_client(name)
            size = _size(blob)
            if size is None:
                return None
            start = max(size - most, 0)
            return _read(blob, start, size - start), size
    except AzureError as exc:
        raise BlobError(f"cannot read {name} in {container_url}: {storage_message(exc)}") from exc
    finally:
        credential.close()  # type: ignore[attr-defined]
