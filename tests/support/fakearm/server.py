"""HTTPS on 127.0.0.1 for the fake Azure Resource Manager, with a CA made at test time (shared with the fake Storage).

azure-core refuses to send a bearer token over plain HTTP (its BearerTokenCredentialPolicy requires TLS), so the
fakes speak TLS: `trustme` makes a throwaway certificate authority and a certificate for 127.0.0.1 and localhost;
the client trusts the CA through `REQUESTS_CA_BUNDLE` (requests reads it for every session azure-core opens), and
nothing else ever does. Only the loopback address is bound.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import trustme


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # percent-decoded, without the query
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes
    url: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Answer = Callable[[Request], Response]


class Tls:
    """A certificate authority of this test run and a server certificate for the loopback names."""

    def __init__(self, folder: Path) -> None:
        self.authority = trustme.CA()
        self.certificate = self.authority.issue_cert("127.0.0.1", "localhost")
        self.ca_file = folder / "fake-azure-ca.pem"
        self.authority.cert_pem.write_to_path(str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.certificate.configure_cert(context)
        return context


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
            return  # a client that hung up or refused our certificate: its own test says so
        super().handle_error(request, client_address)


class HttpsServer:
    def __init__(self, answer: Answer, tls: Tls, name: str) -> None:
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.server.socket = tls.server_context().wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        self.origin = f"https://127.0.0.1:{self.port}"
        self.answer = answer
        self.name = name

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def serving(answer: Answer, tls: Tls, name: str) -> Iterator[HttpsServer]:
    server = HttpsServer(answer, tls, name)
    thread = threading.Thread(target=server.server.serve_forever, args=(0.05,), name=name, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.close()
        thread.join(timeout=10)


def _handler(server: HttpsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: Nagle would delay each answer

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=unquote(parts.path),
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                url=f"{server.origin}{self.path}",
            )
            response = server.answer(request)
            self.send_response(response.status)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            given = response.headers.get("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", given or str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
