"""A plan says up front what apply would refuse, with the same judgement apply's guard then uses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks.synthetic import write_config, write_snapshot
from teamslicensing.cli import main
from teamslicensing.model.plan import Refusal
from teamslicensing.report.common import refusal_text
from tests.support.shipped_demo import CONFIG, SNAPSHOT, demo_changes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prune_over_the_limit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 20,000-user tenant whose prune plan takes service plans from more users than maxRemovals (50)."""
    folder = tmp_path_factory.mktemp("twenty-thousand")
    generated = write_snapshot(folder / "tenant.json", users=20_000, rules=50, seed=2024)
    write_config(folder / "licensing.yaml", 50, generated)
    assert generated.path is not None
    return folder / "licensing.yaml", generated.path


def test_a_prune_plan_over_max_removals_says_so_first_in_every_format(
    prune_over_the_limit: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, snapshot = prune_over_the_limit
    base = ["plan", str(config), "--snapshot", str(snapshot)]
    assert main([*base, "--format", "json", "--output", str(tmp_path / "plan.json")]) == 0
    document = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    refusals = document["applyWouldRefuse"]
    assert [r["reason"] for r in refusals] == ["maxRemovals"]
    assert refusals[0]["limit"] == 50
    planned = refusals[0]["planned"]
    losing = sum(1 for c in document["changes"] if c.get("takesServicePlans"))
    assert planned == losing > 50, "the users whose removals take service plans, as apply counts them"

    assert main([*base, "--format", "text", "--output", str(tmp_path / "plan.txt")]) == 0
    head = (tmp_path / "plan.txt").read_text(encoding="utf-8").splitlines()[:15]
    assert "APPLY WOULD REFUSE THIS PLAN:" in head
    assert f"- {planned:,} users lose service plans, more than policy.maxRemovals (50)" in head
    assert any(line.startswith("Plan: ") for line in head), "a long report says its summary first too"

    assert main([*base, "--format", "markdown", "--output", str(tmp_path / "plan.md")]) == 0
    markdown = (tmp_path / "plan.md").read_text(encoding="utf-8")
    assert markdown.index("Apply would refuse this plan") < markdown.index("### Changes")

    assert main([*base, "--format", "html", "--output", str(tmp_path / "plan.html")]) == 0
    html = (tmp_path / "plan.html").read_text(encoding="utf-8")
    assert html.index("Apply would refuse this plan") < html.index("<div class='tiles'>")

    capsys.readouterr()
    assert main(["apply", str(config), "--snapshot", str(snapshot), "--yes", "--audit-log", str(tmp_path / "a")]) == 1
    assert f"the plan takes service plans away from {planned} users, more than the limit of 50" in (
        capsys.readouterr().err
    ), "apply refuses for exactly the reason the plan gave"


def test_a_plan_apply_would_go_ahead_with_says_that(tmp_path: Path) -> None:
    config = ROOT / "config" / "licensing.yaml"
    snapshot = ROOT / "config" / "examples" / "contoso-tenant.json"
    out = tmp_path / "plan.txt"
    main(["plan", str(config), "--snapshot", str(snapshot), "--output", str(out)])
    assert "Apply would go ahead: no limit exceeded, nothing blocking." in out.read_text(encoding="utf-8")


def test_a_blocking_gap_is_named_with_whom_it_is_about(tmp_path: Path) -> None:
    config = tmp_path / "licensing.yaml"
    text = (ROOT / "config" / "licensing.yaml").read_text(encoding="utf-8")
    config.write_text(text.replace("- breakglass@contoso.com", "- breakglas@contoso.com"), encoding="utf-8")
    snapshot = ROOT / "config" / "examples" / "contoso-tenant.json"
    main(["plan", str(config), "--snapshot", str(snapshot), "--format", "json", "--output", str(tmp_path / "p.json")])
    document = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert document["applyWouldRefuse"] == [
        {"reason": "blockingGap", "code": "PROTECTED_USER_NOT_FOUND", "subjects": ["breakglas@contoso.com"]}
    ]


def demo_with_max_changes(tmp_path: Path, limit: int) -> tuple[Path, Path]:
    """The shipped demo with policy.maxChanges at `limit`, and a snapshot of its tenant to write."""
    config = tmp_path / "licensing.yaml"
    text = CONFIG.read_text(encoding="utf-8")
    assert "maxChanges: 200" in text
    config.write_text(text.replace("maxChanges: 200", f"maxChanges: {limit}"), encoding="utf-8")
    snapshot = tmp_path / "tenant.json"
    shutil.copy(SNAPSHOT, snapshot)
    return config, snapshot


@pytest.mark.parametrize(("policy_limit", "given"), [(200, 3), (3, 100)])
def test_apply_reports_the_refusals_of_the_limits_it_uses_not_the_policys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy_limit: int, given: int
) -> None:
    """`apply --max-changes N` overrides policy.maxChanges: its own report judges the plan with N and names the
    option, so it never says "go ahead" and then refuses, or the reverse."""
    changes = demo_changes()
    assert 3 < changes < 100
    config, snapshot = demo_with_max_changes(tmp_path, policy_limit)
    audit = str(tmp_path / "audit.jsonl")
    main(
        ["apply", str(config), "--snapshot", str(snapshot), "--yes", "--audit-log", audit, "--max-changes", str(given)]
    )
    captured = capsys.readouterr()
    if given < changes:
        assert "APPLY WOULD REFUSE THIS PLAN:" in captured.out
        assert f"- {changes} users and groups to change, more than --max-changes ({given})" in captured.out
        assert f"refusing to apply: the plan changes {changes} users and groups" in captured.err
    else:
        assert "Apply would go ahead: no limit exceeded, nothing blocking." in captured.out
        assert f"Apply: {changes} applied" in captured.err


def test_a_refused_apply_still_writes_its_json_report_saying_why(tmp_path: Path) -> None:
    """`apply --format json` refused by a limit: the JSON report is written, its applyWouldRefuse names the limit
    apply used, its error is the refusal, and nothing was applied (result null)."""
    changes = demo_changes()
    config, snapshot = demo_with_max_changes(tmp_path, 200)
    report = tmp_path / "report.json"
    args = ["apply", str(config), "--snapshot", str(snapshot), "--yes", "--audit-log", str(tmp_path / "audit.jsonl")]
    assert main([*args, "--max-changes", "3", "--format", "json", "--output", str(report)]) == 1
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["applyWouldRefuse"] == [{"reason": "maxChanges", "limit": 3, "planned": changes}]
    assert document["error"].startswith(f"refusing to apply: the plan changes {changes} users and groups")
    assert document["result"] is None
    assert json.loads(snapshot.read_text(encoding="utf-8")) == json.loads(SNAPSHOT.read_text(encoding="utf-8")), (
        "nothing was written"
    )


def test_refusal_texts_count_one_in_the_singular() -> None:
    one_change = Refusal("maxChanges", limit=0, planned=1)
    one_loss = Refusal("maxRemovals", limit=0, planned=1, set_by="TeamsLicensing_MaxRemovals")
    assert refusal_text(one_change) == "1 user or group to change, more than policy.maxChanges (0)"
    assert refusal_text(one_loss) == "1 user loses service plans, more than TeamsLicensing_MaxRemovals (0)"
