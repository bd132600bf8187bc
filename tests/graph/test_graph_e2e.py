"""End to end against the stateful fake tenant: live reads, plan -> apply -> plan again, throttling, failures.

Graph is never called: respx routes every request to `FakeGraph`, which behaves as Graph is documented to.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
import respx

from teamslicensing.apply.audit import AuditLog
from teamslicensing.apply.executor import execute
from teamslicensing.cli import commands, main
from teamslicensing.cli.parser import build_parser
from teamslicensing.config import load_desired_state
from teamslicensing.graph import Connection, Graph
from teamslicensing.graph.writer import GraphWriter
from teamslicensing.model.outcome import FAILED
from teamslicensing.plan.planner import plan
from teamslicensing.reference.availability import load_availability
from teamslicensing.tenant.live import read_tenant
from teamslicensing.tenant.need import TenantNeed
from teamslicensing.tenant.snapshot import parse_snapshot
from tests.support.faults import fake_for
from tests.support.graphmetadata import DEFAULT_ROLES
from tests.support.shipped_demo import demo_fake_document

BASE = "https://graph.microsoft.com/v1.0"
TOKEN = "test-token-not-a-secret"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo_document() -> dict[str, Any]:
    return demo_fake_document()


@pytest.fixture(autouse=True)
def bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", "test-token-not-a-secret")
    monkeypatch.delenv("TEAMS_LICENSING_GRAPH_URL", raising=False)


def apply_live(config: Path, audit: Path, *options: str) -> int:
    """`teams-licensing apply CONFIG` against the fake, with an audit log and any further options."""
    return main(["apply", str(config), "--graph-url", BASE, "--audit-log", str(audit), *options])


def plan_json(args: list[str], tmp_path: Path, name: str) -> dict[str, Any]:
    out = tmp_path / name
    main([*args, "--format", "json", "--output", str(out)])
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return document


def test_live_plan_equals_the_snapshot_plan(
    router: respx.MockRouter, demo_document: dict[str, Any], example_config: Path, demo_tenant: Path, tmp_path: Path
) -> None:
    fake = fake_for(demo_document, router)
    live = plan_json(["plan", str(example_config), "--graph-url", BASE], tmp_path, "live.json")
    offline = plan_json(["plan", str(example_config), "--snapshot", str(demo_tenant)], tmp_path, "offline.json")
    # groups users inherit licenses from are named live too (looked up by id), as in the snapshot
    assert any(g["code"] == "GROUP_LICENSE_ERROR" and "group '" in g["message"] for g in live["gaps"])
    live_meta, offline_meta = live.pop("meta"), offline.pop("meta")
    assert live_meta["source"] == BASE, "each says its source"
    assert offline_meta["source"] == f"snapshot {demo_tenant}"
    assert live == offline
    assert live["changes"], "the demo has work to do"
    assert fake.writes == [], "planning never writes"
    assert all(method == "GET" or path == "/$batch" for method, path in fake.requests), "reads, and $batch of GETs"


def test_reads_stay_within_the_request_budget(router: respx.MockRouter, demo_document: dict[str, Any]) -> None:
    page = 3  # the fake pages at 3 so a small tenant shows paging; Graph's own page is 999
    fake = fake_for(demo_document, router, page_size_limit=page)
    desired = load_desired_state(ROOT / "config" / "licensing.yaml")

    async def read() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN) as graph:
            return await read_tenant(graph, TenantNeed.to_plan(desired))

    tenant = asyncio.run(read())
    users = len(demo_document["users"])
    named = set(desired.group_names)
    members = [len(g["members"]) for g in demo_document["groups"] if g["displayName"] in named]
    # users, members, group lookups, subscribedSkus, the number inventory, the user count of policy.read auto, one
    # $batch naming the other groups users inherit licenses from, the users' Teams configurations (the demo
    # numbers and assigns policies), paged like the users, and one $search for each group name no group has
    missing = named - {g["displayName"] for g in demo_document["groups"]}
    budget = 2 * math.ceil(users / page) + sum(max(1, math.ceil(m / page)) for m in members) + len(named) + 4
    budget += len(missing)
    assert len(fake.requests) <= budget
    assert not any("/users/" in path for _, path in fake.requests), "no per-user requests"
    assert len(tenant.users) == users
    selects = [path for _, path in fake.requests if path.startswith("/users?") and "$top=1&" not in path]
    assert all("$select=" in path and "licenseAssignmentStates" in path for path in selects)
    assert any("displayName eq 'Voice - Sales'" in path for _, path in fake.requests)


def test_apply_then_plan_again_shows_no_changes(
    router: respx.MockRouter, demo_document: dict[str, Any], example_config: Path, tmp_path: Path
) -> None:
    fake = fake_for(demo_document, router)
    audit = tmp_path / "audit.jsonl"
    status = apply_live(example_config, audit, "--yes")
    assert status == 3, "applied, but the demo's error-severity gaps remain"
    again = plan_json(["plan", str(example_config), "--graph-url", BASE], tmp_path, "again.json")
    assert again["changes"] == []
    grace = fake.user("grace@contoso.com")
    assert grace is not None
    held = {lic["skuId"] for lic in grace["assignedLicenses"]}
    assert "d3b4fe1f-9992-4930-8acb-ca6ec609365e" in held, "MCOPSTN2 added"
    assert "0dab259f-bf13-4952-b7f8-7db8f131b28d" not in held, "MCOPSTN1 swapped out in the same call"
    records = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    results = [r for r in records if r["type"] == "result"]
    intents = {(r["runId"], r["seq"]): r for r in records if r["type"] == "intent"}
    assert {r["userPrincipalName"] for r in results} >= {"bob@contoso.com", "grace@contoso.com", "karl@contoso.com"}
    assert all(r["status"] in (200, 202, 204) and r["requestId"] for r in results)
    assert all((r["runId"], r["seq"]) in intents for r in results), "every answer has its intent, written before"
    bob = fake.user("bob@contoso.com")
    assert bob is not None
    numbers = {n["telephoneNumber"]: n for n in fake.document()["numberAssignments"]}
    assert numbers["+14255550199"]["assignmentTargetId"] == bob["id"], "the demo's one free number, after his license"
    empty = [w for w in fake.writes if w["url"].endswith("/assignLicense") and not any(w["body"].values())]
    assert empty == [], "alice and nadia get a policy alone: no assignLicense is sent for them"
    operations = [r for r in records if r["type"] == "operation"]
    assert [(o["userPrincipalName"], o["status"]) for o in operations] == [("bob@contoso.com", "succeeded")]
    assert records.index(intents[(results[0]["runId"], results[0]["seq"])]) < records.index(results[0])
    assert all("test-token" not in line for line in audit.read_text(encoding="utf-8").splitlines())


def test_writes_go_in_order_removals_then_usage_locations_then_adds(
    router: respx.MockRouter, demo_document: dict[str, Any], example_config: Path, tmp_path: Path
) -> None:
    fake = fake_for(demo_document, router)
    assert apply_live(example_config, tmp_path / "audit.jsonl", "--yes") == 3
    kinds = []
    users = [w for w in fake.writes if w["url"].startswith("/users/")]
    teams = [n for n, w in enumerate(fake.writes) if w["url"].startswith("/admin/teams/")]
    assert teams, "the demo assigns policies and a number"
    assert min(teams) == len(users), "policies and numbers after every license and usage location"
    assert [fake.writes[n]["url"].rsplit("/", 1)[1] for n in teams] == ["assign"] * 3 + ["assignNumber"]
    for write in users:
        body = write["body"] or {}
        if write["method"] == "PATCH":
            kinds.append("location")
        elif body.get("addLicenses"):
            kinds.append("add")
        else:
            kinds.append("removal")
        assert write["method"] == "PATCH" or set(body) == {"addLicenses", "removeLicenses"}
    assert kinds == sorted(kinds, key=["removal", "location", "add"].index)
    assert all(method == "POST" and path == "/$batch" for method, path in fake.requests if method != "GET")


def test_throttling_storm_converges(router: respx.MockRouter, demo_document: dict[str, Any], tmp_path: Path) -> None:
    fake = fake_for(demo_document, router)
    desired = load_desired_state(ROOT / "config" / "licensing.yaml")

    async def plan_apply_plan() -> tuple[Any, Any, Any, int]:
        async with Graph(Connection(BASE), access_token=TOKEN, backoff_base=0.001) as graph:
            tenant = await read_tenant(graph, TenantNeed.to_plan(desired))
            first = plan(desired, tenant, load_availability())
            fake.throttle_next(2, retry_after=0.01, outright=True)  # the $batch itself, twice
            fake.throttle_next(25, retry_after=0.02)  # then items inside the batches
            before = {user.id: user for user in tenant.users}
            audit = AuditLog.open(tmp_path / "audit.jsonl", before)
            result = await execute(first.changes, GraphWriter(graph), audit, before)
            audit.close()
            second = plan(desired, await read_tenant(graph, TenantNeed.to_plan(desired)), load_availability())
            return first, result, second, graph.write_requests

    first, result, second, write_requests = asyncio.run(plan_apply_plan())
    throttled = [w for w in fake.writes if w["status"] == 429]
    assert len(throttled) >= 10, "the storm really hit item writes"
    assert result.count("applied") == len(first.changes)
    assert second.changes == ()
    # one $batch per kind of write (removals, usage locations, adds, policies, numbers), the throttled again, and
    # the $batch reads of the Teams writes: getPolicyId, bob's license read back Active, each look at his operation
    teams_reads = 2 + fake.operation_steps + 1
    budget = math.ceil(10 / 20) * 5 + len(throttled) + 2 + teams_reads
    assert write_requests <= budget, "batches re-sent only for throttled items"


def test_throttled_writes_that_took_effect_are_harmless(
    router: respx.MockRouter, demo_document: dict[str, Any], example_config: Path, tmp_path: Path
) -> None:
    fake = fake_for(demo_document, router, apply_throttled_writes=True)
    fake.throttle_next(6, retry_after=0.01)
    assert apply_live(example_config, tmp_path / "audit.jsonl", "--yes") == 3
    again = plan_json(["plan", str(example_config), "--graph-url", BASE], tmp_path, "again.json")
    assert again["changes"] == []


def test_a_refused_write_fails_that_user_only_and_is_not_retried(
    router: respx.MockRouter, demo_document: dict[str, Any], tmp_path: Path
) -> None:
    desired = load_desired_state(ROOT / "config" / "licensing.yaml")
    snapshot = {k: v for k, v in copy.deepcopy(demo_document).items() if k != "emergencyLocations"}  # the fake's
    tenant = parse_snapshot(snapshot, "demo", desired.selected_attributes)
    planned = plan(desired, tenant, load_availability())
    # between plan and apply someone took the last MCOPSTN1 seat
    changed = copy.deepcopy(demo_document)
    mcopstn1 = next(s for s in changed["subscribedSkus"] if s["skuPartNumber"] == "MCOPSTN1")
    mcopstn1["consumedUnits"] = mcopstn1["prepaidUnits"]["enabled"]
    fake = fake_for(changed, router)

    async def apply() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN, backoff_base=0.001) as graph:
            before = {user.id: user for user in tenant.users}
            audit = AuditLog.open(tmp_path / "audit.jsonl", before)
            try:
                return await execute(planned.changes, GraphWriter(graph), audit, before)
            finally:
                audit.close()

    result = asyncio.run(apply())
    failed = {r.user_principal_name: r.reason for r in result.failed}
    assert set(failed) == {"bob@contoso.com", "carol@contoso.com"}, "the users who needed a new MCOPSTN1 seat"
    assert all("does not have any available licenses" in (reason or "") for reason in failed.values())
    assert result.count("applied") == len(planned.changes) - 2
    assert all(r.status != FAILED for r in result.results if r.user_principal_name == "grace@contoso.com")
    bob_writes = [w for w in fake.writes if "assignLicense" in w["url"] and w["status"] == 400]
    assert len(bob_writes) == 2, "a 400 is a per-user failure, never retried"


def test_transient_failures_and_outright_throttling_are_retried(
    router: respx.MockRouter, demo_document: dict[str, Any]
) -> None:
    fake = fake_for(demo_document, router)
    fake.fail_next(2, status=503)
    fake.throttle_next(1, retry_after=0.01, outright=True)

    async def read() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN, backoff_base=0.001) as graph:
            skus = await graph.get_json("/subscribedSkus")
            return skus, graph.retries

    skus, retries = asyncio.run(read())
    assert len(skus["value"]) == len(demo_document["subscribedSkus"])
    assert retries == 3
    assert fake.requests.count(("GET", "/subscribedSkus")) == 4


def test_apply_refuses_a_plan_larger_than_max_changes(
    router: respx.MockRouter,
    demo_document: dict[str, Any],
    example_config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_for(demo_document, router)
    status = apply_live(example_config, tmp_path / "audit.jsonl", "--yes", "--max-changes", "2")
    assert status == 1
    assert "more than the limit of 2" in capsys.readouterr().err
    assert fake.writes == []


def test_apply_without_a_terminal_needs_yes(
    router: respx.MockRouter,
    demo_document: dict[str, Any],
    example_config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_for(demo_document, router)
    assert apply_live(example_config, tmp_path / "audit.jsonl") == 1
    assert "pass --yes" in capsys.readouterr().err
    assert fake.writes == []


def test_export_writes_a_snapshot_that_plans_like_the_live_tenant(
    router: respx.MockRouter, demo_document: dict[str, Any], example_config: Path, tmp_path: Path
) -> None:
    fake_for(demo_document, router, page_size_limit=4)
    exported = tmp_path / "export.json"
    assert main(["export", "--output", str(exported), "--graph-url", BASE]) == 0
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert len(document["users"]) == len(demo_document["users"])
    assert document["cloud"] == "global", "the snapshot says which cloud it came from"
    assert {g["displayName"] for g in document["groups"]} == {g["displayName"] for g in demo_document["groups"]}
    from_export = plan_json(["plan", str(example_config), "--snapshot", str(exported)], tmp_path, "export-plan.json")
    live = plan_json(["plan", str(example_config), "--graph-url", BASE], tmp_path, "live-plan.json")
    assert from_export["changes"] == live["changes"]
    assert from_export["seats"] == live["seats"]


def test_export_with_a_config_keeps_only_the_groups_it_names(
    router: respx.MockRouter, demo_document: dict[str, Any], example_config: Path, tmp_path: Path
) -> None:
    fake_for(demo_document, router)
    exported = tmp_path / "export.json"
    assert main(["export", "--output", str(exported), "--config", str(example_config), "--graph-url", BASE]) == 0
    names = {g["displayName"] for g in json.loads(exported.read_text(encoding="utf-8"))["groups"]}
    assert names == {"Voice - Sales", "Voice - International", "Voice - UK Support", "Contractors"}


@pytest.mark.parametrize(
    ("cloud", "url", "authority"),
    [
        ("global", "https://graph.microsoft.com/v1.0", "login.microsoftonline.com"),
        ("usgov", "https://graph.microsoft.us/v1.0", "login.microsoftonline.us"),
        ("usgovdod", "https://dod-graph.microsoft.us/v1.0", "login.microsoftonline.us"),
        ("china", "https://microsoftgraph.chinacloudapi.cn/v1.0", "login.chinacloudapi.cn"),
    ],
)
def test_clouds_pick_endpoint_authority_and_scope(cloud: str, url: str, authority: str) -> None:
    connection = Connection.from_options(cloud)
    assert (connection.graph_url, connection.authority_host) == (url, authority)
    assert connection.scope == url.removesuffix("/v1.0") + "/.default"


def test_graph_url_override_from_option_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Connection.from_options("global", "http://127.0.0.1:8080/v1.0/").graph_url == "http://127.0.0.1:8080/v1.0"
    monkeypatch.setenv("TEAMS_LICENSING_GRAPH_URL", "http://localhost:9000/v1.0")
    args = build_parser().parse_args(["plan", "licensing.yaml"])
    from_environment = commands._graph_access(args).connection  # the CLI reads the environment, the client does not
    assert from_environment.graph_url == "http://localhost:9000/v1.0"
    assert from_environment.scope == "http://localhost:9000/.default"


def test_the_number_inventory_is_read_with_top_and_skip_and_protects_the_number_it_lists(
    router: respx.MockRouter, demo_document: dict[str, Any], example_config: Path, tmp_path: Path
) -> None:
    pool = [
        {
            "id": f"pool-{n}",
            "telephoneNumber": f"+1555{n:07d}",
            "numberType": "callingPlan",
            "assignmentStatus": "unassigned",
            "assignmentTargetId": None,
        }
        for n in range(2100)
    ]
    document = {**demo_document, "numberAssignments": demo_document["numberAssignments"] + pool}
    fake = fake_for(document, router)
    planned = plan_json(["plan", str(example_config), "--graph-url", BASE], tmp_path, "plan.json")
    reads = [url for method, url in fake.requests if "numberAssignments" in url]
    assert reads == [
        f"/admin/teams/telephoneNumberManagement/numberAssignments?$top=1000&$skip={skip}" for skip in (0, 1000, 2000)
    ], "pages of 1,000 until a short one, as the docs page the list ($top, $skip; no nextLink)"
    at_risk = [g for g in planned["gaps"] if g["code"] == "PHONE_NUMBER_AT_RISK"]
    assert any("+14255550103 (callingPlan)" in g["message"] for g in at_risk), "dave's number, from the inventory"
    assert not any(g["code"] == "NUMBER_INVENTORY_UNAVAILABLE" for g in planned["gaps"])


def test_without_the_number_role_protection_falls_back_and_says_so(
    router: respx.MockRouter, demo_document: dict[str, Any], example_config: Path, tmp_path: Path
) -> None:
    fake_for(
        demo_document,
        router,
        roles=DEFAULT_ROLES - {"TeamsTelephoneNumber.Read.All", "TeamsTelephoneNumber.ReadWrite.All"},
    )
    planned = plan_json(["plan", str(example_config), "--graph-url", BASE], tmp_path, "plan.json")
    notes = [g for g in planned["gaps"] if g["code"] == "NUMBER_INVENTORY_UNAVAILABLE"]
    assert notes
    assert all("TeamsTelephoneNumber.Read.All" in note["message"] for note in notes)
    assert not any(c["numberChanges"] for c in planned["changes"]), "no number is given from an unread inventory"
    dave = [
        g
        for g in planned["gaps"]
        if g["code"] == "PHONE_NUMBER_AT_RISK" and g["userPrincipalName"] == "dave@contoso.com"
    ]
    assert dave, "guessed from his licenses: still withheld"
    assert "+1425" not in dave[0]["message"]


def test_export_keeps_the_number_inventory(
    router: respx.MockRouter, demo_document: dict[str, Any], tmp_path: Path
) -> None:
    fake_for(demo_document, router)
    exported = tmp_path / "export.json"
    assert main(["export", "--output", str(exported), "--graph-url", BASE]) == 0
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert document["numberAssignments"] == demo_document["numberAssignments"]


def test_export_to_an_unwritable_place_fails_clearly_before_reading_anything(
    router: respx.MockRouter, demo_document: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_for(demo_document, router)
    assert main(["export", "--output", str(tmp_path / "missing" / "export.json"), "--graph-url", BASE]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert fake.requests == []
