"""What an apply or undo report says once the run ended: why nothing was written, the verb, a real time."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from teamslicensing.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config" / "licensing.yaml")
DEMO = ROOT / "config" / "examples" / "contoso-tenant.json"


@pytest.mark.parametrize("output_format", ["html", "markdown", "csv"])
def test_an_apply_that_wrote_nothing_says_so_in_its_report(
    output_format: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, report = tmp_path / "tenant.json", tmp_path / f"apply.{output_format}"
    tenant.write_bytes(DEMO.read_bytes())
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))  # no terminal to ask on: refused without --yes
    args = ["apply", CONFIG, "--snapshot", str(tenant), "--audit-log", str(tmp_path / "audit.jsonl")]
    assert main([*args, "--format", output_format, "--output", str(report)]) == 1
    assert tenant.read_bytes() == DEMO.read_bytes(), "nothing was written"
    written = report.read_text(encoding="utf-8")
    assert "nothing was written" in written.lower(), (
        "the file an admin keeps from this apply shows the plan under an apply title and never says that nothing "
        "was applied"
    )


def test_an_undo_report_says_undo_not_apply(tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.json"
    tenant.write_bytes(DEMO.read_bytes())
    first, second, report = tmp_path / "apply.jsonl", tmp_path / "undo.jsonl", tmp_path / "undo.csv"
    assert main(["apply", CONFIG, "--snapshot", str(tenant), "--yes", "--audit-log", str(first)]) == 3
    args = ["undo", str(first), "--snapshot", str(tenant), "--yes", "--audit-log", str(second)]
    main([*args, "--format", "csv", "--output", str(report)])
    (outcome,) = [r for r in csv.DictReader(io.StringIO(report.read_text(encoding="utf-8"))) if r["kind"] == "outcome"]
    assert outcome["detail"].startswith("Undo:"), outcome["detail"]


def test_a_source_date_epoch_out_of_range_is_no_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "99999999999999")
    main(["plan", CONFIG, "--snapshot", str(DEMO), "--format", "json"])
    assert "internal error" not in capsys.readouterr().err
