"""Append Block (`PUT ?comp=appendblock`) on the fake account, as Azure Storage documents it (Append Block, REST API
2023-11-03): only on an append blob (else 409 InvalidBlobType), one that exists (404 BlobNotFound); at most 50,000
committed blocks (409 BlockCountExceedsLimit) of at most 100 MiB each (413 RequestBodyTooLarge); the conditions
`x-ms-blob-condition-appendpos` and `x-ms-blob-condition-maxsize` (412); the write lease as every write. Each block is
appended whole or not at all, which is what makes an append blob safe for several writers."""

from __future__ import annotations

import uuid
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.fakestorage.store import Blob, BlobStore, Reply

MAX_BLOCKS = 50_000
MAX_BLOCK_BYTES = 100 << 20


def append_block(store: BlobStore, key: tuple[str, str], headers: dict[str, str], body: bytes) -> Reply:
    from tests.support.fakestorage.store import Reply, StorageFault, _etag

    blob = store.blobs.get(key)
    if blob is None or not blob.etag:
        raise StorageFault("BlobNotFound")
    if blob.kind != "AppendBlob":
        raise StorageFault("InvalidBlobType")
    store._check_write_lease(blob, headers)
    check_conditions(blob, headers)
    if len(body) > MAX_BLOCK_BYTES:
        raise StorageFault("RequestBodyTooLarge")
    position = _whole(headers.get("x-ms-blob-condition-appendpos"))
    if position is not None and position != len(blob.content):
        raise StorageFault("AppendPositionConditionNotMet")
    most = _whole(headers.get("x-ms-blob-condition-maxsize"))
    if most is not None and len(blob.content) + len(body) > most:
        raise StorageFault("MaxBlobSizeConditionNotMet")
    if blob.appended >= MAX_BLOCKS:
        raise StorageFault("BlockCountExceedsLimit")
    offset = len(blob.content)
    blob.content += body
    blob.appended += 1
    blob.etag, blob.modified = f'"0x{uuid.uuid4().hex[:15].upper()}"', store.now()
    return Reply(
        201,
        {
            **_etag(blob),
            "x-ms-blob-append-offset": str(offset),
            "x-ms-blob-committed-block-count": str(blob.appended),
            "x-ms-request-server-encrypted": "true",
        },
    )


def check_conditions(blob: Blob | None, headers: dict[str, str]) -> None:
    """The HTTP conditional headers of a blob write ("Specifying conditional headers for Blob service operations"):
    If-Match, If-None-Match (an ETag; `*` on Put Blob is its caller's 409), If-Modified-Since, If-Unmodified-Since;
    412 ConditionNotMet when one does not hold."""
    from tests.support.fakestorage.store import StorageFault

    etag = blob.etag if blob is not None and blob.etag else None
    wanted = headers.get("if-match")
    if wanted is not None and not (etag is not None and wanted.strip() in ("*", etag)):
        raise StorageFault("ConditionNotMet")
    unwanted = headers.get("if-none-match")
    if unwanted is not None and unwanted.strip() != "*" and etag is not None and unwanted.strip() == etag:
        raise StorageFault("ConditionNotMet")
    for name, after in (("if-modified-since", True), ("if-unmodified-since", False)):
        value = headers.get(name)
        if value is None or blob is None:
            continue
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue  # Storage ignores a date it cannot read
        if (blob.modified.replace(microsecond=0) > when) != after:
            raise StorageFault("ConditionNotMet")


def _whole(value: str | None) -> int | None:
    from tests.support.fakestorage.store import StorageFault

    if value is None:
        return None
    if not value.strip().isdigit():
        raise StorageFault("InvalidHeaderValue")
    return int(value)
