"""The fake tenant's Teams policies and user configurations behave as Microsoft documents them (Graph v1.0 docs
pages of 2025-12): getPolicyId answers a collection of policyIdentifierDetail (`Tag:` before the name, as the
example), policy assign and unassign answer 204, and userConfigurations show each user's numbers, voice flag and
effective policies as the fake holds them; the roles are the permissions reference's."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import respx

from tests.support.fakegraph import FakeGraph
from tests.support.graphmetadata import DEFAULT_ROLES, tolerated
from tests.support.teamstenant import (
    ALLOW_CALLING,
    ANN,
    BEN,
    CAT,
    FREE_US_PLACED,
    GROUP,
    HELD,
    MEETINGS,
    NO_CALLING,
    ROUTING,
    teams_document,
)

BASE = "https://graph.microsoft.com/v1.0"
AUTH = {"Authorization": "Bearer test-token"}
ASSIGN, UNASSIGN = "/admin/teams/policy/userAssignments/assign", "/admin/teams/policy/userAssignments/unassign"
CONFIGURATIONS = "/admin/teams/userConfigurations"


@contextmanager
def connect(fake: FakeGraph) -> Iterator[httpx.Client]:
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        with httpx.Client(base_url=BASE, headers=AUTH) as client:
            yield client


def policy_id(client: httpx.Client, kind: str, name: str) -> httpx.Response:
    escaped = name.replace("'", "''")
    return client.get(f"/admin/teams/policy/getPolicyId(type='{kind}',name='{quote(escaped)}')")


def effective(client: httpx.Client, user: str) -> dict[str, dict[str, Any]]:
    body = client.get(f"{CONFIGURATIONS}/{user}").json()
    return {e["policyType"]: e["policyAssignment"] for e in body["effectivePolicyAssignments"]}


def test_get_policy_id_finds_a_name_with_or_without_its_tag_and_in_any_case() -> None:
    with connect(FakeGraph(teams_document())) as client:
        found = policy_id(client, "TeamsCallingPolicy", "AllowCalling")
        tagged = policy_id(client, "teamscallingpolicy", "Tag:allowcalling")
        spaced = policy_id(client, "TeamsCallingPolicy", "No Calling")
        quoted = policy_id(client, "OnlineVoiceRoutingPolicy", "O'Brien Routing")
        qualified = client.get(
            "/admin/teams/policy/microsoft.graph.teamsAdministration.getPolicyId(type='TeamsCallingPolicy',name='AllowCalling')"
        )
    assert found.status_code == 200
    assert found.json()["value"] == [
        {
            "@odata.type": "#microsoft.graph.teamsAdministration.policyIdentifierDetail",
            "name": "Tag:AllowCalling",
            "policyId": ALLOW_CALLING,
        }
    ]
    assert tagged.json()["value"] == found.json()["value"]
    assert [r.json()["value"][0]["policyId"] for r in (spaced, quoted)] == [NO_CALLING, ROUTING]
    assert qualified.json()["value"] == found.json()["value"]


def test_get_policy_id_of_a_name_the_tenant_lacks_is_an_empty_collection() -> None:
    """The docs say only that a collection comes back; a name of another type is not found either."""
    with connect(FakeGraph(teams_document())) as client:
        missing = policy_id(client, "TeamsCallingPolicy", "Nobody")
        other_type = policy_id(client, "TeamsMeetingPolicy", "AllowCalling")
    assert (missing.status_code, missing.json()["value"]) == (200, [])
    assert other_type.json()["value"] == []


def test_get_policy_id_needs_both_parameters() -> None:
    fake = FakeGraph(teams_document())
    with connect(fake) as client, tolerated() as met:
        answer = client.get("/admin/teams/policy/getPolicyId(type='TeamsCallingPolicy')")
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "BadRequest")
    assert answer.json()["error"]["message"] == "Resource not found for the segment 'getPolicyId'."
    assert met
    assert "needs the parameter(s) name" in met[0]


def test_a_direct_assignment_wins_over_the_group_one_and_unassigning_falls_back_to_it() -> None:
    with connect(FakeGraph(teams_document())) as client:
        before = effective(client, ANN)
        item = {"userId": ANN, "policyType": "TeamsMeetingPolicy", "policyId": MEETINGS}
        assigned = client.post(ASSIGN, json={"value": [item]})
        direct = effective(client, ANN)
        removed = client.post(UNASSIGN, json={"value": [{"userId": ANN, "policyType": "TeamsMeetingPolicy"}]})
        after = effective(client, ANN)
    assert before["TeamsMeetingPolicy"] == {
        "assignmentType": "group",
        "displayName": "CustomPolicy",
        "policyId": MEETINGS,
        "groupId": GROUP,
    }
    assert (assigned.status_code, assigned.content) == (204, b"")
    assert direct["TeamsMeetingPolicy"] == {
        "assignmentType": "direct",
        "displayName": "CustomPolicy",
        "policyId": MEETINGS,
    }
    assert removed.status_code == 204
    assert after == before


def test_assigning_shows_in_the_users_configuration_by_the_policys_name() -> None:
    with connect(FakeGraph(teams_document())) as client:
        assert effective(client, BEN) == {}, "the org-wide default has no assignment type to be shown with"
        body = {
            "value": [
                {
                    "@odata.type": "#microsoft.graph.teamsAdministration.teamsPolicyUserAssignment",
                    "userId": BEN,
                    "policyType": "TeamsCallingPolicy",
                    "policyId": NO_CALLING,
                },
                {"userId": BEN, "policyType": "OnlineVoiceRoutingPolicy", "policyId": ROUTING},
            ]
        }
        assert client.post(ASSIGN, json=body).status_code == 204
        shown = effective(client, BEN)
    assert {kind: a["displayName"] for kind, a in shown.items()} == {
        "TeamsCallingPolicy": "No Calling",
        "OnlineVoiceRoutingPolicy": "O'Brien Routing",
    }


@pytest.mark.parametrize(
    ("items", "status", "message"),
    [
        ([{"userId": BEN, "policyType": "TeamsCallingPolicy", "policyId": "not-a-policy"}], 400, "was not found"),
        ([{"userId": BEN, "policyType": "TeamsMeetingPolicy", "policyId": ALLOW_CALLING}], 400, "was not found"),
        ([{"userId": BEN, "policyType": "TeamsCallingPolicy", "policyId": None}], 400, "policyId is required"),
        (
            [
                {
                    "userId": "00000000-0000-4000-8000-999999999999",
                    "policyType": "TeamsCallingPolicy",
                    "policyId": NO_CALLING,
                }
            ],
            404,
            "not found",
        ),
        (
            [{"userId": "user000001@contoso.com", "policyType": "TeamsCallingPolicy", "policyId": NO_CALLING}],
            404,
            "not found",
        ),
        ([], 400, "at least one"),
    ],
)
def test_an_assignment_graph_cannot_make_is_refused_and_nothing_of_the_call_happens(
    items: list[dict[str, Any]], status: int, message: str
) -> None:
    good = {"userId": CAT, "policyType": "TeamsCallingPolicy", "policyId": ALLOW_CALLING}
    with connect(FakeGraph(teams_document())) as client:
        answer = client.post(ASSIGN, json={"value": [good, *items] if items else []})
        cat = effective(client, CAT)
    assert answer.status_code == status
    assert message in answer.json()["error"]["message"]
    assert cat == {}, "the good item before the bad one was not applied either"


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"userId": BEN, "policyType": "TeamsCallingPolicy", "policyId": NO_CALLING}, "has no parameter 'userId'"),
        ({"value": {"userId": BEN, "policyType": "TeamsCallingPolicy"}}, "expected a JSON array"),
        ({"value": [{"userId": BEN, "policyName": "AllowCalling", "policyType": "TeamsCallingPolicy"}]}, "policyName"),
        ({"value": [{"policyType": "TeamsCallingPolicy", "policyId": NO_CALLING}]}, ""),
    ],
)
def test_a_body_of_another_shape_is_a_400(body: dict[str, Any], complaint: str) -> None:
    fake = FakeGraph(teams_document())
    with connect(fake) as client, tolerated() as met:
        answer = client.post(ASSIGN, json=body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "BadRequest")
    if complaint:
        assert met
        assert complaint in " ".join(met)


def test_user_configurations_page_with_next_links_and_select() -> None:
    fake = FakeGraph(teams_document())
    with connect(fake) as client:
        first = client.get(f"{CONFIGURATIONS}?$top=4").json()
        second = client.get(first["@odata.nextLink"]).json()
        selected = client.get(f"{CONFIGURATIONS}?$select=telephoneNumbers,isEnterpriseVoiceEnabled&$top=999").json()
    ids = [c["id"] for c in first["value"] + second["value"]]
    assert len(first["value"]) == 4
    assert "@odata.nextLink" not in second
    assert ids == [u["id"] for u in teams_document()["users"]], "every user once, in order"
    assert set(selected["value"][0]) == {"id", "telephoneNumbers", "isEnterpriseVoiceEnabled"}
    ann = next(c for c in first["value"] if c["id"] == ANN)
    assert ann["telephoneNumbers"] == [{"telephoneNumber": HELD, "assignmentCategory": "primary"}]
    assert ann["isEnterpriseVoiceEnabled"] is True
    assert ann["userPrincipalName"] == "user000000@contoso.com"
    assert ann["featureTypes"] == ["Teams", "PhoneSystem", "CallingPlan"]


def test_a_configuration_by_id_and_one_that_does_not_exist() -> None:
    with connect(FakeGraph(teams_document())) as client:
        cat = client.get(f"{CONFIGURATIONS}('{CAT}')")
        missing = client.get(f"{CONFIGURATIONS}/00000000-0000-4000-8000-999999999999")
    assert cat.status_code == 200
    assert (cat.json()["id"], cat.json()["isEnterpriseVoiceEnabled"], cat.json()["telephoneNumbers"]) == (
        CAT,
        False,
        [],
    )
    assert missing.status_code == 404


def test_an_evolvable_account_type_comes_only_to_a_client_that_asks() -> None:
    """accountType's ineligibleUser follows unknownFutureValue (CSDL; the resource page says to ask with Prefer)."""
    document = teams_document()
    document["userConfigurations"][0]["accountType"] = "ineligibleUser"
    with connect(FakeGraph(document)) as client:
        plain = client.get(f"{CONFIGURATIONS}/{ANN}").json()
        asking = client.get(f"{CONFIGURATIONS}/{ANN}", headers={"Prefer": "include-unknown-enum-members"}).json()
    assert (plain["accountType"], asking["accountType"]) == ("unknownFutureValue", "ineligibleUser")


def test_each_part_needs_its_own_role() -> None:
    """permissions.json: TeamsPolicyUserAssign.ReadWrite.All is the only role for assign, unassign and getPolicyId
    (a read with no read-only role); TeamsUserConfiguration.Read.All the only one for userConfigurations."""
    item = {"value": [{"userId": BEN, "policyType": "TeamsCallingPolicy", "policyId": NO_CALLING}]}
    without_policy = FakeGraph(teams_document(), roles=DEFAULT_ROLES - {"TeamsPolicyUserAssign.ReadWrite.All"})
    with connect(without_policy) as client:
        refused = [client.post(ASSIGN, json=item), policy_id(client, "TeamsCallingPolicy", "AllowCalling")]
        still = client.get(CONFIGURATIONS)
    without_read = FakeGraph(teams_document(), roles=DEFAULT_ROLES - {"TeamsUserConfiguration.Read.All"})
    with connect(without_read) as client:
        unread = [client.get(CONFIGURATIONS), client.get(f"{CONFIGURATIONS}/{ANN}")]
        writes = client.post(UNASSIGN, json={"value": [{"userId": ANN, "policyType": "TeamsCallingPolicy"}]})
    assert [r.status_code for r in refused + unread] == [403, 403, 403, 403]
    assert all(r.json()["error"]["code"] == "Authorization_RequestDenied" for r in refused + unread)
    assert (still.status_code, writes.status_code) == (200, 204)


def test_the_document_carries_the_teams_state_and_loads_again_as_it_was() -> None:
    original = teams_document()
    pristine = copy.deepcopy(original)
    fake = FakeGraph(original, operation_steps=0)
    with connect(fake) as client:
        item = {"userId": CAT, "policyType": "TeamsCallingPolicy", "policyId": NO_CALLING}
        assert client.post(ASSIGN, json={"value": [item]}).status_code == 204
        body = {"telephoneNumber": FREE_US_PLACED, "assignmentTargetId": BEN, "numberType": "callingPlan"}
        client.get(
            client.post("/admin/teams/telephoneNumberManagement/numberAssignments/assignNumber", json=body).headers[
                "Location"
            ]
        )
    assert original == pristine, "the input document is not changed"
    document = json.loads(json.dumps(fake.document()))
    numbers = {n["telephoneNumber"]: n for n in document["numberAssignments"]}
    assert numbers[FREE_US_PLACED]["assignmentTargetId"] == BEN
    configurations = {c["id"]: c for c in document["userConfigurations"]}
    assert configurations[CAT]["effectivePolicyAssignments"][0]["policyAssignment"]["policyId"] == NO_CALLING
    assert configurations[BEN]["telephoneNumbers"][0]["telephoneNumber"] == FREE_US_PLACED
    assert FakeGraph(document).document() == document


def test_a_document_whose_configurations_disagree_with_its_inventory_is_refused() -> None:
    document = teams_document()
    document["userConfigurations"][0]["telephoneNumbers"] = []
    with pytest.raises(ValueError, match="lists numbers"):
        FakeGraph(document)
