"""Reads as Graph really behaves, and as it misbehaves: every read bounded in pages, time and origin, and a user
Graph returns half-empty never sinks the run. Each case crafts Graph's answers around the stateful fake."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from teamslicensing.cli import main
from teamslicensing.config import load_desired_state
from teamslicensing.errors import GraphError
from teamslicensing.graph import Connection, Graph
from teamslicensing.tenant.live import read_tenant
from teamslicensing.tenant.need import TenantNeed
from tests.support.fakegraph import FakeGraph
from tests.support.rollout import rollout_document

BASE = "https://graph.microsoft.com/v1.0"
TOKEN = "test-token-not-a-secret"


pytestmark = pytest.mark.usefixtures("graph_token")


def served(
    router: respx.MockRouter,
    document: dict[str, Any],
    users_page: Callable[[httpx.Request], Any] | None,
    **options: Any,
) -> FakeGraph:
    """The fake; `users_page` answers GET /users (return None to let the fake answer)."""
    fake = FakeGraph(copy.deepcopy(document), base_url=BASE, page_size_limit=2, **options)
    original = fake.handle

    def handle(request: httpx.Request) -> Any:
        if users_page is not None and request.method == "GET" and request.url.path.endswith("/v1.0/users"):
            crafted = users_page(request)
            if crafted is not None:
                return crafted
        return original(request)

    fake.handle = handle  # type: ignore[method-assign]
    fake.mount(router)
    return fake


def read(config: Path, **graph: Any) -> Any:
    desired = load_desired_state(config)

    async def go() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN, backoff_base=0.001, **graph) as client:
            return await read_tenant(client, TenantNeed.to_plan(desired))

    return asyncio.run(go())


def page(users: list[dict[str, Any]], next_link: str | None) -> httpx.Response:
    body: dict[str, Any] = {"value": users}
    if next_link:
        body["@odata.nextLink"] = next_link
    return httpx.Response(200, json=body)


def test_a_self_pointing_next_link_is_a_loop_not_a_hang(router: respx.MockRouter, config: Path) -> None:
    link = f"{BASE}/users?$skiptoken=again"
    served(router, rollout_document(4), lambda request: page([], link))
    with pytest.raises(GraphError, match="it had sent before"):
        read(config)


def test_empty_pages_with_next_links_stop_at_the_page_cap(router: respx.MockRouter, config: Path) -> None:
    calls = {"n": 0}

    def endless(request: httpx.Request) -> httpx.Response | None:
        if request.url.params.get("$top") == "1":
            return None  # policy.read auto counts the users first: the fake answers that
        calls["n"] += 1
        return page([], f"{BASE}/users?$skiptoken=p{calls['n']}")

    served(router, rollout_document(4), endless)
    with pytest.raises(GraphError, match="more than 50 pages"):
        read(config, max_pages=50)
    assert calls["n"] == 50


def test_a_next_link_to_another_origin_is_refused_and_gets_no_token(router: respx.MockRouter, config: Path) -> None:
    elsewhere = router.get(host="attacker.example").mock(return_value=httpx.Response(200, json={"value": []}))
    served(router, rollout_document(4), lambda request: page([], "https://attacker.example/v1.0/users?page=2"))
    with pytest.raises(GraphError, match="not the Graph endpoint in use") as caught:
        read(config)
    assert "no token was sent there" in str(caught.value)
    assert not elsewhere.called, "nothing, and so no bearer token, went to the other origin"


def test_a_page_graph_repeats_adds_nobody_twice(router: respx.MockRouter, config: Path) -> None:
    document = rollout_document(4)
    users = document["users"]
    pages = {
        None: page(users[:2], f"{BASE}/users?$skiptoken=2"),
        "2": page(users[:2], f"{BASE}/users?$skiptoken=3"),  # the first page again
        "3": page(users[2:], None),
    }
    served(router, document, lambda request: pages[request.url.params.get("$skiptoken")])
    tenant = read(config)
    assert sorted(u.user_principal_name for u in tenant.users) == sorted(u["userPrincipalName"] for u in users)


def test_a_huge_retry_after_is_capped_and_said(
    router: respx.MockRouter, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = {"n": 0}
    lines: list[str] = []
    waits: list[float] = []

    def throttled_once(request: httpx.Request) -> httpx.Response | None:
        asked["n"] += 1
        if asked["n"] == 1:
            return httpx.Response(429, headers={"Retry-After": "100000"}, json={"error": {"code": "TooManyRequests"}})
        return None

    async def no_sleep(seconds: float) -> None:  # the waits are recorded, not slept
        waits.append(seconds)

    served(router, rollout_document(4), throttled_once)
    monkeypatch.setattr("asyncio.sleep", no_sleep)
    tenant = read(config, notice=lines.append)
    assert len(tenant.users) == 4
    assert max(waits) == 300.0, "one Retry-After is honoured up to 5 minutes"
    assert any("asked for 100000 s; capped" in line for line in lines)


def test_a_server_that_stays_slow_is_said_not_silent(
    router: respx.MockRouter, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[str] = []
    served(router, rollout_document(4), None, latency=0.05)
    monkeypatch.setattr("teamslicensing.graph.client.SLOW_REQUEST", 0.01)  # a 50 ms answer counts as slow here
    read(config, notice=lines.append)
    assert any(line.startswith("Graph took") for line in lines)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("accountEnabled", None),
        ("userPrincipalName", None),
        ("assignedLicenses", [{"skuId": None}]),
        ("licenseAssignmentStates", [{"skuId": None, "assignedByGroup": None}]),
    ],
)
def test_a_user_with_a_null_field_is_left_out_with_a_gap_and_the_run_goes_on(
    field: str, value: Any, router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    document = rollout_document(4)
    odd = document["users"][1]
    odd[field] = value
    if field == "assignedLicenses":
        odd.pop("licenseAssignmentStates")
    served(router, document, None)
    out = tmp_path / "plan.json"
    assert main(["plan", str(config), "--graph-url", BASE, "--format", "json", "--output", str(out)]) == 0
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert len(plan["changes"]) == 3, "everybody else is planned"
    assert odd["id"] not in {c["userId"] for c in plan["changes"]}
    (gap,) = [g for g in plan["gaps"] if g["code"] == "USER_UNREADABLE"]
    assert gap["severity"] == "warning"
    assert gap["userPrincipalName"] in (odd["userPrincipalName"], odd["id"])


def test_what_asyncio_run_returns_has_a_short_repr(tmp_path: Path) -> None:
    """asyncio.run formats the repr of its main task, result included, when it restores the SIGINT handler
    (CPython 3.11): the tenant read, the plan and the apply result must not spell out 100,000 users there (a full
    tenant repr was a 95 MB string at the end of every live read)."""
    from teamslicensing.model.outcome import APPLIED, ApplyResult, UserResult
    from teamslicensing.plan.planner import plan
    from teamslicensing.reference.availability import load_availability
    from teamslicensing.tenant.snapshot import parse_snapshot
    from tests.support.rollout import CONFIG

    tenant = parse_snapshot(rollout_document(5000), "t", ())
    (tmp_path / "licensing.yaml").write_text(CONFIG, encoding="utf-8")
    planned = plan(load_desired_state(tmp_path / "licensing.yaml"), tenant, load_availability())
    settled = tuple(UserResult(c.user_id, c.user_principal_name, APPLIED) for c in planned.changes)
    result = ApplyResult(settled, 1.0, len(settled))
    assert len(planned.changes) == 5000
    for value in (tenant, planned, result):
        assert len(repr(value)) < 200, repr(value)[:300]
    assert "5000 users" in repr(tenant)


def test_many_queries_at_once_keep_a_bounded_number_of_reads_in_flight(router: respx.MockRouter) -> None:
    """300 users read by id are 20 queries started together: at most READ_CONCURRENCY of them are on the wire at
    any moment (all at once, they queued on the HTTP pool and hit Graph in one burst), and every user arrives."""
    from teamslicensing.graph.client import READ_CONCURRENCY
    from teamslicensing.tenant.scoped import read_users_by_id
    from tests.support.rollout import user_id

    fake = FakeGraph(copy.deepcopy(rollout_document(300)), base_url=BASE)
    in_flight = peak = 0

    async def slowly(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return fake.handle(request)

    router.route(host="graph.microsoft.com").mock(side_effect=slowly)

    async def go() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN) as client:
            return await read_users_by_id(client, [user_id(n) for n in range(300)], ())

    users, unreadable = asyncio.run(go())
    assert len(users) == 300
    assert unreadable == []
    assert 1 < peak <= READ_CONCURRENCY
