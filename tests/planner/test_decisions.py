"""Every user a rule selects or who holds a managed SKU gets one decision in the plan: what it does with them, the
rules that select them and how, and why. `explain` and `plan --user/--rule` read it; nothing works it out again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main
from teamslicensing.model.plan import Action, GapCode
from tests.planner.test_plans import CASES, load_case, run

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config" / "licensing.yaml")
DEMO = str(ROOT / "config" / "examples" / "contoso-tenant.json")


def demo_plan(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    main(["plan", CONFIG, "--snapshot", DEMO, "--format", "json"])
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def test_the_demo_s_decisions_say_what_happens_to_whom_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    decisions = {d["userPrincipalName"]: d for d in demo_plan(capsys)["decisions"]}
    carol = decisions["carol@contoso.com"]
    assert carol["action"] == "change"
    assert carol["rules"] == [{"rule": "sales-voice", "how": [{"by": "listed", "value": "carol@contoso.com"}]}]
    assert [r["code"] for r in carol["reasons"]][:1] == ["ASSIGN"]
    heidi = decisions["heidi@contoso.com"]
    assert heidi["action"] == "protected"
    assert heidi["reasons"][0]["code"] == "PROTECTED_USER_SKIPPED"
    assert {m["rule"] for m in heidi["rules"]} == {"sales-voice", "international-sales"}, "what would have applied"
    short = [d for d in decisions.values() if any(r["code"] == "SEAT_SHORTAGE" for r in d["reasons"])]
    assert short, "the demo has a user left without a seat"
    assert all(d["action"] == "withheld" for d in short)
    assert decisions["quentin@contoso.com"]["action"] == "skipped", "a disabled account"
    dave = decisions["dave@contoso.com"]
    assert dave["rules"] == [], "excluded: no rule selects him"
    assert any(r["code"] == "EXCLUDED" and "sales-voice" in r["message"] for r in dave["reasons"])


def test_the_summary_counts_the_decisions_and_changes(capsys: pytest.CaptureFixture[str]) -> None:
    document = demo_plan(capsys)
    summary = document["summary"]
    for action in Action:
        assert summary["decisions"][action.value] == sum(d["action"] == action.value for d in document["decisions"])
    assert summary["changes"] == len(document["changes"])
    assert summary["licenseAdds"] == sum(len(c["addLicenses"]) for c in document["changes"])
    assert summary["gaps"]["error"] == sum(g["severity"] == "error" for g in document["gaps"])


@pytest.mark.parametrize("who", ["carol@contoso.com", "heidi@contoso.com", "peggy@contoso.com", "dave@contoso.com"])
def test_explain_gives_the_plan_s_own_reasons(who: str, capsys: pytest.CaptureFixture[str]) -> None:
    decision = next(d for d in demo_plan(capsys)["decisions"] if d["userPrincipalName"] == who)
    assert main(["explain", CONFIG, who, "--snapshot", DEMO]) == 0
    out = capsys.readouterr().out
    assert f"Decision: {decision['action'].upper()}" in out
    for reason in decision["reasons"]:
        assert f"{reason['code']}: {reason['message']}" in out


def test_a_rule_filter_is_the_decisions_rules(capsys: pytest.CaptureFixture[str]) -> None:
    whole = demo_plan(capsys)
    members = {d["userId"] for d in whole["decisions"] if any(m["rule"] == "uk-support" for m in d["rules"])}
    main(["plan", CONFIG, "--snapshot", DEMO, "--format", "json", "--rule", "uk-support"])
    part = json.loads(capsys.readouterr().out)
    assert {d["userId"] for d in part["decisions"]} == members
    assert {c["userId"] for c in part["changes"]} == members & {c["userId"] for c in whole["changes"]}


def test_every_planner_case_decides_each_user_once_and_agrees_with_its_changes(tmp_path: Path) -> None:
    for path in CASES:
        desired, document = load_case(path, tmp_path)[1:]
        result = run(desired, document)
        ids = [d.user_id for d in result.decisions]
        assert len(ids) == len(set(ids)), path.stem
        changed = {c.user_id for c in result.changes}
        decided = {d.user_id for d in result.decisions if d.action is Action.CHANGE}
        assert decided == changed, path.stem
        for decision in result.decisions:
            codes = {r.code for r in decision.reasons}
            if decision.action is Action.WITHHELD:
                assert codes & {g.value for g in GapCode}, f"{path.stem}: {decision.user_principal_name} withheld why?"
            if decision.action is Action.PROTECTED:
                assert GapCode.PROTECTED_USER_SKIPPED.value in codes, path.stem
