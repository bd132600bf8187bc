"""The configuration's phone numbers and Teams policies: what a valid file means, and each mistake at its place."""

from __future__ import annotations

from pathlib import Path

from teamslicensing.config import json_schema, load_desired_state
from teamslicensing.model.desired import ExactNumber, NumberWant
from tests.config.test_config import problems_of, write

NUMBERED = """
version: 1
licenses:
  phoneSystem: MCOEV
  domesticCalling: MCOPSTN1
policy:
  prune: true
  allowNumberLoss: true
  unassignNumbers: true
rules:
  - name: sales-voice
    select: {groups: ["Voice - Sales"]}
    assign: [phoneSystem, domesticCalling]
    phoneNumber:
      type: callingPlan
      from: inventory
      city: Seattle
      locationId: 5e3c0a9e-1f6b-4c5c-9b0a-2f1f6f0c1a11
    policies:
      teamsCallingPolicy: AllowCalling
      OnlineVoiceRoutingPolicy: US-Only
numbers:
  rows:
    - {userPrincipalName: Carol@Contoso.com, telephoneNumber: "+14255550100", numberType: callingPlan}
"""


def test_a_numbered_rule_its_policies_and_exact_rows_are_read(tmp_path: Path) -> None:
    desired = load_desired_state(write(tmp_path, NUMBERED))
    rule = desired.rules[0]
    assert rule.phone_number == NumberWant("callingPlan", "Seattle", "5e3c0a9e-1f6b-4c5c-9b0a-2f1f6f0c1a11")
    # a known policy type is taken in Teams' own spelling, whatever case the admin typed
    assert rule.policies == (("TeamsCallingPolicy", "AllowCalling"), ("OnlineVoiceRoutingPolicy", "US-Only"))
    assert desired.numbers == (ExactNumber("carol@contoso.com", "+14255550100", "callingPlan"),)
    assert desired.policy.unassign_numbers
    assert desired.manages_numbers
    assert desired.manages_policies
    assert "carol@contoso.com" in desired.named_users  # a scoped read reads the users rows name


def test_a_file_without_number_keys_manages_no_numbers(tmp_path: Path) -> None:
    plain = "version: 1\nrules:\n  - name: a\n    select: {users: [a@contoso.com]}\n    assign: [MCOEV]\n"
    desired = load_desired_state(write(tmp_path, plain))
    assert not desired.manages_numbers
    assert not desired.manages_policies
    assert desired.rules[0].phone_number is None
    assert desired.rules[0].policies == ()


def test_numbers_from_a_csv_file_beside_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "numbers.csv").write_text(
        "\ufeffuserPrincipalName,telephoneNumber,numberType,locationId\n"
        "dave@contoso.com,+14255550101,directRouting,\n"
        "erin@contoso.com,+442071838750,callingPlan,loc-1\n",
        encoding="utf-8",
    )
    text = NUMBERED.split("numbers:")[0] + "numbers:\n  file: numbers.csv\n"
    desired = load_desired_state(write(tmp_path, text))
    assert desired.numbers == (
        ExactNumber("dave@contoso.com", "+14255550101", "directRouting"),
        ExactNumber("erin@contoso.com", "+442071838750", "callingPlan", "loc-1"),
    )


def test_every_bad_csv_row_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "numbers.csv").write_text(
        "userPrincipalName,telephoneNumber,numberType\n"
        "dave@contoso.com,+1 425 555 0101,directRouting\n"
        "erin@contoso.com,+442071838750,callingplan\n"
        "frank@contoso.com,+442071838750,callingPlan\n"
        "gina@contoso.com,+442071838750,callingPlan\n"
        "frank@contoso.com,+442071838751,callingPlan\n",
        encoding="utf-8",
    )
    text = NUMBERED.split("numbers:")[0] + "numbers:\n  file: numbers.csv\n"
    problems = problems_of(write(tmp_path, text))
    messages = [str(p) for p in problems]
    csv = str(tmp_path / "numbers.csv")
    assert messages[0].startswith(f"{csv}:2:18: telephoneNumber: '+1 425 555 0101' is not an E.164")
    assert "write '+14255550101'" in messages[0]
    assert messages[1].startswith(f"{csv}:3:32: numberType: ")
    assert messages[2] == f"{csv}:5:1: +442071838750 is given twice (first on line 4)"
    assert messages[3] == f"{csv}:6:1: frank@contoso.com is given two numbers (first on line 4)"
    assert len(messages) == 4


def test_a_csv_without_its_header_or_file_is_one_clear_problem(tmp_path: Path) -> None:
    text = NUMBERED.split("numbers:")[0] + "numbers:\n  file: numbers.csv\n"
    path = write(tmp_path, text)
    [missing] = problems_of(path)
    assert str(missing).startswith(f"{tmp_path / 'numbers.csv'}:1:1: cannot read numbers file")
    (tmp_path / "numbers.csv").write_text("upn,number\na@contoso.com,+14255550100\n", encoding="utf-8")
    [header] = problems_of(path)
    assert "header userPrincipalName,telephoneNumber,numberType[,locationId]" in header.message


def test_mistakes_in_the_numbers_keys_point_at_themselves(tmp_path: Path) -> None:
    text = """
    version: 1
    rules:
      - name: a
        select: {users: [a@contoso.com]}
        assign: [MCOEV]
        voiceRouting: directRouting
        phoneNumber: {type: callingPlan}
        policies: {TeamsCalingPolicy: AllowCalling}
    numbers:
      file: numbers.csv
      rows:
        - {userPrincipalName: a@contoso.com, telephoneNumber: "+14255550100", numberType: callingPlan}
        - {userPrincipalName: b@contoso.com, telephoneNumber: "+14255550100", numberType: pstn}
    """
    problems = problems_of(write(tmp_path, text))
    messages = {(p.line, p.column): p.message for p in problems}
    assert messages == {
        (7, 25): "a callingPlan number for users whose voiceRouting is directRouting: give type: directRouting",
        (8, 16): "rules[0].policies: key 'TeamsCalingPolicy': unknown policy type 'TeamsCalingPolicy'; "
        "did you mean 'TeamsCallingPolicy'?",
        (10, 9): "give the numbers in a file or as rows, not both",
        (13, 59): "+14255550100 is given twice (first on line 12)",
        (13, 87): "numbers.rows[1].numberType: expected 'callingPlan', 'directRouting' or 'operatorConnect', found the "
        "text 'pstn'",
    }


def test_the_schema_offers_the_number_and_policy_keys() -> None:
    schema = json_schema()
    rule = schema["$defs"]["Rule"]["properties"]
    assert set(rule) >= {"phoneNumber", "policies"}
    assert schema["$defs"]["PhoneNumberRule"]["properties"]["type"]["enum"] == [
        "callingPlan",
        "directRouting",
        "operatorConnect",
    ]
    assert "unassignNumbers" in schema["$defs"]["Policy"]["properties"]
    assert "numbers" in schema["properties"]


def test_a_plan_reads_teams_configurations_only_for_a_file_that_declares_numbers_or_policies(tmp_path: Path) -> None:
    from teamslicensing.tenant.need import TenantNeed

    numbered = load_desired_state(write(tmp_path, NUMBERED))
    assert TenantNeed.to_plan(numbered).user_configurations
    plain = "version: 1\nrules:\n  - name: a\n    select: {users: [a@contoso.com]}\n    assign: [MCOEV]\n"
    assert not TenantNeed.to_plan(load_desired_state(write(tmp_path, plain, "plain.yaml"))).user_configurations
