"""Reports read the plan: JSON is a contract for scripts, text and Markdown are for people and must not bury danger."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main
from teamslicensing.model.plan import (
    Action,
    Decision,
    Gap,
    GapCode,
    LicenseAdd,
    LicenseRemove,
    Plan,
    Reason,
    RuleMatch,
    SeatLine,
    SelectedBy,
    Severity,
    UserChange,
)
from teamslicensing.model.planjson import ReportMeta
from teamslicensing.report import plan_to_json, render
from teamslicensing.report.common import MAX_LINES_PER_CODE, change_with_product_names, entry_with_product_name
from teamslicensing.report.markdown import markdown_lines

ROOT = Path(__file__).resolve().parents[2]


def with_product_names(document: dict[str, Any]) -> dict[str, Any]:
    """The plan's JSON as one document, with the product names the report adds: what streaming must equal."""
    document["changes"] = [change_with_product_names(change) for change in document.get("changes", [])]
    document["groupChanges"] = [change_with_product_names(change) for change in document.get("groupChanges", [])]
    document["seats"] = [entry_with_product_name(seat) for seat in document.get("seats", [])]
    return document


SWAP = UserChange(
    user_id="u1",
    user_principal_name="grace@contoso.com",
    set_usage_location="US",
    add_licenses=(LicenseAdd("sku-2", "MCOPSTN2", ("plan-b", "plan-c")),),
    remove_licenses=(LicenseRemove("sku-1", "MCOPSTN1"),),
    rules=("international-sales",),
    destructive=False,
)
LOSS = UserChange(
    user_id="u2",
    user_principal_name="dave@contoso.com",
    set_usage_location=None,
    add_licenses=(),
    remove_licenses=(LicenseRemove("sku-ev", "MCOEV"),),
    rules=(),
    destructive=True,
)
SEAT = SeatLine("sku-ev", "MCOEV", enabled=8, consumed=5, to_add=4, to_remove=1, available=4, shortfall=2)
GAPS = (
    Gap(GapCode.SEAT_SHORTAGE, Severity.ERROR, None, "MCOEV", "2 more MCOEV seat(s) needed"),
    Gap(GapCode.PHONE_NUMBER_AT_RISK, Severity.WARNING, "dave@contoso.com", None, "DESTRUCTIVE: number | lost"),
)
DECISIONS = (
    Decision(
        "u2",
        "dave@contoso.com",
        Action.CHANGE,
        (),
        (Reason("PRUNE", "MCOEV: no rule gives it, and prune removes voice add-ons"),),
    ),
    Decision(
        "u1",
        "grace@contoso.com",
        Action.CHANGE,
        (RuleMatch("international-sales", (SelectedBy("group", "Voice - International"),)),),
        (Reason("ASSIGN", "MCOPSTN2: rule 'international-sales' assigns it"),),
    ),
)
PLAN = Plan(changes=(SWAP, LOSS), gaps=GAPS, seats=(SEAT,), decisions=DECISIONS)
META = ReportMeta("9.9.9", datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc), "t-1", None, "snapshot tenant.json")


def test_json_follows_the_contract_exactly() -> None:
    document = json.loads(render(PLAN, "json", meta=META))
    assert document == with_product_names(plan_to_json(PLAN, META)), "the contract, with Microsoft's product names"
    assert list(document) == [
        "version",
        "meta",
        "summary",
        "applyWouldRefuse",
        "decisions",
        "changes",
        "groupChanges",
        "gaps",
        "seats",
        "numberPools",
        "ruleSummary",
    ]
    assert document["version"] == 2
    assert document["meta"] == {
        "tool": "teams-licensing",
        "version": "9.9.9",
        "generatedAt": "2026-12-07T12:00:00Z",
        "tenantId": "t-1",
        "tenantName": None,
        "source": "snapshot tenant.json",
    }
    assert document["summary"] == {
        "decisions": {"change": 2, "none": 0, "withheld": 0, "protected": 0, "skipped": 0},
        "changes": 2,
        "groupChanges": 0,
        "licenseAdds": 1,
        "licenseRemovals": 2,
        "usageLocations": 1,
        "destructive": 1,
        "removalsBeyondVoice": 0,
        "numberAssignments": 0,
        "numberUnassignments": 0,
        "policyAssignments": 0,
        "gaps": {"error": 1, "warning": 1, "info": 0},
        "applyWouldRefuse": False,
    }
    assert document["applyWouldRefuse"] == []
    assert document["decisions"][1] == {
        "userId": "u1",
        "userPrincipalName": "grace@contoso.com",
        "action": "change",
        "rules": [{"rule": "international-sales", "how": [{"by": "group", "value": "Voice - International"}]}],
        "reasons": [{"code": "ASSIGN", "message": "MCOPSTN2: rule 'international-sales' assigns it"}],
    }
    assert document["groupChanges"] == []
    assert document["changes"][0] == {
        "userId": "u1",
        "userPrincipalName": "grace@contoso.com",
        "setUsageLocation": "US",
        "addLicenses": [
            {
                "skuId": "sku-2",
                "skuPartNumber": "MCOPSTN2",
                "productName": "Microsoft Teams Domestic and International Calling Plan",
                "disabledPlans": ["plan-b", "plan-c"],
            }
        ],
        "removeLicenses": [
            {
                "skuId": "sku-1",
                "skuPartNumber": "MCOPSTN1",
                "productName": "Microsoft Teams Domestic Calling Plan",
                "reason": None,
            }
        ],
        "rules": ["international-sales"],
        "destructive": False,
        "phoneNumbers": [],
        "takesServicePlans": False,
        "numberChanges": [],
        "policyChanges": [],
    }
    assert document["changes"][1]["destructive"] is True
    assert document["gaps"][0] == {
        "code": "SEAT_SHORTAGE",
        "severity": "error",
        "userPrincipalName": None,
        "userId": None,
        "skuPartNumber": "MCOEV",
        "skuId": None,
        "message": "2 more MCOEV seat(s) needed",
    }
    assert document["seats"] == [
        {
            "skuId": "sku-ev",
            "skuPartNumber": "MCOEV",
            "productName": "Microsoft Teams Phone Standard",
            "enabled": 8,
            "consumed": 5,
            "toAdd": 4,
            "toRemove": 1,
            "available": 4,
            "shortfall": 2,
            "redundant": 0,
        }
    ]


def test_text_puts_destructive_changes_first() -> None:
    text = render(PLAN, "text", title="plan")
    lines = text.splitlines()
    banner = next(i for i, line in enumerate(lines) if "DESTRUCTIVE" in line)
    assert banner < next(i for i, line in enumerate(lines) if line == "Changes:")
    assert "dave@contoso.com: removes MCOEV" in text
    assert "  !! dave@contoso.com  [prune]" in text
    assert (
        "+ MCOPSTN2 (Microsoft Teams Domestic and International Calling Plan) (disabled plans: plan-b, plan-c)" in text
    )
    assert lines[-1] == (
        "Plan: 2 users to change (1 license add, 2 removals, 1 usage location), 1 DESTRUCTIVE; "
        "gaps: 1 error, 1 warning, 0 info."
    )


def test_markdown_flags_destructive_changes_and_escapes_tables() -> None:
    markdown = render(PLAN, "markdown")
    assert "> [!CAUTION]" in markdown
    assert "> - `dave@contoso.com`: removes MCOEV" in markdown
    assert "| **⚠ dave@contoso.com** |" in markdown
    assert "DESTRUCTIVE: number \\| lost" in markdown
    assert "| MCOEV | 8 | 5 | 4 | 1 | 4 | **2** |" in markdown


def test_html_names_every_destructive_user_above_the_changes_and_escapes_what_it_shows() -> None:
    """The rule groups list their first 200 users; a user losing a number past them is still named, up top."""
    bystanders = tuple(
        UserChange(f"b{n}", f"user{n:04d}@contoso.com", None, (), (LicenseRemove("sku-1", "MCOPSTN1"),), (), False)
        for n in range(300)
    )
    hidden = UserChange(
        "u9", "o'<b>neil</b>@contoso.com", None, (), (LicenseRemove("sku-ev", "MCOEV"),), (), True, ("+14255550123",)
    )
    page = render(Plan(changes=(*bystanders, hidden), gaps=GAPS, seats=(SEAT,)), "html")
    destructive = page.index("1 destructive change:")
    assert destructive < page.index("Changes by rule")
    named = "MCOEV (Microsoft Teams Phone Standard); loses +14255550123"
    assert f"o&#x27;&lt;b&gt;neil&lt;/b&gt;@contoso.com</b>: removes {named}" in page[destructive:]
    assert "<b>neil</b>" not in page, "a UPN is text, never markup"
    assert "… and 101 more" in page, "the prune group is still cut at 200 rows"
    assert "<script" not in page


def test_group_changes_name_the_products_in_text_and_markdown() -> None:
    from teamslicensing.model.plan import GroupChange

    group = GroupChange("g1", "Voice - Sales", (LicenseAdd("s1", "MCOPSTN1", ()),), (LicenseRemove("s2", "MCOEV"),), 3)
    plan = Plan(changes=(), gaps=(), seats=(), group_changes=(group,))
    for fmt in ("text", "markdown"):
        shown = render(plan, fmt)
        assert "+ MCOPSTN1 (Microsoft Teams Domestic Calling Plan)" in shown, fmt
        assert "- MCOEV (Microsoft Teams Phone Standard)" in shown, fmt


def test_empty_plan_says_in_sync() -> None:
    empty = Plan(changes=(), gaps=(), seats=())
    assert "No changes: licenses are in the declared state." in render(empty, "text")
    assert "No changes" in render(empty, "markdown")
    document = json.loads(render(empty, "json", meta=META))
    assert document["summary"]["changes"] == 0
    assert document["summary"]["decisions"]["change"] == 0
    assert {key: value for key, value in document.items() if key not in ("meta", "summary")} == {
        "version": 2,
        "applyWouldRefuse": [],
        "decisions": [],
        "changes": [],
        "groupChanges": [],
        "gaps": [],
        "seats": [],
        "numberPools": [],
        "ruleSummary": [],
    }


def test_no_changes_beside_errors_is_not_called_in_sync() -> None:
    blocked = Plan(changes=(), gaps=GAPS, seats=(SEAT,))
    text = render(blocked, "text")
    assert "in the declared state" not in text
    assert "No changes to write, but 1 error and 1 warning below stand" in text
    assert "available = enabled - consumed + what removal-only changes free" in text, (
        "the seat table explains its columns"
    )
    assert "No changes to write, but" in render(blocked, "markdown")


def test_people_get_a_bounded_list_of_repeated_gaps_and_json_gets_all() -> None:
    many = tuple(
        Gap(GapCode.CREDITS_RECOMMENDED, Severity.INFO, f"user{n:03}@contoso.com", None, "recommended")
        for n in range(MAX_LINES_PER_CODE + 7)
    )
    plan = Plan(changes=(), gaps=many, seats=())
    text = render(plan, "text")
    assert text.count("CREDITS_RECOMMENDED  user") == MAX_LINES_PER_CODE
    assert "… and 7 more CREDITS_RECOMMENDED" in text
    assert len(json.loads(render(plan, "json"))["gaps"]) == MAX_LINES_PER_CODE + 7


def test_markdown_of_a_hundred_thousand_changes_fits_a_github_step_summary() -> None:
    """GitHub refuses a step summary over 1 MiB: the changed users are cut to what fits, with "N more", and the
    summary line, seats and gaps stay whole."""
    changes = tuple(
        UserChange(
            user_id=f"u{n}",
            user_principal_name=f"user{n:06d}@contoso.com",
            set_usage_location="US",
            add_licenses=(LicenseAdd("sku-2", "MCOPSTN2", ()),),
            remove_licenses=(LicenseRemove("sku-1", "MCOPSTN1"),),
            rules=("international-sales",),
            destructive=False,
        )
        for n in range(100_000)
    )
    big = Plan(changes=changes, gaps=GAPS, seats=(SEAT,))
    full = "\n".join(markdown_lines(big, ""))
    assert len(full.encode()) > 1_048_576, "uncapped, it would not fit"
    markdown = render(big, "markdown")
    assert len(markdown.encode()) <= 1_000_000
    assert "more changed users" in markdown
    assert "Plan: 100,000 users to change" in markdown
    assert "### Seats" in markdown
    assert "SEAT_SHORTAGE" in markdown
    assert "user000000@contoso.com" in markdown
    small = render(PLAN, "markdown")
    assert "more changed users" not in small, "a plan that fits is never cut"


def test_csv_has_one_row_per_add_removal_gap_and_seat() -> None:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(render(PLAN, "csv"))))
    kinds = [row["kind"] for row in rows]
    assert kinds.count("gap") == len(GAPS)
    assert kinds.count("seat") == 1
    adds = [row for row in rows if row["action"] == "add"]
    assert adds[0]["user"] == "grace@contoso.com"
    assert adds[0]["productName"] == "Microsoft Teams Domestic and International Calling Plan"
    assert "disabled plans: plan-b plan-c" in adds[0]["detail"]
    assert any(row["action"] == "remove" and "DESTRUCTIVE" in row["detail"] for row in rows)


def test_colour_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from teamslicensing.report.colour import colourize, wants_colour

    text = render(PLAN, "text")
    coloured = colourize(text)
    assert "\033[32m      + MCOPSTN2" in coloured, "adds in green"
    assert "\033[1;31m!!!" in coloured, "destructive lines in bold red"
    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == text, "the words are the same"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_colour(Terminal(), {})
    assert not wants_colour(Terminal(), {"NO_COLOR": ""}), "NO_COLOR, whatever its value"
    assert not wants_colour(Terminal(), {"TERM": "dumb"})
    assert not wants_colour(io.StringIO(), {}), "a pipe or a file: plain"
    main(
        [
            "plan",
            str(ROOT / "config" / "licensing.yaml"),
            "--snapshot",
            str(ROOT / "config" / "examples" / "contoso-tenant.json"),
        ]
    )
    assert "\033[" not in capsys.readouterr().out, "captured output is not a terminal"


@pytest.mark.parametrize("extra", [(), (("result", None),), (("result", {"applied": 2, "stopped": {"reason": "x"}}),)])
def test_json_is_written_piece_by_piece_exactly_as_one_dump_would_write_it(
    extra: tuple[tuple[str, object], ...],
) -> None:
    """`--format json` streams a 100,000-change plan element by element; the bytes must be those of one
    json.dumps(indent=2), for every shape: empty arrays, nested lists, group changes, trailing fields."""
    from teamslicensing.model.plan import GroupChange
    from teamslicensing.report import plan_json_chunks

    group = GroupChange("g-1", "Voice - Sales", (LicenseAdd("sku-1", "MCOPSTN1", ()),), (), 12, (("sku-1", 3),))
    for plan in (PLAN, Plan((), (), ()), Plan(PLAN.changes, (), PLAN.seats, (group,))):
        whole = with_product_names(plan_to_json(plan, META)) | dict(extra)
        streamed = "".join(plan_json_chunks(plan, extra, meta=META))
        assert streamed == json.dumps(whole, indent=2) + "\n"
    assert sum(1 for _ in plan_json_chunks(PLAN)) > len(PLAN.changes) + len(PLAN.gaps), "one piece per element"


def test_every_format_counts_a_rules_protected_and_disabled_users_as_skipped(tmp_path: Path) -> None:
    """On the demo, sales-voice selects users it would change who are protected (breakglass, heidi) or disabled
    (quentin): each report's rule table counts them as skipped, beside withheld (what a gap held back), and a user
    the rule leaves alone because nothing needed changing is not counted."""
    config = str(ROOT / "config" / "licensing.yaml")
    snapshot = str(ROOT / "config" / "examples" / "contoso-tenant.json")
    shown = {}
    for fmt in ("json", "text", "markdown", "html", "csv"):
        out = tmp_path / f"plan.{fmt}"
        main(["plan", config, "--snapshot", snapshot, "--format", fmt, "--output", str(out)])
        shown[fmt] = out.read_text(encoding="utf-8")
    document = json.loads(shown["json"])
    left_as_is = {g["userPrincipalName"] for g in document["gaps"] if g["code"].endswith("_SKIPPED")}
    selected = {
        d["userPrincipalName"] for d in document["decisions"] if any(r["rule"] == "sales-voice" for r in d["rules"])
    }
    assert selected & left_as_is == {"breakglass@contoso.com", "heidi@contoso.com", "quentin@contoso.com"}
    row = next(r for r in document["ruleSummary"] if r["rule"] == "sales-voice")
    assert row["skipped"] == 3
    numbers = [str(row[key]) for key in ("selected", "changed", "adds", "removals", "withheld", "skipped")]
    text_row = next(line for line in shown["text"].splitlines() if line.strip().startswith("sales-voice "))
    assert text_row.split()[1:] == numbers
    assert "skipped: wanted, but the user is protected or disabled" in shown["text"]
    assert "| Rule | Selected | Changed | Adds | Removals | Withheld | Skipped |" in shown["markdown"]
    assert f"| sales-voice | {' | '.join(numbers)} |" in shown["markdown"]
    assert "<th class='n'>skipped</th>" in shown["html"]
    assert f"rule sales-voice: selected {numbers[0]}; changed {numbers[1]}" in shown["csv"]
    assert f"withheld {numbers[4]}; skipped 3" in shown["csv"]
