"""`teams-licensing init`: a starting configuration from what the tenant holds, whose plan changes nobody."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from benchmarks.adoption_tenant import COMBOS, Expected, write_adoption_snapshot
from teamslicensing import app
from teamslicensing.app import TenantSource
from teamslicensing.cli import main
from teamslicensing.model.tenant import Tenant
from teamslicensing.reference.catalog import Catalog

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "examples" / "contoso-tenant.json"
# Counted by hand from the demo snapshot (tests/planner/test_adoption.py lists each user and what they hold): the 12
# users holding a stand-alone voice license directly.
DEMO_HOLDERS = 12


def run_init(snapshot: Path, output: Path, *more: str) -> int:
    return main(["init", "--snapshot", str(snapshot), "--output", str(output), *more])


def planned(config: Path, snapshot: Path) -> app.PlanRun:
    return app.plan(config, TenantSource(snapshot=snapshot))


def left_out(text: str) -> dict[str, list[str]]:
    """The file's closing comment of users in no rule: reason -> the users named under it."""
    found: dict[str, list[str]] = {}
    reason = ""
    for line in text.split("# Not explained", 1)[1].splitlines()[1:] if "# Not explained" in text else []:
        if not line.startswith("#   "):
            break
        if line.startswith("#     ") and not line.startswith("#     ... and"):
            found[reason] += [name.strip() for name in line[6:].split(",")]
        elif not line.startswith("#     "):
            reason = line[4:].split(": ", 1)[1]
            found[reason] = []
    return found


def coverage(text: str) -> re.Match[str]:
    found = re.search(r"explain ([\d,]+) of ([\d,]+) voice license holders \((\d+)%\)", text)
    assert found, text
    return found


def test_init_on_the_demo_writes_a_valid_file_whose_plan_changes_nobody(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "contoso.yaml"
    assert run_init(DEMO, output) == 0
    printed = capsys.readouterr().out
    assert coverage(printed).groups() == (str(DEMO_HOLDERS), str(DEMO_HOLDERS), "100")
    assert "Plan: 0 users to change" in printed, "the plan of the written file is printed"
    app.validate(output)
    run = planned(output, DEMO)
    assert run.plan.changes == ()
    assert run.plan.is_empty
    document = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert document["policy"]["prune"] is False
    assert document["licenses"]["phoneStandard"] == "MCOEV"
    selected = [group for rule in document["rules"] for group in rule["select"].get("groups", [])]
    assert "Phone System Users" not in selected, "a group licensing its members through Entra is no rule's"


def test_the_demo_file_says_who_holds_numbers_and_what_suites_give(tmp_path: Path) -> None:
    output = tmp_path / "contoso.yaml"
    assert run_init(DEMO, output) == 0
    text = output.read_text(encoding="utf-8")
    assert "#   - alice@contoso.com   # +14255550100" in text, "number holders are listed for protectedUsers"
    assert "#   SPE_E5 (Microsoft 365 E5): 2 users" in text
    # erin and lena hold Communications Credits through Legacy Credits (the snapshot's licenseAssignmentStates)
    assert "#   Legacy Credits: 2 users" in text
    assert "prune: false" in text


def test_init_never_overwrites_a_file_unless_told(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "licensing.yaml"
    output.write_text("# mine\n", encoding="utf-8")
    assert run_init(DEMO, output) == 1
    assert "exists" in capsys.readouterr().err
    assert output.read_text(encoding="utf-8") == "# mine\n"
    assert run_init(DEMO, output, "--force") == 0
    assert run_init(DEMO, tmp_path / "missing" / "licensing.yaml") == 1
    assert "does not exist" in capsys.readouterr().err
    assert not list(tmp_path.glob("**/*.partial"))


@pytest.fixture(scope="module")
def fabrikam(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    path = tmp_path_factory.mktemp("fabrikam") / "tenant.json"
    return path, write_adoption_snapshot(path, 20_000)


def test_init_on_20000_users_explains_the_teams_and_changes_nobody(
    fabrikam: tuple[Path, Expected], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot, expected = fabrikam
    output = tmp_path / "fabrikam.yaml"
    assert run_init(snapshot, output) == 0
    explained, holders, _ = coverage(capsys.readouterr().out).groups()
    assert int(holders.replace(",", "")) == expected.holders
    assert int(explained.replace(",", "")) == expected.holders - len(expected.disabled_holders)
    run = planned(output, snapshot)
    assert run.plan.is_empty
    document = yaml.safe_load(output.read_text(encoding="utf-8"))
    rules = {rule["name"]: rule for rule in document["rules"]}
    groups = {rule["select"]["groups"][0]: rule for rule in rules.values() if rule["select"].get("groups")}
    assert len(groups) == expected.teams, "one rule per voice team's group"
    excluded = {upn for rule in groups.values() for upn in rule.get("exclude", {}).get("users", [])}
    assert excluded == expected.drift, "members who joined and were never licensed are excluded by name"
    named = {upn for rule in rules.values() for upn in rule["select"].get("users", [])}
    assert named == expected.stragglers
    assert [rule["select"] for rule in rules.values() if rule["select"].get("attributes")] == [
        {"attributes": {"department": "Dial-in Desk"}}
    ]
    (disabled,) = [names for why, names in left_out(output.read_text(encoding="utf-8")).items() if "disabled" in why]
    assert set(disabled) <= expected.disabled_holders
    assert len(disabled) == min(20, len(expected.disabled_holders)), "20 named under each reason, the rest counted"
    assert f"#   {len(expected.disabled_holders)} users: account disabled" in output.read_text(encoding="utf-8")


def test_two_groups_holding_the_same_licenses_are_two_rules_with_the_plans_that_are_off(
    fabrikam: tuple[Path, Expected], tmp_path: Path
) -> None:
    snapshot, _ = fabrikam
    output = tmp_path / "fabrikam.yaml"
    assert run_init(snapshot, output) == 0
    document = yaml.safe_load(output.read_text(encoding="utf-8"))
    by_group = {rule["select"]["groups"][0]: rule for rule in document["rules"] if rule["select"].get("groups")}
    same = [f"Voice - Team {team:03}" for team in (0, len(COMBOS))]
    assert by_group[same[0]]["assign"] == by_group[same[1]]["assign"] == ["domesticCallingPlan", "phoneStandard"]
    essentials = by_group[f"Voice - Team {COMBOS.index(('MCOTEAMS_ESSENTIALS',)):03}"]
    assert essentials["disabledPlans"] == {"phoneWithCallingPlan": ["MCOPSTN1"]}, "the calling plan stays off"


def test_holders_too_many_to_name_are_left_out_and_said(
    fabrikam: tuple[Path, Expected], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot, expected = fabrikam
    monkeypatch.setattr("teamslicensing.plan.proposal.MAX_NAMED_USERS", 10)
    output = tmp_path / "fabrikam.yaml"
    assert run_init(snapshot, output) == 0
    printed = capsys.readouterr().out
    missing = len(expected.stragglers) + len(expected.disabled_holders)
    assert f"{missing:,} not explained, kept out of every rule" in printed
    reasons = left_out(output.read_text(encoding="utf-8"))
    (why,) = [why for why in reasons if why.startswith(f"holders of phoneStandard ({len(expected.stragglers)})")]
    assert set(reasons[why]) <= expected.stragglers
    assert "too many to name (over 10)" in why
    assert planned(output, snapshot).plan.is_empty, "left out, they keep what they hold: prune is off"


def test_a_user_the_written_file_would_change_is_taken_out_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan is init's proof: if a proposal would change somebody (here one made to give carol a Calling Plan
    she lacks), init takes them out of every rule, says why, and writes the file again."""
    import dataclasses

    from teamslicensing.app import adopt
    from teamslicensing.plan import proposal as proposing

    real = proposing.propose

    def careless(tenant: Tenant, catalog: Catalog, held_out: dict[str, str] | None = None) -> proposing.Proposal:
        made = real(tenant, catalog, held_out)
        calling = next(sku.sku_id for sku in tenant.skus if sku.part_number == "MCOPSTN1")
        rules = tuple(
            dataclasses.replace(rule, assign=(*rule.assign, calling)) if "carol@contoso.com" in rule.users else rule
            for rule in made.rules
        )
        return dataclasses.replace(made, rules=rules, aliases={**made.aliases, calling: "domesticCallingPlan"})

    monkeypatch.setattr(adopt, "propose", careless)
    output = tmp_path / "contoso.yaml"
    assert run_init(DEMO, output) == 0
    printed = capsys.readouterr().out
    assert "carol@contoso.com" in printed.splitlines()[-2], "named in the coverage line"
    reasons = left_out(output.read_text(encoding="utf-8"))
    assert "carol@contoso.com" in reasons["planned, a rule would change them (add MCOPSTN1)"]
    assert planned(output, DEMO).plan.is_empty


def test_a_group_whose_name_another_group_shares_is_named_by_id(tmp_path: Path) -> None:
    """A rule selecting a shared name would select nobody (GROUP_NOT_FOUND): init names such a group by its id."""
    document = json.loads(DEMO.read_text(encoding="utf-8"))
    ursula = next(u["id"] for u in document["users"] if u["userPrincipalName"] == "ursula@contoso.com")
    audio = {"id": "90000000-0000-4000-8000-0000000000ed", "displayName": "Audio Users", "members": [ursula]}
    twin = {"id": "90000000-0000-4000-8000-0000000000ee", "displayName": "Audio Users", "members": []}
    document["groups"] += [audio, twin]
    snapshot, output = tmp_path / "tenant.json", tmp_path / "contoso.yaml"
    snapshot.write_text(json.dumps(document), encoding="utf-8")
    assert run_init(snapshot, output) == 0
    rules = yaml.safe_load(output.read_text(encoding="utf-8"))["rules"]
    (chosen,) = [rule for rule in rules if rule["select"].get("groups")]
    assert chosen["select"]["groups"] == [audio["id"]]
    run = planned(output, snapshot)
    assert run.plan.is_empty
    assert not [gap for gap in run.plan.gaps if gap.code.value == "GROUP_NOT_FOUND"]


def test_the_how_to_shows_the_coverage_line_init_prints_on_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (ROOT / "docs" / "how-to" / "adopt-an-existing-tenant.md").read_text(encoding="utf-8")
    (shown,) = [line for line in page.splitlines() if line.startswith("init: ")]
    assert run_init(DEMO, tmp_path / "contoso.yaml") == 0
    assert shown in capsys.readouterr().out.splitlines()


def test_a_proposal_that_never_stops_changing_somebody_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault in init (here: every rule made to give a Calling Plan nobody holds) ends the rounds with exit 1, the
    admin's file untouched and no trial file left behind."""
    import dataclasses

    from teamslicensing.app import adopt
    from teamslicensing.plan import proposal as proposing

    real = proposing.propose

    def faulty(tenant: Tenant, catalog: Catalog, held_out: dict[str, str] | None = None) -> proposing.Proposal:
        made = real(tenant, catalog, {})  # forgets whom it was told to leave out
        calling = next(sku.sku_id for sku in tenant.skus if sku.part_number == "MCOPSTN1")
        rules = tuple(dataclasses.replace(rule, assign=(*rule.assign, calling)) for rule in made.rules)
        return dataclasses.replace(made, rules=rules, aliases={**made.aliases, calling: "domesticCallingPlan"})

    monkeypatch.setattr(adopt, "propose", faulty)
    output = tmp_path / "contoso.yaml"
    output.write_text("# mine\n", encoding="utf-8")
    assert run_init(DEMO, output, "--force") == 1
    assert "nothing was written" in capsys.readouterr().err
    assert output.read_text(encoding="utf-8") == "# mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contoso.yaml"]
