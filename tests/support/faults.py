"""Faults injected into the stateful fake tenant, and the audit log read back, for the apply tests."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import respx

from tests.support.fakegraph import FakeGraph

BASE = "https://graph.microsoft.com/v1.0"
TOKEN = "test-token-not-a-secret"


def fake_for(document: dict[str, Any], router: respx.MockRouter, **options: Any) -> FakeGraph:
    """The fake tenant holding `document`, answering every request `router` sees."""
    fake = FakeGraph(copy.deepcopy(document), base_url=BASE, fractional_retry_after=True, **options)
    fake.mount(router)
    return fake


def on_each_batch(fake: FakeGraph, hook: Callable[[int], Any]) -> None:
    """Before the fake answers its n-th `$batch` (n from 1), call `hook(n)`: a response it returns is the answer
    instead, an exception it raises is what the client meets, None lets the fake answer."""
    original = fake.handle
    batches = 0

    def handle(request: Any) -> Any:
        nonlocal batches
        if request.url.path.endswith("/$batch"):
            batches += 1
            answer = hook(batches)
            if answer is not None:
                return answer
        return original(request)

    fake.handle = handle  # type: ignore[method-assign]


def audit_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sigterm_during(monkeypatch: Any, owner: Any, name: str) -> None:
    """`owner.name` made to receive SIGTERM as it is called (Azure stopping the job right then), then to go on."""
    import os
    import signal
    import time

    real = getattr(owner, name)

    def stopped(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, stopped)
