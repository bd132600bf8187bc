"""Names admins type: a product's name as Microsoft sells it, a service plan's name for its SKU, a few words of a
product, and YAML 1.1's `yes` on a switch; every miss says what was meant or how to find it."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from teamslicensing.config import json_schema, load_desired_state
from teamslicensing.config.yamlsource import read_yaml_bytes
from tests.config.test_config import problems_of, write


def _license(tmp_path: Path, name: str) -> str:
    text = f"version: 1\nlicenses:\n  wanted: {name}\nrules: []\n"
    [problem] = problems_of(write(tmp_path, text))
    return problem.message


def test_a_product_name_resolves_to_its_sku_whatever_its_case(tmp_path: Path) -> None:
    text = """
    version: 1
    licenses: {phone: Microsoft Teams Phone Standard}
    rules:
      - name: voice
        select: {users: [a@contoso.com]}
        assign: [phone, microsoft teams domestic calling plan]
    """
    desired = load_desired_state(write(tmp_path, text))
    assert [ref.ref for ref in desired.rules[0].assign] == ["MCOEV", "MCOPSTN1"]


def test_a_service_plan_name_points_to_the_sku_that_sells_it(tmp_path: Path) -> None:
    message = _license(tmp_path, "MCOPSTN3")
    assert "did you mean the SKU 'MCOPSTNPP'" in message
    assert "MCOPSTNC" not in message  # the nearest spelling is not what was meant


def test_words_of_a_product_name_list_the_products_and_how_to_search(tmp_path: Path) -> None:
    message = _license(tmp_path, "Teams Phone")
    assert "'Microsoft Teams Phone Standard' (MCOEV)" in message
    assert '`teams-licensing skus --search "Teams Phone"`' in message


def test_a_misspelt_product_name_suggests_the_product_before_part_numbers(tmp_path: Path) -> None:
    misspelt = _license(tmp_path, "Microsoft Teams Phone Standerd")
    assert "did you mean 'Microsoft Teams Phone Standard', MCOEV?" in misspelt
    assert "did you mean 'MCOEV'?" in _license(tmp_path, "MCOEVV")
    assert "`teams-licensing skus --search TEXT`" in _license(tmp_path, "Flux capacitor")


def test_a_switch_takes_yes_and_no_but_a_country_stays_norway(tmp_path: Path) -> None:
    text = "version: 1\ndefaults: {usageLocation: NO}\npolicy: {prune: yes, allowNumberLoss: No, assignCovered: on}\n"
    desired = load_desired_state(write(tmp_path, text))
    assert desired.policy.prune is True
    assert desired.policy.allow_number_loss is False
    assert desired.policy.assign_covered is True
    assert desired.default_usage_location == "NO"
    [problem] = problems_of(write(tmp_path, "version: 1\npolicy: {prune: maybe}\n", "maybe.yaml"))
    assert (problem.line, problem.column) == (2, 17)
    data = read_yaml_bytes(text.encode(), "x.yaml").data  # YAML 1.2, as editors read it: NO is a string
    jsonschema.validate(data, json_schema())  # editors accept what the loader does


@pytest.mark.parametrize(
    ("content", "where", "said"),
    [
        (
            "version: 1\nrules:\n  - name: a\n    select: {groups: [x]\n    assign: [MCOEV]\n",
            (5, 5),
            "the `{` opened at line 4, column 13 is not closed: a missing `}` or `,`",
        ),
        ("version: 1\nrules:\n\t- name: a\n", (3, 1), "a tab: YAML indents with spaces only"),
        ('version: 1\nrules:\n  - name: "a\n', (4, 1), "inside a quoted text opened at line 3, column 11"),
        ("version: 1\nrules:\n  - name: a: b\n", (3, 12), "or quote a value that holds `: `"),
        ("version: 1\n  bad: indent\n", (2, 6), "indent the key under its parent as the lines above"),
        ("version: 1\nrules: [\n", (3, 1), "a value is missing: a `[` or `{` not closed"),
    ],
)
def test_a_yaml_syntax_error_is_said_in_our_words(
    tmp_path: Path, content: str, where: tuple[int, int], said: str
) -> None:
    (problem,) = problems_of(write(tmp_path, content))
    assert (problem.line, problem.column) == where
    assert problem.message == f"YAML syntax error: {said}" or said in problem.message
    assert "while parsing" not in problem.message
    assert "while scanning" not in problem.message


def test_a_value_of_the_wrong_type_says_what_was_found_and_what_to_write(tmp_path: Path) -> None:
    text = "version: 1\npolicy:\n  maxChanges: many\n  prune: maybe\nrules: []\n"
    problems = {problem.line: problem.message for problem in problems_of(write(tmp_path, text))}
    assert problems[3] == "policy.maxChanges: expected a whole number, found the text 'many'"
    assert problems[4] == "policy.prune: expected yes or no (true/false, on/off), found the text 'maybe'"
