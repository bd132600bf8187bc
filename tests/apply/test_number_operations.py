"""The bounds around number writes: an operation is followed only where the Graph endpoint in use is, a run that
stops while operations are open leaves them unknown (Graph may still carry them out) and says so in the audit
log, and a leaver's number is freed before the license that carries it goes, counted as a removal."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import respx

from teamslicensing.apply.audit import AuditLog, TeamsBefore
from teamslicensing.apply.executor import execute
from teamslicensing.apply.stop import StopSwitch
from teamslicensing.cli import main
from teamslicensing.config import load_desired_state
from teamslicensing.graph import Connection, Graph
from teamslicensing.graph.writer import GraphWriter
from teamslicensing.model.outcome import UNKNOWN, UNREADABLE
from teamslicensing.plan.planner import plan
from teamslicensing.reference.availability import load_availability
from teamslicensing.tenant.live import read_tenant
from teamslicensing.tenant.need import TenantNeed
from tests.support.faults import BASE, fake_for
from tests.support.rollout import MCOEV, MCOPSTN1, state, user_id
from tests.support.voicerollout import CONFIG, LOCATION, holders, us_number, voice_document

TOKEN = "test-token-not-a-secret"
OPERATIONS = "/admin/teams/telephoneNumberManagement/operations"


def test_an_operation_is_followed_only_under_the_graph_endpoint_in_use(router: respx.MockRouter) -> None:
    fake = fake_for(voice_document(us=1, gb=0), router)
    elsewhere = [
        f"https://graph.example.net/v1.0{OPERATIONS}('x')",
        f"https://graph.microsoft.com/beta{OPERATIONS}('x')",
    ]

    async def look() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN) as graph:
            return await GraphWriter(graph).operations([*elsewhere, f"{BASE}{OPERATIONS}('gone')"], lambda: True)

    foreign, beta, gone = asyncio.run(look())
    assert foreign.status == UNREADABLE
    assert "not followed" in (foreign.detail or "")
    assert beta.status == UNREADABLE, "the version root in use, not another one on the same host"
    assert gone.status == UNREADABLE, "Graph answered 404 for it"
    assert "404" in (gone.detail or "")
    assert [path for _, path in fake.requests] == ["/$batch"], "one $batch, for the one under the endpoint"


def test_a_stop_while_operations_are_open_leaves_them_unknown_and_recorded(
    router: respx.MockRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", TOKEN)
    config = tmp_path / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    desired = load_desired_state(config)
    fake = fake_for(voice_document(us=2, gb=0), router, operation_steps=100_000)  # Teams never gets to them

    async def apply() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN) as graph:
            tenant = await read_tenant(graph, TenantNeed.to_plan(desired))
            planned = plan(desired, tenant, load_availability())
            before = {user.id: user for user in tenant.users}
            audit = AuditLog.open(tmp_path / "audit.jsonl", before)
            audit.teams = TeamsBefore.of(tenant)
            switch = StopSwitch(deadline=time.monotonic() + 4.0, grace=5.0)
            started = time.monotonic()
            try:
                return await execute(planned.changes, GraphWriter(graph), audit, before, switch=switch), started
            finally:
                audit.close()

    result, started = asyncio.run(apply())
    assert time.monotonic() - started < 25, "the time budget ended the wait"
    assert result.stopped is not None
    assert [(r.user_principal_name, r.status) for r in result.results] == [
        ("user000000@contoso.com", UNKNOWN),
        ("user000001@contoso.com", UNKNOWN),
    ]
    assert all(
        "the run stopped before it ended; Graph may still carry it out" in (r.reason or "") for r in result.results
    )
    log = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    left = [r for r in log if r["type"] == "operation"]
    assert [r["status"] for r in left] == ["running", "running"], "each operation's last state, in the log"
    assert all(holder is None for number, holder in holders(fake.document()).items() if number != us_number(9999))


LEAVER = CONFIG.replace(
    "policy:\n  maxChanges: 1000\n",
    "policy:\n  maxChanges: 1000\n  prune: true\n  allowNumberLoss: true\n  unassignNumbers: true\n"
    "  protectedUsers: [user000099@contoso.com]\n",  # the outsider, whom no rule selects either
)


def leaver_document() -> dict[str, Any]:
    """User 0 of the US group left it: he holds Phone System, a Calling Plan and US number 0."""
    document = voice_document(us=2, gb=1)
    document["users"][0]["licenseAssignmentStates"] += [state(MCOEV), state(MCOPSTN1)]
    document["users"][0]["assignedLicenses"] += [
        {"skuId": MCOEV, "disabledPlans": []},
        {"skuId": MCOPSTN1, "disabledPlans": []},
    ]
    entry = next(n for n in document["numberAssignments"] if n["telephoneNumber"] == us_number(0))
    entry.update(
        assignmentTargetId=user_id(0),
        assignmentStatus="userAssigned",
        assignmentCategory="primary",
        locationId=LOCATION,
    )
    document["groups"][0]["members"] = [user_id(1)]
    for sku in document["subscribedSkus"]:
        if sku["skuId"] in (MCOEV, MCOPSTN1):
            sku["consumedUnits"] += 1
    return document


def test_a_leavers_number_is_freed_before_his_license_goes_and_counts_as_a_removal(
    router: respx.MockRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", TOKEN)
    config = tmp_path / "licensing.yaml"
    config.write_text(LEAVER + "  maxRemovals: 0\n", encoding="utf-8")
    fake = fake_for(leaver_document(), router)
    assert main(["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(tmp_path / "no.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "takes service plans away from 1 user, more than the limit of 0" in err
    assert "a phone number a change unassigns counts too" in err
    assert fake.writes == []
    config.write_text(LEAVER, encoding="utf-8")
    assert main(["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(tmp_path / "a.jsonl")]) == 0
    urls = [w["url"] for w in fake.writes]
    assert urls.index("/admin/teams/telephoneNumberManagement/numberAssignments/unassignNumber") < urls.index(
        f"/users/{user_id(0)}/assignLicense"
    ), "the number back to the inventory before the license that carries it goes"
    held = holders(fake.document())
    assert held[us_number(0)] is None, "back in the inventory"
    assert held[us_number(1)] == user_id(1), "not handed out again in the same run: the joiner gets the next one"
