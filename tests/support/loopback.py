"""The fake Graph tenant served over real HTTP on 127.0.0.1, for processes that cannot use respx.

The runbook on its target runtime (another interpreter, another process) and the apply benchmark talk to Graph
through a socket; this serves a `FakeGraph` there. Only the loopback address is ever bound. `latency` is slept
outside the lock, so requests overlap as on a real link while the tenant itself changes one request at a time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.support.fakegraph import FakeGraph

FakeFactory = Callable[[str], FakeGraph]  # Graph base URL (it names the real port) -> the fake to serve


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the benchmarks SIGKILL applies) is expected, not a server error."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LoopbackGraph:
    """A bound loopback server; `fake` answers once `start` built it for the server's URL."""

    def __init__(self, make_fake: FakeFactory, *, latency: float = 0.0, keep_history: bool = True) -> None:
        self.server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/v1.0"
        self.fake = make_fake(self.url)  # after binding: @odata.nextLink URLs must name the real port
        self.latency = latency
        self.keep_history = keep_history  # off for long runs: the fake's request lists grow with every write
        self.lock = threading.Lock()

    def answer(self, request: httpx.Request) -> httpx.Response:
        if self.latency:
            time.sleep(self.latency)
        with self.lock:
            response = self.fake.handle(request)
            if not self.keep_history:
                self.fake.requests.clear()
                self.fake.writes.clear()
        return response

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def serving(make_fake: FakeFactory, *, latency: float = 0.0) -> Iterator[LoopbackGraph]:
    """Serve in a background thread for the duration of the block."""
    loopback = LoopbackGraph(make_fake, latency=latency)
    thread = threading.Thread(target=loopback.serve_forever, name="loopback-graph", daemon=True)
    thread.start()
    try:
        yield loopback
    finally:
        loopback.close()
        thread.join(timeout=10)


def _handler(loopback: LoopbackGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: Nagle would add 40 ms to each

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = f"http://127.0.0.1:{loopback.port}{self.path}"
            request = httpx.Request(self.command, url, headers=dict(self.headers), content=body)
            response = loopback.answer(request)
            if getattr(response, "connection_reset", False):  # scripted: drop the connection, answer nothing
                self.close_connection = True
                return
            content = response.content
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def never_answering() -> Iterator[tuple[int, list[socket.socket]]]:
    """A loopback port that accepts connections and never answers (a firewall that drops, a Storage that hangs):
    its port, and the connections it holds so far. Everything is closed when the block ends."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server.getsockname()[1], held
    finally:
        server.close()
        for connection in held:
            connection.close()
