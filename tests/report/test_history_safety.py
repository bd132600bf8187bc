"""`--history FILE` when the file is not where, or not what, the tool expects: refused before any read or write,
never appended to a file that is not a history; a record cut short by a killed run costs no later record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teamslicensing.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config" / "licensing.yaml")
DEMO = ROOT / "config" / "examples" / "contoso-tenant.json"


def apply_args(tmp_path: Path) -> tuple[list[str], Path, Path]:
    tenant, audit = tmp_path / "tenant.json", tmp_path / "audit.jsonl"
    tenant.write_bytes(DEMO.read_bytes())
    return ["apply", CONFIG, "--snapshot", str(tenant), "--yes", "--audit-log", str(audit)], tenant, audit


def wrote(tenant: Path) -> bool:
    return tenant.read_bytes() != DEMO.read_bytes()


def test_a_history_in_a_missing_folder_is_refused_before_any_write(tmp_path: Path) -> None:
    args, tenant, _ = apply_args(tmp_path)
    code = main([*args, "--history", str(tmp_path / "no-such-folder" / "history.jsonl")])
    assert not (wrote(tenant) and code == 1), (
        "the apply wrote the tenant and then ended with exit 1 'cannot append to the history': a CI run is marked "
        "failed after a successful apply; a bad --history must be refused before any write"
    )


def test_a_history_that_cannot_be_read_does_not_cost_an_apply_its_report(tmp_path: Path) -> None:
    args, tenant, _ = apply_args(tmp_path)
    report = tmp_path / "apply.html"
    history = tmp_path / "history"
    history.mkdir()  # a folder given where a file was meant
    main([*args, "--history", str(history), "--format", "html", "--output", str(report)])
    assert not wrote(tenant) or report.exists(), "the apply wrote the tenant but its report was never written"


def test_plan_out_is_saved_even_when_the_history_cannot_be_appended(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "plan.tlplan"
    history = tmp_path / "no-such-folder" / "history.jsonl"
    code = main(["plan", CONFIG, "--snapshot", str(DEMO), "--out", str(saved), "--history", str(history)])
    out = capsys.readouterr().out
    assert saved.exists() or (code == 1 and not out), "the report was printed, then --out silently not saved"


def test_a_file_that_is_not_a_history_is_not_appended_to(tmp_path: Path) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_bytes(Path(CONFIG).read_bytes())
    before = config.read_bytes()
    main(["plan", str(config), "--snapshot", str(DEMO), "--history", str(config)])  # --history given the wrong file
    assert config.read_bytes() == before, "a JSON line was appended to the configuration: it no longer validates"
    assert main(["validate", str(config)]) == 0


def test_a_history_ending_in_a_cut_line_keeps_the_next_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    history, report = tmp_path / "history.jsonl", tmp_path / "plan.md"
    history.write_text('{"version":1,"generatedAt":"2026-12-0', encoding="utf-8")  # a run killed mid-append
    args = ["plan", CONFIG, "--snapshot", str(DEMO), "--history", str(history), "--format", "markdown"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796601600")
    assert main([*args, "--output", str(report)]) == 0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796688000")
    assert main([*args, "--output", str(report)]) == 0
    assert "### Last runs" in report.read_text(encoding="utf-8"), (
        "the first run's record was glued onto the cut line and lost: the second report shows no earlier run"
    )


def test_a_history_line_of_another_command_is_left_out_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record's command is plan, apply or undo: anything else (a `|` that would break the Markdown table) is not
    a record, and is said."""
    history, report = tmp_path / "history.jsonl", tmp_path / "plan.md"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796601600")
    args = ["plan", CONFIG, "--snapshot", str(DEMO), "--history", str(history), "--format", "markdown"]
    assert main([*args, "--output", str(report)]) == 0
    record = json.loads(history.read_text(encoding="utf-8"))
    record["command"] = "plan | apply"
    history.write_text(json.dumps(record) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main([*args, "--output", str(report)]) == 0
    assert "command 'plan | apply' is none of plan, apply, undo" in capsys.readouterr().err
    assert "plan | apply" not in report.read_text(encoding="utf-8")


def test_a_report_that_cannot_be_written_does_not_cost_the_run_its_history_record(tmp_path: Path) -> None:
    """--output into a folder that does not exist: the apply wrote, the report fails, the run is still in the
    history (the record is kept before the report is written)."""
    args, tenant, _ = apply_args(tmp_path)
    history = tmp_path / "history.jsonl"
    unwritable = tmp_path / "no-such-folder" / "apply.md"
    code = main([*args, "--history", str(history), "--format", "markdown", "--output", str(unwritable)])
    assert wrote(tenant)
    assert code == 1, "the report could not be written"
    (record,) = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines()]
    assert record["command"] == "apply"
    assert record["applied"] > 0


@pytest.mark.parametrize("amount", ["1" + "0" * 400, "1e400", "NaN"])
def test_an_amount_no_number_can_hold_is_a_line_left_out(amount: str, tmp_path: Path) -> None:
    from teamslicensing.app.history import read_history

    history = tmp_path / "history.jsonl"

    def line(value: str) -> str:
        return (
            '{"version":1,"generatedAt":"2026-12-07T00:00:00Z","command":"plan","tenant":"Contoso","changes":1,'
            f'"errors":0,"warnings":0,"seats":[],"cost":[{{"currency":"USD","monthlyAdded":{value},"monthlySaved":0,'
            '"unusedMonthly":0}],"applied":null,"failed":null}'
        )

    history.write_text(line("8.5") + "\n", encoding="utf-8")
    assert len(read_history(history, None)[0]) == 1, "the same line with an amount is a record"
    history.write_text(line(amount) + "\n", encoding="utf-8")
    records, notes = read_history(history, None)
    assert records == []
    assert "not a run record" in notes[0]


@pytest.mark.parametrize("amount", ['"abc"', '"Infinity"'])
def test_a_saved_plans_cost_that_is_no_amount_is_a_value_error(amount: str) -> None:
    from teamslicensing.model.cost import cost_from_json

    document = json.loads(
        '{"currency":"USD","bySku":[{"skuPartNumber":"MCOEV","monthly":'
        + amount
        + ',"added":0,"saved":0,"redundant":0,"unused":0}]}'
    )
    with pytest.raises(ValueError, match="is not an amount"):
        cost_from_json(document)
