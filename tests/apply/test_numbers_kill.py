"""`apply` killed (SIGKILL: no handler, no summary) while its number operations are open, as a real process
against the fake served over loopback: every assignNumber the fake received has its intent record in the audit
log, and a second run converges, no number given twice."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

from tests.apply.test_apply_signals import cli
from tests.support.fakegraph import FakeGraph
from tests.support.loopback import LoopbackGraph, serving
from tests.support.rollout import user_id
from tests.support.voicerollout import CONFIG, OUTSIDER, holders, voice_document

USERS = 20


def number_writes(loopback: LoopbackGraph) -> list[tuple[str, str]]:
    with loopback.lock:
        return [
            (w["body"]["telephoneNumber"], w["body"]["assignmentTargetId"])
            for w in loopback.fake.writes
            if w["url"].endswith("/assignNumber")
        ]


def audited(audit: Path) -> set[tuple[str, str]]:
    found = set()
    for line in audit.read_text(encoding="utf-8").splitlines():
        try:
            record: dict[str, Any] = json.loads(line)
        except ValueError:  # SIGKILL may cut the last line short
            continue
        if record.get("type") == "intent" and record.get("kind") == "numberAssign":
            body = record["request"]["body"]
            found.add((body["telephoneNumber"], body["assignmentTargetId"]))
    return found


def test_a_kill_during_the_number_operations_loses_no_intent_and_a_rerun_converges(tmp_path: Path) -> None:
    config = tmp_path / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    document = voice_document()
    with serving(lambda url: FakeGraph(document, base_url=url), latency=0.05) as loopback:
        audit = tmp_path / "first.jsonl"
        process = cli(loopback.url, tmp_path, "apply", str(config), "--yes", "--audit-log", str(audit))
        deadline = time.monotonic() + 120
        while not number_writes(loopback):
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "no number was assigned"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL
        sent = number_writes(loopback)
        assert set(sent) <= audited(audit), "an assignNumber reached Graph without its intent record"
        with loopback.lock:
            open_operations = [o for o in loopback.fake._operations.values() if o.status in ("notStarted", "running")]
        assert open_operations, "killed while Teams was still carrying the assignments out"
        again = cli(loopback.url, tmp_path, "apply", str(config), "--yes", "--audit-log", str(tmp_path / "2.jsonl"))
        _, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        with loopback.lock:
            loopback.fake.finish_operations()  # what the killed run had Graph accept ends too, meanwhile
        check = cli(loopback.url, tmp_path, "plan", str(config), "--detailed-exitcode")
        _, err = check.communicate(timeout=120)
        assert check.returncode == 0, err
        with loopback.lock:
            state = loopback.fake.document()
    held = holders(state)
    given = {number: holder for number, holder in held.items() if holder and holder != user_id(OUTSIDER)}
    assert sorted(given.values()) == sorted(user_id(n) for n in range(USERS)), "one number each, none given twice"
