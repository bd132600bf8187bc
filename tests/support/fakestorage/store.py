"""The blobs of one fake Azure Storage account and the REST operations on them, answered as Microsoft documents.

Sources (read 2026-08, the search tool's docs corpus): the Blob REST reference pages Create Container, Get Container
Properties, Put Blob, Put Block, Put Block List, Get Blob (with `x-ms-meta-*` metadata) and Lease Blob; "Azure Blob
Storage error codes" (code, status, message); "Specifying conditional headers for Blob service operations"
(`If-None-Match: *`: only if the blob does not exist); the "Lease states and actions" include of the Blob developer
guide (ms.date 2023-02-16): Available, Leased, Expired, Breaking, Broken and what each allows. Where a page was cut
short, Azurite (Microsoft's emulator, Azure/Azurite at 9074bea, 2026-08-19) was read for the same rule; none of its
code is here. Independent of product code.

Lease rules kept: acquire takes 15-60 s or -1 (else 400 InvalidHeaderValue), answers 201 and the lease id (the
proposed one if given); acquire with another id while leased: 409 LeaseAlreadyPresent; renew, release and change
need the id (409 LeaseIdMismatchWithLeaseOperation); renew works on an expired lease until the blob is written or
leased again; break answers 202 and x-ms-lease-time. Writes to a blob with an active lease need its id: without it
412 LeaseIdMissing, with another 412 LeaseIdMismatchWithBlobOperation; an id on a blob whose lease expired: 412
LeaseLost. A missing blob cannot be leased (404 BlobNotFound). Time is the store's own clock, which `speedup` runs
faster than the wall clock so tests can watch 60-second leases expire in seconds.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from tests.support.fakestorage.appendblob import (  # they import this module's types when called
    append_block,
    check_conditions,
)

ERRORS: dict[str, tuple[int, str]] = {
    "AuthenticationFailed": (403, "Server failed to authenticate the request."),
    "InvalidAuthenticationInfo": (401, "Authentication information is not given in the correct format."),
    "MissingRequiredHeader": (400, "An HTTP header that's mandatory for this request is not specified."),
    "InvalidHeaderValue": (400, "The value for one of the HTTP headers is not in the correct format."),
    "InvalidQueryParameterValue": (400, "An invalid value was specified for one of the query parameters."),
    "InvalidBlockList": (400, "The specified block list is invalid."),
    "InvalidRange": (416, "The range specified is invalid for the current size of the resource."),
    "AuthorizationPermissionMismatch": (
        403,
        "This request is not authorized to perform this operation using this permission.",
    ),
    "InvalidXmlDocument": (400, "XML specified is not syntactically valid."),
    "InvalidUri": (400, "The requested URI does not represent any resource on the server."),
    "ContainerAlreadyExists": (409, "The specified container already exists."),
    "ContainerNotFound": (404, "The specified container does not exist."),
    "BlobNotFound": (404, "The specified blob does not exist."),
    "BlobAlreadyExists": (409, "The specified blob already exists."),
    "LeaseAlreadyPresent": (409, "There is already a lease present."),
    "LeaseIdMismatchWithLeaseOperation": (409, "The lease ID specified did not match the lease ID for the blob."),
    "LeaseNotPresentWithLeaseOperation": (409, "There is currently no lease on the blob."),
    "LeaseIsBreakingAndCannotBeAcquired": (409, "The lease ID matched, but the lease is currently in breaking state."),
    "LeaseIsBreakingAndCannotBeChanged": (409, "The lease ID matched, but the lease is breaking and can't be changed."),
    "LeaseIsBrokenAndCannotBeRenewed": (409, "The lease ID matched, but the lease has been broken explicitly."),
    "LeaseIdMissing": (412, "There is currently a lease on the blob and no lease ID was specified in the request."),
    "LeaseIdMismatchWithBlobOperation": (412, "The lease ID specified did not match the lease ID for the blob."),
    "LeaseNotPresentWithBlobOperation": (412, "There is currently no lease on the blob."),
    "LeaseLost": (412, "A lease ID was specified, but the lease for the blob has expired."),
    "ConditionNotMet": (412, "The condition specified using HTTP conditional header(s) is not met."),
    "InvalidBlobType": (409, "The blob type is invalid for this operation."),
    "BlockCountExceedsLimit": (409, "The committed block count cannot exceed the maximum limit of 50,000 blocks."),
    "AppendPositionConditionNotMet": (412, "The append position condition specified was not met."),
    "MaxBlobSizeConditionNotMet": (412, "The max blob size condition specified was not met."),
    "RequestBodyTooLarge": (413, "The request body is too large and exceeds the maximum permissible limit."),
    "ServerBusy": (503, "The server is currently unable to receive requests. Please retry your request."),
}
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class StorageFault(Exception):
    """An error Storage answers: its code names the status and message (ERRORS)."""

    def __init__(self, code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.status, self.message = ERRORS[code]
        self.headers = headers or {}


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Lease:
    """A blob's lease: its id, and when it ends (fixed), breaks, or None (infinite)."""

    lease_id: str
    ends: datetime | None  # None: infinite
    seconds: int
    breaks: datetime | None = None  # set by break: Breaking until then, Broken after
    released: bool = False


@dataclass
class Blob:
    content: bytes = b""
    etag: str = ""
    modified: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    lease: Lease | None = None
    blocks: dict[str, bytes] = field(default_factory=dict)  # staged by Put Block, not yet committed
    metadata: dict[str, str] = field(default_factory=dict)  # x-ms-meta-NAME, set by Put Blob and Put Block List
    kind: str = "BlockBlob"  # x-ms-blob-type: BlockBlob, or AppendBlob (`appendblob`)
    appended: int = 0  # an append blob's committed blocks


class BlobStore:
    """The account's containers and blobs; `handle` answers one request. Thread-safe (one request at a time)."""

    def __init__(self, containers: tuple[str, ...], *, speedup: float = 1.0) -> None:
        self.containers = set(containers)
        self.blobs: dict[tuple[str, str], Blob] = {}
        self.speedup = speedup
        self._started = time.monotonic()
        self._epoch = datetime.now(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._epoch + timedelta(seconds=(time.monotonic() - self._started) * self.speedup)

    def lease_state(self, blob: Blob) -> str:
        """available, leased, expired, breaking or broken, on the store's clock."""
        lease, now = blob.lease, self.now()
        if lease is None or lease.released:
            return "available"
        if lease.breaks is not None:
            return "breaking" if now < lease.breaks else "broken"
        if lease.ends is not None and now >= lease.ends:
            return "expired"
        return "leased"

    def handle(
        self, method: str, container: str, name: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Reply:
        with self._lock:
            if not name:
                return self._container(method, container, query)
            if container not in self.containers:
                raise StorageFault("ContainerNotFound")
            key = (container, name)
            comp = query.get("comp")
            if method == "PUT" and comp == "lease":
                return self._lease(key, headers)
            if method == "PUT" and comp == "block":
                return self._put_block(key, query, headers, body)
            if method == "PUT" and comp == "blocklist":
                return self._put_block_list(key, headers, body)
            if method == "PUT" and comp == "appendblock":
                return append_block(self, key, headers, body)
            if method == "PUT" and comp is None:
                if headers.get("x-ms-blob-type") == "AppendBlob":
                    return self._write(key, headers, body, kind="AppendBlob")
                if headers.get("x-ms-blob-type") != "BlockBlob":
                    raise StorageFault("MissingRequiredHeader")
                return self._write(key, headers, body)
            if method in ("GET", "HEAD") and comp is None:
                return self._get(key, headers, head=method == "HEAD")
            raise StorageFault("InvalidQueryParameterValue")

    def _container(self, method: str, container: str, query: dict[str, str]) -> Reply:
        """Create Container and Get Container Properties (`restype=container`)."""
        if query.get("restype") != "container" or not container:
            raise StorageFault("InvalidUri")
        stamp = {
            "ETag": f'"0x{uuid.uuid4().hex[:15].upper()}"',
            "Last-Modified": format_datetime(self.now(), usegmt=True),
        }
        if method == "PUT":
            if container in self.containers:
                raise StorageFault("ContainerAlreadyExists")
            self.containers.add(container)
            return Reply(201, stamp)
        if method in ("GET", "HEAD"):
            if container not in self.containers:
                raise StorageFault("ContainerNotFound")
            return Reply(200, {**stamp, "x-ms-lease-state": "available", "x-ms-lease-status": "unlocked"})
        raise StorageFault("InvalidQueryParameterValue")

    # ---- writes ------------------------------------------------------------------------------------------------

    def _check_write_lease(self, blob: Blob | None, headers: dict[str, str]) -> None:
        given = headers.get("x-ms-lease-id")
        state = self.lease_state(blob) if blob is not None else "available"
        if state in ("leased", "breaking"):
            assert blob is not None
            assert blob.lease is not None
            if not given:
                raise StorageFault("LeaseIdMissing")
            if given.lower() != blob.lease.lease_id.lower():
                raise StorageFault("LeaseIdMismatchWithBlobOperation")
        elif given:
            raise StorageFault("LeaseLost" if state in ("expired", "broken") else "LeaseNotPresentWithBlobOperation")

    def _write(self, key: tuple[str, str], headers: dict[str, str], content: bytes, kind: str = "BlockBlob") -> Reply:
        """Put Blob: a block blob with `content`, or an empty append blob (Put Blob replaces any blob of any type)."""
        if kind == "AppendBlob" and content:
            raise StorageFault("InvalidHeaderValue")  # Content-Length must be 0 for an append blob
        blob = self.blobs.get(key)
        if blob is not None and blob.etag and headers.get("if-none-match") == "*":
            raise StorageFault("BlobAlreadyExists")
        check_conditions(blob if blob is not None and blob.etag else None, headers)
        self._check_write_lease(blob, headers)
        if blob is None:
            blob = self.blobs[key] = Blob()
        elif self.lease_state(blob) not in ("leased", "breaking"):
            blob.lease = None  # an expired or broken lease's id is kept only until the blob is written
        blob.content, blob.blocks, blob.kind, blob.appended = content, {}, kind, 0
        blob.metadata = {
            name[len("x-ms-meta-") :]: value for name, value in headers.items() if name.startswith("x-ms-meta-")
        }
        blob.etag, blob.modified = f'"0x{uuid.uuid4().hex[:15].upper()}"', self.now()
        return Reply(201, {**_etag(blob), "x-ms-request-server-encrypted": "true"})

    def _put_block(self, key: tuple[str, str], query: dict[str, str], headers: dict[str, str], body: bytes) -> Reply:
        block_id = query.get("blockid")
        if not block_id:
            raise StorageFault("InvalidQueryParameterValue")
        blob = self.blobs.get(key)
        self._check_write_lease(blob, headers)
        if blob is None:  # an uncommitted blob: staged blocks only
            blob = self.blobs[key] = Blob(etag="")
        blob.blocks[block_id] = body
        return Reply(201, {"x-ms-request-server-encrypted": "true"})

    def _put_block_list(self, key: tuple[str, str], headers: dict[str, str], body: bytes) -> Reply:
        blob = self.blobs.get(key)
        try:
            ids = [element.text or "" for element in ET.fromstring(body)]
        except ET.ParseError:
            raise StorageFault("InvalidBlockList") from None
        if blob is not None and blob.kind != "BlockBlob":
            raise StorageFault("InvalidBlobType")
        if blob is None or any(block not in blob.blocks for block in ids):
            raise StorageFault("InvalidBlockList")
        content = b"".join(blob.blocks[block] for block in ids)
        if not blob.etag and headers.get("if-none-match") == "*":
            headers = {k: v for k, v in headers.items() if k != "if-none-match"}  # staged only: it does not exist
        return self._write(key, headers, content)

    # ---- reads -------------------------------------------------------------------------------------------------

    def _get(self, key: tuple[str, str], headers: dict[str, str], *, head: bool) -> Reply:
        blob = self.blobs.get(key)
        if blob is None or not blob.etag:
            raise StorageFault("BlobNotFound")
        state = self.lease_state(blob)
        answer = {
            **_etag(blob),
            "x-ms-blob-type": blob.kind,
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "x-ms-lease-state": state,
            "x-ms-lease-status": "locked" if state in ("leased", "breaking") else "unlocked",
            **{f"x-ms-meta-{name}": value for name, value in blob.metadata.items()},
        }
        if blob.kind == "AppendBlob":
            answer["x-ms-blob-committed-block-count"] = str(blob.appended)
        if state == "leased" and blob.lease is not None:
            answer["x-ms-lease-duration"] = "infinite" if blob.lease.ends is None else "fixed"
        wanted = headers.get("x-ms-range") or headers.get("range")
        size = len(blob.content)
        if wanted is None:
            if head:
                answer["Content-Length"] = str(size)
            return Reply(200, answer, b"" if head else blob.content)
        match = _RANGE.match(wanted)
        if match is None:
            raise StorageFault("InvalidHeaderValue")
        first = int(match.group(1))
        last = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        if first >= size:
            raise StorageFault("InvalidRange", {"Content-Range": f"bytes */{size}"})
        answer["Content-Range"] = f"bytes {first}-{last}/{size}"
        return Reply(206, answer, b"" if head else blob.content[first : last + 1])

    # ---- leases ------------------------------------------------------------------------------------------------

    def _lease(self, key: tuple[str, str], headers: dict[str, str]) -> Reply:
        blob = self.blobs.get(key)
        if blob is None or not blob.etag:
            raise StorageFault("BlobNotFound")
        action = headers.get("x-ms-lease-action", "")
        given = (headers.get("x-ms-lease-id") or "").lower()
        if action == "acquire":
            return self._acquire(blob, headers)
        if action == "break":
            return self._break(blob, headers)
        if action not in ("renew", "change", "release"):
            raise StorageFault("InvalidHeaderValue")
        if not given:
            raise StorageFault("MissingRequiredHeader")
        state, lease = self.lease_state(blob), blob.lease
        if lease is None or state == "available" or given != lease.lease_id.lower():
            raise StorageFault("LeaseIdMismatchWithLeaseOperation")
        if action == "release":
            lease.released = True
            return Reply(200, _etag(blob))
        if action == "renew":
            if state in ("breaking", "broken"):
                raise StorageFault("LeaseIsBrokenAndCannotBeRenewed")
            lease.ends = None if lease.ends is None else self.now() + timedelta(seconds=lease.seconds)
            return Reply(200, {**_etag(blob), "x-ms-lease-id": lease.lease_id})
        if state == "breaking":
            raise StorageFault("LeaseIsBreakingAndCannotBeChanged")
        if state != "leased":
            raise StorageFault("LeaseNotPresentWithLeaseOperation")
        lease.lease_id = headers.get("x-ms-proposed-lease-id") or lease.lease_id
        return Reply(200, {**_etag(blob), "x-ms-lease-id": lease.lease_id})

    def _acquire(self, blob: Blob, headers: dict[str, str]) -> Reply:
        try:
            seconds = int(headers.get("x-ms-lease-duration", ""))
        except ValueError:
            raise StorageFault("InvalidHeaderValue") from None
        if seconds != -1 and not 15 <= seconds <= 60:
            raise StorageFault("InvalidHeaderValue")
        proposed = headers.get("x-ms-proposed-lease-id") or str(uuid.uuid4())
        state = self.lease_state(blob)
        if state == "breaking":
            raise StorageFault("LeaseIsBreakingAndCannotBeAcquired")
        if state == "leased" and blob.lease is not None and proposed.lower() != blob.lease.lease_id.lower():
            raise StorageFault("LeaseAlreadyPresent")
        ends = None if seconds == -1 else self.now() + timedelta(seconds=seconds)
        blob.lease = Lease(proposed, ends, seconds)
        return Reply(201, {**_etag(blob), "x-ms-lease-id": proposed})

    def _break(self, blob: Blob, headers: dict[str, str]) -> Reply:
        state, lease, now = self.lease_state(blob), blob.lease, self.now()
        if lease is None or state == "available":
            raise StorageFault("LeaseNotPresentWithLeaseOperation")
        period = headers.get("x-ms-lease-break-period")
        if state in ("expired", "broken"):
            lease.breaks = now
        elif state == "leased":  # a fixed lease breaks at its end at the latest; an infinite one at once
            remaining = None if lease.ends is None else lease.ends - now
            wanted = timedelta(seconds=int(period)) if period is not None else (remaining or timedelta(0))
            lease.breaks = now + (wanted if remaining is None else min(wanted, remaining))
        left = max((lease.breaks or now) - now, timedelta(0)).total_seconds()
        return Reply(202, {**_etag(blob), "x-ms-lease-time": str(int(left))})

    def break_lease(self, container: str, name: str) -> None:
        """What an administrator's `az storage blob lease break` does: the lease ends now."""
        with self._lock:
            blob = self.blobs[(container, name)]
            if blob.lease is not None:
                blob.lease.breaks = self.now()

    def put(self, container: str, name: str, content: bytes) -> None:
        """A blob written by someone else beforehand (a deployment storing a setting)."""
        with self._lock:
            self._write((container, name), {}, content)

    def content(self, container: str, name: str) -> bytes | None:
        with self._lock:
            blob = self.blobs.get((container, name))
            return None if blob is None or not blob.etag else blob.content


def _etag(blob: Blob) -> dict[str, str]:
    return {"ETag": blob.etag, "Last-Modified": format_datetime(blob.modified, usegmt=True)}


def error_body(fault: StorageFault, request_id: str) -> bytes:
    """Storage's XML error body: the code and the message, the message followed by RequestId and Time lines."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    message = f"{fault.message}\nRequestId:{request_id}\nTime:{when}"
    root = ET.Element("Error")
    ET.SubElement(root, "Code").text = fault.code
    ET.SubElement(root, "Message").text = message
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root)
