"""Reading a tenant snapshot: Graph's JSON in, slim tenant types out, malformed files refused with a clear error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.errors import SnapshotError
from teamslicensing.model.capability import Capability
from teamslicensing.tenant.snapshot import load_snapshot, parse_snapshot

MCOEV = "e43b5b99-8dfb-405f-9987-dc307f34bcbd"
MCOPSTN1 = "0dab259f-bf13-4952-b7f8-7db8f131b28d"
GROUP = "6f0d8b5c-0000-4000-8000-000000000001"


def document(users: list[dict[str, Any]], groups: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "subscribedSkus": [
            {
                "skuId": MCOEV.upper(),
                "skuPartNumber": "MCOEV ",
                "capabilityStatus": "Enabled",
                "consumedUnits": 3,
                "prepaidUnits": {"enabled": 10, "suspended": 0, "warning": 0},
                "servicePlans": [{"servicePlanId": "4828C8EC-DC2E-4779-B502-87AC9CE28AB7", "servicePlanName": "MCOEV"}],
            }
        ],
        "users": users,
        "groups": groups or [],
    }


def test_subscribed_sku_becomes_seats_and_classified_plans() -> None:
    tenant = parse_snapshot(document([]), "t.json")
    (sku,) = tenant.skus
    assert sku.sku_id == MCOEV
    assert sku.part_number == "MCOEV"
    assert (sku.enabled, sku.consumed, sku.available) == (10, 3, 7)
    assert sku.capabilities == {Capability.PHONE_SYSTEM}
    assert tenant.sku_by_id[MCOEV] is sku


def test_license_states_tell_direct_from_inherited() -> None:
    user = {
        "id": "A1",
        "userPrincipalName": "ann@contoso.com",
        "accountEnabled": True,
        "usageLocation": "us",
        "assignedLicenses": [{"skuId": MCOEV, "disabledPlans": []}],
        "licenseAssignmentStates": [
            {"skuId": MCOEV, "disabledPlans": [], "assignedByGroup": None, "state": "Active", "error": "None"},
            {"skuId": MCOEV, "disabledPlans": ["X"], "assignedByGroup": GROUP, "state": "Active", "error": None},
            {
                "skuId": MCOPSTN1,
                "disabledPlans": [],
                "assignedByGroup": GROUP,
                "state": "Error",
                "error": "DependencyViolation",
            },
        ],
    }
    (ann,) = parse_snapshot(document([user]), "t.json").users
    assert ann.id == "a1"
    assert ann.usage_location == "US"
    assert ann.direct_licenses() == {MCOEV: frozenset()}
    assert set(ann.inherited_licenses()) == {MCOEV, MCOPSTN1}
    errored = ann.inherited_licenses()[MCOPSTN1]
    assert (errored.error, errored.grants_plans) == ("DependencyViolation", False)
    assert ann.inherited_licenses()[MCOEV].error is None


def test_without_license_states_assigned_licenses_count_as_direct() -> None:
    user = {
        "id": "b",
        "userPrincipalName": "ben@contoso.com",
        "assignedLicenses": [{"skuId": MCOEV, "disabledPlans": ["P"]}],
    }
    (ben,) = parse_snapshot(document([user]), "t.json").users
    assert ben.direct_licenses() == {MCOEV: frozenset({"p"})}
    assert ben.account_enabled is True


def test_only_the_attributes_rules_use_are_kept() -> None:
    user = {
        "id": "c",
        "userPrincipalName": "cy@contoso.com",
        "department": "Sales",
        "jobTitle": "Manager",
        "onPremisesExtensionAttributes": {"extensionAttribute3": "VOICE", "extensionAttribute4": None},
    }
    (cy,) = parse_snapshot(
        document([user]), "t.json", {"department", "extensionAttribute3", "extensionAttribute4"}
    ).users
    assert dict(cy.attributes) == {"department": "Sales", "extensionAttribute3": "VOICE"}
    (bare,) = parse_snapshot(document([dict(user)]), "t.json").users
    assert dict(bare.attributes) == {}


def test_group_members_share_user_ids() -> None:
    users = [{"id": "U1", "userPrincipalName": "u1@contoso.com"}]
    tenant = parse_snapshot(document(users, [{"id": GROUP, "displayName": "Voice", "members": ["U1"]}]), "t.json")
    (group,) = tenant.groups
    assert group.members == {"u1"}
    assert next(iter(group.members)) is tenant.users[0].id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "expected an object with subscribedSkus, users and groups"),
        ('{"users": [], "groups": []}', "missing 'subscribedSkus'"),
        ('{"subscribedSkus": {}, "users": [], "groups": []}', "'subscribedSkus' must be a list"),
        (
            '{"subscribedSkus": [], "users": [{"id": 5, "userPrincipalName": "x"}], "groups": []}',
            "users[0] (x): 'id' must be a string",
        ),
        (
            '{"subscribedSkus": [{"skuPartNumber": "MCOEV"}], "users": [], "groups": []}',
            "subscribedSkus[0] (MCOEV): missing 'skuId'",
        ),
        ('{"subscribedSkus": [], "users": [], "groups": [{"id": "g", "members": "u1"}]}', "'members' must be a list"),
        ('{"subscribedSkus": [], "users": [], "groups": [], "usres": []}', "unknown top-level keys: usres"),
        (
            '{"subscribedSkus": [], "groups": [], "users": '
            '[{"id": "a", "userPrincipalName": "a"}, {"id": "A", "userPrincipalName": "b"}]}',
            "users: id a appears more than once",
        ),
        ('{"subscribedSkus": [', "invalid JSON"),
    ],
)
def test_malformed_snapshots_are_refused_with_the_reason(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tenant.json"
    path.write_text(content)
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(path)
    assert message in str(caught.value)
    assert str(caught.value).endswith("nothing was changed.")


def test_every_bad_user_is_reported_not_just_the_first(tmp_path: Path) -> None:
    users = [{"id": f"u{n}"} for n in range(3)]
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(document(users)))
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(path)
    assert [p.message.split(":")[0] for p in caught.value.problems] == [
        "users[0] (u0)",
        "users[1] (u1)",
        "users[2] (u2)",
    ]


def test_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="cannot read file"):
        load_snapshot(tmp_path / "nope.json")


def test_the_demo_tenant_parses(demo_tenant: Path) -> None:
    tenant = load_snapshot(demo_tenant, {"jobTitle", "department", "employeeType"})
    assert len(tenant.users) == 28
    assert {g.display_name for g in tenant.groups} >= {"Voice - Sales", "Contractors"}


def test_the_demo_shows_a_resource_account_whose_calling_plan_number_needs_pay_as_you_go(
    demo_tenant: Path, example_config: Path
) -> None:
    """The case common since 2025-11: a call queue holding a Calling Plan service number and only the Resource
    Account license, which no license-based check can see."""
    from teamslicensing.config import load_desired_state
    from teamslicensing.plan import plan
    from teamslicensing.reference.availability import load_availability

    desired = load_desired_state(example_config)
    tenant = load_snapshot(demo_tenant, desired.selected_attributes)
    (number,) = tenant.numbers_by_user["5e1f0000-0000-4000-8000-000000000028"]
    assert number.is_calling_plan_service_number
    gaps = plan(desired, tenant, load_availability()).gaps
    (gap,) = [
        g
        for g in gaps
        if g.code.value == "RESOURCE_ACCOUNT_NEEDS_PAYG" and g.user_principal_name == "cq-sales@contoso.com"
    ]
    assert "+14255550152" in gap.message


def test_a_snapshot_names_its_cloud_and_gcc_high_gets_no_calling_plan(tmp_path: Path) -> None:
    from teamslicensing.config import load_desired_state
    from teamslicensing.plan import plan

    document: dict[str, Any] = {"cloud": "usgov", "subscribedSkus": [], "users": [], "groups": []}
    assert parse_snapshot(document, "t.json").cloud == "usgov"
    assert parse_snapshot({k: v for k, v in document.items() if k != "cloud"}, "t.json").cloud == "global"
    with pytest.raises(SnapshotError, match="'cloud' is 'azure'"):
        parse_snapshot({**document, "cloud": "azure"}, "t.json")
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\nrules:\n  - {name: calling, select: {users: [a@contoso.com]}, assign: [MCOPSTN1]}\n")
    gaps = plan(load_desired_state(config), parse_snapshot(document, "t.json")).gaps
    assert any("no Calling Plans in GCC High or DoD" in gap.message for gap in gaps)


def test_a_snapshot_over_the_size_read_whole_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from teamslicensing.cli import main
    from teamslicensing.tenant import snapshot

    big = tmp_path / "big.json"
    big.write_text('{"users": [' + ",".join(["{}"] * 400_000) + "]}", encoding="utf-8")  # 1.2 MB
    monkeypatch.setattr(snapshot, "MAX_SNAPSHOT_BYTES", 2**20)
    config = Path(__file__).resolve().parents[2] / "config" / "licensing.yaml"
    assert main(["plan", str(config), "--snapshot", str(big)]) == 1
    err = capsys.readouterr().err
    assert "the snapshot is 1 MB, over the 1 MB this tool reads (a snapshot is read whole" in err
    assert "Traceback" not in err
