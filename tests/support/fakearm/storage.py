"""A fake Azure Blob Storage account: containers, block blobs, user delegation keys and SAS reads, path-style
(`https://127.0.0.1:PORT/ACCOUNT/CONTAINER/BLOB`, as the Storage emulator serves it).

From the Blob service REST reference (learn.microsoft.com/rest/api/storageservices): Create Container
(`PUT ?restype=container`, 201, or 409 `ContainerAlreadyExists`), Get Container Properties (`GET|HEAD
?restype=container`, 200, 404 `ContainerNotFound`), Put Blob (`PUT`, `x-ms-blob-type: BlockBlob` required, 201,
`x-ms-meta-*` stored), Get Blob and Get Blob Properties (`GET`/`HEAD`, 200, 404 `BlobNotFound`; a Get Blob with
`x-ms-range: bytes=N-M` answers 206 with that part and `Content-Range`, as azure-storage-blob's download asks), Get User
Delegation Key (`POST /?restype=service&comp=userdelegationkey`, OAuth only, expiry at most seven days ahead).
Errors carry `x-ms-error-code` and an XML `<Error><Code/><Message/></Error>` body. Every request needs
`x-ms-version`.

Requests are authorised by the storage bearer token the test gives, or, for reads, by a user delegation SAS whose
key fields (`skoid`, `sktid`, `skt`, `ske`, `sks`, `skv`) name a key this account issued, with `sr=b`, `r` in `sp`,
and an expiry (`se`) in the future and within the key's. The signature itself is not recomputed: its string-to-sign
changes with every service version and azure-storage-blob builds it; what is held here is that the SAS came from a
key of this account, reads one blob, and has not expired.
Kept beside a fuller fake (leases) being written elsewhere; merge them when both land.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from xml.etree import ElementTree

from tests.support.fakearm.server import Request, Response

MAX_KEY_DAYS = 7
KEY_OBJECT_ID = "5f1ac7d2-3c4b-4a55-9a1e-0c7d2b1f4e60"  # the object id the fake's Entra gives the deployer
KEY_TENANT_ID = "72f988bf-0000-4000-8000-000000000001"


@dataclass
class Blob:
    content: bytes
    metadata: dict[str, str]
    modified: datetime
    etag: str


@dataclass
class DelegationKey:
    start: str
    expiry: str
    value: str
    version: str


@dataclass
class FakeBlobStorage:
    account: str
    token: str
    containers: dict[str, dict[str, Blob]] = field(default_factory=dict)
    keys: list[DelegationKey] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, how it was authorised)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Request) -> Response:
        with self.lock:
            return self._answer(request)

    def _answer(self, request: Request) -> Response:
        if not request.header("x-ms-version"):
            return _error(
                400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified."
            )
        parts = request.path.strip("/").split("/", 2)
        if parts[0] != self.account:
            return _error(400, "InvalidUri", f"this fake serves the account {self.account} only")
        container = parts[1] if len(parts) > 1 else ""
        blob = parts[2] if len(parts) > 2 else ""
        authorisation = self._authorise(request, container, blob)
        self.requests.append((request.method, request.path, authorisation))
        if authorisation == "denied":
            return _error(403, "AuthenticationFailed", "Server failed to authenticate the request.")
        if authorisation == "sas" and request.method not in ("GET", "HEAD"):
            return _error(
                403,
                "AuthorizationPermissionMismatch",
                "This request is not authorized to perform this operation using this permission.",
            )
        if not container:
            return self._service(request)
        if not blob:
            return self._container(request, container)
        return self._blob(request, container, blob)

    def _authorise(self, request: Request, container: str, blob: str) -> str:
        authorization = request.header("authorization") or ""
        if authorization:
            return "token" if authorization == f"Bearer {self.token}" else "denied"
        if "sig" in request.query:
            return "sas" if blob and self._sas_allows(request.query) else "denied"
        return "denied"

    def _sas_allows(self, query: dict[str, str]) -> bool:
        now = datetime.now(timezone.utc)
        try:
            expires = _when(query["se"])
            key_expires = _when(query["ske"])
        except (KeyError, ValueError):
            return False
        issued = any(
            key.start == query.get("skt") and key.expiry == query.get("ske") and key.version == query.get("skv")
            for key in self.keys
        )
        return (
            issued
            and query.get("skoid") == KEY_OBJECT_ID
            and query.get("sktid") == KEY_TENANT_ID
            and query.get("sks") == "b"
            and query.get("sr") == "b"
            and "r" in query.get("sp", "")
            and bool(query.get("sig"))
            and now < expires <= key_expires
        )

    def _service(self, request: Request) -> Response:
        if request.method != "POST" or request.query.get("comp") != "userdelegationkey":
            return _error(400, "UnsupportedHttpVerb", "this fake serves Get User Delegation Key at the service level")
        try:
            info = ElementTree.fromstring(request.body)
            start, expiry = info.findtext("Start") or "", info.findtext("Expiry") or ""
            if _when(expiry) > datetime.now(timezone.utc) + timedelta(days=MAX_KEY_DAYS):
                return _error(400, "InvalidQueryParameterValue", "The key expiry is more than seven days ahead.")
        except (ElementTree.ParseError, ValueError):
            return _error(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        key = DelegationKey(
            start, expiry, base64.b64encode(secrets.token_bytes(32)).decode(), request.header("x-ms-version") or ""
        )
        self.keys.append(key)
        body = (
            '<?xml version="1.0" encoding="utf-8"?><UserDelegationKey>'
            f"<SignedOid>{KEY_OBJECT_ID}</SignedOid><SignedTid>{KEY_TENANT_ID}</SignedTid>"
            f"<SignedStart>{start}</SignedStart><SignedExpiry>{expiry}</SignedExpiry>"
            f"<SignedService>b</SignedService><SignedVersion>{key.version}</SignedVersion>"
            f"<Value>{key.value}</Value></UserDelegationKey>"
        )
        return Response(200, body.encode(), {"Content-Type": "application/xml"})

    def _container(self, request: Request, name: str) -> Response:
        if request.query.get("restype") != "container":
            return _error(400, "InvalidUri", "a container request needs restype=container")
        if request.method == "PUT":
            if name in self.containers:
                return _error(409, "ContainerAlreadyExists", "The specified container already exists.")
            self.containers[name] = {}
            return Response(201, headers=_stamp(datetime.now(timezone.utc), secrets.token_hex(8)))
        if request.method in ("GET", "HEAD"):
            if name not in self.containers:
                return _error(404, "ContainerNotFound", "The specified container does not exist.")
            return Response(200, headers=_stamp(datetime.now(timezone.utc), "container"))
        return _error(400, "UnsupportedHttpVerb", f"{request.method} on a container")

    def _blob(self, request: Request, container: str, name: str) -> Response:
        if container not in self.containers:
            return _error(404, "ContainerNotFound", "The specified container does not exist.")
        blobs = self.containers[container]
        if request.method == "PUT":
            if request.header("x-ms-blob-type") != "BlockBlob":
                return _error(400, "MissingRequiredHeader", "x-ms-blob-type must be BlockBlob here")
            metadata = {k[len("x-ms-meta-") :]: v for k, v in request.headers.items() if k.startswith("x-ms-meta-")}
            blob = Blob(request.body, metadata, datetime.now(timezone.utc), hashlib.md5(request.body).hexdigest())
            blobs[name] = blob
            md5 = base64.b64encode(hashlib.md5(request.body).digest()).decode()
            return Response(201, headers={**_stamp(blob.modified, blob.etag), "Content-MD5": md5})
        if request.method in ("GET", "HEAD"):
            found = blobs.get(name)
            if found is None:
                return _error(404, "BlobNotFound", "The specified blob does not exist.")
            headers = {**_stamp(found.modified, found.etag), "x-ms-blob-type": "BlockBlob"}
            headers.update({f"x-ms-meta-{k}": v for k, v in found.metadata.items()})
            headers["Content-Type"] = "application/octet-stream"
            if request.method == "HEAD":
                headers["Content-Length"] = str(len(found.content))
            wanted = _RANGE.fullmatch(request.header("x-ms-range") or request.header("range") or "")
            if request.method == "GET" and wanted is not None:
                if int(wanted.group(1)) >= len(found.content):
                    return _error(416, "InvalidRange", "The range specified is invalid for the current size.")
                first = int(wanted.group(1))
                last = min(int(wanted.group(2) or len(found.content) - 1), len(found.content) - 1)
                headers["Content-Range"] = f"bytes {first}-{last}/{len(found.content)}"
                return Response(206, found.content[first : last + 1], headers)
            return Response(200, found.content if request.method == "GET" else b"", headers)
        return _error(400, "UnsupportedHttpVerb", f"{request.method} on a blob")


_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _stamp(modified: datetime, etag: str) -> dict[str, str]:
    return {"ETag": f'"{etag}"', "Last-Modified": format_datetime(modified, usegmt=True), "x-ms-version": "2021-08-06"}


def _error(status: int, code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(status, body.encode(), {"x-ms-error-code": code, "Content-Type": "application/xml"})
