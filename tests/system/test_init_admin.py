"""Review 27e: `teams-licensing init` read as an admin adopting it on a real tenant. Each test states what the
how-to page or the written file promises, and fails where init does otherwise (on 2b621ba)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import respx
import yaml

from benchmarks.adoption_tenant import write_adoption_snapshot
from teamslicensing.cli import main
from teamslicensing.model.plan import Severity
from tests.support.faults import BASE, fake_for
from tests.system.test_init_edges import _subscribed, group, init, planned, snapshot, user

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "examples" / "contoso-tenant.json"
PHONE_SYSTEM_USERS = "9a000000-0000-4000-8000-0000000000a8"  # the demo's group giving Teams Phone through Entra
MCOEV = "e43b5b99-8dfb-405f-9987-dc307f34bcbd"
RESOURCE_ACCOUNT = "440eaaa8-b3e0-484b-a8be-62870b9ba70a"  # PHONESYSTEM_VIRTUALUSER


def _next_command(out: str) -> list[str]:
    line = next(line for line in out.splitlines() if "Next: " in line)
    return shlex.split(line.split("Next: ", 1)[1])


def test_init_works_on_a_tenant_holding_a_voice_sku_the_catalogue_does_not_know(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Microsoft adds SKUs; the catalogue is a copy. init writes the SKU's part number, which the loader refuses
    ("unknown license ... not a skuPartNumber ... of Microsoft's catalogue"), so init ends with exit 1, blaming
    "configuration" at a line of a `.partial.yaml` the admin never wrote and that no longer exists. The loader
    accepts the same SKU by skuId."""
    new = _subscribed("MCOEV") | {"skuId": "11111111-2222-4333-8444-555555555555", "skuPartNumber": "MCOEV_NEW"}
    users = [user(n, held=("SPE_E3",)) for n in range(3)]
    for one in users:
        held = {"skuId": new["skuId"], "disabledPlans": []}
        one["assignedLicenses"].append(held)
        one["licenseAssignmentStates"].append({**held, "assignedByGroup": None, "state": "Active", "error": "None"})
    snap = tmp_path / "tenant.json"
    snap.write_text(json.dumps({"users": users, "groups": [], "subscribedSkus": [_subscribed("SPE_E3"), new]}))
    output = tmp_path / "licensing.yaml"
    rc = init(snap, output)
    assert ".partial" not in capsys.readouterr().err, "an error in a file the admin never saw"
    assert rc == 0
    assert planned(output, snap).plan.changes == ()


def test_a_group_rule_excludes_no_more_than_three_percent_of_its_group(tmp_path: Path) -> None:
    """How-to: "A group is used only if such members are at most 3% of it". outsiders_allowed() allows at least
    one, so a two-member project group becomes the rule for its one holder, excluding the other half. The next
    person added to the project then gets Teams Phone and a Calling Plan."""
    users = [user(1), user(2, held=("SPE_E3",))]
    snap = snapshot(tmp_path / "tenant.json", users, [group(1, "Project Falcon", [1, 2])])
    output = tmp_path / "licensing.yaml"
    assert init(snap, output) == 0
    document = yaml.safe_load(output.read_text(encoding="utf-8"))
    tenant_groups = {"Project Falcon": 2}
    for rule in document["rules"]:
        for name in rule["select"].get("groups", []):
            excluded = len((rule.get("exclude") or {}).get("users", []))
            assert excluded <= 0.03 * tenant_groups[name], f"{rule['name']} excludes {excluded} of {name}"


def test_a_user_who_joins_a_group_the_demo_file_selects_is_not_given_a_resource_account_license(
    tmp_path: Path,
) -> None:
    """The demo file turns 'Phone System Users' (a one-member group that gives Teams Phone through Entra) into a
    rule assigning the Teams Phone Resource Account license, because its one member, cq-legacy, holds one. When
    Heidi joins the group to get Teams Phone, the file's next plan wants her to hold a resource-account license
    (withheld only because of an error gap)."""
    output = tmp_path / "licensing.yaml"
    assert init(DEMO, output) == 0
    document = json.loads(DEMO.read_text(encoding="utf-8"))
    heidi = next(u for u in document["users"] if u["userPrincipalName"] == "heidi@contoso.com")
    next(g for g in document["groups"] if g["id"] == PHONE_SYSTEM_USERS)["members"].append(heidi["id"])
    given = {"skuId": MCOEV, "disabledPlans": []}
    heidi["assignedLicenses"].append(given)
    heidi["licenseAssignmentStates"].append(
        {**given, "assignedByGroup": PHONE_SYSTEM_USERS, "state": "Active", "error": "None"}
    )
    joined = tmp_path / "joined.json"
    joined.write_text(json.dumps(document), encoding="utf-8")
    run = planned(output, joined)
    wanted = [
        f"{gap.code.value}: {gap.message}"
        for gap in run.plan.gaps
        if gap.severity is Severity.ERROR and gap.user_principal_name == "heidi@contoso.com"
    ]
    assert wanted == []


def test_the_demo_file_lists_the_service_numbers_of_resource_accounts(tmp_path: Path) -> None:
    """How-to: "A comment lists every user holding a phone number". The demo's auto attendant and call queues hold
    service numbers (voiceApplicationAssigned: the main line); the comment says "5 users hold phone numbers" and
    lists only userAssigned ones."""
    output = tmp_path / "licensing.yaml"
    assert init(DEMO, output) == 0
    policy = output.read_text(encoding="utf-8").split("licenses:")[0]
    for number in ("+14255550150", "+14255550151", "+14255550152"):
        assert number in policy


def test_a_disabled_resource_account_is_said_to_be_one(tmp_path: Path) -> None:
    """Teams creates resource accounts as disabled user objects (Microsoft: "A resource account is a disabled user
    object"), so on a real tenant every auto attendant and call queue account is left out as "account disabled:
    the planner leaves it alone", a reason written for leavers. The admin is not told these are resource accounts,
    nor that includeDisabledAccounts would let a rule manage them."""
    account = user(1, held=("PHONESYSTEM_VIRTUALUSER",), userPrincipalName="aa-main@contoso.example")
    account["accountEnabled"] = False
    snap = tmp_path / "tenant.json"
    skus = [_subscribed(part) for part in ("SPE_E3", "MCOEV", "MCOPSTN1", "PHONESYSTEM_VIRTUALUSER")]
    snap.write_text(json.dumps({"users": [account, user(2)], "groups": [], "subscribedSkus": skus}))
    output = tmp_path / "licensing.yaml"
    assert init(snap, output) == 0
    lines = output.read_text(encoding="utf-8").splitlines()
    named = next(n for n, line in enumerate(lines) if line.startswith("#     aa-main@"))
    assert "resource account" in lines[named - 1].lower(), lines[named - 1]


def test_the_next_command_init_prints_can_be_pasted_for_a_path_with_spaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "Teams voice"
    folder.mkdir()
    output = folder / "licensing.yaml"
    assert init(DEMO, output) == 0
    command = _next_command(capsys.readouterr().out)
    assert str(output) in command, command


@pytest.mark.usefixtures("graph_token")
def test_the_next_command_of_a_live_init_reaches_the_same_graph(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`init --graph-url URL` (or --cloud usgov, or --managed-identity-client-id) prints
    "Next: teams-licensing plan FILE": pasted, it signs in to the global cloud with the system identity."""
    snap = tmp_path / "tenant.json"
    write_adoption_snapshot(snap, 300)
    document: dict[str, Any] = json.loads(snap.read_text(encoding="utf-8"))
    fake_for(document, router)
    output = tmp_path / "licensing.yaml"
    assert main(["init", "--output", str(output), "--graph-url", BASE]) == 0
    command = _next_command(capsys.readouterr().out)
    assert "--graph-url" in command, command
