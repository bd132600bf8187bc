"""`plan --user/--rule` shows only what concerns those users or rules (the plan is still computed whole), and
`explain UPN` says why a user is in or out of it. On the demo tenant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main
from tests.support import planfiles

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config" / "licensing.yaml")
DEMO = str(ROOT / "config" / "examples" / "contoso-tenant.json")


def plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["plan", CONFIG, "--snapshot", DEMO, "--format", "json", "--detailed-exitcode", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_user_and_rule_filters_show_a_part_and_keep_the_whole_plan_s_exit_code_and_seats(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, whole, _ = plan(capsys)
    users = {c["userPrincipalName"] for c in whole["changes"]}
    assert {"bob@contoso.com", "carol@contoso.com", "grace@contoso.com"} <= users
    code_one, one, err = plan(capsys, "--user", "carol@contoso.com", "--user", "BOB@contoso.com")
    assert {c["userPrincipalName"] for c in one["changes"]} == {"bob@contoso.com", "carol@contoso.com"}
    assert "Showing 2 of" in err
    assert code_one == code, "the exit code follows the whole plan"
    assert one["seats"] == whole["seats"], "seats are the whole plan's"
    assert all(g["userPrincipalName"] in (None, "bob@contoso.com", "carol@contoso.com") for g in one["gaps"])
    _, by_rule, _ = plan(capsys, "--rule", "international-sales")
    assert {c["userPrincipalName"] for c in by_rule["changes"]} <= {"grace@contoso.com", "heidi@contoso.com"}
    assert "grace@contoso.com" in {c["userPrincipalName"] for c in by_rule["changes"]}
    _, both, _ = plan(capsys, "--rule", "international-sales", "--user", "carol@contoso.com")
    assert both["changes"] == [], "both kinds: the intersection"
    saved = tmp_path / "plan.json"
    main(["plan", CONFIG, "--snapshot", DEMO, "--user", "carol@contoso.com", "--out", str(saved)])
    capsys.readouterr()
    assert len(planfiles.changes(saved)) == len(whole["changes"]), "--out saves the whole"


def test_explain_says_which_rule_selects_excludes_and_what_is_withheld(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", CONFIG, "dave@contoso.com", "--snapshot", DEMO]) == 0
    out = capsys.readouterr().out
    assert (
        "EXCLUDED: rule 'sales-voice' selects (member of group 'Voice - Sales' (transitively)) "
        "but excludes (listed by name)" in out
    )
    assert "MCOPSTN1 (Microsoft Teams Domestic Calling Plan): direct" in out, "product names beside part numbers"
    assert "PHONE_NUMBER_AT_RISK" in out
    assert main(["explain", CONFIG, "carol@contoso.com", "--snapshot", DEMO]) == 0
    out = capsys.readouterr().out
    assert "sales-voice: selects (listed by name): assigns MCOEV (Microsoft Teams Phone Standard)" in out
    assert "+ MCOPSTN1 (Microsoft Teams Domestic Calling Plan)" in out
    assert "Tenant-wide gaps" in out


def test_explain_of_a_user_the_tenant_lacks_exits_1_with_the_closest_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", CONFIG, "carl@contoso.com", "--snapshot", DEMO]) == 1
    captured = capsys.readouterr()
    assert "carl@contoso.com: not in the tenant read" in captured.out
    assert "did you mean 'carol@contoso.com' or 'karl@contoso.com'" in captured.err, "the closest first"


def test_explain_in_the_old_order_still_works_and_says_it_is_deprecated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "carol@contoso.com", CONFIG, "--snapshot", DEMO]) == 0
    captured = capsys.readouterr()
    assert "+ MCOPSTN1 (Microsoft Teams Domestic Calling Plan)" in captured.out
    assert "`explain UPN CONFIG` is deprecated: write `explain CONFIG UPN`" in captured.err


def test_explain_names_the_managed_groups_whose_licenses_reach_the_user_or_do_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.rollout import rollout_document

    document = rollout_document(3, holding_calling_plan=3)
    group = document["groups"][0]
    group["assignedLicenses"] = []
    group["directMembers"] = group["members"][:2]  # the third is a member only through a nested group
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(document), encoding="utf-8")
    config = tmp_path / "licensing.yaml"
    config.write_text(
        "version: 1\npolicy: {prune: true}\ngroupLicenses:\n"
        "  - {group: Voice, assign: [MCOEV, MCOPSTN1], migrateDirect: true}\n",
        encoding="utf-8",
    )
    assert main(["explain", str(config), "user000000@contoso.com", "--snapshot", str(snapshot)]) == 0
    out = capsys.readouterr().out
    assert "Voice: direct member: Entra gives MCOEV, MCOPSTN1; migrateDirect" in out
    assert "prune may remove" not in out, "a managed group covers the user"
    assert main(["explain", str(config), "user000002@contoso.com", "--snapshot", str(snapshot)]) == 0
    assert "Voice: a member only through a nested group: Entra does not give them" in capsys.readouterr().out
