"""The desired-state file: what a valid file means, and how every kind of mistake is pointed out."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from teamslicensing.config import json_schema, load_desired_state
from teamslicensing.errors import ConfigError, Problem
from teamslicensing.model.desired import DesiredState

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "licensing.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_desired_state(path)
    return list(caught.value.problems)


def where(problems: list[Problem]) -> list[tuple[int, int]]:
    return [(p.line, p.column) for p in problems]


VALID = """
version: 1
defaults:
  usageLocation: US
policy:
  prune: true
  maxChanges: 50
  protectedUsers: [BreakGlass@contoso.com]
licenses:
  phoneSystem: MCOEV
  domesticCalling: mcopstn1
  credits: 47794CD0-F0E5-45C5-9033-2EB6B5FC84E0
rules:
  - name: sales-voice
    select:
      groups: ["Voice - Sales"]
      users: [Carol@Contoso.com]
      attributes: {department: Sales, jobTitle: [Manager, Director]}
    exclude: {users: [dave@contoso.com], groups: [Contractors]}
    assign: [phoneSystem, domesticCalling, credits]
    disabledPlans: {phoneSystem: []}
    usageLocation: GB
  - name: conferencing
    select: {users: [erin@contoso.com]}
    assign: [MCOMEETADV, phoneSystem]
    voiceRouting: directRouting
"""


def test_valid_file_resolves_aliases_rules_and_policy(tmp_path: Path) -> None:
    desired = load_desired_state(write(tmp_path, VALID))
    assert isinstance(desired, DesiredState)
    sales, conferencing = desired.rules
    assert [ref.ref for ref in sales.assign] == ["MCOEV", "MCOPSTN1", "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0"]
    assert sales.assign[0].sku_ids == ("e43b5b99-8dfb-405f-9987-dc307f34bcbd",)
    assert sales.select.users == ("carol@contoso.com",)
    assert dict(sales.select.attributes)["jobTitle"] == {"manager", "director"}
    assert sales.usage_location == "GB"
    assert sales.disabled_plans == {sales.assign[0]: ()}
    assert conferencing.voice_routing == "directRouting"
    assert desired.policy.protected_users == {"breakglass@contoso.com"}
    assert desired.policy.max_changes == 50
    assert desired.policy.allow_number_loss is False
    # the same SKU named twice (alias and part number) is managed once
    assert [ref.ref for ref in desired.managed_licenses] == [
        "MCOEV",
        "MCOPSTN1",
        "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0",
        "MCOMEETADV",
    ]


def test_shipped_example_validates() -> None:
    desired = load_desired_state(ROOT / "config" / "licensing.yaml")
    assert len(desired.rules) >= 4


def test_all_problems_are_reported_at_once_with_positions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 2
        defualts:
          usageLocation: US
        policy:
          prune: maybe
          maxChanges: -1
        licenses:
          phoneSystem: MCOEVV
        rules:
          - name: a
            select: {}
            assign: [phoneSystem, NOT_A_SKU]
          - name: a
            select: {users: [x@contoso.com]}
            assign: [MCOEV]
            usageLocation: uk
            voiceRoutin: directRouting
        """,
    )
    problems = problems_of(path)
    text = "\n".join(str(p) for p in problems)
    expected = [
        (1, 10, "version: expected 1, found the number 2"),
        (2, 1, "unknown key 'defualts' (did you mean 'defaults'?)"),
        (5, 10, "policy.prune: expected yes or no (true/false, on/off), found the text 'maybe'"),
        (6, 15, "policy.maxChanges: expected 0 or more, found the number -1"),
        (8, 16, "unknown license 'MCOEVV'"),
        (11, 13, "rule selects nobody"),
        (12, 27, "unknown license 'NOT_A_SKU'"),
        (13, 11, "duplicate rule name 'a' (first used on line 10)"),
        (16, 20, "'uk' is not an ISO 3166-1 alpha-2 country code; the United Kingdom is 'GB'"),
        (17, 5, "unknown key 'voiceRoutin' (did you mean 'voiceRouting'?)"),
    ]
    for line, column, message in expected:
        assert any(p.line == line and p.column == column and message in p.message for p in problems), (
            f"no problem '{message}' at {line}:{column} in:\n{text}"
        )
    assert all(p.file == str(path) for p in problems)
    assert where(problems) == sorted(where(problems)), "problems come in file order"
    assert str(problems[0]).startswith(f"{path}:1:10: ")


def test_included_minutes_name_pools_by_the_codes_call_rows_carry(tmp_path: Path) -> None:
    """A pool is keyed by a licenseCapability code with minutes: the Audio Conferencing service plan's name, which
    no call row carries, is refused at its position with the code rows do carry."""
    path = write(
        tmp_path,
        """
        version: 1
        includedMinutes:
          - {plan: MCOPSTN2, countries: [US, PR], shared: true, allowances: {domestic: 3000, international: 600}}
          - {plan: MCOMEETADV, countries: [tenant], destination: zoneA, minutes: 60}
          - {plan: MCOPSTNPP, minutes: 10}
        """,
    )
    problems = problems_of(path)
    assert [(p.line, p.column) for p in problems] == [(4, 12), (5, 12)]
    assert "call rows name Audio Conferencing dial-out 'MCOMEETADD'" in problems[0].message
    assert "'MCOPSTNPP' is not a licenseCapability code with included minutes" in problems[1].message
    good = write(
        tmp_path,
        "version: 1\nincludedMinutes:\n  - {plan: mcopstn2, countries: [US, PR], shared: true, "
        "allowances: {domestic: 3000, international: 600}}\n  - {plan: MCOPSTN1, countries: [GB, FR], minutes: 900}\n",
    )
    (whole, gb, fr) = load_desired_state(good).included_minutes
    assert (whole.plan, whole.countries, whole.shared, whole.either_or) == ("MCOPSTN2", ("US", "PR"), True, True)
    assert whole.allowances == (("domestic", 3000), ("international", 600))
    assert (gb.countries, fr.countries, gb.partial) == (("GB",), ("FR",), True), "the first form: a pool each"


def test_unknown_license_suggests_the_closest_part_number(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nrules:\n  - {name: r, select: {users: [a@b.c]}, assign: [MCOPSTN]}\n")
    (problem,) = problems_of(path)
    assert "did you mean 'MCOPSTN" in problem.message


def test_norway_stays_a_country_not_a_boolean(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\ndefaults: {usageLocation: NO}\n")
    assert load_desired_state(path).default_usage_location == "NO"


def test_lowercase_country_code_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\ndefaults: {usageLocation: de}\n")
    (problem,) = problems_of(path)
    assert (problem.line, problem.column) == (2, 27)
    assert "did you mean 'DE'" in problem.message


def test_wrong_types_are_named_by_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        rules:
          - name: r
            select: {users: carol@contoso.com, attributes: {dept: Sales}}
            assign: MCOEV
        """,
    )
    problems = problems_of(path)
    messages = {(p.line, p.column): p.message for p in problems}
    assert messages == {
        (4, 21): "rules[0].select.users: expected a list (write `[a, b]`, or one `- item` per line), "
        "found the text 'carol@contoso.com'",
        (4, 53): "rules[0].select.attributes: unknown key 'dept' (did you mean 'department'?)",
        (5, 13): "rules[0].assign: expected a list (write `[a, b]`, or one `- item` per line), found the text 'MCOEV'",
    }


def test_missing_required_keys_point_at_their_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  - name: r\n    select: {users: [a@b.c]}\n")
    problems = problems_of(path)
    assert {(p.line, p.column, p.message) for p in problems} == {
        (1, 1, "missing required key 'version'"),
        (2, 5, "rules[0]: missing required key 'assign'"),
    }


def test_disabled_plans_are_checked_against_the_sku(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        licenses: {e5: SPE_E5}
        rules:
          - name: r
            select: {users: [a@b.c]}
            assign: [e5]
            disabledPlans:
              e5: [MCOMEETADV, MCOMEETAVD, 3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40]
              MCOEV: []
        """,
    )
    problems = problems_of(path)
    assert [(p.line, p.column) for p in problems] == [(8, 24), (9, 7)]
    assert "service plan 'MCOMEETAVD' is not part of SPE_E5 (did you mean 'MCOMEETADV'?)" in problems[0].message
    assert "disabledPlans names 'MCOEV', which this rule does not assign" in problems[1].message


@pytest.mark.parametrize(
    ("content", "line", "column", "message"),
    [
        (b"", 1, 1, "file is empty"),
        (b"# only a comment\n\n", 1, 1, "file is empty"),
        (b"version: 1\nrules: [\n", 3, 1, "YAML syntax error"),
        (b"version: 1\n  bad: indent\n", 2, 6, "YAML syntax error"),
        (b"version: 1\npolicy: {prune: \xff}\n", 2, 17, "not valid UTF-8 (byte 0xff)"),
        (b"version: 1\nversion: 1\n", 2, 1, "duplicate key 'version'"),
        (b"- version: 1\n", 1, 1, "expected a mapping"),
        (b"version: 1\n---\nversion: 1\n", 2, 1, "YAML syntax error"),
        (b"version: !!python/object:os.system 1\n", 1, 10, "unsupported YAML tag"),
    ],
)
def test_unreadable_files_get_one_clear_problem(
    tmp_path: Path, content: bytes, line: int, column: int, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    (problem,) = problems_of(path)
    assert (problem.line, problem.column) == (line, column), str(problem)
    assert message in problem.message


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\n")
    assert load_desired_state(path).rules == ()


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    (problem,) = problems_of(path)
    assert "alias bomb" in problem.message


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nrules: &r [*r]\n")
    (problem,) = problems_of(path)
    assert "recursive alias" in problem.message


def test_oversized_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"version: 1\n" + b"# padding\n" * 500_000)
    (problem,) = problems_of(path)
    assert "larger than" in problem.message


def test_anchors_and_merge_keys_work_for_sharing_selections(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        rules:
          - name: a
            select: &sales {groups: [Sales], users: [x@contoso.com]}
            assign: [MCOEV]
          - name: b
            select: {<<: *sales, users: [y@contoso.com]}
            assign: [MCOMEETADV]
        """,
    )
    first, second = load_desired_state(path).rules
    assert first.select.groups == second.select.groups == ("Sales",)
    assert second.select.users == ("y@contoso.com",)


def test_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nope.yaml")
    assert "cannot read file" in problem.message


def test_checked_in_schema_is_current() -> None:
    checked_in = json.loads((ROOT / "config" / "schema.json").read_text(encoding="utf-8"))
    assert checked_in == json_schema(), "config/schema.json is stale: run `teams-licensing schema > config/schema.json`"


def test_schema_rejects_unknown_keys_and_documents_the_format() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "version",
        "tenantId",
        "defaults",
        "policy",
        "licenses",
        "availability",
        "rules",
        "groupLicenses",
        "includedMinutes",
        "numbers",
        "prices",
    }
    rule = schema["$defs"]["Rule"]
    assert set(rule["required"]) == {"name", "select", "assign"}
    assert rule["properties"]["voiceRouting"]["enum"] == ["callingPlan", "directRouting", "operatorConnect"]
    assert "allowNumberLoss" in schema["$defs"]["Policy"]["properties"]
