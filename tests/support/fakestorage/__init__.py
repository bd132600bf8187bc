"""A fake Azure Storage account served over HTTPS on 127.0.0.1: the tenant lease and the audit upload, and what
`deploy automation` does with a storage account (containers, blobs with metadata, user delegation keys, SAS reads).

azure-storage-blob refuses a bearer token over plain http, so this one speaks TLS: a certificate authority made
at test time (`trustme`; or the one a test shares with the fake Resource Manager) signs the server's certificate
for 127.0.0.1, and clients trust it through `REQUESTS_CA_BUNDLE` (`ca_path`), as any requests-based client does.
The account is addressed emulator-style, `https://127.0.0.1:PORT/ACCOUNT/CONTAINER/BLOB`. A request carries the
account's bearer token (any other: 401 InvalidAuthenticationInfo) and `x-ms-version`, or, to read one blob, a user
delegation SAS from a key this account issued (`delegation`; anything else 403). Every request is recorded, headers
included and how it was authorised, so tests can see which token went where. The blobs and their leases are
`store.BlobStore`.
"""

from __future__ import annotations

import ssl
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import trustme

from tests.support.fakestorage.delegation import DelegationKeys
from tests.support.fakestorage.store import ERRORS, BlobStore, Reply, StorageFault, error_body

ACCOUNT = "devstoreaccount1"
CONTAINER = "teams-licensing"


@dataclass(frozen=True)
class SeenRequest:
    method: str
    container: str
    blob: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    status: int
    auth: str = "token"  # how it was authorised: token, sas, or denied


class FakeStorage:
    """A bound HTTPS server for one account; `with FakeStorage(...) as storage:` serves it in a thread."""

    def __init__(
        self,
        folder: Path,
        token: str,
        *,
        containers: tuple[str, ...] = (CONTAINER,),
        speedup: float = 1.0,
        account: str = ACCOUNT,
        authority: trustme.CA | None = None,
    ) -> None:
        self.token = token
        self.account = account
        self.store = BlobStore(containers, speedup=speedup)
        self.keys = DelegationKeys()
        self.requests: list[SeenRequest] = []
        self.busy_for: set[str] = set()  # lease actions answered 503 ServerBusy (a Storage outage), for fault tests
        self.redirect_to: str | None = None  # answer every request 307 to this origin (a proxy in the way)
        authority = authority or trustme.CA()
        self.ca_path = folder / "fake-storage-ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_path))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.server = _TLSServer(("127.0.0.1", 0), _handler(self), context)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/{account}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-storage", daemon=True)
        self._recording = threading.Lock()

    def container_url(self, container: str = CONTAINER) -> str:
        return f"{self.url}/{container}"

    def __enter__(self) -> FakeStorage:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def lease_actions(self, blob: str, container: str = CONTAINER) -> list[str]:
        """The lease actions asked for `blob`, in order, with the status each got: `acquire 201`, `renew 200`, …"""
        return [
            f"{r.headers.get('x-ms-lease-action')} {r.status}"
            for r in self.requests
            if r.container == container and r.blob == blob and r.query.get("comp") == "lease"
        ]

    def content(self, blob: str, container: str = CONTAINER) -> bytes | None:
        return self.store.content(container, blob)

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[Reply, str]:
        parts = urlsplit(path)
        segments = parts.path.lstrip("/").split("/", 2)
        container = segments[1] if len(segments) > 1 and segments[0] == self.account else ""
        blob = unquote(segments[2]) if len(segments) > 2 else ""
        query = dict(parse_qsl(parts.query))
        request_id = str(uuid.uuid4())
        if self.redirect_to is not None:
            self._record(SeenRequest(method, container, blob, query, headers, 307, "redirected"))
            return Reply(307, {"Location": f"{self.redirect_to}{path}"}), request_id
        auth = "denied"
        try:
            if segments[0] != self.account:
                raise StorageFault("InvalidUri")
            auth = self._authorise(method, blob, query, headers)
            if query.get("comp") == "lease" and headers.get("x-ms-lease-action") in self.busy_for:
                raise StorageFault("ServerBusy")
            if not container:
                reply = self._service(method, query, headers, body)
            else:
                reply = self.store.handle(method, container, blob, query, headers, body)
        except StorageFault as fault:
            reply = Reply(
                fault.status,
                {**fault.headers, "x-ms-error-code": fault.code, "Content-Type": "application/xml"},
                error_body(fault, request_id),
            )
        self._record(SeenRequest(method, container, blob, query, headers, reply.status, auth))
        return reply, request_id

    def _authorise(self, method: str, blob: str, query: dict[str, str], headers: dict[str, str]) -> str:
        """`token` or `sas`, or the StorageFault the service answers."""
        if "authorization" not in headers and "sig" in query:
            if not (blob and self.keys.allows_read(query)):
                raise StorageFault("AuthenticationFailed")
            if method not in ("GET", "HEAD"):
                raise StorageFault("AuthorizationPermissionMismatch")
            return "sas"
        if headers.get("authorization") != f"Bearer {self.token}":
            resource = "resource_id=https://storage.azure.com"
            raise StorageFault("InvalidAuthenticationInfo", {"WWW-Authenticate": f"Bearer {resource}"})
        if not headers.get("x-ms-version"):
            raise StorageFault("MissingRequiredHeader")
        return "token"

    def _service(self, method: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Reply:
        """The account level: Get User Delegation Key only."""
        if method != "POST" or query.get("restype") != "service" or query.get("comp") != "userdelegationkey":
            raise StorageFault("InvalidUri")
        return self.keys.issue(body, headers.get("x-ms-version", ""))

    def _record(self, seen: SeenRequest) -> None:
        with self._recording:
            self.requests.append(seen)


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext):
        super().__init__(address, handler)
        self.context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        """The TLS handshake in the request's own thread, so a slow client never holds up the others."""
        try:
            secured = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(secured, client_address)
        finally:
            secured.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that went away mid-answer (a run being killed) is part of what is tested


def _handler(storage: FakeStorage) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply, request_id = storage.answer(self.command, self.path, headers, self._body(headers))
            self.send_response(reply.status)
            answer = {
                "x-ms-request-id": request_id,
                "x-ms-version": headers.get("x-ms-version", ""),
                "Date": format_datetime(datetime.now(timezone.utc), usegmt=True),
                **reply.headers,
            }
            answer.setdefault("Content-Length", str(len(reply.body)))
            for name, value in answer.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        def _body(self, headers: dict[str, str]) -> bytes:
            if headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            length = int(headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


__all__ = ["ACCOUNT", "CONTAINER", "ERRORS", "FakeStorage", "SeenRequest"]
