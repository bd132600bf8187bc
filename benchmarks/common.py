"""What the benchmarks share: the loopback fake in a process of its own, the product's side run in a fresh process
(so that each one's peak RSS is its own), the rollout configuration loaded, and a Graph client over the loopback
fake that counts the HTTP requests it sends."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
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
        ready["process"] = server  # its further lines, for a server that reports when it is told to end
        yield ready
    finally:
        server.terminate()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()


# Runs argv[2:] with RLIMIT_AS argv[1] MB (0: none), waits, and prints its exit status and peak RSS on stderr: a
# child forked straight from a benchmark would count the benchmark's own pages until exec (Linux keeps the larger
# high-water mark), so the command runs under this small process, whose children are the command alone
MEASURING_WRAPPER = """
import os, resource, subprocess, sys
limit = int(sys.argv[1]) << 20
def set_limit():
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
child = subprocess.Popen(sys.argv[2:], preexec_fn=set_limit)
_, status, usage = os.wait4(child.pid, 0)
print(f"MEASURED status={os.waitstatus_to_exitcode(status)} rss_kb={usage.ru_maxrss}", file=sys.stderr)
"""


def measured(
    command: list[str], env: dict[str, str], cwd: Path, output: Path, limit_mb: int = 0
) -> tuple[int, float, float]:
    """Run `command` (output to the file `output`) under the measuring wrapper, within `limit_mb` of address space
    (RLIMIT_AS; 0: none): its exit status, wall time and peak RSS in MB, its own alone."""
    started = time.monotonic()
    with open(output, "w", encoding="utf-8") as out:
        subprocess.run(
            [sys.executable, "-c", MEASURING_WRAPPER, str(limit_mb), *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            check=False,
        )
    wall = time.monotonic() - started
    with open(output, "rb") as text:
        text.seek(max(0, output.stat().st_size - 4096))
        tail = text.read().decode("utf-8", "replace")
    line = [row for row in tail.splitlines() if row.startswith("MEASURED ")][-1]
    fields = dict(part.split("=") for part in line.split()[1:])
    return int(fields["status"]), wall, int(fields["rss_kb"]) / 1024


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
