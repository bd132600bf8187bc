"""Group-based licensing (groupLicenses) end to end: planned as group changes, written as group assignLicense calls
that Entra processes later, and a migration from direct copies that never leaves a member without the license.

Live runs go against the stateful fake, which processes group writes asynchronously as Entra does (202 Accepted,
QueuedForProcessing, then each direct member's licenseAssignmentStates; CountViolation without seats).
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from teamslicensing.cli import main
from teamslicensing.config import load_desired_state
from teamslicensing.graph import Connection, Graph
from teamslicensing.model.planjson import plan_from_json, plan_to_json
from teamslicensing.plan.planner import plan
from teamslicensing.reference.availability import load_availability
from teamslicensing.tenant.live import read_tenant
from teamslicensing.tenant.need import TenantNeed
from tests.support.fakegraph import FakeGraph
from tests.support.faults import fake_for
from tests.support.graphmetadata import tolerated
from tests.support.rollout import GROUP_ID, MCOEV, MCOPSTN1, TEAMS, rollout_document, user_id

BASE = "https://graph.microsoft.com/v1.0"
TOKEN = "test-token-not-a-secret"

pytestmark = pytest.mark.usefixtures("graph_token")

MIGRATING = """version: 1
groupLicenses:
  - group: Voice
    assign: [MCOEV, MCOPSTN1]
    migrateDirect: true
policy:
  maxChanges: 1000
  maxRemovals: 1000
"""


def direct_holders(users: int, holding: int) -> dict[str, Any]:
    """`users` members of Voice holding Teams and Phone System directly, the first `holding` a Calling Plan too;
    the group itself licenses nothing yet."""
    document = rollout_document(users, holding_calling_plan=holding)
    document["groups"][0]["assignedLicenses"] = []
    return document


def never_without(document: dict[str, Any], skus: tuple[str, ...], who: set[str]) -> list[str]:
    """Users of `who` who hold one of `skus` neither directly nor inherited and Active: what must never happen."""
    lacking = []
    for user in document["users"]:
        if user["id"] not in who:
            continue
        for sku in skus:
            if not any(
                s["skuId"] == sku and s.get("state", "Active") == "Active" for s in user["licenseAssignmentStates"]
            ):
                lacking.append(f"{user['userPrincipalName']} {sku}")
    return lacking


def test_a_snapshot_migrates_over_runs_and_no_member_is_ever_without_the_license(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text(MIGRATING)
    snapshot = tmp_path / "tenant.json"
    document = direct_holders(6, holding=6)
    snapshot.write_text(json.dumps(document))
    members = {user["id"] for user in document["users"]}
    audit = tmp_path / "audit.jsonl"
    runs = []
    for _ in range(3):
        assert main(["plan", str(config), "--snapshot", str(snapshot), "--format", "json"]) == 0
        runs.append(json.loads(capsys.readouterr().out))
        if not runs[-1]["changes"] and not runs[-1]["groupChanges"]:
            break
        args = ["apply", str(config), "--snapshot", str(snapshot), "--yes", "--audit-log", str(audit)]
        assert main([*args, "--append-audit"] if audit.exists() else args) == 0
        capsys.readouterr()
        now = json.loads(snapshot.read_text())
        assert never_without(now, (MCOEV, MCOPSTN1), members) == []
    first, second, third = runs
    (group_change,) = first["groupChanges"]
    assert group_change["groupId"] == GROUP_ID
    assert group_change["groupName"] == "Voice"
    assert {a["skuId"] for a in group_change["addLicenses"]} == {MCOEV, MCOPSTN1}
    assert first["changes"] == [], "covered members get no direct add"
    assert {g["code"] for g in first["gaps"]} >= {"MIGRATION_WAITING"}
    removals = second["changes"]
    assert len(removals) == 6, "once Active through the group, every direct copy goes"
    assert all(not c["destructive"] and not c["addLicenses"] for c in removals)
    assert third["changes"] == [], "converged"
    final = json.loads(snapshot.read_text())
    assert all(
        all(s["assignedByGroup"] == GROUP_ID for s in u["licenseAssignmentStates"] if s["skuId"] in (MCOEV, MCOPSTN1))
        for u in final["users"]
    )
    mcoev = next(s for s in final["subscribedSkus"] if s["skuId"] == MCOEV)
    assert mcoev["consumedUnits"] == 6, "a SKU held directly and by group takes one seat"
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert any(r.get("kind") == "groupLicenses" and r["type"] == "intent" for r in records), "group writes audited"


def test_live_group_writes_are_processed_later_and_the_migration_waits_for_them(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Apply sends one group write; Entra (the fake) processes it only some requests later. The plan read before
    that still waits; once processed, the direct copies go, and at no state the fake was in did a member lack a
    license."""
    config = tmp_path / "licensing.yaml"
    config.write_text(MIGRATING)
    fake = fake_for(direct_holders(40, holding=40), router, group_processing_delay=50)
    members = {user_id(n) for n in range(40)}
    audit = tmp_path / "audit.jsonl"

    def states_ok() -> None:
        assert never_without(fake.document(), (MCOEV, MCOPSTN1), members) == []

    assert main(["apply", str(config), "--yes", "--audit-log", str(audit)]) == 0
    capsys.readouterr()
    group_writes = [w for w in fake.writes if w["url"].startswith(f"/groups/{GROUP_ID}/assignLicense")]
    assert len(group_writes) == 1, "one group write licenses every member"
    assert group_writes[0]["status"] == 202
    assert not [w for w in fake.writes if "/users/" in w["url"]], "no per-user write for covered members"
    states_ok()
    assert main(["plan", str(config), "--format", "json"]) == 0  # Entra has not processed the group yet
    waiting = json.loads(capsys.readouterr().out)
    assert waiting["changes"] == []
    assert any(g["code"] == "MIGRATION_WAITING" for g in waiting["gaps"])
    fake.process_group_licenses()
    states_ok()
    assert main(["apply", str(config), "--yes", "--audit-log", str(tmp_path / "second.jsonl")]) == 0
    capsys.readouterr()
    states_ok()
    removals = [w for w in fake.writes if w["url"].endswith("/assignLicense") and "/users/" in w["url"]]
    assert len(removals) == 40
    assert main(["plan", str(config), "--detailed-exitcode"]) == 0, "converged: nothing left to do"


def test_a_group_write_short_of_seats_still_goes_and_members_land_in_count_violation(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\ngroupLicenses:\n  - {group: Voice, assign: [MCOPSTN1]}\n")
    document = direct_holders(5, holding=0)
    calling = next(s for s in document["subscribedSkus"] if s["skuId"] == MCOPSTN1)
    calling["prepaidUnits"]["enabled"] = 3
    fake = fake_for(document, router)
    assert main(["plan", str(config), "--format", "json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    (shortage,) = [g for g in planned["gaps"] if g["code"] == "SEAT_SHORTAGE"]
    assert "group 'Voice' will license 5 members" in shortage["message"]
    assert "2 members in CountViolation" in shortage["message"]
    assert main(["apply", str(config), "--yes", "--audit-log", str(tmp_path / "a.jsonl")]) == 3, "written; gaps remain"
    capsys.readouterr()
    fake.process_group_licenses()
    errors = [
        s
        for u in fake.document()["users"]
        for s in u["licenseAssignmentStates"]
        if s["skuId"] == MCOPSTN1 and s["error"] == "CountViolation"
    ]
    assert len(errors) == 2
    assert main(["plan", str(config), "--format", "json"]) == 0
    after = json.loads(capsys.readouterr().out)
    named = [g for g in after["gaps"] if g["code"] == "GROUP_LICENSE_ERROR"]
    assert len(named) == 2
    assert all("group 'Voice'" in g["message"] and "CountViolation" in g["message"] for g in named)


def test_the_fake_processes_group_writes_as_entra_does(router: respx.MockRouter) -> None:
    fake_for(direct_holders(3, holding=0), router, group_processing_delay=2)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"addLicenses": [{"skuId": MCOPSTN1, "disabledPlans": []}], "removeLicenses": []}
    answer = httpx.post(f"{BASE}/groups/{GROUP_ID}/assignLicense", json=body, headers=headers)
    assert answer.status_code == 202
    group = httpx.get(f"{BASE}/groups/{GROUP_ID}?$select=assignedLicenses,licenseProcessingState", headers=headers)
    assert group.json()["licenseProcessingState"] == {"state": "QueuedForProcessing"}
    assert group.json()["assignedLicenses"] == [{"skuId": MCOPSTN1, "disabledPlans": []}]
    httpx.get(f"{BASE}/subscribedSkus", headers=headers)
    user = httpx.get(f"{BASE}/users/{user_id(0)}?$select=licenseAssignmentStates", headers=headers).json()
    inherited = [s for s in user["licenseAssignmentStates"] if s["assignedByGroup"] == GROUP_ID]
    assert [(s["skuId"], s["state"]) for s in inherited] == [(MCOPSTN1, "Active")], "processed a few requests later"
    assert httpx.post(f"{BASE}/users/{user_id(0)}/reprocessLicenseAssignment", headers=headers).status_code == 200
    with tolerated() as met:
        refused = httpx.post(f"{BASE}/groups/{GROUP_ID}/assignLicense", json={"addLicenses": []}, headers=headers)
    assert refused.status_code == 400, "both arrays, as for users"
    assert "needs the parameter(s) removeLicenses" in met[0]


def test_the_fake_holds_group_members_to_the_dependency_rules_as_entra_does(router: respx.MockRouter) -> None:
    """A Calling Plan needs Phone System: a member without it gets the group's licenses in DependencyViolation, as
    Entra records it, not Active (a direct write would be refused with 400 the same way)."""
    document = direct_holders(3, holding=0)
    lacking = document["users"][0]
    lacking["licenseAssignmentStates"] = [s for s in lacking["licenseAssignmentStates"] if s["skuId"] != MCOEV]
    lacking["assignedLicenses"] = [a for a in lacking["assignedLicenses"] if a["skuId"] != MCOEV]
    fake = fake_for(document, router)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"addLicenses": [{"skuId": MCOPSTN1, "disabledPlans": []}], "removeLicenses": []}
    assert httpx.post(f"{BASE}/groups/{GROUP_ID}/assignLicense", json=body, headers=headers).status_code == 202
    fake.process_group_licenses()

    def inherited(n: int) -> list[tuple[str, str]]:
        user = httpx.get(f"{BASE}/users/{user_id(n)}?$select=licenseAssignmentStates", headers=headers).json()
        return [(s["state"], s["error"]) for s in user["licenseAssignmentStates"] if s["assignedByGroup"] == GROUP_ID]

    assert inherited(0) == [("Error", "DependencyViolation")]
    assert inherited(1) == [("Active", "None")]


def test_a_live_read_gets_the_groups_licenses_and_direct_members(router: respx.MockRouter, tmp_path: Path) -> None:
    document = direct_holders(4, holding=0)
    nested = user_id(3)
    document["groups"][0]["directMembers"] = [user_id(n) for n in range(3)]  # the fourth only through a nested group
    document["groups"][0]["assignedLicenses"] = [{"skuId": MCOEV, "disabledPlans": []}]
    fake = fake_for(document, router)
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\ngroupLicenses:\n  - {group: Voice, assign: [MCOEV]}\n")
    desired = load_desired_state(config)

    async def go() -> Any:
        async with Graph(Connection(BASE), access_token=TOKEN) as graph:
            return await read_tenant(graph, TenantNeed.to_plan(desired, "all"))

    tenant = asyncio.run(go())
    (group,) = tenant.groups
    assert group.licenses is not None
    assert [a.sku_id for a in group.licenses] == [MCOEV]
    assert group.direct_members == frozenset(user_id(n) for n in range(3))
    assert any("/members/microsoft.graph.user" in path for _, path in fake.requests)
    result = plan(desired, tenant, load_availability())
    (gap,) = [g for g in result.gaps if g.code.value == "GROUP_LICENSE_NOT_INHERITED"]
    assert gap.user_principal_name == next(u["userPrincipalName"] for u in document["users"] if u["id"] == nested)


def test_group_changes_round_trip_through_the_plan_json(tmp_path: Path) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text(MIGRATING)
    desired = load_desired_state(config)
    from teamslicensing.tenant.snapshot import parse_snapshot

    tenant = parse_snapshot(direct_holders(3, holding=1), "case", desired.selected_attributes)
    result = plan(desired, tenant, load_availability())
    assert result.group_changes
    again = plan_from_json(json.loads(json.dumps(plan_to_json(result))))
    assert again.group_changes == result.group_changes
    assert again.changes == result.changes
    assert TEAMS not in {a.sku_id for c in result.group_changes for a in c.add_licenses}


def test_reprocess_licenses_the_members_in_error_once_seats_were_bought(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\ngroupLicenses:\n  - {group: Voice, assign: [MCOPSTN1]}\n")
    document = direct_holders(5, holding=0)
    next(s for s in document["subscribedSkus"] if s["skuId"] == MCOPSTN1)["prepaidUnits"]["enabled"] = 3
    fake = fake_for(document, router)
    assert main(["apply", str(config), "--yes", "--audit-log", str(tmp_path / "a.jsonl")]) == 3
    fake.process_group_licenses()
    capsys.readouterr()
    fake._skus[MCOPSTN1]["prepaidUnits"]["enabled"] = 10  # the admin bought seats
    audit = tmp_path / "reprocess.jsonl"
    assert main(["reprocess", str(config), "--yes", "--audit-log", str(audit)]) == 0
    out, err = capsys.readouterr()
    assert out.count("CountViolation") == 2, "only the members in error are reprocessed"
    assert "Reprocess: 2 accepted, 0 failed, 0 not attempted" in err
    calls = [w for w in fake.writes if w["url"].endswith("/reprocessLicenseAssignment")]
    assert len(calls) == 2
    states = [s for u in fake.document()["users"] for s in u["licenseAssignmentStates"] if s["skuId"] == MCOPSTN1]
    assert [s["state"] for s in states] == ["Active"] * 5
    intents = [json.loads(line) for line in audit.read_text().splitlines() if '"intent"' in line]
    assert [r["kind"] for r in intents] == ["reprocess", "reprocess"], "recorded before sent"
    end = json.loads(audit.read_text().splitlines()[-1])
    assert (end["type"], end["applied"], end["notAttempted"]) == ("end", 2, 0), "the log ends as an apply's does"
    assert main(["reprocess", str(config), "--yes", "--audit-log", str(tmp_path / "again.jsonl")]) == 0
    assert "Nothing to reprocess" in capsys.readouterr().err


def test_reprocess_with_an_audit_log_that_cannot_be_written_sends_nothing_and_says_so(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_for(direct_holders(2, holding=0), router)
    for user in fake.document()["users"]:
        fake.user(user["id"])["licenseAssignmentStates"].append(  # type: ignore[index]
            {"skuId": MCOPSTN1, "disabledPlans": [], "assignedByGroup": GROUP_ID, "state": "Error", "error": "Other"}
        )
    assert main(["reprocess", "--group", "Voice", "--yes", "--audit-log", "/dev/full"]) == 1
    err = capsys.readouterr().err
    assert "nothing was written" in err
    assert "internal error" not in err
    assert [w for w in fake.writes if w["url"].endswith("/reprocessLicenseAssignment")] == []


def test_reprocess_needs_a_group_a_user_or_a_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(direct_holders(2, holding=0)))
    assert main(["reprocess", "--snapshot", str(snapshot), "--yes"]) == 1
    assert "name --group or --user" in capsys.readouterr().err
    assert main(["reprocess", "--snapshot", str(snapshot), "--user", "nobody@contoso.com", "--yes"]) == 3
    assert "user 'nobody@contoso.com': not found" in capsys.readouterr().err


def test_apply_wait_polls_processing_until_entra_is_done_and_says_so(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from teamslicensing.apply import groups

    monkeypatch.setattr(groups, "POLL_SECONDS", 0.01)
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\ngroupLicenses:\n  - {group: Voice, assign: [MCOPSTN1]}\n")
    fake = fake_for(direct_holders(3, holding=0), router, group_processing_delay=4)
    assert main(["apply", str(config), "--yes", "--wait", "1m", "--audit-log", str(tmp_path / "a.jsonl")]) == 0
    assert "Entra finished processing them" in capsys.readouterr().err
    polls = [p for m, p in fake.requests if m == "POST" and p == "/$batch"]
    assert len(polls) >= 3, "the group write, then reads of licenseProcessingState until it was complete"


def test_apply_wait_is_bounded_and_says_what_is_still_processing(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from teamslicensing.apply import groups

    monkeypatch.setattr(groups, "POLL_SECONDS", 0.01)
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\ngroupLicenses:\n  - {group: Voice, assign: [MCOPSTN1]}\n")
    fake_for(direct_holders(3, holding=0), router, group_processing_delay=100_000)
    assert main(["apply", str(config), "--yes", "--wait", "0.2", "--audit-log", str(tmp_path / "a.jsonl")]) == 0
    assert "still processing when --wait ran out: Voice" in capsys.readouterr().err


def test_a_saved_plan_applies_its_group_change_only_while_the_group_is_as_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\ngroupLicenses:\n  - {group: Voice, assign: [MCOPSTN1]}\n")
    document = direct_holders(3, holding=0)
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(document))
    saved = tmp_path / "plan.json"
    assert main(["plan", str(config), "--snapshot", str(snapshot), "--out", str(saved)]) == 0
    changed = copy.deepcopy(document)
    changed["groups"][0]["members"].append(user_id(99))  # someone joined after the plan was made
    snapshot.write_text(json.dumps(changed))
    capsys.readouterr()
    assert main(["apply", str(saved), "--snapshot", str(snapshot), "--yes", "--audit-log", str(tmp_path / "a")]) == 4
    err = capsys.readouterr().err
    assert "STALE Voice: the group's licenses or direct members changed" in err
    assert json.loads(snapshot.read_text())["groups"][0]["assignedLicenses"] == [], "nothing written"
    snapshot.write_text(json.dumps(document))
    assert main(["apply", str(saved), "--snapshot", str(snapshot), "--yes", "--audit-log", str(tmp_path / "b")]) == 0
    assert [a["skuId"] for a in json.loads(snapshot.read_text())["groups"][0]["assignedLicenses"]] == [MCOPSTN1]


def test_a_limited_wave_leaves_the_group_writes_for_a_later_run_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--limit` applies users only; the group write it leaves is work remaining (exit 4), not silence (exit 0)."""
    config = tmp_path / "licensing.yaml"
    config.write_text(MIGRATING)
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(direct_holders(3, holding=3)))
    args = ["apply", str(config), "--snapshot", str(snapshot), "--yes"]
    assert main([*args, "--limit", "10", "--audit-log", str(tmp_path / "1.jsonl")]) == 4
    assert "groups: 1 license write not attempted" in capsys.readouterr().err
    assert json.loads(snapshot.read_text())["groups"][0]["assignedLicenses"] == []
    assert main([*args, "--audit-log", str(tmp_path / "2.jsonl")]) == 0
    assert "groups: 1 of 1 license write accepted" in capsys.readouterr().err
    assert json.loads(snapshot.read_text())["groups"][0]["assignedLicenses"] != []


def _group_write_answered(router: respx.MockRouter, tmp_path: Path, answer: Any) -> FakeGraph:
    """The demo migration's tenant live, its group write's `$batch` answered by `answer(request)` instead."""
    (tmp_path / "licensing.yaml").write_text(MIGRATING)
    fake = fake_for(direct_holders(3, holding=3), router)
    original = fake.handle

    def handle(request: httpx.Request) -> Any:
        if request.url.path.endswith("/$batch") and b"/groups/" in request.content:
            return answer(request)
        return original(request)

    fake.handle = handle  # type: ignore[method-assign]
    return fake


def test_a_group_write_refused_as_a_batch_is_a_failure_on_record_and_a_403_stops_the_run(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused whole, nothing in it was done: FAILED with Graph's words, a result record beside the intent (the
    batch's fate used to be "unknown", with no record), and the run stops as it would for a user write."""
    refusal = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}}
    fake = _group_write_answered(router, tmp_path, lambda request: httpx.Response(403, json=refusal))
    audit = tmp_path / "audit.jsonl"
    assert main(["apply", str(tmp_path / "licensing.yaml"), "--yes", "--audit-log", str(audit)]) == 1
    err = capsys.readouterr().err
    assert "Insufficient privileges." in err
    assert "groups: 0 of 1 license write accepted" in err
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    (result,) = [r for r in records if r.get("kind") == "groupLicenses" and r["type"] == "result"]
    assert result["status"] == 403
    assert records[-1]["stopped"] == "graphError"
    assert json.loads(json.dumps(fake.document()))["groups"][0]["assignedLicenses"] == []


def test_a_group_write_graph_never_answers_is_bounded_by_the_stop_and_left_unknown(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    """The time budget runs out while Graph holds the group write: the run ends after the grace period, not after
    Graph's retries, and says the write's fate is unknown (it may have landed: the next run reads it)."""
    import time

    from teamslicensing import app
    from teamslicensing.graph import Connection
    from teamslicensing.model.outcome import UNKNOWN

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(120.0)
        return httpx.Response(500)

    _group_write_answered(router, tmp_path, hang)
    run = app.plan(tmp_path / "licensing.yaml", app.TenantSource(graph=app.GraphAccess(Connection(BASE), TOKEN)))
    started = time.monotonic()
    options = app.ApplyOptions(audit_path=tmp_path / "a.jsonl", deadline=started + 2.0, grace=0.5)
    result = app.apply(run, options)
    took = time.monotonic() - started
    assert took < 2.0 + 0.5 + 2.0, f"held {took:.1f} s by a group write Graph never answered"
    (group,) = result.groups
    assert group.status == UNKNOWN
    assert result.stopped is not None
