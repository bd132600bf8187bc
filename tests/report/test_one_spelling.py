"""One spelling in what the tool prints: "license", as Microsoft writes it. The usage report's JSON field and CSV
column `licences` keep theirs until the report's next version (a contract)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import respx
from _pytest.capture import CaptureResult

from teamslicensing.cli import main
from tests.planner.test_usage import calls, tenant
from tests.support.faults import fake_for

ROOT = Path(__file__).resolve().parents[2]
DEMO = [str(ROOT / "config/licensing.yaml"), "--snapshot", str(ROOT / "config/examples/contoso-tenant.json")]
FORMATS = ["text", "markdown", "html", "json", "csv"]
KEY = re.compile(r"""["']licences["']|^licences$|,licences,|,licences$""", re.MULTILINE)


def spelt_one_way(printed: CaptureResult[str]) -> bool:
    return "licence" not in KEY.sub("", printed.out + printed.err).lower()


@pytest.mark.parametrize("output_format", FORMATS)
def test_the_plan_spells_license_one_way(output_format: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", *DEMO, "--format", output_format]) == 0
    assert spelt_one_way(capsys.readouterr())


@pytest.mark.usefixtures("graph_token")
def test_the_usage_report_spells_license_one_way(
    router: respx.MockRouter, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    start = (datetime.now(timezone.utc) - timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
    fake_for({**tenant(), "pstnCalls": calls(start, 35, 40, plan="MCOPSTN1")}, router)
    calls_file, snapshot = tmp_path / "calls.jsonl", tmp_path / "tenant.json"
    assert main(["export", "--calls", str(calls_file), "--days", "40"]) == 0
    snapshot.write_text(json.dumps(tenant()), encoding="utf-8")
    capsys.readouterr()
    for output_format in FORMATS:
        main(["usage", "--snapshot", str(snapshot), "--calls", str(calls_file), "--format", output_format])
        printed = capsys.readouterr()
        assert "icense" in printed.out, f"{output_format}: the pools' license counts are shown"
        assert spelt_one_way(printed), output_format
