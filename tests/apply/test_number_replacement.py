"""A `numbers` row that replaces a user's number, applied against the fake Graph: the old number is freed only just
before the new one is sent, after the licenses; if the new one waits or is refused, the user keeps (or gets back)
the old one; undo of such a run leaves the number alone. Never a user left with no number by a row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import respx

from teamslicensing.cli import main
from tests.support.faults import BASE, fake_for
from tests.support.rollout import MCOEV, state, user_id
from tests.support.teamstenant import number
from tests.support.voicerollout import CONFIG, LOCATION, holders, us_number, voice_document

OLD = "+14255558000"  # user 0's Direct Routing number, with an emergency location


@pytest.fixture(autouse=True)
def bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", "test-token-not-a-secret")
    monkeypatch.delenv("TEAMS_LICENSING_GRAPH_URL", raising=False)


def replacing(tmp_path: Path, location: str = LOCATION) -> tuple[dict[str, Any], Path]:
    """User 0 holds Phone System and OLD; the rule adds a Calling Plan and a row gives them US number 0."""
    document = voice_document(us=1, gb=0)
    user = document["users"][0]
    user["assignedLicenses"] = [{"skuId": MCOEV, "disabledPlans": []}, *user["assignedLicenses"]]
    user["licenseAssignmentStates"] = [state(MCOEV), *user["licenseAssignmentStates"]]
    document["numberAssignments"].append(number(OLD, "directRouting", "US", user["id"], locationId=LOCATION))
    config = tmp_path / "licensing.yaml"
    row = f"{{userPrincipalName: {user['userPrincipalName']}, telephoneNumber: '{us_number(0)}', "
    row += f"numberType: callingPlan, locationId: '{location}'}}"
    config.write_text(f"{CONFIG}numbers:\n  rows:\n    - {row}\n", encoding="utf-8")
    return document, config


def apply(config: Path, audit: Path, out: Path) -> int:
    args = ["apply", str(config), "--yes", "--audit-log", str(audit), "--format", "json", "--output", str(out)]
    return main([*args, "--graph-url", BASE])


def intents(audit: Path) -> list[tuple[str, str]]:
    found = []
    for line in audit.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("type") == "intent":
            teams = record.get("teams") or {}
            found.append((str(record["kind"]), str(teams.get("telephoneNumber", ""))))
    return found


def test_the_old_number_is_freed_just_before_the_new_one_after_the_licenses(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    document, config = replacing(tmp_path)
    fake = fake_for(document, router)
    audit = tmp_path / "a.jsonl"
    assert apply(config, audit, tmp_path / "r.json") == 0
    held = holders(fake.document())
    assert held[us_number(0)] == user_id(0)
    assert held[OLD] is None
    kinds = [kind for kind, _ in intents(audit) if kind != "policyAssign"]
    assert kinds == ["licenses", "numberUnassign", "numberAssign"], "freed after the license, before the new number"
    second = tmp_path / "b.jsonl"
    assert apply(config, second, tmp_path / "r2.json") == 0
    assert not second.exists() or intents(second) == [], "a second run has nothing to do"


def test_a_new_number_that_waits_for_its_license_leaves_the_old_one_held(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    document, config = replacing(tmp_path)
    fake = fake_for(document, router, teams_provisioning_lag=40)
    audit = tmp_path / "a.jsonl"
    assert apply(config, audit, tmp_path / "r.json") == 4
    held = holders(fake.document())
    assert held[OLD] == user_id(0), "the old number stays until the new one can be given"
    assert held[us_number(0)] is None
    assert "numberUnassign" not in [kind for kind, _ in intents(audit)], "Teams was asked first, not refused"
    (result,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["result"]["users"]
    assert result["status"] == "notAttempted"
    assert "NUMBER_WAITS_FOR_LICENSE" in result["reason"]


def test_a_refused_new_number_gives_the_old_one_back_and_undo_leaves_it(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    document, config = replacing(tmp_path, location="9e000000-0000-4000-8000-00000000dead")  # no such location
    fake = fake_for(document, router)
    audit, out = tmp_path / "a.jsonl", tmp_path / "r.json"
    assert apply(config, audit, out) == 1
    held = holders(fake.document())
    assert held[OLD] == user_id(0)
    assert held[us_number(0)] is None
    located = [n for n in fake.document()["numberAssignments"] if n["telephoneNumber"] == OLD]
    assert located[0]["locationId"] == LOCATION, "given back with the emergency location it had"
    (result,) = json.loads(out.read_text(encoding="utf-8"))["result"]["users"]
    assert result["status"] == "failed"
    assert f"{OLD}, which it replaced, was given back" in result["reason"]
    assert [n for _, n in intents(audit) if n] == [OLD, us_number(0), OLD], "freed, refused new, given back"
    undo_out = tmp_path / "undo.json"
    undo = ["undo", str(audit), "--yes", "--format", "json", "--output", str(undo_out), "--graph-url", BASE]
    undo += ["--audit-log", str(tmp_path / "undo.jsonl")]
    assert main(undo) == 0
    assert holders(fake.document())[OLD] == user_id(0), "undo has nothing to do with a number given back"
    undo_log = tmp_path / "undo.jsonl"
    assert not undo_log.exists() or not [n for _, n in intents(undo_log) if n]
