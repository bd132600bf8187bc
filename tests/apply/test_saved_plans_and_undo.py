"""Saved plans (`plan --out`, `apply PLANFILE`) and `undo AUDIT_LOG`, end to end on snapshot copies of the demo."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main
from tests.support import planfiles

DEMO_TENANT_ID = "c0ffee00-0000-4000-8000-000000000001"


@pytest.fixture
def tenant(demo_tenant: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tenant.json"
    shutil.copyfile(demo_tenant, copy)
    return copy


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def direct(document: dict[str, Any]) -> dict[str, set[tuple[str, tuple[str, ...]]]]:
    """upn -> its direct assignments (sku, disabled plans)."""
    return {
        user["userPrincipalName"]: {
            (s["skuId"], tuple(sorted(s.get("disabledPlans") or [])))
            for s in user.get("licenseAssignmentStates") or []
            if s.get("assignedByGroup") is None
        }
        for user in document["users"]
    }


def plan_changes(config: Path, tenant: Path, tmp_path: Path) -> list[dict[str, Any]]:
    out = tmp_path / "check.json"
    main(["plan", str(config), "--snapshot", str(tenant), "--format", "json", "--output", str(out)])
    changes: list[dict[str, Any]] = load(out)["changes"]
    return changes


def test_a_saved_plan_is_applied_exactly_without_the_configuration(
    example_config: Path, tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "plan.json"
    assert main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(saved)]) == 0
    head = planfiles.header(saved)
    assert head["teamsLicensingPlan"] == 2
    assert head["config"]["digest"].startswith("sha256:")
    assert head["policy"]["allowNumberLoss"] is False, "the configuration's whole policy is recorded"
    planned = {c["userPrincipalName"] for c in planfiles.changes(saved)}
    assert all(r["basis"]["licenses"] is not None for r in planfiles.records(saved) if "change" in r)
    assert planfiles.end(saved)["digest"].startswith("sha256:")
    status = main(["apply", str(saved), "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "a")])
    assert status == 3, "applied; the demo's error-severity gaps remain"
    assert f"Apply: {len(planned)} applied, 0 failed" in capsys.readouterr().err
    assert plan_changes(example_config, tenant, tmp_path) == []


def test_a_user_changed_since_the_plan_is_stale_and_not_written(
    example_config: Path, tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "plan.json"
    main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(saved)])
    changed = load(tenant)
    carol = next(u for u in changed["users"] if u["userPrincipalName"] == "carol@contoso.com")
    carol["usageLocation"] = "DE"  # someone edited her after the review
    tenant.write_text(json.dumps(changed), encoding="utf-8")
    before = direct(changed)
    status = main(["apply", str(saved), "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert status == 4, "partial: run again (a fresh plan)"
    assert "STALE carol@contoso.com: " in err
    assert "usage location changed since the plan was made" in err
    after = direct(load(tenant))
    assert after["carol@contoso.com"] == before["carol@contoso.com"], "a stale user is not written"
    assert after["bob@contoso.com"] != before["bob@contoso.com"], "everyone else is"


def test_a_saved_plan_for_another_tenant_or_too_old_is_refused(
    example_config: Path, tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "plan.json"
    main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(saved)])
    original = tenant.read_bytes()
    other = load(tenant) | {"tenantId": DEMO_TENANT_ID}
    tenant.write_text(json.dumps(other), encoding="utf-8")
    assert main(["apply", str(saved), "--snapshot", str(tenant), "--yes"]) == 1
    assert "was made for tenant unknown" in capsys.readouterr().err
    tenant.write_bytes(original)
    old = planfiles.records(saved)
    old[0]["createdAt"] = (datetime.now(timezone.utc) - timedelta(days=2)).isoformat(timespec="seconds")
    planfiles.reseal(saved, old)
    assert main(["apply", str(saved), "--snapshot", str(tenant), "--yes", "--max-age", "24h"]) == 1
    assert "more than --max-age" in capsys.readouterr().err
    assert tenant.read_bytes() == original


def test_the_configured_tenant_id_refuses_another_tenant(
    example_config: Path, tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text(
        example_config.read_text(encoding="utf-8").replace("version: 1", f"version: 1\ntenantId: {DEMO_TENANT_ID}", 1)
    )
    assert main(["plan", str(config), "--snapshot", str(tenant)]) == 1
    assert "could not be identified" in capsys.readouterr().err
    other = DEMO_TENANT_ID.replace("c0ffee00", "deadbeef")
    tenant.write_text(json.dumps(load(tenant) | {"tenantId": other}), encoding="utf-8")
    assert main(["plan", str(config), "--snapshot", str(tenant)]) == 1
    assert "the connection reached deadbeef" in capsys.readouterr().err
    tenant.write_text(json.dumps(load(tenant) | {"tenantId": DEMO_TENANT_ID}), encoding="utf-8")
    assert main(["plan", str(config), "--snapshot", str(tenant)]) == 0


def test_undo_restores_every_users_licenses_from_the_audit_log(
    example_config: Path, tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = direct(load(tenant))
    audit = tmp_path / "apply.jsonl"
    assert main(["apply", str(example_config), "--snapshot", str(tenant), "--yes", "--audit-log", str(audit)]) == 3
    applied = direct(load(tenant))
    assert applied != original
    capsys.readouterr()
    # the demo's number inventory shows that none of the users the run changed holds a number: no flag needed
    some = ["--user", "bob@contoso.com", "--user", "grace@contoso.com", "--user", "olivia@contoso.com"]
    first = ["undo", str(audit), "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "u1.jsonl")]
    assert main([*first, *some, "--format", "github"]) == 0
    assert "PHONE_NUMBER_AT_RISK" not in capsys.readouterr().out
    now = direct(load(tenant))
    assert now["grace@contoso.com"] == original["grace@contoso.com"], "her calling-plan swap is swapped back"
    assert now["olivia@contoso.com"] == original["olivia@contoso.com"]
    assert now["bob@contoso.com"] == original["bob@contoso.com"]
    everyone = ["undo", str(audit), "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "u2.jsonl")]
    assert main(everyone) == 0
    assert direct(load(tenant)) == original, "every user's direct licenses as before the apply"
    assert plan_changes(example_config, tenant, tmp_path) != [], "the original tenant plans its changes again"


def test_undo_withholds_a_restore_that_takes_a_number_the_inventory_shows(
    example_config: Path, tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = tmp_path / "apply.jsonl"
    main(["apply", str(example_config), "--snapshot", str(tenant), "--yes", "--audit-log", str(audit)])
    given = load(tenant)
    bob = next(u for u in given["users"] if u["userPrincipalName"] == "bob@contoso.com")
    given["numberAssignments"].append(  # Teams gave Bob a number once his Calling Plan arrived
        {
            "id": "b0b00000-0000-4000-8000-0000000000b0",
            "telephoneNumber": "+14255550177",
            "numberType": "callingPlan",
            "activationState": "activated",
            "assignmentTargetId": bob["id"],
            "assignmentCategory": "primary",
            "assignmentStatus": "userAssigned",
            "isoCountryCode": "US",
            "numberSource": "online",
        }
    )
    tenant.write_text(json.dumps(given), encoding="utf-8")
    applied = direct(given)
    capsys.readouterr()
    base = ["undo", str(audit), "--snapshot", str(tenant), "--yes", "--format", "github"]
    assert main([*base, "--audit-log", str(tmp_path / "u1.jsonl")]) == 3, "a withheld restore is not a clean undo"
    out = capsys.readouterr().out
    assert "::error title=PHONE_NUMBER_AT_RISK::bob@contoso.com" in out
    assert "+14255550177" in out
    assert direct(load(tenant))["bob@contoso.com"] == applied["bob@contoso.com"]
    assert main([*base, "--allow-number-loss", "--audit-log", str(tmp_path / "u2.jsonl")]) == 0
    assert direct(load(tenant))["bob@contoso.com"] != applied["bob@contoso.com"]


def test_undo_skips_users_changed_since_and_names_unknown_users(
    example_config: Path, tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = tmp_path / "apply.jsonl"
    main(["apply", str(example_config), "--snapshot", str(tenant), "--yes", "--audit-log", str(audit)])
    changed = load(tenant)
    karl = next(u for u in changed["users"] if u["userPrincipalName"] == "karl@contoso.com")
    karl["licenseAssignmentStates"] = []  # an admin cleared Karl by hand afterwards
    karl["assignedLicenses"] = []
    tenant.write_text(json.dumps(changed), encoding="utf-8")
    capsys.readouterr()
    base = ["undo", str(audit), "--snapshot", str(tenant), "--yes", "--allow-number-loss"]
    assert main([*base, "--user", "nobody@contoso.com"]) == 1
    assert "records no applied write for: nobody@contoso.com" in capsys.readouterr().err
    status = main([*base, "--user", "karl@contoso.com", "--audit-log", str(tmp_path / "u.jsonl")])
    err = capsys.readouterr().err
    assert status == 4
    assert "STALE karl@contoso.com: licenses changed since the audited run" in err
    assert direct(load(tenant))["karl@contoso.com"] == set()


def test_a_user_disabled_since_the_plan_is_stale(
    example_config: Path, tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "plan.json"
    main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(saved)])
    changed = load(tenant)
    bob = next(u for u in changed["users"] if u["userPrincipalName"] == "bob@contoso.com")
    bob["accountEnabled"] = False  # he left after the review: a fresh plan would skip him
    tenant.write_text(json.dumps(changed), encoding="utf-8")
    assert main(["apply", str(saved), "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "a")]) == 4
    assert "STALE bob@contoso.com: account status changed" in capsys.readouterr().err
    assert direct(load(tenant))["bob@contoso.com"] == direct(changed)["bob@contoso.com"]


def test_a_saved_plan_applied_in_waves_finishes_without_calling_its_own_work_stale(
    example_config: Path, tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "plan.json"
    main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(saved)])
    total = len(planfiles.changes(saved))
    base = ["apply", str(saved), "--snapshot", str(tenant), "--yes"]
    assert main([*base, "--limit", "3", "--audit-log", str(tmp_path / "1")]) == 4
    capsys.readouterr()
    assert main([*base, "--audit-log", str(tmp_path / "2")]) == 3, "the rest; the demo's error gaps remain"
    line = next(x for x in capsys.readouterr().err.splitlines() if x.startswith("Apply: "))
    assert f"{total - 3} applied, 0 failed, 3 already in sync" in line
    assert "stale" not in line
    assert plan_changes(example_config, tenant, tmp_path) == []


def test_undo_restores_the_state_before_the_first_applied_write_not_before_a_refused_one(tmp_path: Path) -> None:
    from teamslicensing.apply.journal import read_journal

    sku_a, sku_b, plan = "a" * 8 + "-0000-4000-8000-000000000001", "b" * 8 + "-0000-4000-8000-000000000002", "p1"

    def intent(run: str, seq: int, before: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
        return {
            "audit": 2,
            "runId": run,
            "type": "intent",
            "seq": seq,
            "userId": "U1",
            "userPrincipalName": "u@x",
            "kind": "licenses",
            "request": {"method": "POST", "url": "/users/U1/assignLicense", "body": body},
            "before": {"usageLocation": "US", "licenses": before},
        }

    def result(run: str, seq: int, status: int, trustworthy: bool = True) -> dict[str, Any]:
        return {
            "audit": 2,
            "runId": run,
            "type": "result",
            "seq": seq,
            "userId": "U1",
            "kind": "licenses",
            "status": status,
            "trustworthy": trustworthy,
        }

    add_b: dict[str, Any] = {"addLicenses": [{"skuId": sku_b, "disabledPlans": []}], "removeLicenses": []}
    held: list[dict[str, Any]] = [{"skuId": sku_a, "disabledPlans": [], "assignedByGroup": None}]
    admin_changed: list[dict[str, Any]] = [{"skuId": sku_a, "disabledPlans": [plan], "assignedByGroup": None}]
    records = [
        intent("r1", 1, held, add_b),
        result("r1", 1, 400),  # refused: not the tool's doing
        intent("r2", 1, admin_changed, add_b),
        result("r2", 1, 200),
        intent("r3", 1, admin_changed, {"addLicenses": [], "removeLicenses": [sku_a]}),
        result("r3", 1, 0, False),
    ]
    log = tmp_path / "audit.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"audit": 2, "type": "res', encoding="utf-8")
    (user,) = read_journal(log).users
    assert user.before == {sku_a: frozenset({plan})}, "the state the tool found when it first changed the user"
    assert user.after == {sku_a: frozenset({plan}), sku_b: frozenset()}
    assert user.possible_after == {sku_b: frozenset()}, "the unanswered removal may have happened"


def test_appending_to_a_log_cut_short_keeps_it_readable(example_config: Path, tenant: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_text('{"audit": 2, "type": "header"}\n{"audit": 2, "type": "inte', encoding="utf-8")  # a crash
    base = ["apply", str(example_config), "--snapshot", str(tenant), "--yes", "--audit-log", str(log)]
    assert main([*base, "--append-audit"]) == 3
    undo = ["undo", str(log), "--snapshot", str(tenant), "--yes", "--allow-number-loss"]
    assert main([*undo, "--audit-log", str(tmp_path / "undo.jsonl")]) == 0


def test_a_damaged_line_inside_a_log_is_named_not_skipped(tmp_path: Path) -> None:
    from teamslicensing.apply.journal import read_journal
    from teamslicensing.errors import UsageError

    log = tmp_path / "audit.jsonl"
    log.write_text('{"audit": 2, "type": "header"}\nnot json\n{"audit": 2, "type": "end"}\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"audit.jsonl:2: not an audit record"):
        read_journal(log)
