"""The fake Graph tenant behaves as GRAPH-FACTS documents Graph: reads, license writes, $batch, throttling, faults."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import respx

from tests.support.fakegraph import FakeGraph
from tests.support.graphmetadata import DEFAULT_ROLES, tolerated

BASE = "https://graph.microsoft.com/v1.0"
AUTH = {"Authorization": "Bearer test-token"}

# SKU ids and service plan ids from Microsoft's product-names CSV (GRAPH-FACTS)
MCOEV, MCOEV_PLAN = "e43b5b99-8dfb-405f-9987-dc307f34bcbd", "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"
DOMESTIC, DOMESTIC_PLAN = "0dab259f-bf13-4952-b7f8-7db8f131b28d", "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8"
INTERNATIONAL, INTERNATIONAL_PLAN = "d3b4fe1f-9992-4930-8acb-ca6ec609365e", "5a10155d-f5c1-411a-a8ec-e99aae125390"
AUDIO, AUDIO_PLAN = "0c266dff-15dd-4b49-8397-2bb16070ed52", "3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40"
CREDITS, CREDITS_PLAN = "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0", "505e180f-f7e0-4b65-91d4-00d670bbd18c"
E5, EXCHANGE_PLAN = "06ebc4ee-1bb5-47dd-8120-11324bc54e06", "efb87545-963c-4e0d-99df-69c6916d9eb0"
UNKNOWN_SKU = "11111111-2222-4333-8444-555555555555"

ALICE = "a0000000-0000-4000-8000-000000000001"  # US; E5 + Domestic, direct
BOB = "a0000000-0000-4000-8000-000000000002"  # no usage location, no licenses
CAROL = "a0000000-0000-4000-8000-000000000003"  # US; Phone System direct, Domestic through SALES
DAVE = "a0000000-0000-4000-8000-000000000004"  # US; Phone System both direct and through SALES
ERIN = "a0000000-0000-4000-8000-000000000005"  # GB; nothing
SALES = "90000000-0000-4000-8000-000000000001"
OBRIEN = "90000000-0000-4000-8000-000000000002"
FILLERS = 25


def _sku(sku_id: str, part: str, plans: list[tuple[str, str]], enabled: int, consumed: int) -> dict[str, Any]:
    return {
        "skuId": sku_id,
        "skuPartNumber": part,
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": consumed,
        "prepaidUnits": {"enabled": enabled, "suspended": 0, "warning": 0, "lockedOut": 0},
        "servicePlans": [
            {"servicePlanId": i, "servicePlanName": n, "provisioningStatus": "Success", "appliesTo": "User"}
            for i, n in plans
        ],
    }


def _state(sku_id: str, group: str | None = None, disabled: list[str] | None = None) -> dict[str, Any]:
    return {
        "skuId": sku_id,
        "disabledPlans": disabled or [],
        "assignedByGroup": group,
        "state": "Active",
        "error": "None",
    }


def _user(user_id: str, upn: str, location: str | None, states: list[dict[str, Any]]) -> dict[str, Any]:
    assigned = {s["skuId"]: {"skuId": s["skuId"], "disabledPlans": s["disabledPlans"]} for s in states}
    return {
        "id": user_id,
        "userPrincipalName": upn,
        "displayName": upn.split("@")[0].title(),
        "accountEnabled": True,
        "usageLocation": location,
        "department": "Sales",
        "onPremisesExtensionAttributes": {"extensionAttribute1": "CC1000", "extensionAttribute2": None},
        "assignedLicenses": list(assigned.values()),
        "licenseAssignmentStates": states,
    }


def tenant() -> dict[str, Any]:
    fillers = [_user(f"f0000000-0000-4000-8000-{n:012d}", f"user{n}@contoso.com", "US", []) for n in range(FILLERS)]
    return {
        "subscribedSkus": [
            _sku(MCOEV, "MCOEV", [(MCOEV_PLAN, "MCOEV")], enabled=10, consumed=2),
            _sku(DOMESTIC, "MCOPSTN1", [(DOMESTIC_PLAN, "MCOPSTN1")], enabled=5, consumed=2),
            _sku(INTERNATIONAL, "MCOPSTN2", [(INTERNATIONAL_PLAN, "MCOPSTN2")], enabled=1, consumed=0),
            _sku(AUDIO, "MCOMEETADV", [(AUDIO_PLAN, "MCOMEETADV")], enabled=5, consumed=0),
            _sku(CREDITS, "MCOPSTNC", [(CREDITS_PLAN, "MCOPSTNC")], enabled=5, consumed=0),
            _sku(
                E5,
                "SPE_E5",
                [(EXCHANGE_PLAN, "EXCHANGE_S_ENTERPRISE"), (MCOEV_PLAN, "MCOEV"), (AUDIO_PLAN, "MCOMEETADV")],
                enabled=5,
                consumed=1,
            ),
        ],
        "users": [
            _user(ALICE, "alice@contoso.com", "US", [_state(E5), _state(DOMESTIC)]),
            _user(BOB, "bob@contoso.com", None, []),
            _user(CAROL, "carol@contoso.com", "US", [_state(MCOEV), _state(DOMESTIC, SALES)]),
            _user(DAVE, "dave@contoso.com", "US", [_state(MCOEV), _state(MCOEV, SALES)]),
            _user(ERIN, "erin@contoso.com", "GB", []),
            *fillers,
        ],
        "groups": [
            {"id": SALES, "displayName": "Voice - Sales", "members": [CAROL, DAVE]},
            {"id": OBRIEN, "displayName": "O'Brien's Team", "members": [u["id"] for u in fillers]},
        ],
    }


@pytest.fixture
def fake() -> FakeGraph:
    return FakeGraph(tenant())


@contextmanager
def connect(fake: FakeGraph) -> Iterator[httpx.Client]:
    """A client whose transport is a respx router with the fake mounted (no global patching, no TLS setup)."""
    router = respx.MockRouter(assert_all_called=False)
    fake.mount(router)
    with httpx.Client(base_url=BASE, headers=AUTH, transport=httpx.MockTransport(router.handler)) as client:
        yield client


@pytest.fixture
def client(fake: FakeGraph) -> Iterator[httpx.Client]:
    with connect(fake) as http:
        yield http


def assign(
    client: httpx.Client, user: str, add: list[dict[str, Any]] | None = None, remove: list[str] | None = None
) -> httpx.Response:
    return client.post(f"/users/{user}/assignLicense", json={"addLicenses": add or [], "removeLicenses": remove or []})


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def states_of(fake: FakeGraph, user: str) -> list[tuple[str, str | None, list[str]]]:
    found = fake.user(user)
    assert found is not None
    return [(s["skuId"], s["assignedByGroup"], s["disabledPlans"]) for s in found["licenseAssignmentStates"]]


# ---- protocol ------------------------------------------------------------------------------------------------


def test_requests_without_a_bearer_token_get_401_in_graphs_error_shape(client: httpx.Client) -> None:
    response = client.get("/subscribedSkus", headers={"Authorization": ""})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert set(error["innerError"]) >= {"request-id", "date"}
    assert response.headers["request-id"] == error["innerError"]["request-id"]


def test_every_response_carries_request_ids_and_echoes_the_clients(client: httpx.Client, fake: FakeGraph) -> None:
    response = client.get("/subscribedSkus", headers={"client-request-id": "mine"})
    assert response.headers["client-request-id"] == "mine"
    assert len(response.headers["request-id"]) == 36
    with tolerated() as met:  # a path v1.0 does not have: the fake still answers, as below
        missing = client.get("/nothing/here")
    assert met == ["not in Graph v1.0: GET /nothing/here: no entity set or singleton 'nothing'"]
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Resource not found for the segment 'nothing'."
    assert fake.requests == [("GET", "/subscribedSkus"), ("GET", "/nothing/here")]


def test_subscribed_skus_with_select(client: httpx.Client) -> None:
    skus = client.get("/subscribedSkus").json()["value"]
    assert [s["skuPartNumber"] for s in skus] == ["MCOEV", "MCOPSTN1", "MCOPSTN2", "MCOMEETADV", "MCOPSTNC", "SPE_E5"]
    assert "@odata.nextLink" not in client.get("/subscribedSkus").json()
    slim = client.get("/subscribedSkus", params={"$select": "skuId,consumedUnits"}).json()["value"]
    assert slim[0] == {"skuId": MCOEV, "consumedUnits": 2}


# ---- users, paging, $select ---------------------------------------------------------------------------------


def test_users_are_paged_with_absolute_next_links_and_select_only_what_was_asked() -> None:
    fake = FakeGraph(tenant(), page_size_limit=7)
    with respx.mock(assert_all_called=False) as router:  # respx patching httpx globally
        fake.mount(router)
        with httpx.Client(base_url=BASE, headers=AUTH) as client:
            url: str | None = "/users?$select=id,usageLocation,onPremisesExtensionAttributes&$top=999"
            pages: list[list[dict[str, Any]]] = []
            while url:
                body = client.get(url).json()
                pages.append(body["value"])
                url = body.get("@odata.nextLink")
                if url:
                    assert url.startswith(f"{BASE}/users?")
                    assert "$skiptoken=" in url
                    assert "$top=999" in url
    assert [len(p) for p in pages] == [7, 7, 7, 7, 2]
    users = [u for page in pages for u in page]
    assert [u["id"] for u in users] == [u["id"] for u in tenant()["users"]]  # stable order, no duplicates
    assert set(users[0]) == {"id", "usageLocation", "onPremisesExtensionAttributes"}
    assert users[0]["onPremisesExtensionAttributes"]["extensionAttribute1"] == "CC1000"
    assert len(fake.requests) == 5


def test_users_without_select_get_graphs_default_properties_only(client: httpx.Client) -> None:
    body = client.get("/users", params={"$top": "2"}).json()
    assert len(body["value"]) == 2
    first = body["value"][0]
    assert first["userPrincipalName"] == "alice@contoso.com"
    assert "assignedLicenses" not in first
    assert "usageLocation" not in first
    assert first["mail"] is None  # selected by default, absent from the document: null, as Graph shows it


def test_select_of_a_property_graph_does_not_have_is_refused(client: httpx.Client) -> None:
    with tolerated() as met:
        response = client.get("/users", params={"$select": "id,favouriteColour"})
    assert "microsoft.graph.user has no property 'favouriteColour'" in met[0]
    assert error_of(response) == (
        400,
        "Request_BadRequest",
        "Could not find a property named 'favouriteColour' on type 'microsoft.graph.user'.",
    )


@pytest.mark.parametrize("top", ["1000", "0", "many"])
def test_top_outside_1_to_999_is_refused(client: httpx.Client, top: str) -> None:
    with tolerated() as met:  # "many" is not even a number, which the conformance layer notes first
        assert client.get("/users", params={"$top": top}).status_code == 400
    assert len(met) == (top == "many")


def test_single_user_by_id_or_upn_and_unknown_user(client: httpx.Client) -> None:
    by_upn = client.get("/users/ALICE@contoso.com", params={"$select": "id,assignedLicenses"}).json()
    assert by_upn["id"] == ALICE
    assert len(by_upn["assignedLicenses"]) == 2
    assert client.get(f"/users/{ALICE}").json()["userPrincipalName"] == "alice@contoso.com"
    assert error_of(client.get("/users/nobody@contoso.com"))[:2] == (404, "Request_ResourceNotFound")


def test_users_filter_on_upn(client: httpx.Client) -> None:
    found = client.get("/users", params={"$filter": "userPrincipalName eq 'Carol@contoso.com'"}).json()["value"]
    assert [u["id"] for u in found] == [CAROL]


# ---- groups ----------------------------------------------------------------------------------------------------


def test_group_filter_unescapes_doubled_quotes_and_ignores_case(client: httpx.Client) -> None:
    response = client.get("/groups", params={"$filter": "displayName eq 'o''brien''s team'", "$select": "id"})
    assert response.json()["value"] == [{"id": OBRIEN}]
    unescaped = client.get("/groups", params={"$filter": "displayName eq 'Nobody''s'"}).json()["value"]
    assert unescaped == []
    assert client.get("/groups", params={"$filter": "startswith(displayName,'V')"}).status_code == 400


def test_group_by_id_and_unknown_group(client: httpx.Client) -> None:
    group = client.get(f"/groups/{SALES}", params={"$select": "id,displayName"}).json()
    assert (group["id"], group["displayName"]) == (SALES, "Voice - Sales")
    assert "members" not in client.get(f"/groups/{SALES}").json()
    unknown = "90000000-0000-4000-8000-0000000000ff"
    assert error_of(client.get(f"/groups/{unknown}"))[:2] == (404, "Request_ResourceNotFound")
    assert client.get(f"/groups/{unknown}/transitiveMembers/microsoft.graph.user").status_code == 404


def test_transitive_user_members_are_paged_as_an_advanced_query(client: httpx.Client) -> None:
    first = f"/groups/{OBRIEN}/transitiveMembers/microsoft.graph.user?$select=id&$top=10"
    refused = client.get(first)  # the OData cast needs the advanced query parameters
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert client.get(f"{first}&$count=true").status_code == 400, "$count=true alone is not enough"
    url: str | None = f"{first}&$count=true"
    ids: list[str] = []
    pages = 0
    while url:
        body = client.get(url, headers={"ConsistencyLevel": "eventual"}).json()
        assert body["@odata.count"] == FILLERS
        assert all(set(item) == {"id"} for item in body["value"])
        ids += [item["id"] for item in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    assert pages == 3
    assert ids == [f"f0000000-0000-4000-8000-{n:012d}" for n in range(FILLERS)]


# ---- assignLicense: validation, in Graph's order and with Graph's texts ----------------------------------------


@pytest.mark.parametrize(
    ("body", "missing"),
    [({"addLicenses": []}, "removeLicenses"), ({"removeLicenses": []}, "addLicenses"), ({}, "addLicenses, ")],
)
def test_assign_license_needs_both_arrays(client: httpx.Client, body: dict[str, Any], missing: str) -> None:
    with tolerated() as met:  # the action's parameters are required in v1.0's CSDL as well
        status, code, message = error_of(client.post(f"/users/{ALICE}/assignLicense", json=body))
    assert "action 'assignLicense' needs the parameter(s)" in met[0]
    assert (status, code) == (400, "Request_BadRequest")
    assert "are missing from the request payload" in message
    assert f"The missing parameters are: {missing}" in message


def test_assign_license_with_nothing_to_change_is_refused(client: httpx.Client) -> None:
    assert error_of(assign(client, ALICE))[0] == 400


def test_unknown_sku_is_not_a_valid_company_license(client: httpx.Client) -> None:
    response = assign(client, ERIN, add=[{"skuId": UNKNOWN_SKU, "disabledPlans": []}])
    assert error_of(response) == (
        400,
        "Request_BadRequest",
        f"License {UNKNOWN_SKU} does not correspond to a valid company License.",
    )


def test_adding_to_a_user_without_usage_location_is_refused_until_it_is_set(
    client: httpx.Client, fake: FakeGraph
) -> None:
    add = [{"skuId": MCOEV, "disabledPlans": []}]
    assert error_of(assign(client, BOB, add=add))[2] == (
        "License assignment cannot be done for user with invalid usage location."
    )
    assert client.patch(f"/users/{BOB}", json={"usageLocation": "us"}).status_code == 400  # two capitals
    patched = client.patch(f"/users/{BOB}", json={"usageLocation": "US"})
    assert (patched.status_code, patched.content) == (204, b"")
    assert assign(client, BOB, add=add).status_code == 200
    assert fake.consumed_units(MCOEV) == 3


def test_no_free_seat_is_refused_and_a_freed_seat_can_be_taken(client: httpx.Client, fake: FakeGraph) -> None:
    swap = assign(client, ALICE, add=[{"skuId": INTERNATIONAL, "disabledPlans": []}], remove=[DOMESTIC])
    assert swap.status_code == 200  # takes MCOPSTN2's only seat
    response = assign(client, CAROL, add=[{"skuId": INTERNATIONAL, "disabledPlans": []}])
    assert error_of(response)[2] == f"Subscription with SKU {INTERNATIONAL} does not have any available licenses."
    assert assign(client, ALICE, add=[{"skuId": DOMESTIC, "disabledPlans": []}], remove=[INTERNATIONAL]).is_success
    assert fake.consumed_units(INTERNATIONAL) == 0
    assert fake.consumed_units(DOMESTIC) == 2


def test_a_group_inherited_license_cannot_be_removed_from_the_user(client: httpx.Client, fake: FakeGraph) -> None:
    response = assign(client, CAROL, remove=[DOMESTIC])
    assert error_of(response) == (
        400,
        "Request_BadRequest",
        "User license is inherited from a group membership and it cannot be removed directly from the user.",
    )
    assert (DOMESTIC, SALES, []) in states_of(fake, CAROL)


def test_removing_a_license_the_user_does_not_hold_is_refused(client: httpx.Client) -> None:
    assert error_of(assign(client, ERIN, remove=[AUDIO]))[:2] == (400, "Request_BadRequest")


def test_direct_and_inherited_use_one_seat_and_removal_keeps_the_inherited_state(
    client: httpx.Client, fake: FakeGraph
) -> None:
    assert assign(client, DAVE, remove=[MCOEV]).status_code == 200
    assert states_of(fake, DAVE) == [(MCOEV, SALES, [])]
    assert fake.consumed_units(MCOEV) == 2  # still held through the group: the seat stays used
    assert assign(client, DAVE, add=[{"skuId": MCOEV, "disabledPlans": []}]).status_code == 200
    assert fake.consumed_units(MCOEV) == 2  # direct beside inherited takes no second seat
    user = fake.user(DAVE)
    assert user is not None
    assert [a["skuId"] for a in user["assignedLicenses"]] == [MCOEV]


def test_calling_plans_are_mutually_exclusive_but_a_swap_in_one_call_works(
    client: httpx.Client, fake: FakeGraph
) -> None:
    response = assign(client, ALICE, add=[{"skuId": INTERNATIONAL, "disabledPlans": []}])
    assert error_of(response)[2] == (
        f"License assignment failed because service plans {DOMESTIC_PLAN}, {INTERNATIONAL_PLAN} are mutually exclusive."
    )
    swap = assign(client, ALICE, add=[{"skuId": INTERNATIONAL, "disabledPlans": []}], remove=[DOMESTIC])
    assert swap.status_code == 200
    assert [s[0] for s in states_of(fake, ALICE)] == [E5, INTERNATIONAL]


def test_calling_plan_depends_on_phone_system(client: httpx.Client) -> None:
    response = assign(client, ERIN, add=[{"skuId": DOMESTIC, "disabledPlans": []}])
    assert error_of(response)[2] == (
        f"License assignment failed because service plan {DOMESTIC_PLAN} depends on the service plan(s) {MCOEV_PLAN}."
    )
    both = [{"skuId": MCOEV, "disabledPlans": []}, {"skuId": DOMESTIC, "disabledPlans": []}]
    assert assign(client, ERIN, add=both).status_code == 200


def test_credits_depend_on_audio_conferencing_or_phone_system(client: httpx.Client) -> None:
    response = assign(client, ERIN, add=[{"skuId": CREDITS, "disabledPlans": []}])
    message = error_of(response)[2]
    assert message.startswith(f"License assignment failed because service plan {CREDITS_PLAN} depends on")
    assert AUDIO_PLAN in message
    assert MCOEV_PLAN in message
    with_audio = [{"skuId": AUDIO, "disabledPlans": []}, {"skuId": CREDITS, "disabledPlans": []}]
    assert assign(client, ERIN, add=with_audio).status_code == 200
    assert assign(client, ALICE, add=[{"skuId": CREDITS, "disabledPlans": []}]).status_code == 200  # E5 suffices


def test_dependencies_count_only_enabled_plans(client: httpx.Client) -> None:
    # Alice's Domestic plan leans on E5's Phone System: disabling that plan breaks the dependency
    response = assign(client, ALICE, add=[{"skuId": E5, "disabledPlans": [MCOEV_PLAN]}])
    assert "depends on the service plan(s)" in error_of(response)[2]


def test_dependency_checks_can_be_turned_off() -> None:
    lenient = FakeGraph(tenant(), enforce_dependencies=False)
    with connect(lenient) as client:
        assert assign(client, ALICE, add=[{"skuId": E5, "disabledPlans": [MCOEV_PLAN]}]).status_code == 200
        assert assign(client, ERIN, add=[{"skuId": CREDITS, "disabledPlans": []}]).status_code == 200


def test_disabled_plans_replace_the_skus_list_and_an_empty_list_reenables_all(
    client: httpx.Client, fake: FakeGraph
) -> None:
    assert assign(client, ALICE, add=[{"skuId": E5, "disabledPlans": [EXCHANGE_PLAN]}]).status_code == 200
    assert states_of(fake, ALICE)[0] == (E5, None, [EXCHANGE_PLAN])
    assert assign(client, ALICE, add=[{"skuId": E5, "disabledPlans": [AUDIO_PLAN]}]).status_code == 200
    assert states_of(fake, ALICE)[0] == (E5, None, [AUDIO_PLAN])  # replaced, not merged
    assert assign(client, ALICE, add=[{"skuId": E5, "disabledPlans": []}]).status_code == 200
    assert states_of(fake, ALICE)[0] == (E5, None, [])
    user = fake.user(ALICE)
    assert user is not None
    assert user["assignedLicenses"][0] == {"skuId": E5, "disabledPlans": []}
    assert fake.consumed_units(E5) == 1


def test_success_answers_200_with_the_user_and_records_an_active_direct_state(
    client: httpx.Client, fake: FakeGraph
) -> None:
    response = assign(client, "erin@contoso.com", add=[{"skuId": AUDIO, "disabledPlans": []}])
    assert response.status_code == 200
    assert response.json()["id"] == ERIN
    user = fake.user(ERIN)
    assert user is not None
    assert user["licenseAssignmentStates"] == [_state(AUDIO)]
    assert user["assignedLicenses"] == [{"skuId": AUDIO, "disabledPlans": []}]
    assert fake.consumed_units(AUDIO) == 1
    assert fake.writes == [
        {
            "method": "POST",
            "url": "/users/erin@contoso.com/assignLicense",
            "body": {"addLicenses": [{"skuId": AUDIO, "disabledPlans": []}], "removeLicenses": []},
            "status": 200,
            "applied": True,
            "batch": False,
        }
    ]


# ---- $batch ------------------------------------------------------------------------------------------------------


def item(item_id: str, user: str, add: list[str] | None = None, remove: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": item_id,
        "method": "POST",
        "url": f"/users/{user}/assignLicense",
        "headers": {"Content-Type": "application/json"},
        "body": {"addLicenses": [{"skuId": s, "disabledPlans": []} for s in add or []], "removeLicenses": remove or []},
    }


def fillers(count: int) -> list[str]:
    return [f"f0000000-0000-4000-8000-{n:012d}" for n in range(count)]


def batch(client: httpx.Client, items: list[dict[str, Any]]) -> httpx.Response:
    return client.post("/$batch", json={"requests": items})


def by_id(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200
    return {answer["id"]: answer for answer in response.json()["responses"]}


def test_batch_answers_every_item_by_id_in_an_order_of_its_own(client: httpx.Client, fake: FakeGraph) -> None:
    items = [item(str(n), user, add=[AUDIO]) for n, user in enumerate(fillers(20))]
    response = batch(client, items)
    answers = response.json()["responses"]
    assert sorted(a["id"] for a in answers) == sorted(str(n) for n in range(20))
    assert [a["id"] for a in answers] != [str(n) for n in range(20)]
    assert Counter(a["status"] for a in answers) == {200: 5, 400: 15}  # five seats, then none left
    assert fake.consumed_units(AUDIO) == 5
    assert fake.requests == [("POST", "/$batch")]  # one HTTP request, twenty writes
    assert len(fake.writes) == 20
    assert all(w["batch"] for w in fake.writes)


def test_batch_items_fail_on_their_own(client: httpx.Client) -> None:
    answers = by_id(batch(client, [item("ok", ERIN, add=[AUDIO]), item("bad", BOB, add=[AUDIO])]))
    assert answers["ok"]["status"] == 200
    assert answers["bad"]["status"] == 400
    assert "invalid usage location" in answers["bad"]["body"]["error"]["message"]
    assert answers["bad"]["headers"]["Content-Type"] == "application/json"


def test_batch_of_more_than_20_is_refused_whole(client: httpx.Client, fake: FakeGraph) -> None:
    response = batch(client, [item(str(n), ERIN, add=[AUDIO]) for n in range(21)])
    assert response.status_code == 400
    assert fake.writes == []


@pytest.mark.parametrize(
    "bad",
    [
        {"url": f"{BASE}/users/{ERIN}/assignLicense"},  # absolute URLs are refused (msgraph-sdk-python#1015)
        {"id": "twin"},  # duplicate ids
        {"headers": {}},  # a body without Content-Type
        {"dependsOn": ["nowhere"]},
    ],
)
def test_malformed_batches_are_refused_whole(client: httpx.Client, fake: FakeGraph, bad: dict[str, Any]) -> None:
    items = [item("twin", ERIN, add=[AUDIO]), {**item("other", ALICE, add=[AUDIO]), **bad}]
    assert batch(client, items).status_code == 400
    assert fake.writes == []


def test_depends_on_a_failed_item_gives_424(client: httpx.Client) -> None:
    first = item("location", BOB, add=[AUDIO])
    second = {**item("license", ERIN, add=[AUDIO]), "dependsOn": ["location"]}
    answers = by_id(batch(client, [second, first]))
    assert answers["location"]["status"] == 400
    assert answers["license"]["status"] == 424


def test_batch_depends_on_takes_only_the_documented_shapes(client: httpx.Client, fake: FakeGraph) -> None:
    """Parallel, serial (each on the one before) or same (all on one): anything else Graph refuses whole."""
    one, two, three = (item(n, user, add=[AUDIO]) for n, user in (("1", BOB), ("2", ERIN), ("3", ALICE)))
    serial = [one, {**two, "dependsOn": ["1"]}, {**three, "dependsOn": ["2"]}]
    assert batch(client, serial).status_code == 200
    same = [one, {**two, "dependsOn": ["1"]}, {**three, "dependsOn": ["1"]}]
    assert batch(client, same).status_code == 200
    writes = len(fake.writes)
    mixed = [one, two, {**three, "dependsOn": ["2"]}, {**item("4", BOB, add=[AUDIO]), "dependsOn": ["3"]}]
    refused = batch(client, mixed)
    assert refused.status_code == 400
    assert "fully sequential or fully parallel" in refused.text
    assert batch(client, [one, two, {**three, "dependsOn": ["1", "2"]}]).status_code == 400
    assert len(fake.writes) == writes, "a refused batch writes nothing"


def test_batch_request_ids_are_compared_without_regard_to_case(client: httpx.Client) -> None:
    twice = batch(client, [item("A", BOB, add=[AUDIO]), item("a", ERIN, add=[AUDIO])])
    assert twice.status_code == 400, "'A' and 'a' are the same id to Graph"
    first = item("Location", BOB, add=[AUDIO])
    second = {**item("license", ERIN, add=[AUDIO]), "dependsOn": ["location"]}
    answers = by_id(batch(client, [second, first]))
    assert answers["license"]["status"] == 424, "dependsOn finds 'Location' by 'location'"


def test_batch_items_can_patch_and_read(client: httpx.Client, fake: FakeGraph) -> None:
    patch = {
        "id": "1",
        "method": "PATCH",
        "url": f"users/{BOB}",
        "headers": {"Content-Type": "application/json"},
        "body": {"usageLocation": "DE"},
    }
    read = {"id": "2", "method": "GET", "url": f"/users/{BOB}?$select=usageLocation", "dependsOn": ["1"]}
    answers = by_id(batch(client, [patch, read]))
    assert answers["1"]["status"] == 204
    assert "body" not in answers["1"]
    assert answers["2"]["body"]["usageLocation"] == "DE"
    assert [w["method"] for w in fake.writes] == ["PATCH"]


# ---- throttling and faults ---------------------------------------------------------------------------------------


def test_throttled_batch_items_get_429_with_their_own_retry_after_and_do_not_happen(
    client: httpx.Client, fake: FakeGraph
) -> None:
    fake.throttle_next(2, retry_after=3)
    answers = by_id(batch(client, [item(str(n), user, add=[AUDIO]) for n, user in enumerate(fillers(4))]))
    assert [answers[str(n)]["status"] for n in range(4)] == [429, 429, 200, 200]
    assert answers["0"]["headers"]["Retry-After"] == "3"
    assert fake.consumed_units(AUDIO) == 2
    assert [(w["status"], w["applied"], w["batch"]) for w in fake.writes[:2]] == [(429, False, True)] * 2


def test_a_throttled_write_may_still_take_effect() -> None:
    eager = FakeGraph(tenant(), apply_throttled_writes=True)
    eager.throttle_next(1, retry_after=0.5)
    with connect(eager) as client:
        answers = by_id(batch(client, [item("1", ERIN, add=[AUDIO])]))
        assert answers["1"]["status"] == 429
        assert answers["1"]["headers"]["Retry-After"] == "0.5"
        assert eager.consumed_units(AUDIO) == 1  # it happened anyway
        again = by_id(batch(client, [item("1", ERIN, add=[AUDIO])]))  # the retry is harmless
        assert again["1"]["status"] == 200
    assert eager.consumed_units(AUDIO) == 1
    assert states_of(eager, ERIN) == [(AUDIO, None, [])]


def test_outright_429_refuses_the_whole_request(client: httpx.Client, fake: FakeGraph) -> None:
    fake.throttle_next(1, retry_after=2, outright=True)
    response = batch(client, [item("1", ERIN, add=[AUDIO])])
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "TooManyRequests"
    assert fake.consumed_units(AUDIO) == 0
    assert fake.writes == []
    assert by_id(batch(client, [item("1", ERIN, add=[AUDIO])]))["1"]["status"] == 200


@pytest.mark.parametrize("status", [503, 504])
def test_transient_failures_on_the_next_requests(client: httpx.Client, fake: FakeGraph, status: int) -> None:
    fake.fail_next(2, status)
    assert client.get("/subscribedSkus").status_code == status
    assert batch(client, [item("1", ERIN, add=[AUDIO])]).status_code == status
    assert fake.consumed_units(AUDIO) == 0
    assert client.get("/subscribedSkus").status_code == 200


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_write_quota_is_a_sliding_window_counted_per_item() -> None:
    clock = FakeClock()
    fake = FakeGraph(tenant(), write_quota=(5, 10.0), clock=clock)
    with connect(fake) as client:
        first = batch(client, [item(str(n), user, add=[AUDIO]) for n, user in enumerate(fillers(3))])
        assert {a["status"] for a in first.json()["responses"]} == {200}
        assert "x-ms-throttle-limit-percentage" not in first.headers  # 3 of 5: under 80%
        clock.now += 4
        second = batch(client, [item(str(n), user, remove=[AUDIO]) for n, user in enumerate(fillers(3))])
        answers = by_id(second)
        assert [answers[str(n)]["status"] for n in range(3)] == [200, 200, 429]
        assert answers["2"]["headers"]["Retry-After"] == "6"  # the first writes leave the window at +10 s
        assert "x-ms-throttle-limit-percentage" not in second.headers, "in a $batch: inside the items only"
        assert answers["1"]["headers"]["x-ms-throttle-limit-percentage"] == "1.00"  # Graph's 0.8-1.8 scale
        assert answers["2"]["headers"]["x-ms-throttle-scope"].startswith("Tenant_Application/")
        assert client.get("/subscribedSkus").headers["x-ms-throttle-limit-percentage"] == "1.00"
        direct = client.patch(f"/users/{BOB}", json={"usageLocation": "US"})
        assert direct.status_code == 429
        assert direct.headers["Retry-After"] == "6"
        clock.now += 6
        assert client.patch(f"/users/{BOB}", json={"usageLocation": "US"}).status_code == 204
        assert "x-ms-throttle-limit-percentage" not in client.get("/subscribedSkus").headers
    assert fake.consumed_units(AUDIO) == 1  # three added, two removed; the third removal was throttled
    assert [w["status"] for w in fake.writes].count(429) == 2


def test_a_token_bucket_quota_bursts_then_refills_and_a_tenant_window_stands_beside_it() -> None:
    clock = FakeClock()
    fake = FakeGraph(tenant(), write_bucket=(3, 1.0), tenant_write_quota=(4, 100.0), clock=clock)
    with connect(fake) as client:
        burst = by_id(batch(client, [item(str(n), user, add=[AUDIO]) for n, user in enumerate(fillers(4))]))
        assert [burst[str(n)]["status"] for n in range(4)] == [200, 200, 200, 429], "a burst of the depth"
        assert burst["3"]["headers"]["Retry-After"] == "1"
        clock.now += 1.0  # one token back
        assert client.patch(f"/users/{BOB}", json={"usageLocation": "US"}).status_code == 204
        clock.now += 5.0  # the bucket is full again, but the tenant's window has had its 4 writes
        refused = client.patch(f"/users/{BOB}", json={"usageLocation": "US"})
    assert refused.status_code == 429
    assert refused.headers["x-ms-throttle-scope"] == "Tenant/Write"


def test_fractional_retry_after_for_quotas_scaled_in_time() -> None:
    clock = FakeClock()
    fake = FakeGraph(tenant(), write_quota=(1, 0.5), clock=clock, fractional_retry_after=True)
    with connect(fake) as client:
        assert client.patch(f"/users/{BOB}", json={"usageLocation": "US"}).status_code == 204
        clock.now += 0.2
        throttled = client.patch(f"/users/{BOB}", json={"usageLocation": "US"})
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "0.300"


def test_latency_is_paid_concurrently_by_an_async_client() -> None:
    fake = FakeGraph(tenant(), latency=0.05)

    async def run() -> list[int]:
        async with httpx.AsyncClient(base_url=BASE, headers=AUTH) as client:
            responses = await asyncio.gather(*(client.get(f"/users/{u}") for u in fillers(10)))
        return [r.status_code for r in responses]

    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        started = time.perf_counter()
        statuses = asyncio.run(run())
        elapsed = time.perf_counter() - started
    assert statuses == [200] * 10
    assert 0.05 <= elapsed < 0.4


# ---- state out -------------------------------------------------------------------------------------------------


def test_document_round_trips_the_changed_tenant_without_touching_the_input() -> None:
    original = tenant()
    pristine = copy.deepcopy(original)
    fake = FakeGraph(original)
    with connect(fake) as client:
        assert client.patch(f"/users/{BOB}", json={"usageLocation": "US"}).status_code == 204
        assert assign(client, BOB, add=[{"skuId": AUDIO, "disabledPlans": []}]).status_code == 200
        assert assign(client, DAVE, remove=[MCOEV]).status_code == 200
    assert original == pristine
    document = json.loads(json.dumps(fake.document()))
    assert set(document) == {"subscribedSkus", "users", "groups"}
    skus = {s["skuId"]: s for s in document["subscribedSkus"]}
    assert skus[AUDIO]["consumedUnits"] == 1
    assert skus[MCOEV]["consumedUnits"] == 2
    users = {u["id"]: u for u in document["users"]}
    assert users[BOB]["usageLocation"] == "US"
    assert users[BOB]["assignedLicenses"] == [{"skuId": AUDIO, "disabledPlans": []}]
    assert users[DAVE]["licenseAssignmentStates"] == [_state(MCOEV, SALES)]
    assert document["groups"][0]["members"] == [CAROL, DAVE]
    again = FakeGraph(document)
    assert again.document() == document


def test_document_is_a_snapshot_the_product_reads() -> None:
    snapshot = pytest.importorskip("teamslicensing.tenant.snapshot")
    tenant_now = snapshot.parse_snapshot(FakeGraph(tenant()).document(), "fake")
    assert len(tenant_now.users) == 5 + FILLERS


def test_number_assignments_page_by_top_and_skip_and_need_the_role() -> None:
    numbers = [
        {"id": str(n), "telephoneNumber": f"+1555000{n:04d}", "assignmentStatus": "unassigned"} for n in range(7)
    ]
    fake = FakeGraph({**tenant(), "numberAssignments": numbers})
    path = "/admin/teams/telephoneNumberManagement/numberAssignments"
    with connect(fake) as client:
        first = client.get(f"{path}?$top=5&$skip=0").json()
        second = client.get(f"{path}?$top=5&$skip=5").json()
        assert client.get(path).json()["value"] == numbers, "500 by default"
        assert client.get(f"{path}?$top=1001").status_code == 400
    assert [n["id"] for n in first["value"] + second["value"]] == [str(n) for n in range(7)]
    assert "@odata.nextLink" not in first, "the docs page this list with $skip, not with nextLink"
    roles = DEFAULT_ROLES - {"TeamsTelephoneNumber.Read.All", "TeamsTelephoneNumber.ReadWrite.All"}
    with connect(FakeGraph({**tenant(), "numberAssignments": numbers}, roles=roles)) as client:
        denied = client.get(path)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"


def test_users_count_is_an_advanced_query_and_the_license_filter_works_either_way(client: httpx.Client) -> None:
    """/users/$count needs ConsistencyLevel; the assignedLicenses lambda is the filter docs' own example without it
    (checked against learn.microsoft.com/graph/filter-query-parameter, stored copy of 2026-12-01)."""
    eventual = {"ConsistencyLevel": "eventual"}
    assert client.get("/users/$count").status_code == 400
    counted = client.get("/users/$count", headers=eventual)
    assert counted.headers["content-type"].startswith("text/plain")
    total = int(counted.text)
    everyone = client.get("/users?$select=id,assignedLicenses&$top=999").json()["value"]
    held = next(lic["skuId"] for user in everyone for lic in user["assignedLicenses"])
    expected = sum(1 for user in everyone if any(lic["skuId"] == held for lic in user["assignedLicenses"]))
    url = f"/users?$filter=assignedLicenses/any(x:x/skuId eq {held})&$select=id"
    plain = client.get(f"{url}&$top=999")
    assert plain.status_code == 200
    assert "@odata.count" not in plain.json(), "a count only for advanced queries"
    holders = client.get(f"{url}&$count=true&$top=999", headers=eventual).json()
    assert holders["@odata.count"] == expected
    assert 0 < expected < total
    assert len(holders["value"]) == min(expected, 999) or "@odata.nextLink" in holders
