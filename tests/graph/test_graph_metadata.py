"""The fake tenant holds every request against Graph v1.0 as Microsoft publishes it (tests/support/graphmetadata):
the CSDL extract for paths, query options, bodies and answers, the permissions extract for the app's roles.

These tests show the layer refuses what v1.0 lacks (so the suite-wide check can fail), accepts what the tool
sends, and that a planted request fails a whole pytest run even when the code under test swallows the error.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from tests.support.fakegraph import FakeGraph
from tests.support.graphmetadata import DEFAULT_ROLES, tolerated
from tests.support.graphmetadata.clouds import missing_segment
from tests.support.graphmetadata.conformance import NonConforming, answer_problems, check_request, model
from tests.support.graphmetadata.extract import DEFAULT_METADATA, outputs
from tests.support.graphmetadata.values import Checker
from tests.support.rollout import rollout_document, user_id

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://graph.microsoft.com/v1.0"
AUTH = {"Authorization": "Bearer test-token-not-a-secret"}
SKU = "0dab259f-bf13-4952-b7f8-7db8f131b28d"
USER = "00000000-0000-4000-8000-000000000001"


@pytest.mark.skipif(not DEFAULT_METADATA.is_dir(), reason="Microsoft's metadata is not on this machine (clean CI)")
def test_the_extracts_are_what_the_script_makes_of_microsofts_files() -> None:
    """Skipped where /work/shared is absent (a clean CI checkout): there the checked-in extracts are used as is."""
    for path, text in outputs(DEFAULT_METADATA).items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name}: run python -m tests.support.graphmetadata.extract"
        )


def test_the_extract_names_its_source() -> None:
    provenance = model().extract["provenance"]
    assert provenance["repository"] == "microsoftgraph/msgraph-metadata"
    assert provenance["path"] == "schemas/v1.0-Prod.csdl"
    assert provenance["commit"]
    assert provenance["date"]
    assert len(provenance["sha256"]) == 64


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/subscribedSkus", None),
        ("GET", "/users?$select=id,assignedLicenses,onPremisesExtensionAttributes&$top=999&$count=true", None),
        ("GET", f"/users?$filter=assignedLicenses/any(x:x/skuId eq {SKU})&$select=id", None),
        (
            "GET",
            "/users?$filter=onPremisesExtensionAttributes/extensionAttribute1 eq 'a''b' and usageLocation eq 'US'",
            None,
        ),
        ("GET", f"/users/{USER}?$select=id,licenseAssignmentStates", None),
        ("GET", "/users/alice@contoso.com", None),
        ("GET", "/users/$count", None),
        ("PATCH", f"/users/{USER}", {"usageLocation": "US"}),
        (
            "POST",
            f"/users/{USER}/assignLicense",
            {"addLicenses": [{"skuId": SKU, "disabledPlans": []}], "removeLicenses": []},
        ),
        ("POST", f"/users/{USER}/microsoft.graph.reprocessLicenseAssignment", None),
        (
            "GET",
            "/groups?$filter=displayName eq 'Voice'&$select=id,displayName,assignedLicenses,licenseProcessingState",
            None,
        ),
        ("GET", f"/groups/{USER}/transitiveMembers/microsoft.graph.user?$select=id,usageLocation&$top=999", None),
        ("GET", f"/groups/{USER}/members/microsoft.graph.user?$select=id", None),
        ("POST", f"/groups/{USER}/assignLicense", {"addLicenses": [], "removeLicenses": [SKU]}),
        ("GET", "/admin/teams/telephoneNumberManagement/numberAssignments?$top=1000&$skip=0", None),
        (
            "POST",
            "/admin/teams/telephoneNumberManagement/numberAssignments/assignNumber",
            {"telephoneNumber": "+14255550100", "assignmentTargetId": USER, "numberType": "callingPlan"},
        ),
        ("GET", "/admin/teams/telephoneNumberManagement/operations('QXNzaWdubWVudHw2Y2E4')", None),
        ("GET", "/admin/teams/policy/getPolicyId(type='TeamsCallingPolicy',name='O''Brien')", None),
        (
            "GET",
            "/admin/teams/userConfigurations?$select=id,telephoneNumbers,effectivePolicyAssignments&$top=999",
            None,
        ),
        (
            "GET",
            "/communications/callRecords/getPstnCalls(fromDateTime=2026-01-01T00:00:00Z,toDateTime=2026-02-01T00:00:00Z)",
            None,
        ),
        (
            "GET",
            "/communications/callRecords/microsoft.graph.callRecords.getDirectRoutingCalls(fromDateTime=2026-01-01T00:00:00Z,toDateTime=2026-01-02T00:00:00.5+02:00)",
            None,
        ),
    ],
)
def test_what_the_tool_sends_is_in_v1(method: str, url: str, body: Any) -> None:
    path, _, query = url.partition("?")
    check_request(method, path, query, body, False)


@pytest.mark.parametrize(
    ("method", "url", "body", "reason"),
    [
        ("GET", "/subscribedSku", None, "no entity set or singleton 'subscribedSku'"),
        ("GET", "/users?$select=id,phoneNumbers", None, "microsoft.graph.user has no property 'phoneNumbers'"),
        ("GET", "/users?$select=id,extension_myapp_cost", None, "has no property 'extension_myapp_cost'"),
        ("GET", "/users?$filter=licenseState eq 'x'", None, "names 'licenseState'"),
        ("GET", f"/users?$filter=assignedLicenses/any(x:x/sku eq {SKU})", None, "names 'x/sku'"),
        ("GET", "/users?$expand=licences", None, "no navigation property 'licences'"),
        ("GET", "/users?$orderby=surname desc,nickname", None, "names 'nickname'"),
        ("GET", "/users?$top=all", None, "$top=all is not a whole number"),
        ("GET", "/users?$selct=id", None, "$selct is not an OData system query option"),
        (
            "GET",
            f"/users/{USER}/licenses",
            None,
            "no property, navigation property, cast or bound operation 'licenses'",
        ),
        ("POST", f"/users/{USER}/assignLicence", {}, "no property, navigation property, cast or bound operation"),
        ("GET", f"/groups/{USER}/members/microsoft.graph.group/{USER}/assignedLicences", None, "no property"),
        ("GET", f"/groups/{USER}/transitiveMembers/microsoft.graph.subscribedSku", None, "does not derive"),
        ("GET", f"/users/{USER}/assignLicense", None, "GET does not apply to a action"),
        ("POST", f"/users/{USER}/assignLicense", {"addLicenses": []}, "needs the parameter(s) removeLicenses"),
        (
            "POST",
            f"/users/{USER}/assignLicense",
            {"addLicenses": [], "removeLicenses": [], "force": True},
            "no parameter 'force'",
        ),
        (
            "POST",
            f"/users/{USER}/assignLicense",
            {"addLicenses": [{"skuId": "E5"}], "removeLicenses": []},
            "'E5' is not an Edm.Guid",
        ),
        ("POST", f"/users/{USER}/assignLicense", {"addLicenses": [], "removeLicenses": SKU}, "expected a JSON array"),
        ("PATCH", f"/users/{USER}", {"usageLocation": "US", "phoneNumber": "+1"}, "has no property 'phoneNumber'"),
        ("PATCH", f"/users/{USER}", {"accountEnabled": "yes"}, "expected true or false"),
        (
            "GET",
            "/communications/callRecords/getPstnCalls(from=2026-01-01T00:00:00Z,to=2026-02-01T00:00:00Z)",
            None,
            "has no parameter 'from'",
        ),
        (
            "GET",
            "/communications/callRecords/getPstnCalls(fromDateTime=2026-01-01T00:00:00Z)",
            None,
            "needs the parameter(s) toDateTime",
        ),
        (
            "GET",
            "/communications/callRecords/getPstnCalls(fromDateTime=2026-01-01,toDateTime=2026-02-01)",
            None,
            "not an Edm.DateTimeOffset literal",
        ),
        ("GET", "/admin/teams/telephoneNumberManagement/phoneNumbers", None, "no property, navigation property"),
        (
            "POST",
            "/admin/teams/telephoneNumberManagement/numberAssignments/assignNumber",
            {"telephoneNumber": "+14255550100", "numberType": "callingPlan"},
            "needs the parameter(s) assignmentTargetId",
        ),
        (
            "POST",
            "/admin/teams/policy/userAssignments/assign",
            {"value": [{"userId": USER, "policyType": "TeamsCallingPolicy", "policyName": "x"}]},
            "has no property 'policyName'",
        ),
        ("GET", "/admin/teams/userConfigurations?$select=id,phoneNumbers", None, "has no property 'phoneNumbers'"),
    ],
)
def test_what_v1_does_not_have_is_named(method: str, url: str, body: Any, reason: str) -> None:
    path, _, query = url.partition("?")
    with pytest.raises(NonConforming) as refused:
        check_request(method, path, query, body, False)
    assert reason in str(refused.value)
    assert str(refused.value).startswith(f"{method} {path}"), "the message names the request"


def test_answers_are_held_to_the_types_and_enums_of_v1() -> None:
    numbers = check_request("GET", "/admin/teams/telephoneNumberManagement/numberAssignments", "", None, False)
    good = {"id": "1", "telephoneNumber": "+1", "numberType": "unknownFutureValue", "capabilities": ["userAssignment"]}
    assert answer_problems(numbers, {}, 200, {"value": [good]}) == []
    docs_example = {"value": good}  # the docs page's example shows one object, not an array: the CSDL wins
    assert answer_problems(numbers, {}, 200, docs_example) == ["a collection comes as an object with a 'value' array"]
    wrong = {**good, "numberType": "mobile", "carrier": "x", "capabilities": None}
    problems = answer_problems(numbers, {}, 200, {"value": [wrong]})
    assert any("'mobile' is not a member of microsoft.graph.teamsAdministration.numberType" in p for p in problems)
    assert any("has no property 'carrier'" in p for p in problems)
    assert any("capabilities: null, but" in p for p in problems)
    assert answer_problems(numbers, {}, 403, {"message": "no"}) == ["HTTP 403 without Graph's error object"]


def test_members_after_unknown_future_value_come_only_to_clients_that_ask() -> None:
    """Evolvable enums: 'emailUser' follows unknownFutureValue; without Prefer: include-unknown-enum-members Graph
    sends unknownFutureValue in its place."""
    kind = "microsoft.graph.teamworkUserIdentityType"
    plain, asking = Checker(model()), Checker(model(), unknown_members=True)
    for checker in (plain, asking):
        checker.check(kind, "emailUser", "userIdentityType")
        checker.check(kind, "unknownFutureValue", "userIdentityType")
    assert len(plain.problems) == 1
    assert "include-unknown-enum-members" in plain.problems[0]
    assert asking.problems == []


def test_the_fake_refuses_what_no_role_of_the_app_grants() -> None:
    """LicenseAssignment.ReadWrite.All grants the two assignLicense actions only (Microsoft's reference)."""
    document = rollout_document(2)
    fake = FakeGraph(document, roles={"LicenseAssignment.ReadWrite.All"})
    body = {"addLicenses": [], "removeLicenses": [document["subscribedSkus"][0]["skuId"]]}
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        with httpx.Client(base_url=BASE, headers=AUTH) as client:
            skus = client.get("/subscribedSkus")
            write = client.post(f"/users/{user_id(0)}/assignLicense", json=body)
            batch = client.post("/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/subscribedSkus"}]})
    assert (skus.status_code, skus.json()["error"]["code"]) == (403, "Authorization_RequestDenied")
    assert write.status_code != 403
    assert batch.json()["responses"][0]["status"] == 403, "each $batch item is authorized on its own"
    assert FakeGraph(document).roles == DEFAULT_ROLES


def test_a_request_v1_lacks_is_raised_where_it_is_made_unless_tolerated() -> None:
    fake = FakeGraph(rollout_document(1))
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        with httpx.Client(base_url=BASE, headers=AUTH) as client, tolerated() as met:
            answer = client.get("/users?$select=id,favouriteColour")
    assert answer.status_code == 400, "tolerated: the fake answers as Graph would"
    assert met == [
        "not in Graph v1.0: GET /users?$select=id,favouriteColour: $select=favouriteColour: "
        "microsoft.graph.user has no property 'favouriteColour'"
    ]


PLANTED = """
import httpx, respx
from tests.support.fakegraph import FakeGraph
from tests.support.rollout import rollout_document

def test_planted():
    fake = FakeGraph(rollout_document(1))
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        try:  # the code under test swallows whatever happens: the check must fail the test anyway
            httpx.get("https://graph.microsoft.com/v1.0{url}", headers={{"Authorization": "Bearer t"}})
        except Exception:
            pass
"""


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/users?$select=id,costCentre", "microsoft.graph.user has no property 'costCentre'"),
        ("/groups/x/transitiveMember", "no property, navigation property, cast or bound operation 'transitiveMember'"),
    ],
)
def test_a_planted_request_fails_the_suite_naming_it(tmp_path: Path, url: str, named: str) -> None:
    """The suite-wide check (tests/conftest.py), run by pytest as .ci/run runs it, on a test that swallows errors."""
    test = tmp_path / "test_planted.py"
    test.write_text(textwrap.dedent(PLANTED.format(url=url)), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider", str(test)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stdout
    assert "requests or answers Graph v1.0 does not have" in run.stdout
    assert f"GET {url.split('?')[0]}" in run.stdout
    assert named in run.stdout


def test_the_national_clouds_lack_what_their_csdl_lacks() -> None:
    """From v1.0-Fairfax.csdl and v1.0-Mooncake.csdl (extract.py): no Teams administration in either, no call
    records in China; the rest of what the tool reaches is there."""
    clouds = model().extract["nationalClouds"]
    assert {cloud for national in clouds.values() for cloud in national["clouds"]} == {"usgov", "usgovdod", "china"}
    assert all(national["provenance"]["sha256"] for national in clouds.values())
    teams = check_request("GET", "/admin/teams/userConfigurations", "", None, False).target
    calls = (
        "/communications/callRecords/getPstnCalls(fromDateTime=2026-01-01T00:00:00Z,toDateTime=2026-01-02T00:00:00Z)"
    )
    records = check_request("GET", calls, "", None, False).target
    users = check_request("POST", f"/users/{USER}/assignLicense", "", {"addLicenses": [], "removeLicenses": []}, False)
    assert [missing_segment(cloud, teams) for cloud in ("global", "usgov", "usgovdod", "china")] == [
        None,
        "teams",
        "teams",
        "teams",
    ]
    assert [missing_segment(cloud, records) for cloud in ("usgov", "china")] == [None, "communications"]
    assert missing_segment("china", users.target) is None


def test_a_path_the_permissions_reference_does_not_list_is_not_served() -> None:
    """GET …/operations (the list) resolves in the CSDL, but no permission grants it and no page documents it."""
    fake = FakeGraph(rollout_document(1))
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        with httpx.Client(base_url=BASE, headers=AUTH) as client, tolerated() as met:
            client.get("/admin/teams/telephoneNumberManagement/operations")
    assert met
    assert "lists no Application permission" in met[0]
