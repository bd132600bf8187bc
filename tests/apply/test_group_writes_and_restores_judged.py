"""Group license writes meet prune's reach and a saved plan's re-judgement like user changes; a seat that a change
which also adds frees (a swap, a restore) is promised to no other add, since the executor may write that add first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from teamslicensing.cli import main
from tests.planner.test_plans import expand_tenant


def _files(tmp_path: Path, config: dict[str, Any], tenant: dict[str, Any]) -> tuple[Path, Path, dict[str, Any]]:
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    document = expand_tenant(tenant)
    (tmp_path / "t.json").write_text(json.dumps(document), encoding="utf-8")
    return tmp_path / "c.yaml", tmp_path / "t.json", document


def _holds(snapshot: Path, upn: str) -> set[str]:
    document = json.loads(snapshot.read_text(encoding="utf-8"))
    skus = {s["skuId"]: s["skuPartNumber"] for s in document["subscribedSkus"]}
    user = next(u for u in document["users"] if u["userPrincipalName"] == upn)
    return {skus[s["skuId"]] for s in user["licenseAssignmentStates"]}


def test_a_group_write_does_not_prune_a_suite_without_prune_also(tmp_path: Path) -> None:
    config = {
        "version": 1,
        "policy": {"prune": True},
        "rules": [{"name": "office", "select": {"users": ["bob@contoso.com"]}, "assign": ["SPE_E3"]}],
        "groupLicenses": [{"group": "Voice", "assign": ["MCOEV"]}],
    }
    tenant = {
        "subscribedSkus": ["SPE_E3", "MCOEV"],
        "groups": [{"name": "Voice", "members": ["amy@contoso.com"], "licenses": ["SPE_E3", "MCOEV"]}],
        "users": [
            {
                "upn": "amy@contoso.com",
                "teams": False,
                "licenses": [{"sku": "SPE_E3", "group": "Voice"}, {"sku": "MCOEV", "group": "Voice"}],
            },
            {"upn": "bob@contoso.com", "teams": False, "licenses": ["SPE_E3"]},
        ],
        "numbers": [],
    }
    config_path, snapshot, _ = _files(tmp_path, config, tenant)
    main(["apply", str(config_path), "--snapshot", str(snapshot), "--yes", "--audit-log", str(tmp_path / "a.jsonl")])
    assert "SPE_E3" in _holds(snapshot, "amy@contoso.com"), "E3 (mail, files, Teams) pruned through the group"


def test_a_saved_group_removal_is_judged_against_the_numbers_now(tmp_path: Path) -> None:
    config = {
        "version": 1,
        "policy": {"prune": True},
        "licenses": {"phone": "MCOEV", "teams": "Microsoft_Teams_Enterprise_New"},
        "rules": [
            {
                "name": "voice",
                "select": {"users": ["zoe@contoso.com"]},
                "assign": ["phone"],
                "voiceRouting": "directRouting",
            }
        ],
        "groupLicenses": [{"group": "Office", "assign": ["teams"]}],
    }
    tenant = {
        "subscribedSkus": ["MCOEV", "Microsoft_Teams_Enterprise_New"],
        "groups": [
            {"name": "Office", "members": ["amy@contoso.com"], "licenses": ["Microsoft_Teams_Enterprise_New", "MCOEV"]}
        ],
        "users": [
            {
                "upn": "amy@contoso.com",
                "teams": False,
                "licenses": [
                    {"sku": "Microsoft_Teams_Enterprise_New", "group": "Office"},
                    {"sku": "MCOEV", "group": "Office"},
                ],
            },
            {"upn": "zoe@contoso.com", "licenses": ["MCOEV"]},
        ],
        "numbers": [],
    }
    config_path, snapshot, document = _files(tmp_path, config, tenant)
    saved = tmp_path / "plan.json"
    assert main(["plan", str(config_path), "--snapshot", str(snapshot), "--out", str(saved)]) == 0
    amy = next(u for u in document["users"] if u["userPrincipalName"] == "amy@contoso.com")
    document["numberAssignments"] = [  # Teams gave Amy a number since the plan (her Phone System is the group's)
        {
            "id": "n1",
            "telephoneNumber": "+14255550123",
            "numberType": "directRouting",
            "assignmentTargetId": amy["id"],
            "assignmentStatus": "userAssigned",
            "activationState": "activated",
        }
    ]
    snapshot.write_text(json.dumps(document), encoding="utf-8")
    main(["apply", str(saved), "--snapshot", str(snapshot), "--yes", "--audit-log", str(tmp_path / "a.jsonl")])
    assert "MCOEV" in _holds(snapshot, "amy@contoso.com"), "a plan made now withholds it (PHONE_NUMBER_AT_RISK)"


def test_a_seat_freed_by_a_change_that_also_takes_one_is_not_promised_to_an_earlier_add(tmp_path: Path) -> None:
    config = {
        "version": 1,
        "policy": {"prune": True},
        "rules": [
            {"name": "intl", "select": {"users": ["zed@contoso.com"]}, "assign": ["MCOEV", "MCOPSTN2"]},
            {"name": "dom", "select": {"users": ["amy@contoso.com"]}, "assign": ["MCOEV", "MCOPSTN1"]},
        ],
    }
    tenant = {
        "subscribedSkus": [
            {"part": "MCOPSTN1", "enabled": 1},
            {"part": "MCOPSTN2", "enabled": 1, "consumed": 0},
            "MCOEV",
        ],
        "users": [
            {"upn": "zed@contoso.com", "licenses": ["MCOEV", "MCOPSTN1"]},
            {"upn": "amy@contoso.com", "licenses": ["MCOEV"]},
        ],
        "numbers": [],
    }
    config_path, snapshot, _ = _files(tmp_path, config, tenant)
    out = tmp_path / "r.json"
    main(
        [
            "apply",
            str(config_path),
            "--snapshot",
            str(snapshot),
            "--yes",
            "--audit-log",
            str(tmp_path / "a.jsonl"),
            "--format",
            "json",
            "--output",
            str(out),
        ]
    )
    result = json.loads(out.read_text(encoding="utf-8"))["result"]
    assert result["failed"] == 0, "an add was sent for Graph to refuse (no seat yet)"


def test_undo_does_not_send_a_restore_whose_seat_another_restore_frees_later(tmp_path: Path) -> None:
    # apply: amy only loses MCOPSTN1 (written first), which frees the one seat bob's swap from MCOPSTN2 takes;
    # undo turns it around: amy's restore needs the seat bob's restore (a swap back) frees only with its own write
    config = {
        "version": 1,
        "policy": {"prune": True},
        "rules": [
            {"name": "basic", "select": {"users": ["amy@contoso.com"]}, "assign": ["MCOEV"]},
            {"name": "dom", "select": {"users": ["bob@contoso.com"]}, "assign": ["MCOEV", "MCOPSTN1"]},
            {"name": "intl", "select": {"users": ["carol@contoso.com"]}, "assign": ["MCOEV", "MCOPSTN2"]},
        ],
    }
    tenant = {
        "subscribedSkus": [{"part": "MCOPSTN1", "enabled": 1}, {"part": "MCOPSTN2", "enabled": 2}, "MCOEV"],
        "users": [
            {"upn": "amy@contoso.com", "licenses": ["MCOEV", "MCOPSTN1"]},
            {"upn": "bob@contoso.com", "licenses": ["MCOEV", "MCOPSTN2"]},
            {"upn": "carol@contoso.com", "licenses": ["MCOEV", "MCOPSTN2"]},
        ],
        "numbers": [{"number": "+14255550111", "type": "directRouting", "user": "bob@contoso.com"}],
    }
    config_path, snapshot, _ = _files(tmp_path, config, tenant)
    audit = tmp_path / "a.jsonl"
    assert main(["apply", str(config_path), "--snapshot", str(snapshot), "--yes", "--audit-log", str(audit)]) == 0
    out = tmp_path / "u.json"
    main(
        [
            "undo",
            str(audit),
            "--snapshot",
            str(snapshot),
            "--yes",
            "--audit-log",
            str(tmp_path / "u.jsonl"),
            "--format",
            "json",
            "--output",
            str(out),
        ]
    )
    undone = json.loads(out.read_text(encoding="utf-8"))
    assert undone["result"]["failed"] == 0, "amy's restore refused: no seat"
    assert any(
        g["code"] == "SEAT_SHORTAGE" and g.get("userPrincipalName") == "amy@contoso.com" for g in undone["gaps"]
    ), undone


def test_a_non_ascii_digest_in_the_end_record_is_a_message_not_an_internal_error(
    example_config: Path, demo_tenant: Path, tmp_path: Path, capsys: Any
) -> None:
    saved = tmp_path / "plan.json"
    assert main(["plan", str(example_config), "--snapshot", str(demo_tenant), "--out", str(saved)]) == 0
    lines = saved.read_bytes().splitlines(keepends=True)
    end = json.loads(lines[-1])
    end["end"]["digest"] = "sha256:é"
    saved.write_bytes(b"".join(lines[:-1]) + json.dumps(end, ensure_ascii=False).encode() + b"\n")
    capsys.readouterr()
    assert main(["apply", str(saved), "--snapshot", str(demo_tenant), "--yes"]) == 1
    assert "was changed after it was saved" in capsys.readouterr().err
