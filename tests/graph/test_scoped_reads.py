"""Scoped reads (policy.read): only the users a plan can touch are read, and the plan is the one a full read gives.

Against the stateful fake, which serves the filters a scoped read sends only as Graph does: `assignedLicenses/any`
and extension attributes as advanced queries, `eq` and `in` on user properties, without regard to case.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import respx

from benchmarks.synthetic import write_config, write_snapshot
from teamslicensing.cli import main
from teamslicensing.config import load_desired_state
from teamslicensing.errors import GraphError
from teamslicensing.graph import Connection, Graph
from teamslicensing.model.desired import DesiredState, ReadMode
from teamslicensing.model.plan import GapCode, Plan
from teamslicensing.model.tenant import Tenant
from teamslicensing.plan.planner import plan
from teamslicensing.reference.availability import load_availability
from teamslicensing.tenant import live
from teamslicensing.tenant.live import read_tenant
from teamslicensing.tenant.need import TenantNeed
from tests.support import planfiles
from tests.support.fakegraph import FakeGraph
from tests.support.faults import fake_for
from tests.support.rollout import CONFIG as ROLLOUT_CONFIG
from tests.support.rollout import holders, rollout_document, user_id

BASE = "https://graph.microsoft.com/v1.0"
TOKEN = "test-token-not-a-secret"
ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "config" / "licensing.yaml"

pytestmark = pytest.mark.usefixtures("graph_token")


def demo_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ROOT / "config" / "examples" / "contoso-tenant.json").read_text("utf-8"))
    return document


def read(desired: DesiredState, mode: ReadMode | None, **graph: Any) -> Tenant:
    async def go() -> Tenant:
        async with Graph(Connection(BASE), access_token=TOKEN, backoff_base=0.001, **graph) as client:
            return await read_tenant(client, TenantNeed.to_plan(desired, mode))

    return asyncio.run(go())


def planned(desired: DesiredState, tenant: Tenant) -> Plan:
    return plan(desired, tenant, load_availability())


def assert_same_plan_for_users_read(full: Plan, scoped: Plan, full_tenant: Tenant, scoped_tenant: Tenant) -> None:
    """The changes and seats are the full read's; so are the gaps of every user read, the tenant-wide ones, and
    those naming users the file names but the tenant does not have."""
    assert scoped.changes == full.changes
    assert scoped.seats == full.seats

    def upns(tenant: Tenant) -> set[str]:
        names = {user.user_principal_name for user in tenant.users}
        return names | {u.user_principal_name for u in tenant.unreadable if u.user_principal_name}

    in_tenant, read_upns = upns(full_tenant), upns(scoped_tenant)
    expected = [
        g
        for g in full.gaps
        if g.user_principal_name is None or g.user_principal_name in read_upns or g.user_principal_name not in in_tenant
    ]
    got = [g for g in scoped.gaps if g.code is not GapCode.READ_SCOPED]
    assert [g for g in got if g not in expected] == []
    assert [g for g in expected if g not in got] == []
    assert got == expected


def users_pages(fake: FakeGraph) -> list[str]:
    return [path for method, path in fake.requests if method == "GET" and path.startswith("/users?")]


def test_the_demo_plans_the_same_changes_and_gaps_scoped_as_read_whole(router: respx.MockRouter) -> None:
    desired = load_desired_state(DEMO_CONFIG)
    fake = fake_for(demo_document(), router, page_size_limit=3)
    full_tenant = read(desired, "all")
    fake.requests.clear()
    scoped_tenant = read(desired, "scoped")
    full, scoped = planned(desired, full_tenant), planned(desired, scoped_tenant)
    assert full.changes, "the demo has work to do"
    assert_same_plan_for_users_read(full, scoped, full_tenant, scoped_tenant)
    assert len(scoped_tenant.users) < len(full_tenant.users), "the demo has users no rule can touch"
    unfiltered = [p for p in users_pages(fake) if "$filter=" not in p and "$top=1&" not in p]
    assert unfiltered == [], "a scoped read never lists every user"
    (notice,) = [g for g in scoped.gaps if g.code is GapCode.READ_SCOPED]
    assert f"{len(scoped_tenant.users)} of {len(full_tenant.users)} users read" in notice.message
    assert not [g for g in full.gaps if g.code is GapCode.READ_SCOPED], "a full read says nothing of scope"


def test_attribute_conditions_too_long_for_one_url_still_read_what_the_rule_selects(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    """Two conditions of 15 long values make a filter Graph refuses (over 2,048 URL characters, known issues):
    conditions are left out of the query while it is too long (only widening it), one is read in chunks that
    fit, and the read plans as a full read does. It used to fail the whole scoped read."""
    padding = [f"{'Department of very long names':<60}{n:03d}" for n in range(14)]
    config = tmp_path / "licensing.yaml"
    config.write_text(
        "version: 1\nrules:\n  - name: sales-voice\n    select:\n      attributes:\n"
        f"        department: [Sales, {', '.join(padding)}]\n"
        f"        jobTitle: [Account Executive, Sales Representative, {', '.join(padding[:13])}]\n"
        "    assign: [MCOEV]\n",
        encoding="utf-8",
    )
    desired = load_desired_state(config)
    fake = fake_for(demo_document(), router)
    full_tenant = read(desired, "all")
    fake.requests.clear()
    scoped_tenant = read(desired, "scoped")
    queries = [p for p in users_pages(fake) if "$filter=" in p and "/any(" not in p]
    assert queries
    assert len({q.split(" in (")[0] for q in queries}) == 1, "one condition kept, in chunks"
    assert all(len(BASE) + len(quote(q, safe="/:(),=$%*'&?")) <= 2048 for q in queries)
    full, scoped = planned(desired, full_tenant), planned(desired, scoped_tenant)
    assert full.changes, "the rule selects someone"
    assert_same_plan_for_users_read(full, scoped, full_tenant, scoped_tenant)


def test_a_synthetic_tenant_plans_the_same_scoped_as_read_whole(router: respx.MockRouter, tmp_path: Path) -> None:
    """Fifty rules of every selector kind (groups, attributes, extension attributes, named users, exclusions),
    prune, protected users, drift: the scoped read still gives the full read's plan."""
    generated = write_snapshot(tmp_path / "tenant.json", users=8000, rules=50, seed=7)  # 75+ sample UPNs
    write_config(tmp_path / "licensing.yaml", 50, generated)
    desired = load_desired_state(tmp_path / "licensing.yaml")
    fake = fake_for(json.loads((tmp_path / "tenant.json").read_text("utf-8")), router)
    full_tenant = read(desired, "all")
    fake.requests.clear()
    scoped_tenant = read(desired, "scoped")
    full, scoped = planned(desired, full_tenant), planned(desired, scoped_tenant)
    assert len(full.changes) > 100, "drift to plan"
    assert any(c.remove_licenses for c in full.changes), "prune included"
    assert_same_plan_for_users_read(full, scoped, full_tenant, scoped_tenant)
    assert len(scoped_tenant.users) < 0.6 * len(full_tenant.users), "most of the tenant is out of every rule's reach"
    queries = users_pages(fake)
    assert any("assignedLicenses/any(" in p for p in queries)
    assert any("onPremisesExtensionAttributes/extensionAttribute" in p for p in queries)
    assert any("userPrincipalName in (" in p or "userPrincipalName eq " in p for p in queries)


def test_auto_reads_whole_up_to_the_threshold_and_scoped_above(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    desired = load_desired_state(DEMO_CONFIG)
    document = demo_document()
    fake_for(document, router)
    assert read(desired, None).scope is None, "a small tenant is read whole: the full audit costs little"
    monkeypatch.setattr(live, "SCOPED_ABOVE", len(document["users"]) - 1)
    scope = read(desired, None).scope
    assert scope is not None
    assert scope.users_in_tenant == len(document["users"])
    assert "policy.read: auto" in scope.reason


def test_auto_reads_whole_when_graph_will_not_count(router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where advanced queries are not offered, the count fails: auto reads every user instead of failing."""
    desired = load_desired_state(DEMO_CONFIG)
    fake = fake_for(demo_document(), router)
    original = fake.handle

    def handle(request: httpx.Request) -> Any:
        if request.url.params.get("$top") == "1":
            return httpx.Response(400, json={"error": {"code": "Request_UnsupportedQuery", "message": "no"}})
        return original(request)

    fake.handle = handle  # type: ignore[method-assign]
    fake.mount(router)
    monkeypatch.setattr(live, "SCOPED_ABOVE", 0)
    tenant = read(desired, None)
    assert tenant.scope is None
    assert len(tenant.users) == len(demo_document()["users"])


def test_a_scoped_query_that_never_ends_is_an_error_not_a_cut(router: respx.MockRouter) -> None:
    """The page cap is a multiple of what the tenant's count could fill; past it the read fails, by name."""
    desired = load_desired_state(DEMO_CONFIG)
    document = demo_document()
    fake = fake_for(document, router, page_size_limit=2)
    original = fake.handle
    calls = {"n": 0}

    def handle(request: httpx.Request) -> Any:
        if "assignedLicenses" in str(request.url.params.get("$filter", "")):
            calls["n"] += 1
            link = f"{BASE}/users?$filter=assignedLicenses&$skiptoken=p{calls['n']}"
            return httpx.Response(200, json={"value": [], "@odata.nextLink": link})
        return original(request)

    fake.handle = handle  # type: ignore[method-assign]
    fake.mount(router)
    with pytest.raises(GraphError, match=r"scoped read, holders of \w+: .*more than \d+ pages") as caught:
        read(desired, "scoped")
    cap = 2 * math.ceil(len(document["users"]) / 999) + 2
    assert f"more than {cap} pages" in str(caught.value)


def test_the_fake_serves_filters_as_graph_documents_them(router: respx.MockRouter) -> None:
    """Extension attributes need the advanced query parameters; the assignedLicenses lambda is the filter docs' own
    example without them; an `in` takes 15 values by default, and an advanced query's URL 2,048 characters."""
    fake = fake_for(demo_document(), router)

    def get(url: str, advanced: bool) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKEN}", **({"ConsistencyLevel": "eventual"} if advanced else {})}
        return httpx.get(BASE + url + ("&$count=true" if advanced else ""), headers=headers)

    extension = "/users?$filter=onPremisesExtensionAttributes/extensionAttribute3 eq 'x'"
    licenses = "/users?$filter=assignedLicenses/any(x:x/skuId eq e43b5b99-8dfb-405f-9987-dc307f34bcbd)"
    assert get(extension, advanced=False).status_code == 400
    assert get(extension, advanced=True).status_code == 200
    assert get(licenses, advanced=False).status_code == 200
    sixteen = ",".join(f"'d{n}'" for n in range(16))
    assert get(f"/users?$filter=department in ({sixteen})", advanced=False).status_code == 400
    assert get(f"/users?$filter=department in ({sixteen})", advanced=True).status_code == 200
    long = ",".join(f"'{n:0>140}'" for n in range(15))
    assert get(f"/users?$filter=department in ({long})", advanced=True).status_code == 400, "over 2,048"
    sales = get("/users?$filter=department in ('SALES','nobody')&$select=department", advanced=False).json()["value"]
    assert sales, "in (...) ignores case, as Graph does"
    assert {u["department"].lower() for u in sales} == {"sales"}
    assert fake.requests


def test_plan_read_option_overrides_the_policy_and_a_saved_plan_refuses_it(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_for(demo_document(), router)
    assert main(["plan", str(DEMO_CONFIG), "--read", "scoped", "--out", str(tmp_path / "plan.json")]) == 0
    out = capsys.readouterr().out
    assert "READ_SCOPED" in out
    assert "scoped read (policy.read: scoped)" in out
    assert main(["apply", str(tmp_path / "plan.json"), "--read", "all", "--yes"]) == 1
    assert "--read applies to a configuration" in capsys.readouterr().err


def ids_in(queries: list[str]) -> set[str]:
    """The object ids the by-id queries ask for, checked to be asked once each."""
    asked = [i for q in queries for i in re.findall(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}", q)]
    assert len(asked) == len(set(asked)), "no id asked twice"
    return set(asked)


def test_a_saved_plans_check_reads_only_the_users_it_changes(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`apply PLANFILE` re-reads what its changes rested on; in a tenant far larger than the plan it reads those
    users by id instead of every user, and still finds the one changed since."""
    document = rollout_document(3000, holding_calling_plan=2970)  # 30 users to change; 3 pages of users to list
    fake = fake_for(document, router)
    config = tmp_path / "licensing.yaml"
    config.write_text(ROLLOUT_CONFIG, encoding="utf-8")
    saved = tmp_path / "plan.json"
    assert main(["plan", str(config), "--read", "all", "--out", str(saved)]) == 0
    changed = planfiles.changes(saved)
    assert len(changed) == 30
    moved = fake.user(user_id(2980))
    assert moved is not None
    moved["usageLocation"] = "CA"  # changed since the plan: its change must not be written
    fake.requests.clear()
    capsys.readouterr()

    status = main(["apply", str(saved), "--yes", "--audit-log", str(tmp_path / "audit.jsonl")])
    assert status == 4, "applied, with one user stale"
    assert "29 applied, 0 failed" in capsys.readouterr().err
    pages = users_pages(fake)
    assert [p for p in pages if "$filter=" not in p and "$top=1&" not in p] == [], "no listing of every user"
    by_id = [p for p in pages if "$filter=id in (" in p or "$filter=id eq " in p]
    assert len(by_id) == math.ceil(30 / 15)
    assert ids_in(by_id) == {user_id(n) for n in range(2970, 3000)}, "each user the plan changes, once"
    assert holders(fake.document()) == {user_id(n) for n in range(3000) if n != 2980}

    # undo reads the users its audit log names the same way
    fake.requests.clear()
    undo = ["undo", str(tmp_path / "audit.jsonl"), "--yes", "--allow-number-loss"]
    assert main([*undo, "--audit-log", str(tmp_path / "undo.jsonl")]) == 0
    pages = users_pages(fake)
    assert [p for p in pages if "$filter=" not in p and "$top=1&" not in p] == []
    by_id = [p for p in pages if "$filter=id" in p]
    assert len(by_id) == math.ceil(29 / 15)
    assert ids_in(by_id) == {user_id(n) for n in range(2970, 3000) if n != 2980}, "the users the log names"
    assert holders(fake.document()) == {user_id(n) for n in range(2970)}


def test_a_saved_plans_check_reads_every_user_when_that_is_cheaper(router: respx.MockRouter, tmp_path: Path) -> None:
    fake = fake_for(rollout_document(200), router)  # 200 changes: 14 queries by id against one page of users
    config = tmp_path / "licensing.yaml"
    config.write_text(ROLLOUT_CONFIG, encoding="utf-8")
    assert main(["plan", str(config), "--out", str(tmp_path / "plan.json")]) == 0
    fake.requests.clear()
    assert main(["apply", str(tmp_path / "plan.json"), "--yes", "--audit-log", str(tmp_path / "audit.jsonl")]) == 0
    assert not [p for p in users_pages(fake) if "$filter=id" in p]
    assert len(holders(fake.document())) == 200
