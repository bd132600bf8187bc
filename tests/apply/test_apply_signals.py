"""`apply` stopped by a signal with batches in flight, as a real process against the fake served over loopback.

Every write the fake received must have its `intent` record in the audit log, whatever the signal; SIGINT and
SIGTERM must end with the apply summary and exit 130 / 143; and a second run must converge to the state of an
uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.fakegraph import FakeGraph
from tests.support.loopback import LoopbackGraph, serving
from tests.support.rollout import CONFIG, MCOPSTN1, holders, rollout_document

ROOT = Path(__file__).resolve().parents[2]
USERS = 3000


def cli(url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """The CLI in its own process; the report goes to a file (a pipe nobody reads would block it when full)."""
    env = {
        **os.environ,
        "TEAMS_LICENSING_ACCESS_TOKEN": "test-token-not-a-secret",
        "TEAMS_LICENSING_LOCK_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT / "automation"),
    }
    command = [sys.executable, "-m", "teamslicensing", *args, "--graph-url", url]
    with open(tmp_path / f"report-{time.monotonic_ns()}.txt", "w") as report:  # the child keeps its own copy
        return subprocess.Popen(command, env=env, stdout=report, stderr=subprocess.PIPE, text=True)


def wait_for_writes(fake: FakeGraph, count: int, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(fake.writes) < count:
        if process.poll() is not None or time.monotonic() > deadline:
            _, err = process.communicate()
            raise AssertionError(f"apply ended or stalled before {count} writes: {err}")
        time.sleep(0.02)


def apply_under_way(loopback: LoopbackGraph, tmp_path: Path, config: Path) -> tuple[subprocess.Popen[str], Path]:
    """`apply` in its own process, once a fifth of its writes reached the fake; and its audit log."""
    audit = tmp_path / "first.jsonl"
    process = cli(loopback.url, tmp_path, "apply", str(config), "--yes", "--audit-log", str(audit))
    wait_for_writes(loopback.fake, USERS // 5, process)
    return process, audit


def intents(audit: Path) -> set[str]:
    found = set()
    for line in audit.read_text(encoding="utf-8").splitlines():
        try:
            record: dict[str, Any] = json.loads(line)
        except ValueError:  # SIGKILL may cut the last line short
            continue
        if record.get("type") == "intent":
            found.add(record["request"]["url"])
    return found


@pytest.mark.parametrize(
    ("sig", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -signal.SIGKILL)]
)
def test_a_signal_mid_apply_loses_nothing_and_a_rerun_converges(
    sig: signal.Signals, exit_code: int, tmp_path: Path
) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    document = rollout_document(USERS)
    with serving(lambda url: FakeGraph(document, base_url=url), latency=0.1) as loopback:
        fake = loopback.fake
        process, audit = apply_under_way(loopback, tmp_path, config)
        process.send_signal(sig)
        _, err = process.communicate(timeout=120)
        assert process.returncode == exit_code, err
        with loopback.lock:
            sent = [write["url"] for write in fake.writes]
        assert len(sent) < USERS, "stopped before the end"
        assert set(sent) <= intents(audit), "a write reached Graph without its intent record"
        if sig is not signal.SIGKILL:
            summary = [line for line in err.splitlines() if line.startswith("Apply: ")]
            assert len(summary) == 1, err
            assert "not attempted" in summary[0]
            assert "stopped by" in summary[0]
            last = json.loads(audit.read_text(encoding="utf-8").splitlines()[-1])
            assert last["type"] == "end"
            assert last["applied"] + last["notAttempted"] + last["failed"] + last["unknown"] == USERS
            assert last["failed"] == 0
        again = cli(loopback.url, tmp_path, "apply", str(config), "--yes", "--audit-log", str(tmp_path / "2.jsonl"))
        _, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        check = cli(loopback.url, tmp_path, "plan", str(config), "--detailed-exitcode")
        _, err = check.communicate(timeout=120)
        assert check.returncode == 0, err
        with loopback.lock:
            state = fake.document()
    assert holders(state, MCOPSTN1) == {user["id"] for user in document["users"]}
    calling = next(sku for sku in state["subscribedSkus"] if sku["skuId"] == MCOPSTN1)
    assert calling["consumedUnits"] == USERS, "one seat per user, as an uninterrupted run leaves it"


def test_two_applies_at_once_write_no_user_twice_and_report_no_false_failure(tmp_path: Path) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    document = rollout_document(600)
    with serving(lambda url: FakeGraph(document, base_url=url), latency=0.05) as loopback:
        runs = [
            cli(loopback.url, tmp_path, "apply", str(config), "--yes", "--audit-log", str(tmp_path / f"{n}.jsonl"))
            for n in (1, 2)
        ]
        errors = [run.communicate(timeout=120)[1] for run in runs]
        with loopback.lock:
            urls = [write["url"] for write in loopback.fake.writes]
            state = loopback.fake.document()
    assert len(urls) == len(set(urls)) == 600, "every user written once"
    assert sorted(run.returncode for run in runs) in ([0, 0], [0, 1]), errors
    refused = [err for run, err in zip(runs, errors, strict=True) if run.returncode == 1]
    assert all("another apply is running" in err and "nothing was written" in err for err in refused)
    assert not any("FAILED" in err for err in errors)
    assert holders(state, MCOPSTN1) == {user["id"] for user in document["users"]}


def test_a_second_ctrl_c_abandons_batches_in_flight_and_still_accounts_for_every_user(tmp_path: Path) -> None:
    """The first SIGINT waits for batches in flight (up to the grace period); a second one stops waiting. The
    batches left without an answer are `unknown`, never `applied` or `not attempted`, and a rerun converges."""
    config = tmp_path / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    document = rollout_document(USERS)
    with serving(lambda url: FakeGraph(document, base_url=url), latency=0.05) as loopback:
        fake = loopback.fake
        process, audit = apply_under_way(loopback, tmp_path, config)
        loopback.latency = 10.0  # the batches now in flight hang (a graceful stop would wait them out)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        asked_twice = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        stopped_in = time.monotonic() - asked_twice
        assert process.returncode == 130, err
        assert stopped_in < 4, f"a second Ctrl-C did not stop waiting for the hanging batches ({stopped_in:.1f} s)"
        (summary,) = [line for line in err.splitlines() if line.startswith("Apply: ")]
        assert "unknown" in summary, summary
        last = json.loads(audit.read_text(encoding="utf-8").splitlines()[-1])
        assert last["type"] == "end"
        assert last["unknown"] > 0
        assert last["applied"] + last["notAttempted"] + last["failed"] + last["unknown"] == USERS
        loopback.latency = 0.0
        time.sleep(11)  # the abandoned requests still reach the tenant: the rerun must find them done
        again = cli(loopback.url, tmp_path, "apply", str(config), "--yes", "--audit-log", str(tmp_path / "2.jsonl"))
        _, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        with loopback.lock:
            state = fake.document()
            sent = [write["url"] for write in fake.writes]
    assert set(sent) <= intents(audit) | intents(tmp_path / "2.jsonl"), "a write reached Graph without its intent"
    assert holders(state, MCOPSTN1) == {user["id"] for user in document["users"]}
    calling = next(sku for sku in state["subscribedSkus"] if sku["skuId"] == MCOPSTN1)
    assert calling["consumedUnits"] == USERS
