"""Phone numbers and Teams policies applied end to end against the fake Graph (respx): licenses, then policies, then
numbers, each number's operation followed to its end; planning again finds nothing to do; undo frees exactly the
numbers the run gave and takes its policies back; what Teams refuses is said per user."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from teamslicensing.cli import main
from tests.support.fakegraph import FakeGraph
from tests.support.faults import BASE, fake_for
from tests.support.rollout import user_id
from tests.support.voicerollout import CONFIG, LOCATION, OUTSIDER, gb_number, holders, us_number, voice_document

CALLING = "TeamsCallingPolicy"


@pytest.fixture(autouse=True)
def bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", "test-token-not-a-secret")
    monkeypatch.delenv("TEAMS_LICENSING_GRAPH_URL", raising=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "licensing.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run(*args: str) -> int:
    return main([*args, "--graph-url", BASE])


def plan_document(config: Path, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "plan.json"
    run("plan", str(config), "--format", "json", "--output", str(out))
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return document


def records(audit: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines() if line.strip()]


def applied_users(config: Path, tmp_path: Path, *, expect: int) -> dict[str, dict[str, Any]]:
    """Apply `config` with --yes (exit `expect`); the JSON result's users not applied as planned, by UPN."""
    out = tmp_path / "r.json"
    args = ["apply", str(config), "--yes", "--audit-log", str(tmp_path / "a.jsonl")]
    assert run(*args, "--format", "json", "--output", str(out)) == expect
    return {u["userPrincipalName"]: u for u in json.loads(out.read_text(encoding="utf-8"))["result"]["users"]}


def policies_of(fake: FakeGraph, user: str) -> dict[str, tuple[str, str]]:
    """The user's policies in effect: type -> (assignment type, name)."""
    user_object = fake.user(user)
    assert user_object is not None
    rendered = fake.rendered_configuration(user_object)
    return {
        p["policyType"]: (p["policyAssignment"]["assignmentType"], p["policyAssignment"]["displayName"])
        for p in rendered["effectivePolicyAssignments"]
    }


def test_twenty_users_in_two_countries_get_licenses_numbers_and_policies_in_one_apply(
    router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    document = voice_document()
    fake = fake_for(document, router)
    audit = tmp_path / "apply.jsonl"
    assert run("apply", str(config), "--yes", "--audit-log", str(audit)) == 0
    after = fake.document()
    held = holders(after)
    given = {number: holder for number, holder in held.items() if holder and holder != user_id(OUTSIDER)}
    assert len(given) == 20, "twenty numbers given"
    assert len(set(given.values())) == 20, "one number each, none given twice"
    for n in range(20):
        mine = [number for number, holder in given.items() if holder == user_id(n)]
        assert len(mine) == 1
        assert mine[0].startswith("+1425" if n < 10 else "+44"), "a number of the user's own country"
        assert policies_of(fake, user_id(n)) == {CALLING: ("direct", "AllowCalling")}
    assert held[us_number(9999)] == user_id(OUTSIDER), "the outsider keeps his number"
    assert set(given) == {us_number(n) for n in range(10)} | {gb_number(n) for n in range(10)}, "lowest first"
    writes = [(w["url"], w["body"]) for w in fake.writes if w["status"] < 400]
    for n in range(20):
        license_at = next(i for i, (url, _) in enumerate(writes) if url == f"/users/{user_id(n)}/assignLicense")
        number_at = next(
            i
            for i, (url, body) in enumerate(writes)
            if url.endswith("/assignNumber") and body["assignmentTargetId"] == user_id(n)
        )
        assert license_at < number_at, "the Calling Plan number only after the license"
    log = records(audit)
    ended = [r for r in log if r["type"] == "operation"]
    assert len(ended) == 20
    assert all(r["status"] == "succeeded" for r in ended)
    intents = {(r["kind"], r["userId"]) for r in log if r["type"] == "intent"}
    assert {("numberAssign", user_id(n)) for n in range(20)} <= intents
    assert {("policyAssign", user_id(n)) for n in range(20)} <= intents
    assert plan_document(config, tmp_path)["changes"] == [], "planning again finds nothing to do"


def test_undo_frees_exactly_the_numbers_the_run_gave_and_takes_its_policies_back(
    router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    document = voice_document(us=3, gb=2)
    fake = fake_for(document, router)
    before = holders(fake.document())
    audit = tmp_path / "apply.jsonl"
    assert run("apply", str(config), "--yes", "--audit-log", str(audit)) == 0
    assert holders(fake.document()) != before
    assert run("undo", str(audit), "--yes", "--audit-log", str(tmp_path / "undo.jsonl")) == 0
    after = fake.document()
    assert holders(after) == before, "the run's numbers free again, the outsider's still his"
    for n in range(5):
        assert policies_of(fake, user_id(n)) == {}, "the direct policy taken back: they had none before"
        user = fake.user(user_id(n))
        assert user is not None
        assert [s["skuId"] for s in user["licenseAssignmentStates"]] == [
            document["users"][n]["licenseAssignmentStates"][0]["skuId"]
        ]
    undone = records(tmp_path / "undo.jsonl")
    kinds = [r["kind"] for r in undone if r["type"] == "intent"]
    assert kinds.index("numberUnassign") < kinds.index("licenses"), "numbers freed before the licenses go"
    assert numbers_of(undone, "numberUnassign") == numbers_of(records(audit), "numberAssign")


def numbers_of(log: list[dict[str, Any]], kind: str) -> list[str]:
    return sorted(r["request"]["body"]["telephoneNumber"] for r in log if r["type"] == "intent" and r["kind"] == kind)


def test_a_number_teams_refuses_before_it_sees_the_new_license_waits_for_the_next_run(
    router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    """Entra reads the license back Active at once; Teams sees it some time later (the fake: requests later). The
    refused assignment is NUMBER_WAITS_FOR_LICENSE, not a failure (exit 4: run again), and the next run gives it."""
    fake = fake_for(voice_document(us=2, gb=0), router, teams_provisioning_lag=40)
    audit = tmp_path / "first.jsonl"
    assert (
        run(
            "apply",
            str(config),
            "--yes",
            "--audit-log",
            str(audit),
            "--format",
            "json",
            "--output",
            str(tmp_path / "r.json"),
        )
        == 4
    )
    result = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["result"]
    assert result["failed"] == 0
    assert result["notAttempted"] == 2
    assert all(
        u["reason"].startswith("NUMBER_WAITS_FOR_LICENSE") and "lacks appropriate licenses" in u["reason"]
        for u in result["users"]
    )
    assert all(policies_of(fake, user_id(n)) == {CALLING: ("direct", "AllowCalling")} for n in range(2)), (
        "the rest was written"
    )
    failed = [r for r in records(audit) if r["type"] == "operation"]
    assert [r["status"] for r in failed] == ["failed", "failed"], "each refusal in the audit log, as Graph said it"
    while fake.http_count < 200:  # time passes: Teams provisions the licenses
        fake.handle(httpx.Request("GET", f"{BASE}/subscribedSkus", headers={"Authorization": "Bearer t"}))
    assert run("apply", str(config), "--yes", "--audit-log", str(tmp_path / "second.jsonl")) == 0
    held = holders(fake.document())
    assert {held[us_number(0)], held[us_number(1)]} == {user_id(0), user_id(1)}


def test_a_policy_teams_does_not_know_fails_its_users_only_and_the_rest_is_written(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text(CONFIG.replace("TeamsCallingPolicy: AllowCalling}", "TeamsCallingPolicy: NoSuchPolicy}", 1))
    fake = fake_for(voice_document(us=2, gb=1), router)
    users = applied_users(config, tmp_path, expect=1)
    assert sorted(users) == ["user000000@contoso.com", "user000001@contoso.com"], "the US rule names it"
    assert all(
        u["status"] == "failed" and "POLICY_NOT_FOUND" in u["reason"] and "NoSuchPolicy" in u["reason"]
        for u in users.values()
    )
    held = holders(fake.document())
    assert held[us_number(0)] == user_id(0), "their numbers are still given"
    assert held[gb_number(0)] == user_id(2)
    assert policies_of(fake, user_id(2)) == {CALLING: ("direct", "AllowCalling")}
    lookups = [path for method, path in fake.requests if "getPolicyId" in path]
    assert lookups == [], "looked up inside a $batch, not one request each"
    assert not [w for w in fake.writes if w["url"].endswith("/assign") and "NoSuchPolicy" in json.dumps(w["body"])]


def test_a_failed_operation_is_that_users_failure_with_graphs_detail_and_is_not_sent_again(
    router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    document = voice_document(us=2, gb=1)
    document["emergencyLocations"] = []  # the location the configuration names is not (or no longer) validated
    fake = fake_for(document, router)
    users = applied_users(config, tmp_path, expect=1)
    assert sorted(users) == ["user000000@contoso.com", "user000001@contoso.com"]
    for found in users.values():
        assert found["status"] == "failed"
        assert "the operation failed: Location '" in found["reason"]
        assert "was not found" in found["reason"]
    assigns = [w for w in fake.writes if w["url"].endswith("/assignNumber")]
    assert len(assigns) == 3, "each number sent once: a failed operation is never sent again blindly"
    assert holders(fake.document())[gb_number(0)] == user_id(2), "the UK user, whose number needs none, has it"


def test_a_saved_plan_whose_number_was_taken_since_is_stale_for_that_user(
    router: respx.MockRouter, config: Path, tmp_path: Path
) -> None:
    fake = fake_for(voice_document(us=2, gb=0), router)
    saved = tmp_path / "plan.jsonl"
    assert run("plan", str(config), "--out", str(saved)) == 0
    by_hand = {"telephoneNumber": us_number(0), "assignmentTargetId": user_id(OUTSIDER), "numberType": "callingPlan"}
    by_hand.update(assignmentCategory="private", locationId=LOCATION)  # after the review, given away in Teams
    url = f"{BASE}/admin/teams/telephoneNumberManagement/numberAssignments/assignNumber"
    assert (
        fake.handle(httpx.Request("POST", url, json=by_hand, headers={"Authorization": "Bearer t"})).status_code == 202
    )
    fake.finish_operations()
    assert holders(fake.document())[us_number(0)] == user_id(OUTSIDER)
    out = tmp_path / "r.json"
    assert (
        run(
            "apply",
            str(saved),
            "--yes",
            "--audit-log",
            str(tmp_path / "a.jsonl"),
            "--format",
            "json",
            "--output",
            str(out),
        )
        == 4
    )
    users = json.loads(out.read_text(encoding="utf-8"))["result"]["users"]
    assert [(u["userPrincipalName"], u["status"]) for u in users] == [("user000000@contoso.com", "stale")]
    assert "the holders of the numbers it assigns or frees changed" in users[0]["reason"]
    held = holders(fake.document())
    assert held[us_number(0)] == user_id(OUTSIDER)
    assert held[us_number(1)] == user_id(1)
