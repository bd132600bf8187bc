"""The tool's real outputs on the shipped demo, for the JSON contracts page: the CLI run as a user runs it (a child
process, in a scratch folder holding copies of the demo files, so paths in the output are the short relative ones
a user sees) and the runbook run as Azure Automation runs it, against the fake tenant served over loopback HTTP.

Values that differ between runs (times, durations, run, request and process ids, digests over them) are replaced by
fixed placeholders of the same type, so that regenerating the page changes it only when an output's shape or the
demo's answer changed."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.runnable import outside_ci

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "config" / "licensing.yaml"
SNAPSHOT = ROOT / "config" / "examples" / "contoso-tenant.json"
GROUP_CASE = ROOT / "tests" / "planner" / "cases" / "group_license_add.yaml"
USAGE_FROM, USAGE_TO = "2026-01-01", "2026-03-31"

PLACEHOLDERS: dict[str, Any] = {
    "seconds": 1.25,
    "time": "2026-01-01T06:00:00.000+00:00",
    "createdAt": "2026-01-01T06:00:00+00:00",
    "generatedAt": "2026-01-01T06:00:00Z",
    "runId": "00000000-0000-4000-8000-000000000001",
    "pid": 4242,
    "requestId": "snapshot-00000000-0000-4000-8000-000000000002",  # a snapshot's writes get a random one
    "digest": "sha256:" + "0" * 64,
}


def steady(value: Any) -> Any:
    """`value` with every run-dependent field replaced by its placeholder."""
    if isinstance(value, dict):
        return {k: PLACEHOLDERS[k] if k in PLACEHOLDERS and v is not None else steady(v) for k, v in value.items()}
    if isinstance(value, list):
        return [steady(item) for item in value]
    return value


@dataclass(frozen=True)
class Outputs:
    plan: dict[str, Any]  # plan --format json
    group_plan: dict[str, Any]  # the same, for a configuration with groupLicenses
    refused_plan: dict[str, Any]  # the same, for a configuration apply would refuse
    apply: dict[str, Any]  # apply --format json (the plan document with "result")
    stopped_apply: dict[str, Any]  # the same, stopped by its time budget before its first write
    group_apply: dict[str, Any]  # the same, with a group license write
    plan_file: list[dict[str, Any]]  # plan --out PLANFILE, record by record
    audit: list[dict[str, Any]]  # the audit log of that apply
    usage: dict[str, Any]  # usage --format json
    job_line: dict[str, Any]  # the runbook's last output line, apply mode


def _cli(folder: Path, *args: str, allowed: tuple[int, ...] = (0, 3)) -> str:
    env = {**outside_ci(), "TEAMS_LICENSING_LOCK_DIR": str(folder), "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-m", "teamslicensing", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode not in allowed:
        raise RuntimeError(f"teams-licensing {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _calls(folder: Path) -> Path:
    from tests.support.docsgen.calls import write_calls

    return write_calls(folder / "calls.jsonl")


def _group_files(folder: Path) -> None:
    from tests.planner.test_plans import expand_tenant

    case = yaml.safe_load(GROUP_CASE.read_text(encoding="utf-8"))
    (folder / "groups.yaml").write_text(yaml.safe_dump(case["config"], sort_keys=False), encoding="utf-8")
    (folder / "groups.json").write_text(json.dumps(expand_tenant(case["tenant"])), encoding="utf-8")


PRICES = {  # list prices as an example, USD per month, and one in EUR: `cost` holds an entry per currency
    "MCOEV": {"monthly": 10.0, "currency": "USD"},
    "Microsoft Teams Domestic Calling Plan": {"monthly": 12.0, "currency": "USD"},
    "MCOMEETADV": {"monthly": 4.0, "currency": "USD"},
    "MCOPSTN2": {"monthly": 22.0, "currency": "EUR"},
}


def _refused_config(folder: Path) -> None:
    """The demo configuration with a limit the plan exceeds, a protected user no one is, and prices (the cost)."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["prices"] = PRICES
    config["policy"]["maxChanges"] = 5
    config["policy"]["protectedUsers"] = [*config["policy"].get("protectedUsers", []), "ceo@contoso.co"]
    (folder / "refused.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def collect() -> Outputs:
    with tempfile.TemporaryDirectory(prefix="teams-licensing-docs-") as scratch:
        folder = Path(scratch)
        (folder / "config").mkdir()
        (folder / "config" / "licensing.yaml").write_text(CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
        (folder / "config" / "examples").mkdir()
        (folder / "config" / "examples" / "contoso-tenant.json").write_text(
            SNAPSHOT.read_text(encoding="utf-8"), encoding="utf-8"
        )
        _group_files(folder)
        _refused_config(folder)
        (folder / "stopped.json").write_text(SNAPSHOT.read_text(encoding="utf-8"), encoding="utf-8")
        demo = ("config/licensing.yaml", "--snapshot", "config/examples/contoso-tenant.json")
        groups = ("groups.yaml", "--snapshot", "groups.json")
        plan = json.loads(_cli(folder, "plan", *demo, "--format", "json"))
        group_plan = json.loads(_cli(folder, "plan", *groups, "--format", "json"))
        refused_plan = json.loads(_cli(folder, "plan", "refused.yaml", *demo[1:], "--format", "json"))
        _cli(folder, "plan", *demo, "--out", "plan.tlplan.json")
        usage = json.loads(
            _cli(
                folder,
                "usage",
                *demo,
                "--calls",
                str(_calls(folder)),
                "--from",
                USAGE_FROM,
                "--to",
                USAGE_TO,
                "--format",
                "json",
            )
        )
        applied = json.loads(_cli(folder, "apply", *demo, "--yes", "--format", "json", "--audit-log", "audit.jsonl"))
        write = ("--yes", "--format", "json", "--audit-log")
        stopped = _cli(
            folder,
            "apply",
            "config/licensing.yaml",
            "--snapshot",
            "stopped.json",
            "--time-budget",
            "0",
            *write,
            "stopped.jsonl",
            allowed=(4,),
        )
        group_apply = _cli(folder, "apply", *groups, *write, "groups.jsonl")
        outputs = Outputs(
            plan=plan,
            group_plan=group_plan,
            refused_plan=refused_plan,
            apply=applied,
            stopped_apply=json.loads(stopped),
            group_apply=json.loads(group_apply),
            plan_file=_lines(folder / "plan.tlplan.json"),
            audit=_lines(folder / "audit.jsonl"),
            usage=usage,
            job_line=_job_line(folder),
        )
    return Outputs(**{name: steady(value) for name, value in outputs.__dict__.items()})


def _job_line(folder: Path) -> dict[str, Any]:
    """The runbook in apply mode, as a child process, against the demo tenant served on 127.0.0.1."""
    from tests.support.fakegraph import FakeGraph
    from tests.support.loopback import serving
    from tests.support.shipped_demo import demo_fake_document

    document = demo_fake_document()
    with serving(lambda url: FakeGraph(copy.deepcopy(document), base_url=url)) as loopback:
        env = {
            **outside_ci(),
            "TEAMS_LICENSING_CONFIG": str(folder / "config" / "licensing.yaml"),
            "TEAMS_LICENSING_MODE": "apply",
            "TEAMS_LICENSING_GRAPH_URL": loopback.url,
            "TEAMS_LICENSING_ACCESS_TOKEN": "docs-example-token-not-a-secret",
            "TEAMS_LICENSING_LOCK_DIR": str(folder),
            "TMPDIR": str(folder),
            "PYTHONPATH": str(ROOT / "automation"),
        }
        done = subprocess.run(
            [sys.executable, str(ROOT / "runbooks" / "reconcile_licenses.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    line: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return line
