"""Reads as Microsoft documents them: a group name past the 120 characters Graph takes in a plain `eq` is looked up
as an advanced query, and a number inventory page of the wrong shape (the docs' own examples show `"value": {…}`)
is an inventory not used, said as NUMBER_INVENTORY_UNAVAILABLE, never a failed run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from teamslicensing.cli import main
from tests.support.faults import fake_for
from tests.support.graphmetadata import tolerated
from tests.support.rollout import GROUP_ID, rollout_document, user_id

BASE = "https://graph.microsoft.com/v1.0"
TOKEN = "test-token-not-a-secret"
# 130 characters, a quote among them (sent doubled, as OData escapes it)
LONG_NAME = ("Voice - O'Brien's Customer Care, Billing and Collections Escalations (EMEA, second line) - " * 2)[:130]

pytestmark = pytest.mark.usefixtures("graph_token")


def planned(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> dict[str, Any]:
    assert main(["plan", *args, "--format", "json"]) == code
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_the_fake_refuses_an_eq_value_over_120_characters_without_the_advanced_query_parameters(
    router: respx.MockRouter,
) -> None:
    document = rollout_document(2)
    document["groups"][0]["displayName"] = LONG_NAME
    fake_for(document, router)
    literal = "'" + LONG_NAME.replace("'", "''") + "'"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    plain = httpx.get(f"{BASE}/groups", params={"$filter": f"displayName eq {literal}"}, headers=headers)
    assert plain.status_code == 400
    assert plain.json()["error"]["code"] == "Request_UnsupportedQuery"
    advanced = httpx.get(
        f"{BASE}/groups",
        params={"$filter": f"displayName eq {literal}", "$count": "true"},
        headers={**headers, "ConsistencyLevel": "eventual"},
    )
    assert advanced.status_code == 200
    assert [g["id"] for g in advanced.json()["value"]] == [GROUP_ID]
    assert advanced.json()["@odata.count"] == 1
    short = httpx.get(f"{BASE}/groups", params={"$filter": "displayName eq 'Voice'"}, headers=headers)
    assert short.status_code == 200, "120 characters or fewer need no advanced query"
    user = httpx.get(f"{BASE}/users", params={"$filter": f"department eq '{'x' * 121}'"}, headers=headers)
    assert user.status_code == 400, "the same limit on users"


def test_a_rule_selecting_a_group_with_a_130_character_name_plans_against_the_fake(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    document = rollout_document(3)
    document["groups"][0]["displayName"] = LONG_NAME
    fake = fake_for(document, router)
    config = tmp_path / "licensing.yaml"
    config.write_text(
        "version: 1\nrules:\n  - name: calling\n    select:\n      groups:\n"
        f"        - {json.dumps(LONG_NAME)}\n    assign: [MCOEV, MCOPSTN1]\n"
    )
    plan = planned(capsys, str(config), "--read", "all")
    assert not [g for g in plan["gaps"] if g["code"] == "GROUP_NOT_FOUND"]
    assert sorted(c["userPrincipalName"] for c in plan["changes"]) == [f"user{n:06d}@contoso.com" for n in range(3)]
    (lookup,) = [path for _, path in fake.requests if path.startswith("/groups?")]
    assert "$count=true" in lookup
    assert "O''Brien''s" in lookup, "the quote is escaped as OData says"
    scoped = planned(capsys, str(config), "--read", "scoped")
    assert sorted(c["userPrincipalName"] for c in scoped["changes"]) == [f"user{n:06d}@contoso.com" for n in range(3)]


def test_a_group_name_no_group_can_have_is_not_found_without_asking(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake = fake_for(rollout_document(2), router)
    config = tmp_path / "licensing.yaml"
    config.write_text(
        f"version: 1\nrules:\n  - name: calling\n    select: {{groups: ['{'n' * 257}']}}\n    assign: [MCOEV]\n"
    )
    plan = planned(capsys, str(config), "--read", "all", code=0)
    assert [g["code"] for g in plan["gaps"] if g["severity"] == "error"] == ["GROUP_NOT_FOUND"]
    assert not [path for _, path in fake.requests if path.startswith("/groups?")]


NUMBERS = [
    {
        "id": "5b0c0000-0000-4000-8000-000000000001",
        "telephoneNumber": "+14255550001",
        "numberType": "callingPlan",
        "assignmentStatus": "userAssigned",
        "assignmentTargetId": user_id(0),
        "activationState": "activated",
    }
]


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        ({"telephoneNumber": "+14255550001"}, "'value' is an object, not a list"),  # the docs' own example shape
        (["+14255550001"], "an entry of 'value' is a string, not an object"),
        ([{**NUMBERS[0], "telephoneNumber": None}], "telephoneNumber"),
    ],
)
def test_a_number_inventory_page_of_the_wrong_shape_is_not_used_and_says_why(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str], tmp_path: Path, served: Any, reason: str
) -> None:
    document = {**rollout_document(3, holding_calling_plan=1), "numberAssignments": served}
    fake_for(document, router)
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\nrules:\n  - name: calling\n    select: {groups: [Voice]}\n    assign: [MCOEV]\n")
    with tolerated() as met:  # the page is served against the metadata on purpose: that is the case under test
        plan = planned(capsys, str(config))
    assert any("numberAssignments" in line for line in met), "the conformance layer saw the malformed page"
    (gap,) = [g for g in plan["gaps"] if g["code"] == "NUMBER_INVENTORY_UNAVAILABLE"]
    assert reason in gap["message"]
    assert gap["severity"] == "info"


def test_a_well_formed_inventory_is_used(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake_for({**rollout_document(3, holding_calling_plan=1), "numberAssignments": NUMBERS}, router)
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\nrules:\n  - name: calling\n    select: {groups: [Voice]}\n    assign: [MCOEV]\n")
    plan = planned(capsys, str(config))
    assert not [g for g in plan["gaps"] if g["code"] == "NUMBER_INVENTORY_UNAVAILABLE"]
