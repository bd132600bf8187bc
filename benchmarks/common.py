"""What the benchmarks' product processes share: the rollout configuration loaded, and a Graph client over the
loopback fake that counts the HTTP requests it sends."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.support.rollout import CONFIG


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
