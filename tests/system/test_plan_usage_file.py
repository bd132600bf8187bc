"""`plan --usage FILE` believes a usage report only when it is one: an object with the usage JSON's `version` (1 or 2)
and its `window`, `pools` and `gaps`. Anything else (a plan's own JSON, which also has `version` and `gaps`, a later
version, a list) is a clear error, exit 1, no traceback, and no gap of it joins the plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main
from tests.planner.test_usage import tenant

GAP = {
    "code": "TOLL_FREE_WITHOUT_CREDITS",
    "severity": "error",
    "userPrincipalName": None,
    "skuPartNumber": None,
    "message": "toll-free calls without Credits",
}
WINDOW = {"from": "2026-05-01", "to": "2026-05-10"}


def plan_with(tmp_path: Path, document: Any, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(tenant()))
    usage = tmp_path / "usage.json"
    usage.write_text(json.dumps(document))
    config = tmp_path / "licensing.yaml"
    config.write_text("version: 1\n")
    code = main(["plan", str(config), "--snapshot", str(snapshot), "--usage", str(usage), "--detailed-exitcode"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ({"gaps": [GAP]}, "no version"),
        ({"version": 1, "changes": [], "gaps": [GAP], "seats": []}, "lacks window, pools (a plan's JSON?)"),
        (
            {"version": 3, "window": WINDOW, "pools": [], "gaps": [GAP]},
            "its version is 3; this tool reads versions 1 and 2",
        ),
        ({"version": "2", "window": WINDOW, "pools": [], "gaps": [GAP]}, "its version is '2'"),
        ({"version": 2, "window": "May", "pools": [], "gaps": [GAP]}, "window is not an object with from and to"),
        ({"version": 2, "window": WINDOW, "pools": {}, "gaps": [GAP]}, "pools is not a list"),
        ([GAP], "holds a list, not an object"),
    ],
)
def test_a_file_that_is_not_a_usage_report_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: Any, says: str
) -> None:
    code, err = plan_with(tmp_path, document, capsys)
    assert code == 1, "the error gap it carries must not be believed (it would have made exit 3)"
    assert "is not the JSON of `teams-licensing usage --format json`" in err
    assert says in err
    assert "Traceback" not in err


@pytest.mark.parametrize("version", [1, 2])
def test_a_usage_report_of_either_version_adds_its_gaps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: int
) -> None:
    """Its one error gap joins the plan: --detailed-exitcode gives 3."""
    code, err = plan_with(tmp_path, {"version": version, "window": WINDOW, "pools": [], "gaps": [GAP]}, capsys)
    assert code == 3, err
