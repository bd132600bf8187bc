"""What an admin types or meets at the edges: a scalar where a list belongs, a quoted value, a pasted control
character, a reserved character, a huge number, a group name in another script, `explain` in the old order beside a
file named like the user, reprocess's exit codes, and no "(s)" in the demo plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import respx

from teamslicensing.cli import main
from teamslicensing.cli.helptext import CODES
from tests.support.faults import fake_for
from tests.support.rollout import rollout_document

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "config/licensing.yaml"
DEMO_SNAPSHOT = ROOT / "config/examples/contoso-tenant.json"


def validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    config = tmp_path / "licensing.yaml"
    config.write_bytes(text.encode("utf-8"))
    code = main(["validate", str(config)])
    printed = capsys.readouterr()
    return code, (printed.out + printed.err).replace(str(tmp_path), "")  # the path names the test


# ---- --help exit codes ------------------------------------------------------------------------------------------


def test_reprocess_help_lists_the_exit_code_reprocess_gives_for_a_group_not_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(DEMO_SNAPSHOT.read_text(encoding="utf-8"), encoding="utf-8")
    code = main(["reprocess", "--group", "No Such Group", "--snapshot", str(snapshot), "--yes"])
    assert code in CODES["reprocess"], f"reprocess exited {code}; its --help lists only {CODES['reprocess']}"
    assert code == 3, "a group named that is not found: exit 3"
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["reprocess", "--help"])
    assert "\n    3  error-severity gaps remain" in capsys.readouterr().out, "--help lists exit 3"


# ---- plural forms -------------------------------------------------------------------------------------------------


def test_the_demo_plan_prints_no_parenthesised_plural(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plan", str(DEMO_CONFIG), "--snapshot", str(DEMO_SNAPSHOT)])
    printed = capsys.readouterr()
    lines = [line for line in (printed.out + printed.err).splitlines() if "(s)" in line]
    assert lines == []


# ---- YAML and type errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("version: 1\nrules: 5\n", 2),  # rules given a scalar
        ("version: 1\nrules: true\n", 2),
        ("version: 1\npolicy:\n  maxChanges: " + "9" * 5000 + "\n", 3),  # a number too long for Python's int()
    ],
    ids=["rules-5", "rules-true", "5000-digit-number"],
)
def test_a_value_of_the_wrong_shape_is_a_located_config_error_not_an_internal_error(
    text: str, where: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed = validate(tmp_path, text, capsys)
    assert code == 1
    assert "internal error" not in printed
    assert f"/licensing.yaml:{where}:" in printed


def test_a_quoted_true_on_a_switch_is_not_told_to_write_true(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `prune: "yes"` is accepted; `prune: "true"` is refused with "expected yes or no (true/false, on/off)"
    code, printed = validate(tmp_path, 'version: 1\npolicy:\n  prune: "true"\n', capsys)
    assert code == 0 or "quot" in printed, printed


def test_a_quoted_version_is_not_told_expected_1_found_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, printed = validate(tmp_path, 'version: "1"\n', capsys)
    assert code == 1
    assert "quot" in printed, printed  # today: "version: expected 1, found the text '1'"


def test_a_control_character_is_placed_at_its_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed = validate(tmp_path, "version: 1\npolicy:\n  prune: tr\x07ue\n", capsys)
    assert code == 1
    assert "/licensing.yaml:3:" in printed, printed  # today: licensing.yaml:1:1 ... "<unicode string>", position 30
    assert "<unicode string>" not in printed


def test_a_character_that_cannot_start_a_value_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, printed = validate(tmp_path, "version: 1\npolicy:\n  protectedUsers: [@ceo]\n", capsys)
    assert code == 1
    assert "'@'" in printed or "`@`" in printed, printed
    assert "tab" not in printed


# ---- explain CONFIG UPN -------------------------------------------------------------------------------------------


def test_explain_in_the_old_order_when_a_file_is_named_like_the_user(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bob@contoso.com").write_text("saved output of an earlier explain\n", encoding="utf-8")
    code = main(["explain", "bob@contoso.com", str(DEMO_CONFIG), "--snapshot", str(DEMO_SNAPSHOT)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert printed.out.startswith("bob@contoso.com (")


# ---- group did-you-mean on a live read ----------------------------------------------------------------------------


@pytest.mark.usefixtures("graph_token")
def test_a_live_read_suggests_a_group_whose_name_is_not_in_latin_letters(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Graph tokenizes any script ("李四(David Li)" matches "李四": "Use the $search query parameter", v1.0); the
    # product keeps only [0-9A-Za-z] words of the name, so for "Продажи Москвы" it asks nothing
    document: dict[str, Any] = rollout_document(2)
    document["groups"][0]["displayName"] = "Продажи Москва"
    fake = fake_for(document, router)
    config = tmp_path / "licensing.yaml"
    rule = "  - name: msk\n    select: {groups: [Продажи Москвы]}\n    assign: [MCOEV]\n"
    config.write_text(f"version: 1\nrules:\n{rule}", encoding="utf-8")
    main(["plan", str(config), "--read", "all", "--format", "json"])
    plan = json.loads(capsys.readouterr().out)
    (message,) = [g["message"] for g in plan["gaps"] if g["code"] == "GROUP_NOT_FOUND"]
    assert [path for _, path in fake.requests if "search=" in path], "no $search was sent"
    assert "did you mean 'Продажи Москва'" in message, message
