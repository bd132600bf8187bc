"""policy.acknowledge: a known exception is info until its date, so CI stops failing on it; nothing is unblocked."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main
from tests.support.rollout import rollout_document
from tests.support.runnable import ROOT

RULE = """version: 1
rules:
  - name: calling
    select: {groups: [Voice], users: [ghost@contoso.com]}
    assign: [MCOEV, MCOPSTN1]
"""


def setup(tmp_path: Path, policy: str) -> tuple[Path, Path]:
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(rollout_document(3)))
    config = tmp_path / "licensing.yaml"
    config.write_text(RULE + policy)
    return config, snapshot


def plan(capsys: pytest.CaptureFixture[str], config: Path, snapshot: Path) -> tuple[int, dict[str, Any]]:
    code = main(["plan", str(config), "--snapshot", str(snapshot), "--format", "json", "--detailed-exitcode"])
    return code, json.loads(capsys.readouterr().out)


def test_an_acknowledged_error_is_info_until_its_date_and_the_plan_is_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, snapshot = setup(tmp_path, "")
    code, before = plan(capsys, config, snapshot)
    assert code == 3, "USER_NOT_FOUND fails CI"
    until = (date.today() + timedelta(days=30)).isoformat()
    config.write_text(
        RULE
        + "policy:\n  acknowledge:\n"
        + f"    - {{code: USER_NOT_FOUND, user: ghost@contoso.com, until: {until}, reason: 'leaver, HR ticket 4711'}}\n"
    )
    code, after = plan(capsys, config, snapshot)
    assert code == 2, "changes pending, no error left"
    (gap,) = [g for g in after["gaps"] if g["code"] == "USER_NOT_FOUND"]
    assert gap["severity"] == "info"
    assert f"acknowledged until {until} (leaver, HR ticket 4711), was error" in gap["message"]
    assert after["changes"] == before["changes"], "acknowledging changes the report, never the plan"


def test_an_expired_acknowledgement_is_a_warning_and_the_gap_counts_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, snapshot = setup(
        tmp_path, "policy:\n  acknowledge:\n    - {code: USER_NOT_FOUND, until: 2020-01-31, reason: old ticket}\n"
    )
    code, report = plan(capsys, config, snapshot)
    assert code == 3
    codes = {(g["code"], g["severity"]) for g in report["gaps"]}
    assert ("USER_NOT_FOUND", "error") in codes
    assert ("ACKNOWLEDGEMENT_EXPIRED", "warning") in codes


@pytest.mark.parametrize("code", ["PHONE_NUMBER_AT_RISK", "PROTECTED_USER_NOT_FOUND", "NO_SUCH_CODE"])
def test_what_guards_a_number_or_every_write_cannot_be_acknowledged(
    code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, snapshot = setup(
        tmp_path, f"policy:\n  acknowledge:\n    - {{code: {code}, until: 2099-01-01, reason: x}}\n"
    )
    assert main(["plan", str(config), "--snapshot", str(snapshot)]) == 1
    err = capsys.readouterr().err
    assert f"{config}:" in err, "named at file:line:column"
    assert code in err


def test_an_unknown_code_is_refused_with_where_the_codes_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = "{code: SEATS_SHORT, until: 2099-01-01, reason: x}"
    config, snapshot = setup(tmp_path, f"policy:\n  acknowledge:\n    - {entry}\n")
    assert main(["plan", str(config), "--snapshot", str(snapshot)]) == 1
    err = capsys.readouterr().err
    assert f"{config}:8:" in err
    assert "'SEATS_SHORT' is not a gap code" in err
    page = re.search(r"docs/reference/[\w-]+\.md", err)
    assert page is not None, "the message names the page that lists the codes"
    assert "`SEAT_SHORTAGE`" in (ROOT / page.group()).read_text(encoding="utf-8")


def test_a_renewal_below_the_expired_entry_wins_and_a_user_may_be_named_by_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = rollout_document(3)
    later = (date.today() + timedelta(days=10)).isoformat()
    config, snapshot = setup(
        tmp_path,
        "policy:\n  acknowledge:\n"
        "    - {code: USER_NOT_FOUND, until: 2020-01-31, reason: old ticket}\n"
        f"    - {{code: USER_NOT_FOUND, until: {later}, reason: renewed}}\n"
        f"    - {{code: TEAMS_LICENSE_MISSING, user: {document['users'][0]['id']}, until: {later}, reason: by id}}\n",
    )
    code, report = plan(capsys, config, snapshot)
    (gap,) = [g for g in report["gaps"] if g["code"] == "USER_NOT_FOUND"]
    assert gap["severity"] == "info"
    assert "(renewed)" in gap["message"], "the entry in force wins over the expired one above it"
    assert code == 2


def test_group_writes_count_in_the_limits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A group write that removes a SKU reaches every direct member: maxRemovals counts them all."""
    document = rollout_document(5)
    document["groups"][0]["assignedLicenses"] = [{"skuId": "e43b5b99-8dfb-405f-9987-dc307f34bcbd", "disabledPlans": []}]
    document["numberAssignments"] = []
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(document))
    config = tmp_path / "licensing.yaml"
    config.write_text(
        "version: 1\npolicy: {prune: true, maxRemovals: 2}\ngroupLicenses:\n  - {group: Voice, assign: [MCOPSTN1]}\n"
        "rules:\n  - {name: other, select: {users: [nobody@contoso.com]}, assign: [MCOEV]}\n"
    )
    assert main(["apply", str(config), "--snapshot", str(snapshot), "--yes"]) == 1
    assert "takes service plans away from 5 users, more than the limit of 2" in capsys.readouterr().err
