"""`teams-licensing permissions`, and each mode run against the fake tenant holding exactly the roles it prints.

The fake grants what Microsoft's permissions reference says each role grants (not the package's table), so a run
that needs a role the table leaves out meets a 403 here as it would in a tenant. Each mode's run is also checked
the other way: every request it made is one of its mode's requests in the table.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import respx

from teamslicensing.cli import main
from teamslicensing.graph import Connection, Graph
from teamslicensing.graph.wire import BatchRequest
from teamslicensing.reference.permissions import MODES, request_for
from teamslicensing.tenant.live import read_number_assignments, read_tenant
from teamslicensing.tenant.need import TenantNeed
from teamslicensing.tenant.teamsread import read_policy_lookups, read_user_configurations
from tests.support.fakegraph import FakeGraph
from tests.support.fakegraph.calls import generate_calls
from tests.support.faults import BASE, TOKEN, fake_for
from tests.support.graphmetadata import guard
from tests.support.permission_docs import PERMISSIONS_PAGE, expected
from tests.support.rollout import CONFIG, GROUP_ID, MCOPSTN1, rollout_document, user_id
from tests.support.teamstenant import ANN, BEN, CAT, FREE_DR, HELD, LOCATION, NO_CALLING, teams_document

SKU_READ = "LicenseAssignment.Read.All"
Served = list[tuple[str, str, str, bool]]  # method, path, query, refused


def printed(mode: str, capsys: pytest.CaptureFixture[str], *, optional: bool = True) -> set[str]:
    assert main(["permissions", "--mode", mode, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    return {row["permission"] for row in rows if optional or not row["optional"]}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    """Every operation the fake admits ($batch items included), and whether it refused it."""
    seen: Served = []
    admit = guard.admit

    def recording(method: str, path: str, raw_query: str, body: Any, bad: bool, roles: frozenset[str]) -> Any:
        checked, denied = admit(method, path, raw_query, body, bad, roles)
        seen.append((method, path, raw_query, denied is not None))
        return checked, denied

    monkeypatch.setattr(guard, "admit", recording)
    return seen


def assert_in_the_table(mode: str, served: Served) -> None:
    """Each request is one the table lists for `mode`, selecting no property the table does not know of."""
    spec = MODES[mode]
    for method, path, query, _ in served:
        request = request_for(method, path)
        assert request is not None, f"{method} {path} is in no permission table entry"
        assert request.key in spec.requests + spec.optional, f"{request.key} is not in mode {mode}"
        select = dict(parse_qsl(query)).get("$select")
        if select and request.returns is not None:
            assert set(select.split(",")) <= request.returns[1], f"{method} {path}?{query}"


def tenant(users: int = 6) -> dict[str, Any]:
    """Voice's members need a Calling Plan; one has no usage location; two hold numbers; calls were made."""
    document = rollout_document(users)
    document["users"][1]["usageLocation"] = None
    document["numberAssignments"] = [
        {
            "telephoneNumber": f"+1425555000{n}",
            "numberType": "callingPlan",
            "assignmentStatus": "userAssigned",
            "assignmentTargetId": user_id(n),
        }
        for n in range(2)
    ]
    callers = [(user_id(n), f"user{n:06d}@contoso.com", "US") for n in range(users)]
    five_days_ago = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=5)
    document["pstnCalls"] = list(generate_calls(callers, five_days_ago, 3, 5))
    return document


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "licensing.yaml"
    path.write_text(CONFIG.replace("policy:", "defaults: {usageLocation: US}\npolicy:"), encoding="utf-8")
    return path


pytestmark = pytest.mark.usefixtures("graph_token")


def test_permissions_prints_each_mode_as_text_or_json(capsys: pytest.CaptureFixture[str]) -> None:
    for mode in MODES:
        assert main(["permissions", "--mode", mode, "--format", "json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert rows, mode
        assert all(set(row) == {"permission", "why", "optional"} for row in rows)
        assert any(row["permission"] == SKU_READ and not row["optional"] for row in rows), "every mode reads skus"
        assert main(["permissions", "--mode", mode]) == 0
        text = capsys.readouterr().out
        assert all(row["permission"] in text for row in rows)
    assert printed("usage", capsys, optional=False) >= {"CallRecord-PstnCalls.Read.All"}
    assert "CallRecords.Read.All" not in printed("all", capsys), "least privileged: the PSTN logs, not every call"
    assert "Member.Read.Hidden" in printed("groups", capsys) - printed("groups", capsys, optional=False)
    assert "User.ReadBasic.All" not in printed("all", capsys), "least for GET /users, yet it returns no licenses"


def test_the_help_says_what_the_modes_are(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["permissions", "--help"])
    shown = capsys.readouterr().out
    assert all(f"  {name} " in shown for name in MODES)
    with pytest.raises(SystemExit) as refused:
        main(["permissions", "--mode", "everything"])
    assert refused.value.code == 1


@pytest.mark.parametrize("mode", ["plan", "all"])
def test_a_plan_with_exactly_the_printed_roles(
    mode: str, router: respx.MockRouter, config: Path, served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_for(tenant(), router, roles=printed(mode, capsys))
    assert main(["plan", str(config), "--format", "json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert not any(g["code"] == "NUMBER_INVENTORY_UNAVAILABLE" for g in planned["gaps"])
    assert served
    assert not [s for s in served if s[3]], "no 403"
    assert_in_the_table(mode, served)


def test_a_plan_without_the_optional_roles_falls_back_and_says_which_to_grant(
    router: respx.MockRouter, config: Path, served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_for(tenant(), router, roles=printed("plan", capsys, optional=False))
    assert main(["plan", str(config), "--format", "json"]) == 0
    (note,) = [g for g in json.loads(capsys.readouterr().out)["gaps"] if g["code"] == "NUMBER_INVENTORY_UNAVAILABLE"]
    assert "TeamsTelephoneNumber.Read.All" in note["message"]
    assert [s[:2] for s in served if s[3]] == [("GET", "/admin/teams/telephoneNumberManagement/numberAssignments")]


@pytest.mark.parametrize("mode", ["apply", "all"])
def test_an_apply_with_exactly_the_printed_roles(
    mode: str,
    router: respx.MockRouter,
    config: Path,
    tmp_path: Path,
    served: Served,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_for(tenant(), router, roles=printed(mode, capsys))
    fake.lose_answer("reset")  # the writes' answer is lost: apply reads the users back
    audit = tmp_path / "audit.jsonl"
    assert main(["apply", str(config), "--yes", "--audit-log", str(audit), "--format", "json"]) == 0
    assert {w["url"].split("/")[-1] for w in fake.writes} == {"assignLicense", user_id(1)}, "licenses, a location"
    assert not [s for s in served if s[3]], "no 403"
    assert any(method == "GET" and path.startswith("/users/") for method, path, *_ in served), "read back"
    assert_in_the_table(mode, served)


@pytest.mark.parametrize("mode", ["usage", "all"])
def test_usage_with_exactly_the_printed_roles(
    mode: str, router: respx.MockRouter, served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_for(tenant(), router, roles=printed(mode, capsys))
    assert main(["usage", "--days", "10", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)
    assert any("getPstnCalls" in path for _, path, *_ in served)
    assert not [s for s in served if s[3]], "no 403"
    assert_in_the_table(mode, served)


@pytest.mark.parametrize("mode", ["inventory", "all"])
def test_the_number_inventory_with_exactly_the_printed_roles(
    mode: str, router: respx.MockRouter, served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_for(tenant(), router, roles=printed(mode, capsys))

    async def read() -> tuple[Any, Any]:
        async with Graph(Connection(BASE), access_token=TOKEN) as graph:
            skus = await graph.get_json("/subscribedSkus")
            return skus, await read_number_assignments(graph, "global")

    skus, (numbers, why) = asyncio.run(read())
    assert skus["value"]
    assert why is None
    assert len(numbers) == 2
    assert not [s for s in served if s[3]], "no 403"
    assert_in_the_table(mode, served)


NUMBERS = "/admin/teams/telephoneNumberManagement/numberAssignments"


async def number_run(graph: Graph) -> list[Any]:
    """What an apply with numbers sends: the inventory, an assignment followed to its end, an update, a release."""
    _, why = await read_number_assignments(graph, "global")
    body = {"telephoneNumber": FREE_DR, "assignmentTargetId": CAT, "numberType": "directRouting"}
    (started,) = await graph.batch([BatchRequest("1", "POST", f"{NUMBERS}/assignNumber", body)])
    states = [(await graph.get_json(started.headers["location"]))["status"] for _ in range(3)]
    update = {"telephoneNumber": FREE_DR, "locationId": LOCATION}
    release = {"telephoneNumber": HELD, "numberType": "callingPlan"}
    answers = await graph.batch(
        [
            BatchRequest("1", "POST", f"{NUMBERS}/updateNumber", update),
            BatchRequest("2", "POST", f"{NUMBERS}/unassignNumber", release),
        ]
    )
    return [why, started.status, states, sorted(a.status for a in answers)]


async def policy_run(graph: Graph) -> list[Any]:
    """What plan and apply with policies send: configurations (all, and by id), a lookup, assign and unassign."""
    every, why = await read_user_configurations(graph, "global")
    some, scoped_why = await read_user_configurations(graph, "global", [ANN], users_in_tenant=100_000)
    lookups, lookup_why = await read_policy_lookups(graph, "global", [("TeamsCallingPolicy", "No Calling")])
    item = {"userId": BEN, "policyType": "TeamsCallingPolicy", "policyId": NO_CALLING}
    assigned = await graph.batch(
        [BatchRequest("1", "POST", "/admin/teams/policy/userAssignments/assign", {"value": [item]})]
    )
    taken = {"value": [{"userId": BEN, "policyType": "TeamsCallingPolicy"}]}
    unassigned = await graph.batch([BatchRequest("1", "POST", "/admin/teams/policy/userAssignments/unassign", taken)])
    return [why, scoped_why, lookup_why, bool(every and some and lookups), assigned[0].status, unassigned[0].status]


@pytest.mark.parametrize("mode", ["numbers", "all"])
def test_numbers_with_exactly_the_printed_roles(
    mode: str, router: respx.MockRouter, served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_for(teams_document(), router, roles=printed(mode, capsys), operation_steps=2)

    async def work() -> list[Any]:
        async with Graph(Connection(BASE), access_token=TOKEN) as graph:
            return await number_run(graph)

    assert asyncio.run(work()) == [None, 202, ["notStarted", "running", "succeeded"], [200, 202]]
    assert not [s for s in served if s[3]], "no 403"
    assert_in_the_table(mode, served)


@pytest.mark.parametrize("mode", ["policies", "all"])
def test_policies_with_exactly_the_printed_roles(
    mode: str, router: respx.MockRouter, served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_for(teams_document(), router, roles=printed(mode, capsys))

    async def work() -> list[Any]:
        async with Graph(Connection(BASE), access_token=TOKEN) as graph:
            return await policy_run(graph)

    assert asyncio.run(work()) == [None, None, None, True, 204, 204]
    assert not [s for s in served if s[3]], "no 403"
    assert_in_the_table(mode, served)


def test_the_teams_modes_ask_for_the_roles_the_issue_names(capsys: pytest.CaptureFixture[str]) -> None:
    """numbers: TeamsTelephoneNumber.ReadWrite.All (it also reads the inventory); policies: the configurations'
    read role, and the assignment role, which is also the only one for getPolicyId."""
    numbers, policies = printed("numbers", capsys), printed("policies", capsys)
    assert "TeamsTelephoneNumber.ReadWrite.All" in numbers
    assert "TeamsTelephoneNumber.Read.All" not in numbers, "ReadWrite.All covers the inventory"
    assert {"TeamsUserConfiguration.Read.All", "TeamsPolicyUserAssign.ReadWrite.All"} <= policies
    assert not {r for r in policies if r.startswith("TeamsTelephoneNumber")}


GROUPS = "version: 1\ngroupLicenses:\n  - {group: Voice, assign: [MCOPSTN1]}\n"


@pytest.mark.parametrize("mode", ["groups", "all"])
def test_group_licensing_and_reprocess_with_exactly_the_printed_roles(
    mode: str, router: respx.MockRouter, tmp_path: Path, served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "groups.yaml"
    config.write_text(GROUPS, encoding="utf-8")
    document = tenant(5)
    next(s for s in document["subscribedSkus"] if s["skuId"] == MCOPSTN1)["prepaidUnits"]["enabled"] = 3
    fake = fake_for(document, router, roles=printed(mode, capsys))
    audit = tmp_path / "audit.jsonl"
    assert main(["apply", str(config), "--yes", "--audit-log", str(audit), "--wait", "1m"]) in (0, 3)
    assert any(w["url"] == f"/groups/{GROUP_ID}/assignLicense" for w in fake.writes)
    capsys.readouterr()
    assert main(["reprocess", "--group", "Voice", "--yes", "--audit-log", str(tmp_path / "again.jsonl")]) == 0
    assert any(w["url"].endswith("/reprocessLicenseAssignment") for w in fake.writes), "members in CountViolation"
    assert not [s for s in served if s[3]], "no 403"
    assert_in_the_table(mode, served)


@pytest.mark.parametrize(
    ("mode", "argv"),
    [
        ("plan", ["plan", "{config}"]),
        ("apply", ["apply", "{config}", "--yes", "--audit-log", "{audit}"]),
        ("usage", ["usage", "--days", "10"]),
        ("groups", ["reprocess", "--user", user_id(0), "--yes", "--audit-log", "{audit}"]),
    ],
)
def test_without_the_subscribed_skus_role_one_clear_error_names_it(
    mode: str,
    argv: list[str],
    router: respx.MockRouter,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_for(tenant(), router, roles=printed(mode, capsys) - {SKU_READ})
    arguments = [a.format(config=config, audit=tmp_path / "audit.jsonl") for a in argv]
    assert main(arguments) == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert "internal error" not in error
    refusals = [line for line in error.splitlines() if "403" in line]
    assert len(refusals) == 1, error
    assert "GET /subscribedSkus needs the application permission LicenseAssignment.Read.All" in refusals[0]
    assert f"--mode {mode}" in refusals[0] or "--mode plan" in refusals[0]
    assert fake.writes == [], "nothing written"


def test_without_the_subscribed_skus_role_the_inventory_read_names_it(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    from teamslicensing.errors import GraphError

    fake_for(tenant(), router, roles=printed("inventory", capsys) - {SKU_READ})

    async def read() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN) as graph:
            return await read_tenant(graph, TenantNeed())

    with pytest.raises(GraphError) as refused:
        asyncio.run(read())
    assert refused.value.status == 403
    assert "LicenseAssignment.Read.All" in str(refused.value)


def test_the_fake_enforces_microsofts_list_not_the_packages_table(router: respx.MockRouter) -> None:
    """A role the table never picks still works where Microsoft's reference lists it."""
    fake = FakeGraph(tenant(), base_url=BASE, roles={"Organization.Read.All"})
    fake.mount(router)

    async def read() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN) as graph:
            return await graph.get_json("/subscribedSkus")

    assert asyncio.run(read())["value"]


def test_the_old_default_grant_could_not_read_subscribed_skus(
    router: respx.MockRouter, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """grant-permissions.sh used to grant these for apply; Microsoft's reference lists LicenseAssignment.ReadWrite.All
    for the two assignLicense actions only, so the first read of every run was refused."""
    fake_for(tenant(), router, roles={"LicenseAssignment.ReadWrite.All", "User.ReadWrite.All", "GroupMember.Read.All"})
    assert main(["plan", str(config)]) == 1
    assert "GET /subscribedSkus needs the application permission LicenseAssignment.Read.All" in capsys.readouterr().err


def test_the_documented_permission_table_is_the_permission_tables() -> None:
    """Run `python -m tests.support.permission_docs` after changing the table."""
    assert PERMISSIONS_PAGE.read_text(encoding="utf-8") == expected(PERMISSIONS_PAGE)
    assert "`LicenseAssignment.Read.All` | ✓ | ✓ | ✓ | ✓ | ✓ |" in PERMISSIONS_PAGE.read_text(encoding="utf-8")
