"""What a user can cause or meet ends in one clear message and exit 1, never a traceback; options are never
guessed; the confirmation is asked on the terminal, never on standard output; staged and budgeted runs exit 4."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from teamslicensing.cli import commands, main
from tests.support import planfiles
from tests.support.rollout import CONFIG, rollout_document


@pytest.fixture
def tenant(demo_tenant: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tenant.json"
    shutil.copyfile(demo_tenant, copy)
    return copy


def exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse
        return int(exc.code or 0)


@pytest.mark.parametrize(
    "argv",
    [
        ["plan"],
        ["plan", "c.yaml", "--outp", "x.json"],  # an abbreviation of --output: never guessed
        ["plan", "c.yaml", "--snap", "t.json"],
        ["apply", "c.yaml", "--limit", "-3"],
        ["apply", "c.yaml", "--time-budget", "soon"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_1_not_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(argv) == 1, "2 would read as 'changes pending' in CI"
    assert "error:" in capsys.readouterr().err


def test_plan_out_is_the_saved_plan_option_not_output(example_config: Path, tenant: Path, tmp_path: Path) -> None:
    assert main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(tmp_path / "p.json")]) == 0
    assert planfiles.header(tmp_path / "p.json")["teamsLicensingPlan"] == 2


@pytest.mark.parametrize(
    ("audit", "message"),
    [
        ("/dev/full", "No space left on device"),
        ("{tmp}/no/such/folder/audit.jsonl", "cannot write the audit log"),
        ("{tmp}/used.jsonl", "already holds a run"),
    ],
)
def test_an_unwritable_audit_log_refuses_before_any_write(
    audit: str, message: str, example_config: Path, tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if audit == "/dev/full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    (tmp_path / "used.jsonl").write_text('{"audit": 2}\n', encoding="utf-8")
    original = tenant.read_bytes()
    path = audit.format(tmp=tmp_path)
    status = main(["apply", str(example_config), "--snapshot", str(tenant), "--yes", "--audit-log", path])
    err = capsys.readouterr().err
    assert status == 1
    assert message in err
    assert "nothing was written" in err
    assert "Traceback" not in err
    assert tenant.read_bytes() == original


def test_a_snapshot_nested_absurdly_deep_is_a_message(tmp_path: Path, example_config: Path, capsys: Any) -> None:
    snapshot = tmp_path / "deep.json"
    snapshot.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert main(["plan", str(example_config), "--snapshot", str(snapshot)]) == 1
    assert "nested too deeply" in capsys.readouterr().err


def test_an_html_page_instead_of_graph_json_is_a_message(
    example_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", "test-token-not-a-secret")
    page = httpx.Response(200, headers={"content-type": "text/html"}, text="<html><body>Sign in to Wi-Fi</body>")
    with respx.mock(assert_all_called=False) as router:
        router.route(host="graph.microsoft.com").mock(return_value=page)
        assert main(["plan", str(example_config)]) == 1
    err = capsys.readouterr().err
    assert "is not JSON (text/html" in err
    assert "Traceback" not in err


@contextmanager
def terminal_answering(monkeypatch: pytest.MonkeyPatch, answer: str) -> Iterator[io.StringIO]:
    seen = io.StringIO()

    class Tty(io.StringIO):
        def write(self, text: str) -> int:
            return seen.write(text)

    @contextmanager
    def fake_terminal() -> Iterator[Any]:
        yield Tty(answer)

    monkeypatch.setattr(commands, "_terminal", fake_terminal)
    yield seen


def test_ctrl_d_at_the_prompt_cancels_cleanly(
    example_config: Path, tenant: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    original = tenant.read_bytes()
    with terminal_answering(monkeypatch, ""):
        assert main(["apply", str(example_config), "--snapshot", str(tenant)]) == 1
    assert "cancelled (no answer); nothing was written" in capsys.readouterr().err
    assert tenant.read_bytes() == original


def test_the_question_goes_to_the_terminal_so_json_on_stdout_stays_json(
    example_config: Path,
    tenant: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with terminal_answering(monkeypatch, "yes\n") as asked:
        args = ["apply", str(example_config), "--snapshot", str(tenant), "--format", "json"]
        assert main([*args, "--audit-log", str(tmp_path / "a.jsonl")]) == 3
    document = json.loads(capsys.readouterr().out)
    assert document["result"]["applied"] == len(document["changes"])
    assert "Apply these changes?" in asked.getvalue()


def test_an_unexpected_bug_is_one_line_unless_debug(
    example_config: Path, tenant: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("teamslicensing.app.plan", broken)
    assert main(["plan", str(example_config), "--snapshot", str(tenant)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError: division by zero")
    assert "--debug" in err
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "plan", str(example_config), "--snapshot", str(tenant)])


def test_limit_applies_a_wave_and_exits_4_then_the_next_run_continues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(rollout_document(30)), encoding="utf-8")
    base = ["apply", str(config), "--snapshot", str(snapshot), "--yes"]
    assert main([*base, "--limit", "10", "--audit-log", str(tmp_path / "1.jsonl")]) == 4
    assert "10 applied, 0 failed, 20 not attempted" in capsys.readouterr().err
    assert main([*base, "--time-budget", "0s", "--audit-log", str(tmp_path / "2.jsonl")]) == 4
    assert "the time budget ran out" in capsys.readouterr().err
    assert main([*base, "--audit-log", str(tmp_path / "3.jsonl")]) == 0
    assert "20 applied, 0 failed, 0 not attempted" in capsys.readouterr().err


def test_more_removals_than_max_removals_are_refused_before_any_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "prune.yaml"
    config.write_text(
        "version: 1\nrules:\n  - name: phone\n    select: {groups: [Voice]}\n    assign: [MCOEV]\n"
        "  - name: calling\n    select: {attributes: {department: Nobody}}\n    assign: [MCOPSTN1]\n"
        "policy:\n  prune: true\n  allowNumberLoss: true\n",
        encoding="utf-8",
    )
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(rollout_document(60, holding_calling_plan=60)), encoding="utf-8")
    original = snapshot.read_bytes()
    base = ["apply", str(config), "--snapshot", str(snapshot), "--yes", "--audit-log", str(tmp_path / "a.jsonl")]
    assert main(base) == 1
    assert "takes service plans away from 60 users, more than the limit of 50" in capsys.readouterr().err
    assert snapshot.read_bytes() == original
    assert main([*base, "--max-removals", "60"]) == 0
