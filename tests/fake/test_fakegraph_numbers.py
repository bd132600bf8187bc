"""The fake tenant's Teams numbers behave as Microsoft documents them (Graph v1.0, teamsAdministration, docs pages
of 2025-07-23): assignNumber and unassignNumber answer 202 with the operation in `Location` and no body, the
operation moves notStarted → running → succeeded or failed with a per-number statusDetail, and the inventory
changes only when it succeeded; updateNumber answers 200. The fake is no kinder than Graph: a malformed body is a
400 (and a request v1.0 does not describe fails the test that makes it), the roles Microsoft's reference names are
needed, and the national clouds have none of it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import respx

from tests.support.fakegraph import FakeGraph
from tests.support.graphmetadata import DEFAULT_ROLES, tolerated
from tests.support.rollout import MCOPSTN1, state
from tests.support.teamstenant import (
    ANN,
    BEN,
    CAT,
    CONFERENCE,
    DAN,
    EVE,
    FAY,
    FREE_DR,
    FREE_GB,
    FREE_US,
    FREE_US_PLACED,
    HELD,
    LOCATION,
    teams_document,
)

BASE = "https://graph.microsoft.com/v1.0"
AUTH = {"Authorization": "Bearer test-token"}
NUMBERS = "/admin/teams/telephoneNumberManagement/numberAssignments"
ASSIGN, UNASSIGN, UPDATE = (f"{NUMBERS}/{action}" for action in ("assignNumber", "unassignNumber", "updateNumber"))


@contextmanager
def connect(fake: FakeGraph, base: str = BASE) -> Iterator[httpx.Client]:
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        with httpx.Client(base_url=base, headers=AUTH) as client:
            yield client


def inventory(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {n["telephoneNumber"]: n for n in client.get(f"{NUMBERS}?$top=1000&$skip=0").json()["value"]}


def configuration(client: httpx.Client, user: str) -> dict[str, Any]:
    answer = client.get(f"/admin/teams/userConfigurations/{user}")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def settle(client: httpx.Client, location: str) -> list[dict[str, Any]]:
    """Every state the operation shows until it ends (the client follows Location as given)."""
    seen = []
    for _ in range(10):
        answer = client.get(location)
        assert answer.status_code == 200
        seen.append(answer.json())
        if seen[-1]["status"] in ("succeeded", "failed"):
            return seen
    raise AssertionError("the operation never ended")


def assign(client: httpx.Client, telephone: str, user: str, kind: str = "callingPlan", **more: Any) -> httpx.Response:
    body = {"telephoneNumber": telephone, "assignmentTargetId": user, "numberType": kind, **more}
    return client.post(ASSIGN, json=body)


def test_an_assignment_is_accepted_then_runs_then_takes_effect() -> None:
    with connect(FakeGraph(teams_document())) as client:
        accepted = assign(client, FREE_US_PLACED, BEN, assignmentCategory="primary")
        assert accepted.status_code == 202
        assert accepted.content == b"", "the action declares no return type: no body"
        location = accepted.headers["Location"]
        assert location.startswith(f"{BASE}/admin/teams/telephoneNumberManagement/operations('")
        assert inventory(client)[FREE_US_PLACED]["assignmentStatus"] == "unassigned", "nothing before it ran"
        first = client.get(location).json()
        assert first["status"] == "notStarted"
        assert inventory(client)[FREE_US_PLACED]["assignmentTargetId"] is None
        rest = settle(client, location)
        number = inventory(client)[FREE_US_PLACED]
        ben = configuration(client, BEN)
    assert [s["status"] for s in rest] == ["running", "succeeded"]
    assert rest[-1]["numbers"][0]["status"] == "succeeded"
    assert rest[-1]["numbers"][0]["resourceLocation"].startswith(f"{BASE}{NUMBERS}/")
    assert "statusDetail" not in rest[-1]["numbers"][0]
    assert isinstance(rest[-1]["createdDateTime"], str)
    assert (number["assignmentTargetId"], number["assignmentStatus"]) == (BEN, "userAssigned")
    assert number["assignmentCategory"] == "primary"
    assert ben["telephoneNumbers"] == [{"telephoneNumber": FREE_US_PLACED, "assignmentCategory": "primary"}]
    assert ben["isEnterpriseVoiceEnabled"] is True


def test_the_operation_is_read_by_key_in_parentheses_or_as_a_segment_and_numbers_get_their_plus() -> None:
    """The docs' example body gives the number without '+'; the inventory always shows one."""
    fake = FakeGraph(teams_document(), operation_steps=0)
    with connect(fake) as client:
        accepted = assign(client, FREE_DR.lstrip("+"), CAT, "directRouting")
        key = accepted.headers["Location"].split("('")[1].rstrip("')")
        done = client.get(f"/admin/teams/telephoneNumberManagement/operations/{key}").json()
        assert done["status"] == "succeeded", "operation_steps=0: the first read shows the end"
        assert inventory(client)[FREE_DR]["assignmentTargetId"] == CAT
        assert client.get("/admin/teams/telephoneNumberManagement/operations('nope')").status_code == 404


def test_the_sdks_namespace_qualified_action_name_is_the_same_action() -> None:
    fake = FakeGraph(teams_document())
    with connect(fake) as client:
        body = {"telephoneNumber": FREE_DR, "assignmentTargetId": CAT, "numberType": "directRouting"}
        accepted = client.post(f"{NUMBERS}/microsoft.graph.teamsAdministration.assignNumber", json=body)
        assert accepted.status_code == 202
        assert settle(client, accepted.headers["Location"])[-1]["status"] == "succeeded"


@pytest.mark.parametrize(
    ("telephone", "user", "kind", "more", "detail"),
    [
        (FREE_US_PLACED, CAT, "callingPlan", {}, f"User '{CAT}' lacks appropriate licenses to assign a 'CallingPlan'"),
        (FREE_DR, DAN, "directRouting", {}, f"User '{DAN}' lacks appropriate licenses to assign a 'DirectRouting'"),
        (FREE_US_PLACED, FAY, "callingPlan", {}, "lacks appropriate licenses"),  # her Calling Plan is in Error
        (HELD, BEN, "callingPlan", {}, f"Telephone Number '{HELD}' has already been assigned to another user."),
        ("+19995550000", BEN, "callingPlan", {}, "Telephone Number '+19995550000' is not found from tenant"),
        (FREE_DR, CAT, "callingPlan", {}, f"Telephone Number '{FREE_DR}' is not found from tenant"),  # wrong type
        (FREE_GB, BEN, "callingPlan", {}, "is in 'GB' and cannot be assigned to a user whose usage location is 'US'"),
        (FREE_US, BEN, "callingPlan", {}, "An emergency location is required to assign a Calling Plan number in 'US'"),
        (FREE_US, BEN, "callingPlan", {"locationId": "not-a-place"}, "Location 'not-a-place' was not found."),
        (CONFERENCE, BEN, "callingPlan", {"locationId": LOCATION}, "cannot be assigned to a user"),
        (FREE_US_PLACED, ANN, "callingPlan", {}, f"User '{ANN}' already has a primary telephone number '{HELD}'."),
        (FREE_DR, "00000000-0000-4000-8000-999999999999", "directRouting", {}, "was not found"),
    ],
)
def test_an_assignment_the_service_refuses_fails_with_its_reason_and_changes_nothing(
    telephone: str, user: str, kind: str, more: dict[str, Any], detail: str
) -> None:
    with connect(FakeGraph(teams_document())) as client:
        before = inventory(client)
        accepted = assign(client, telephone, user, kind, **more)
        assert accepted.status_code == 202, "the service's own checks come with the operation, not before it"
        ended = settle(client, accepted.headers["Location"])[-1]
        assert inventory(client) == before
    assert ended["status"] == "failed"
    assert ended["numbers"][0]["status"] == "failed"
    assert detail in ended["numbers"][0]["statusDetail"]


def test_a_uk_calling_plan_number_needs_no_location_at_assignment_and_a_us_one_takes_the_one_given() -> None:
    """Considerations for Calling Plans (ms.date 2024-05-08): US and Canada at assignment; elsewhere at purchase."""
    with connect(FakeGraph(teams_document(), operation_steps=0)) as client:
        uk = assign(client, FREE_GB, EVE).headers["Location"]
        us = assign(client, FREE_US, BEN, locationId=LOCATION).headers["Location"]
        assert [client.get(url).json()["status"] for url in (uk, us)] == ["succeeded", "succeeded"]
        assert inventory(client)[FREE_US]["locationId"] == LOCATION


def test_two_assignments_of_one_number_the_first_to_end_wins() -> None:
    with connect(FakeGraph(teams_document())) as client:
        first = assign(client, FREE_US_PLACED, BEN).headers["Location"]
        second = assign(client, FREE_US_PLACED, EVE).headers["Location"]  # refused first for the number
        assert settle(client, first)[-1]["status"] == "succeeded"
        lost = settle(client, second)[-1]
    assert lost["status"] == "failed"
    assert "already been assigned" in lost["numbers"][0]["statusDetail"]


def test_the_service_works_whether_or_not_anyone_polls() -> None:
    fake = FakeGraph(teams_document())
    with connect(fake) as client:
        location = assign(client, FREE_US_PLACED, BEN).headers["Location"]
        fake.finish_operations()
        assert inventory(client)[FREE_US_PLACED]["assignmentTargetId"] == BEN
        assert client.get(location).json()["status"] == "succeeded"


def test_teams_sees_a_new_calling_plan_only_after_its_provisioning_lag() -> None:
    """Entra shows the license Active at once; Teams provisions the user later (NUMBER_WAITS_FOR_LICENSE)."""
    fake = FakeGraph(teams_document(), operation_steps=0, teams_provisioning_lag=5)
    with connect(fake) as client:
        body = {"addLicenses": [{"skuId": MCOPSTN1, "disabledPlans": []}], "removeLicenses": []}
        assert client.post(f"/users/{CAT}/assignLicense", json=body).status_code == 200
        early = client.get(assign(client, FREE_US_PLACED, CAT).headers["Location"]).json()
        for _ in range(5):
            client.get("/subscribedSkus")
        late = client.get(assign(client, FREE_US_PLACED, CAT).headers["Location"]).json()
    assert early["status"] == "failed"
    assert "lacks appropriate licenses" in early["numbers"][0]["statusDetail"]
    assert late["status"] == "succeeded"
    cat = fake.user(CAT)
    assert cat is not None
    assert cat["licenseAssignmentStates"][-1] == state(MCOPSTN1), "Entra had it all along"


def test_unassigning_frees_the_number_when_the_operation_ends() -> None:
    with connect(FakeGraph(teams_document())) as client:
        accepted = client.post(UNASSIGN, json={"telephoneNumber": HELD, "numberType": "callingPlan"})
        assert accepted.status_code == 202
        assert accepted.headers["Location"].startswith(f"{BASE}/admin/teams/telephoneNumberManagement/operations('")
        assert inventory(client)[HELD]["assignmentTargetId"] == ANN
        assert settle(client, accepted.headers["Location"])[-1]["status"] == "succeeded"
        freed = inventory(client)[HELD]
        again = client.post(UNASSIGN, json={"telephoneNumber": HELD, "numberType": "callingPlan"})
        repeated = settle(client, again.headers["Location"])[-1]
        assert configuration(client, ANN)["telephoneNumbers"] == []
    assert (freed["assignmentTargetId"], freed["assignmentCategory"], freed["assignmentStatus"]) == (
        None,
        None,
        "unassigned",
    )
    assert repeated["status"] == "failed"
    assert repeated["numbers"][0]["statusDetail"] == f"Telephone Number '{HELD}' is not assigned."


def test_update_number_sets_and_clears_as_the_docs_say() -> None:
    with connect(FakeGraph(teams_document())) as client:
        placed = client.post(UPDATE, json={"telephoneNumber": FREE_DR, "locationId": LOCATION, "networkSiteId": "s1"})
        kept = client.post(UPDATE, json={"telephoneNumber": FREE_DR, "locationId": None})
        after_keep = inventory(client)[FREE_DR]
        cleared = client.post(UPDATE, json={"telephoneNumber": FREE_DR, "locationId": ""})
        options = client.post(
            UPDATE, json={"telephoneNumber": FREE_DR, "reverseNumberLookupOptions": ["skipInternalVoip"]}
        )
        after = inventory(client)[FREE_DR]
        refusals = [
            client.post(UPDATE, json={"telephoneNumber": HELD, "locationId": ""}),
            client.post(UPDATE, json={"telephoneNumber": FREE_DR, "locationId": "elsewhere"}),
            client.post(UPDATE, json={"telephoneNumber": FREE_DR, "reverseNumberLookupOptions": ["skipEverything"]}),
        ]
        missing = client.post(UPDATE, json={"telephoneNumber": "+19995550000", "locationId": LOCATION})
    assert [r.status_code for r in (placed, kept, cleared, options)] == [200, 200, 200, 200]
    assert placed.content == b""
    assert (after_keep["locationId"], after_keep["networkSiteId"]) == (LOCATION, "s1"), "null keeps a value"
    assert after["locationId"] is None, "an empty string clears it"
    assert after["reverseNumberLookupOptions"] == ["skipInternalVoip"]
    assert [r.status_code for r in refusals] == [400, 400, 400]
    assert "Calling Plan number cannot be removed" in refusals[0].json()["error"]["message"]
    assert missing.status_code == 404


TARGETLESS = {"telephoneNumber": FREE_DR, "numberType": "directRouting"}
DR = {"telephoneNumber": FREE_DR, "assignmentTargetId": CAT, "numberType": "directRouting"}


@pytest.mark.parametrize(
    ("url", "body", "complaint", "message"),
    [
        (ASSIGN, TARGETLESS, "needs the parameter(s) assignmentTargetId", "are missing from the request payload"),
        (ASSIGN, {**DR, "numberType": "mobile"}, "'mobile'", "is not a valid enumeration type constant"),
        (ASSIGN, {**DR, "force": True}, "no parameter 'force'", "not a valid parameter for the operation"),
        (ASSIGN, {**DR, "telephoneNumber": None}, "Edm.String is not nullable", "does not allow null values"),
        (ASSIGN, {**DR, "telephoneNumber": 12065550199}, "expected a string", "Cannot convert a primitive value"),
        (UPDATE, {"locationId": LOCATION}, "needs the parameter(s) telephoneNumber", "The missing parameters are"),
        (
            UPDATE,
            {"telephoneNumber": FREE_DR, "reverseNumberLookupOptions": "skipInternalVoip"},
            "expected a JSON array",
            "Cannot convert a primitive value",
        ),
    ],
)
def test_a_body_graph_would_refuse_is_a_400_and_a_request_v1_does_not_describe(
    url: str, body: dict[str, Any], complaint: str, message: str
) -> None:
    fake = FakeGraph(teams_document())
    with connect(fake) as client, tolerated() as met:
        answer = client.post(url, json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert message in answer.json()["error"]["message"]
    assert len(met) == 1, "the conformance layer names it as a request v1.0 does not have"
    assert complaint in met[0]
    assert fake.writes[-1]["status"] == 400


def test_unassign_without_a_number_type_is_refused_though_the_csdl_makes_it_nullable() -> None:
    """The docs page lists both parameters as required; the service cannot act without them."""
    with connect(FakeGraph(teams_document())) as client:
        answer = client.post(UNASSIGN, json={"telephoneNumber": HELD})
        assert answer.status_code == 400
        assert "numberType" in answer.json()["error"]["message"]
        assert inventory(client)[HELD]["assignmentTargetId"] == ANN


def test_writes_need_the_read_write_role_reads_either() -> None:
    """permissions.json: TeamsTelephoneNumber.ReadWrite.All alone grants the three actions; Read.All (least) or
    ReadWrite.All the list, one number and an operation."""
    writer = FakeGraph(teams_document())
    with connect(writer) as client:
        location = assign(client, FREE_DR, CAT, "directRouting").headers["Location"]
    roles = (DEFAULT_ROLES - {"TeamsTelephoneNumber.ReadWrite.All"}) | {"TeamsTelephoneNumber.Read.All"}
    reader = FakeGraph(teams_document(), roles=roles)
    reader._operations = writer._operations  # the same operation, read by an app that may only read
    with connect(reader) as client:
        refused = [
            assign(client, FREE_DR, CAT, "directRouting"),
            client.post(UNASSIGN, json={"telephoneNumber": HELD, "numberType": "callingPlan"}),
            client.post(UPDATE, json={"telephoneNumber": FREE_DR, "locationId": LOCATION}),
        ]
        allowed = [client.get(NUMBERS), client.get(f"{NUMBERS}/id-14255550100"), client.get(location)]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(403, "Authorization_RequestDenied")] * 3
    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert allowed[1].json()["telephoneNumber"] == HELD
    none = FakeGraph(teams_document(), roles=DEFAULT_ROLES - {"TeamsTelephoneNumber.ReadWrite.All"})
    with connect(none) as client:
        assert client.get(NUMBERS).status_code == 403


@pytest.mark.parametrize(
    ("base", "segment"),
    [
        ("https://graph.microsoft.us/v1.0", "teams"),
        ("https://dod-graph.microsoft.us/v1.0", "teams"),
        ("https://microsoftgraph.chinacloudapi.cn/v1.0", "teams"),
    ],
)
def test_the_national_clouds_have_no_teams_administration(base: str, segment: str) -> None:
    """Neither v1.0-Fairfax.csdl nor v1.0-Mooncake.csdl has `teams` under `admin`: Graph cannot resolve the path,
    whatever the app's roles."""
    for roles in (DEFAULT_ROLES, frozenset()):
        fake = FakeGraph(teams_document(), base_url=base, roles=roles)
        with connect(fake, base) as client:
            answers = [
                client.get(NUMBERS),
                assign(client, FREE_DR, CAT, "directRouting"),
                client.get("/admin/teams/userConfigurations"),
                client.get("/admin/teams/policy/getPolicyId(type='TeamsCallingPolicy',name='AllowCalling')"),
            ]
            users = client.get("/users")
        for answer in answers:
            assert (answer.status_code, answer.json()["error"]["code"]) == (400, "BadRequest")
            assert answer.json()["error"]["message"] == f"Resource not found for the segment '{segment}'."
        assert users.status_code == (200 if roles == DEFAULT_ROLES else 403), "the rest of Graph is there"
        assert fake.writes == []


def test_china_has_no_call_records_either() -> None:
    base = "https://microsoftgraph.chinacloudapi.cn/v1.0"
    with connect(FakeGraph(teams_document(), base_url=base), base) as client:
        answer = client.get(
            "/communications/callRecords/getPstnCalls(fromDateTime=2026-01-01T00:00:00Z,toDateTime=2026-01-02T00:00:00Z)"
        )
    assert answer.json()["error"]["message"] == "Resource not found for the segment 'communications'."


def test_an_assignment_in_a_batch_brings_its_location_in_the_items_headers() -> None:
    with connect(FakeGraph(teams_document())) as client:
        body = {"telephoneNumber": FREE_DR, "assignmentTargetId": CAT, "numberType": "directRouting"}
        item = {
            "id": "1",
            "method": "POST",
            "url": ASSIGN,
            "body": body,
            "headers": {"Content-Type": "application/json"},
        }
        (answer,) = client.post("/$batch", json={"requests": [item]}).json()["responses"]
        assert answer["status"] == 202
        assert "body" not in answer
        assert settle(client, answer["headers"]["Location"])[-1]["status"] == "succeeded"


def test_the_inventory_filter_is_refused_rather_than_ignored() -> None:
    """$filter is documented for numberAssignments but not modelled here: a client relying on it must not get every
    number back as if filtered."""
    with connect(FakeGraph(teams_document())) as client:
        answer = client.get(f"{NUMBERS}?$filter=assignmentStatus eq 'unassigned'")
    assert answer.status_code == 400
