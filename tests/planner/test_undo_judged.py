"""Undo meets the same judgement as a plan: seats counted, numbers judged with the inventory, nothing sent that
Graph must refuse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main
from tests.planner.test_plans import expand_tenant

CONFIG = """\
version: 1
policy: {prune: true}
rules:
  - name: voice
    select: {users: [bob@contoso.com]}
    assign: [MCOEV]
    voiceRouting: directRouting
"""
NUMBER_FOR = {
    "id": "b0b00000-0000-4000-8000-0000000000b0",
    "telephoneNumber": "+442079460099",
    "numberType": "directRouting",
    "activationState": "activated",
    "assignmentCategory": "primary",
    "assignmentStatus": "userAssigned",
    "isoCountryCode": "GB",
    "numberSource": "online",
}


def _direct(document: dict[str, Any]) -> dict[str, set[str]]:
    return {
        u["userPrincipalName"]: {s["skuId"] for s in u["licenseAssignmentStates"] if not s.get("assignedByGroup")}
        for u in document["users"]
    }


@pytest.fixture
def moved(tmp_path: Path) -> tuple[Path, Path, Path, dict[str, Any]]:
    """A run that moved the one MCOEV seat from karl (no rule gives it him any more) to bob."""
    document = expand_tenant(
        {
            "subscribedSkus": [{"part": "MCOEV", "enabled": 1}],
            "users": [{"upn": "bob@contoso.com"}, {"upn": "karl@contoso.com", "licenses": ["MCOEV"]}],
            "numbers": [],
        }
    )
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(document), encoding="utf-8")
    config = tmp_path / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    audit = tmp_path / "apply.jsonl"
    assert main(["apply", str(config), "--snapshot", str(snapshot), "--yes", "--audit-log", str(audit)]) == 0
    after = _direct(json.loads(snapshot.read_text(encoding="utf-8")))
    mcoev = next(s["skuId"] for s in document["subscribedSkus"] if s["skuPartNumber"] == "MCOEV")
    assert mcoev in after["bob@contoso.com"], "the seat moved"
    assert mcoev not in after["karl@contoso.com"]
    return snapshot, audit, tmp_path, document


def test_undo_of_a_moved_last_seat_writes_nothing_graph_refuses(
    moved: tuple[Path, Path, Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot, audit, folder, before = moved
    capsys.readouterr()
    undo = ["undo", str(audit), "--snapshot", str(snapshot), "--yes", "--audit-log", str(folder / "undo.jsonl")]
    assert main([*undo, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert result["failed"] == 0
    assert _direct(json.loads(snapshot.read_text(encoding="utf-8"))) == _direct(before), "both restored exactly"


def test_undo_holds_back_an_add_whose_seat_a_withheld_restore_keeps(
    moved: tuple[Path, Path, Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot, audit, folder, _ = moved
    document = json.loads(snapshot.read_text(encoding="utf-8"))
    bob = next(u for u in document["users"] if u["userPrincipalName"] == "bob@contoso.com")
    document["numberAssignments"] = [{**NUMBER_FOR, "assignmentTargetId": bob["id"]}]  # Bob got a number since
    snapshot.write_text(json.dumps(document), encoding="utf-8")
    capsys.readouterr()
    undo = ["undo", str(audit), "--snapshot", str(snapshot), "--yes", "--audit-log", str(folder / "undo.jsonl")]
    assert main([*undo, "--format", "json"]) == 3
    report = json.loads(capsys.readouterr().out)
    withheld = {(g["code"], g["userPrincipalName"]) for g in report["gaps"]}
    assert withheld == {("PHONE_NUMBER_AT_RISK", "bob@contoso.com"), ("SEAT_SHORTAGE", "karl@contoso.com")}
    assert report["changes"] == [], "karl's add is held back, not sent to be refused"
    assert report["result"] is None
    assert _direct(json.loads(snapshot.read_text(encoding="utf-8"))) == _direct(document), "nothing written"


def test_undo_refuses_another_tenants_log(
    moved: tuple[Path, Path, Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot, audit, folder, _ = moved
    document = json.loads(snapshot.read_text(encoding="utf-8"))
    lines = audit.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    header["tenantId"] = "0ther000-0000-4000-8000-000000000000"
    audit.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n", encoding="utf-8")
    capsys.readouterr()
    undo = ["undo", str(audit), "--snapshot", str(snapshot), "--yes", "--audit-log", str(folder / "undo.jsonl")]
    assert main(undo) == 1
    assert "records runs against tenant 0ther000-0000-4000-8000-000000000000" in capsys.readouterr().err
    assert json.loads(snapshot.read_text(encoding="utf-8")) == document, "nothing written"
