"""Reading each user's Teams configuration and policy ids from Graph (global cloud only), bounded like every read:
a refusal or an answer of another shape leaves them "not read" with the reason, never a failed run; a scoped read
asks only for the users it read; export writes them into the snapshot beside the number inventory."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import respx

from teamslicensing.cli import main
from teamslicensing.config.loader import load_desired_state
from teamslicensing.graph import Connection, Graph
from teamslicensing.model.tenant import policy_key
from teamslicensing.tenant.live import read_tenant
from teamslicensing.tenant.need import TenantNeed
from teamslicensing.tenant.snapshot import load_snapshot
from teamslicensing.tenant.teamsread import (
    fetch_policy_lookups,
    policy_id_url,
    read_policy_lookups,
    read_user_configurations,
)
from tests.support.faults import BASE, TOKEN, fake_for
from tests.support.graphmetadata import DEFAULT_ROLES
from tests.support.teamstenant import (
    ALLOW_CALLING,
    ANN,
    BEN,
    CAT,
    GROUP,
    HELD,
    MEETINGS,
    NO_CALLING,
    ROUTING,
    lookup,
    teams_document,
)

T = TypeVar("T")
CONFIGURATIONS = "/admin/teams/userConfigurations"


def run(work: Callable[[Graph], Awaitable[T]], base: str = BASE) -> T:
    async def go() -> T:
        async with Graph(Connection(base), access_token=TOKEN) as graph:
            return await work(graph)

    return asyncio.run(go())


def test_every_users_configuration_is_read_page_by_page(router: respx.MockRouter) -> None:
    fake = fake_for(teams_document(), router, page_size_limit=2)
    found, why = run(lambda graph: read_user_configurations(graph, "global"))
    assert why is None
    assert found is not None
    assert set(found) == {u["id"] for u in teams_document()["users"]}
    ann = found[ANN]
    assert [(n.number, n.category) for n in ann.numbers] == [(HELD, "primary")]
    assert ann.enterprise_voice is True
    assert ann.policy_names == {"TeamsMeetingPolicy": "CustomPolicy", "TeamsCallingPolicy": "AllowCalling"}
    meeting = ann.policy("teamsmeetingpolicy")
    assert meeting is not None
    assert (meeting.assignment_type, meeting.group_id, meeting.policy_id) == ("group", GROUP, MEETINGS)
    assert found[BEN].numbers == ()
    assert found[BEN].policy("TeamsCallingPolicy") is None
    pages = [url for method, url in fake.requests if url.startswith(CONFIGURATIONS)]
    assert pages[0] == f"{CONFIGURATIONS}?$top=999"
    assert len(pages) == 3, "six users, two a page as the fake chose: the nextLinks were followed"


def test_a_scoped_read_asks_for_its_users_by_id_in_batches(router: respx.MockRouter) -> None:
    fake = fake_for(teams_document(), router)
    wanted = [ANN, CAT, "00000000-0000-4000-8000-999999999999"]
    found, why = run(lambda graph: read_user_configurations(graph, "global", wanted, users_in_tenant=500_000))
    assert why is None
    assert found is not None
    assert set(found) == {ANN, CAT}, "a user Teams does not know has no configuration"
    assert [url for _, url in fake.requests] == ["/$batch"], "three users: one $batch, not 501 pages"


def test_a_scoped_read_of_many_users_reads_the_pages_and_keeps_its_own(router: respx.MockRouter) -> None:
    fake = fake_for(teams_document(), router)
    found, _ = run(lambda graph: read_user_configurations(graph, "global", [ANN, BEN], users_in_tenant=6))
    assert found is not None
    assert set(found) == {ANN, BEN}
    assert [url for _, url in fake.requests] == [f"{CONFIGURATIONS}?$top=999"]


@pytest.mark.parametrize("ids", [None, [ANN]])
def test_without_the_permission_the_configurations_are_not_read_and_it_says_which(
    router: respx.MockRouter, ids: list[str] | None
) -> None:
    fake_for(teams_document(), router, roles=DEFAULT_ROLES - {"TeamsUserConfiguration.Read.All"})
    found, why = run(lambda graph: read_user_configurations(graph, "global", ids, 100_000))
    assert found is None
    assert why is not None
    assert "HTTP 403" in why
    assert "TeamsUserConfiguration.Read.All" in why


def test_the_national_clouds_are_not_asked(router: respx.MockRouter) -> None:
    base = "https://graph.microsoft.us/v1.0"
    asked = router.route(host="graph.microsoft.us").mock(return_value=httpx.Response(500))
    found, why = run(lambda graph: read_user_configurations(graph, "usgov"), base)
    lookups, refused = run(lambda graph: fetch_policy_lookups(graph, "usgov", [("TeamsCallingPolicy", "X")]), base)
    assert (found, lookups) == (None, None)
    assert why == "Graph has Teams user configurations in the global cloud only, not in usgov"
    assert refused == "Graph has Teams policies in the global cloud only, not in usgov"
    assert not asked.called


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ({"value": {"id": ANN}}, "has no 'value' list"),
        ({"value": [{"id": ANN, "telephoneNumbers": "+14255550100"}]}, "'telephoneNumbers' must be a list"),
        ({"value": [{"id": ANN, "isEnterpriseVoiceEnabled": "yes"}]}, "'isEnterpriseVoiceEnabled' must be"),
        ({"value": [{"id": "not-a-guid"}]}, "not a user's object id"),
        (
            {"value": [{"id": ANN, "effectivePolicyAssignments": [{"policyType": "TeamsCallingPolicy"}]}]},
            "'effectivePolicyAssignments[0].policyAssignment' must be an object",
        ),
    ],
)
def test_an_answer_of_another_shape_is_not_believed_and_not_a_crash(
    router: respx.MockRouter, page: dict[str, Any], reason: str
) -> None:
    router.get(f"{BASE}{CONFIGURATIONS}").mock(return_value=httpx.Response(200, json=page))
    found, why = run(lambda graph: read_user_configurations(graph, "global"))
    assert found is None
    assert why is not None
    assert reason in why


def test_the_tenant_read_carries_the_configurations_when_asked(router: respx.MockRouter, tmp_path: Path) -> None:
    fake_for(teams_document(), router)
    plain = run(lambda graph: read_tenant(graph, TenantNeed.users(None, ["Meetings"])))
    full = run(
        lambda graph: read_tenant(
            graph, dataclasses.replace(TenantNeed.users(None, ["Meetings"]), user_configurations=True)
        )
    )
    assert (plain.teams_users, plain.teams_unavailable) == (None, None), "not asked: not read"
    assert full.teams_users is not None
    assert len(full.teams_users) == len(full.users)
    config = tmp_path / "licensing.yaml"
    config.write_text(
        "version: 1\nrules:\n  - name: meetings\n    select: {groups: [Meetings]}\n    assign: [MCOEV]\n",
        encoding="utf-8",
    )
    desired = load_desired_state(config)
    scoped = run(
        lambda graph: read_tenant(
            graph, dataclasses.replace(TenantNeed.to_plan(desired, "scoped"), user_configurations=True)
        )
    )
    assert scoped.scope is not None
    assert scoped.teams_users is not None
    assert set(scoped.teams_users) <= {user.id for user in scoped.users}
    assert ANN in scoped.teams_users


def test_policy_ids_are_looked_up_by_name_once_each(router: respx.MockRouter) -> None:
    fake = fake_for(teams_document(), router)
    wanted = [
        ("TeamsCallingPolicy", "AllowCalling"),
        ("teamscallingpolicy", "allowcalling"),
        ("OnlineVoiceRoutingPolicy", "O'Brien Routing"),
        ("TeamsCallingPolicy", "Nobody"),
    ]
    found, why = run(lambda graph: read_policy_lookups(graph, "global", wanted))
    assert why is None
    assert found is not None
    assert found[policy_key("TeamsCallingPolicy", "Tag:AllowCalling")].policy_id == ALLOW_CALLING
    assert found[policy_key("OnlineVoiceRoutingPolicy", "o'brien routing")].policy_id == ROUTING
    nobody = found[policy_key("TeamsCallingPolicy", "Nobody")]
    assert (nobody.found, nobody.policy_id) == ((), None), "Graph found none: looked up, and no such policy"
    assert len(found) == 3
    assert [url for _, url in fake.requests] == ["/$batch"]


def test_a_policy_id_url_quotes_and_escapes_the_name_as_odata_and_graph_read_it(router: respx.MockRouter) -> None:
    fake_for(teams_document(), router)
    url = policy_id_url("OnlineVoiceRoutingPolicy", "O'Brien Routing")
    assert url == "/admin/teams/policy/getPolicyId(type='OnlineVoiceRoutingPolicy',name='O''Brien%20Routing')"
    answer = run(lambda graph: graph.get_json(url))
    assert [row["policyId"] for row in answer["value"]] == [ROUTING]


def test_policy_ids_need_the_assignment_permission_even_to_read(router: respx.MockRouter) -> None:
    fake_for(teams_document(), router, roles=DEFAULT_ROLES - {"TeamsPolicyUserAssign.ReadWrite.All"})
    found, why = run(lambda graph: read_policy_lookups(graph, "global", [("TeamsCallingPolicy", "AllowCalling")]))
    assert found is None
    assert why is not None
    assert "TeamsPolicyUserAssign.ReadWrite.All" in why


def snapshot_of(document: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps({k: v for k, v in document.items() if k != "emergencyLocations"}), encoding="utf-8")
    return path


def test_a_snapshot_carries_configurations_and_policies_and_their_absence_means_not_read(tmp_path: Path) -> None:
    tenant = load_snapshot(snapshot_of(teams_document(), tmp_path))
    assert tenant.teams_users is not None
    assert tenant.teams_users[ANN].policy_names["TeamsCallingPolicy"] == "AllowCalling"
    assert tenant.policies is not None
    assert tenant.policies[policy_key("TeamsCallingPolicy", "No Calling")].policy_id == NO_CALLING
    bare = {k: v for k, v in teams_document().items() if k not in ("userConfigurations", "policies")}
    unread = load_snapshot(snapshot_of(bare, tmp_path))
    assert (unread.teams_users, unread.policies) == (None, None)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["userConfigurations"].append(dict(d["userConfigurations"][0])), "appears more than once"),
        (lambda d: d["userConfigurations"][0].update(telephoneNumbers=[{"telephoneNumber": 1}]), "must be a string"),
        (lambda d: d.update(userConfigurations={"id": ANN}), "'userConfigurations' must be a list"),
        (lambda d: d["policies"].append(lookup("teamscallingpolicy", "allowcalling", None)), "more than once"),
        (lambda d: d["policies"][0].pop("value"), "'value' must be a list"),
        (lambda d: d.update(cloud="usgov"), "'userConfigurations': Graph has none in the usgov cloud"),
    ],
)
def test_a_snapshot_is_checked_before_it_is_believed(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    document = teams_document()
    change(document)
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\nrules: []\n", encoding="utf-8")
    assert main(["plan", str(config), "--snapshot", str(snapshot_of(document, tmp_path))]) == 1
    error = capsys.readouterr().err
    assert problem in error
    assert "Traceback" not in error


def test_export_writes_configurations_and_the_policies_in_effect(
    router: respx.MockRouter, tmp_path: Path, graph_token: None
) -> None:
    fake_for(teams_document(), router)
    exported = tmp_path / "export.json"
    assert main(["export", "--output", str(exported), "--graph-url", BASE]) == 0
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert len(document["userConfigurations"]) == len(document["users"])
    assert sorted((p["policyType"], p["name"]) for p in document["policies"]) == [
        ("TeamsCallingPolicy", "AllowCalling"),
        ("TeamsMeetingPolicy", "CustomPolicy"),
    ]
    tenant = load_snapshot(exported)
    live = run(lambda graph: read_user_configurations(graph, "global"))[0]
    assert tenant.teams_users == live
    assert tenant.policies is not None
    assert tenant.policies[policy_key("TeamsMeetingPolicy", "CustomPolicy")].policy_id == MEETINGS


@pytest.mark.parametrize(
    ("missing", "kept"),
    [("TeamsUserConfiguration.Read.All", set()), ("TeamsPolicyUserAssign.ReadWrite.All", {"userConfigurations"})],
)
def test_export_without_a_teams_permission_leaves_that_part_out(
    router: respx.MockRouter, tmp_path: Path, graph_token: None, missing: str, kept: set[str]
) -> None:
    fake_for(teams_document(), router, roles=DEFAULT_ROLES - {missing})
    exported = tmp_path / "export.json"
    assert main(["export", "--output", str(exported), "--graph-url", BASE]) == 0
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert {"userConfigurations", "policies"} & set(document) == kept
    assert load_snapshot(exported).users


def test_export_leaves_out_configurations_graph_answered_in_another_shape(
    router: respx.MockRouter, tmp_path: Path, graph_token: None
) -> None:
    router.get(f"{BASE}{CONFIGURATIONS}").mock(return_value=httpx.Response(200, json={"value": {"id": ANN}}))
    fake_for(teams_document(), router)
    exported = tmp_path / "export.json"
    assert main(["export", "--output", str(exported), "--graph-url", BASE]) == 0
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert "userConfigurations" not in document
    assert "policies" not in document
    assert load_snapshot(exported).teams_users is None
