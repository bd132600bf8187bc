"""What the benchmarks share: the loopback fake in a process of its own, the product's side run in a fresh process
(so that each one's peak RSS is its own), the rollout configuration loaded, and a Graph client over the loopback
fake that counts the HTTP requests it sends."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from tests.support.rollout import CONFIG

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """This process's peak RSS so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def served_by(module: str, flags: list[str]) -> Iterator[dict[str, Any]]:
    """`python -m module *flags` serving a loopback fake in a process of its own while the block runs: the JSON line
    it prints once it listens (its `port`, and whatever else it reports), with its Graph URL added as `url`."""
    server = subprocess.Popen([sys.executable, "-m", module, *flags], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert server.stdout is not None
        ready: dict[str, Any] = json.loads(server.stdout.readline())
        ready["url"] = f"http://127.0.0.1:{ready['port']}/v1.0"
        yield ready
    finally:
        server.terminate()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()


def product_result(module: str, args: list[str]) -> dict[str, Any]:
    """`python -m module *args`, the product's side of a benchmark, in a fresh process: the JSON of the last line
    it prints. RuntimeError, with its stderr, when it fails."""
    child = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=False, cwd=ROOT)
    if child.returncode != 0:
        raise RuntimeError(child.stderr)
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def rollout_desired() -> Any:
    """The rollout rule (tests/support/rollout.CONFIG) as the planner's desired state."""
    from teamslicensing.config import load_desired_state

    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "licensing.yaml"
        config.write_text(CONFIG)
        return load_desired_state(config)


@asynccontextmanager
async def counting_graph(url: str) -> AsyncIterator[tuple[Any, Callable[[], int]]]:
    """An open `Graph` on `url` (a bearer token the fake accepts), and how many requests it has sent so far."""
    from teamslicensing.graph import Connection, Graph
    from teamslicensing.graph.connection import graph_http_client

    connection = Connection(url)
    client = graph_http_client(connection)
    sent = 0

    async def count(request: Any) -> None:
        nonlocal sent
        sent += 1

    client.event_hooks["request"].append(count)
    async with client, Graph(connection, client=client, access_token="benchmark") as graph:
        yield graph, lambda: sent
