"""Memory where the runbook runs: Azure Automation's sandbox gives a Python job 400 MB.

    python -m benchmarks.bench_memory [--changes 100000] [--memory-mb 400] [--python PY] [--bundle DIR]
    python -m benchmarks.bench_memory --check 10000,40000 [--margin-mb 40]

The workload users have, not adds alone: a third of the changes add a Calling Plan (MCOPSTN1), a third swap one
for another (MCOPSTN1 -> MCOPSTN2 in one assignLicense), a third prune a stray Audio Conferencing license. Against
the loopback fake (a process of its own, Graph's write quota scaled by --time-scale), each of these runs in a child
whose address space is limited to --memory-mb (RLIMIT_AS, set before it starts), and its peak RSS is its own:

1. the runbook in apply mode (the bundle's, installed into --python as Azure Automation does, when --bundle is
   given; else the checkout's runbook on this interpreter);
2. `undo` of that run, from the audit log the runbook wrote;
3. on a fresh tenant, `plan --out PLANFILE`, then `apply PLANFILE`.

Each must complete (exit 0) with every change applied. `--check A,B` runs steps 1-3 at A and at B changes on this
interpreter and fails (exit 1) when a step's peak RSS grows by more than --margin-mb from A to B: what grows with
the number of users must be streamed. `.ci/run` runs the check at a reduced size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, measured, served_by
from tests.support.rollout import (
    MCOEV,
    MCOEV_PLANS,
    MCOPSTN1,
    MCOPSTN1_PLANS,
    TEAMS,
    TEAMS_PLANS,
    TENANT_ID,
    sku_object,
    state,
    user_object,
)

MCOPSTN2 = "d3b4fe1f-9992-4930-8acb-ca6ec609365e"
MCOPSTN2_PLANS = [("5a10155d-f5c1-411a-a8ec-e99aae125390", "MCOPSTN2")]
MCOMEETADV = "0c266dff-15dd-4b49-8397-2bb16070ed52"
MCOMEETADV_PLANS = [("3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40", "MCOMEETADV")]
GROUPS = {
    "Voice": "9a000000-0000-4000-8000-000000000001",
    "International": "9a000000-0000-4000-8000-000000000002",
    "Conferencing": "9a000000-0000-4000-8000-000000000003",
}
CONFERENCING_MEMBERS = 10  # users who keep their Audio Conferencing (the group must not read as empty)

CONFIG = """version: 1
policy: {prune: true, maxChanges: 1000000, maxRemovals: 1000000}
rules:
  - name: calling
    select: {groups: [Voice]}
    assign: [MCOEV, MCOPSTN1]
  - name: international
    select: {groups: [International]}
    assign: [MCOEV, MCOPSTN2]
  - name: conferencing
    select: {groups: [Conferencing]}
    assign: [MCOMEETADV]
"""


def tenant_document(changes: int) -> dict[str, Any]:
    """`changes` users, a third of each kind: Voice members to add MCOPSTN1, International members holding MCOPSTN1
    to swap it for MCOPSTN2 (some hold a Calling Plan number, kept by the swap), and users no rule selects holding a
    stray MCOMEETADV to prune. The number inventory is read (a few numbers), so pruning judges by it."""
    third = changes // 3
    users: list[dict[str, Any]] = []
    numbers: list[dict[str, Any]] = []
    members: dict[str, list[str]] = {name: [] for name in GROUPS}
    for n in range(changes):
        kind = min(n // third, 2) if third else 0
        states = [state(TEAMS), state(MCOEV)]
        if kind == 1:
            states.append(state(MCOPSTN1))
        if kind == 2 or n < CONFERENCING_MEMBERS:
            states.append(state(MCOMEETADV))
        user = user_object(n, states, upn_digits=7)
        users.append(user)
        group = ("Voice", "International", None)[kind]
        if group:
            members[group].append(user["id"])
        if n < CONFERENCING_MEMBERS:
            members["Conferencing"].append(user["id"])
        if kind == 1 and n % 100 == 0:
            numbers.append(_number(n, user["id"]))
    skus = [
        sku_object(TEAMS, "Microsoft_Teams_Enterprise_New", TEAMS_PLANS, changes, changes * 2),
        sku_object(MCOEV, "MCOEV", MCOEV_PLANS, changes, changes * 2),
        sku_object(MCOPSTN1, "MCOPSTN1", MCOPSTN1_PLANS, third, changes * 2),
        sku_object(MCOPSTN2, "MCOPSTN2", MCOPSTN2_PLANS, 0, changes * 2),
        sku_object(MCOMEETADV, "MCOMEETADV", MCOMEETADV_PLANS, changes - 2 * third, changes * 2),
    ]
    groups = [{"id": gid, "displayName": name, "members": members[name]} for name, gid in GROUPS.items()]
    return {
        "tenantId": TENANT_ID,
        "subscribedSkus": skus,
        "users": users,
        "groups": groups,
        "numberAssignments": numbers,
    }


def _number(n: int, user_id: str) -> dict[str, Any]:
    return {
        "id": f"4e000000-0000-4000-8000-{n:012d}",
        "telephoneNumber": f"+1425{n:07d}",
        "numberType": "callingPlan",
        "activationState": "activated",
        "assignmentTargetId": user_id,
        "assignmentCategory": "primary",
        "assignmentStatus": "userAssigned",
        "isoCountryCode": "US",
        "numberSource": "online",
    }


def serve(changes: int, latency: float, time_scale: float) -> None:
    """The fake tenant over loopback HTTP, in a process of its own (its memory is not the product's)."""
    from benchmarks.common import rss_mb
    from tests.support.fakegraph import FakeGraph
    from tests.support.loopback import LoopbackGraph

    def fake(url: str) -> FakeGraph:
        return FakeGraph(
            tenant_document(changes), base_url=url, write_quota=(3000, 150 * time_scale), fractional_retry_after=True
        )

    server = LoopbackGraph(fake, latency=latency, keep_history=False)
    print(json.dumps({"port": server.port, "rss": rss_mb()}), flush=True)
    server.serve_forever()


@dataclass(frozen=True)
class Step:
    name: str
    status: int
    wall: float
    rss_mb: float
    result: dict[str, Any]


def _environment(url: str, scratch: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "automation"),
        "TEAMS_LICENSING_GRAPH_URL": url,
        "TEAMS_LICENSING_ACCESS_TOKEN": "bench-memory-not-a-secret",
        "TEAMS_LICENSING_LOCK_DIR": str(scratch),
        "TMPDIR": str(scratch),
        **extra,
    }


def run_steps(changes: int, args: argparse.Namespace, python: Path, runbook: Path, scratch: Path) -> list[Step]:
    config = scratch / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    flags = ["--serve", str(changes), "--latency", str(args.latency), "--time-scale", str(args.time_scale)]
    cli = [sys.executable, "-m", "teamslicensing"]
    limit = args.memory_mb
    steps = []
    with served_by("benchmarks.bench_memory", flags) as server:
        env = _environment(server["url"], scratch, TEAMS_LICENSING_CONFIG=str(config), TEAMS_LICENSING_MODE="apply")
        job = scratch / "job-output.txt"  # the runbook's output: the summary, its audit records, the JSON line
        status, wall, rss = measured([str(python), str(runbook)], env, scratch, job, limit)
        steps.append(Step("runbook apply", status, wall, rss, _json_line(job)))
        audits = sorted(scratch.glob("teams-licensing-audit-*.jsonl"))
        undo = [*cli, "undo", str(audits[-1]) if audits else "missing", "--yes", "--format", "json"]
        undo += ["--output", str(scratch / "undo.json"), "--audit-log", str(scratch / "undo.jsonl")]
        undo += ["--max-changes", "1000000", "--max-removals", "1000000"]
        env = _environment(server["url"], scratch)
        status, wall, rss = measured(undo, env, scratch, scratch / "undo.txt", limit)
        steps.append(Step("undo", status, wall, rss, _result(scratch / "undo.json", scratch / "undo.txt")))
    with served_by("benchmarks.bench_memory", flags) as server:
        env = _environment(server["url"], scratch)
        saved = scratch / "plan.tlplan.json"
        plan = [*cli, "plan", str(config), "--out", str(saved), "--format", "json", "--output", os.devnull]
        status, wall, rss = measured(plan, env, scratch, scratch / "plan.txt", limit)
        size = {"planFileMB": round(saved.stat().st_size / 1e6, 1)} if saved.exists() else _tail(scratch / "plan.txt")
        steps.append(Step("plan --out", status, wall, rss, size))
        apply = [*cli, "apply", str(saved), "--config", str(config), "--yes", "--format", "json"]
        apply += ["--output", str(scratch / "apply.json"), "--audit-log", str(scratch / "saved.jsonl")]
        status, wall, rss = measured(apply, env, scratch, scratch / "apply.txt", limit)
        steps.append(Step("apply PLANFILE", status, wall, rss, _result(scratch / "apply.json", scratch / "apply.txt")))
    return steps


def _json_line(output: Path) -> dict[str, Any]:
    """The runbook's JSON line, its per-user list left out (this process is not the one measured)."""
    last = None
    with open(output, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith('{"teamsLicensing"'):
                last = line
    if last is None:
        return _tail(output) | {"error": "no JSON line"}
    result: dict[str, Any] = json.loads(last)
    result.pop("users", None)
    return result


def _result(report: Path, output: Path) -> dict[str, Any]:
    """The `result` of an apply or undo JSON report."""
    if not report.exists():
        return {"error": _tail(output)["tail"][-1500:]}
    result: dict[str, Any] = json.loads(report.read_text(encoding="utf-8")).get("result") or {}
    result.pop("users", None)
    return result


def _tail(output: Path) -> dict[str, str]:
    with open(output, "rb") as handle:
        handle.seek(max(0, output.stat().st_size - 65536))
        return {"tail": handle.read().decode("utf-8", "replace")}


def print_steps(changes: int, steps: list[Step]) -> bool:
    ok = True
    for step in steps:
        r = step.result
        applied = r.get("applied", "-")
        error = str(r.get("error") or "")[:70]
        ok &= step.status == 0 and not error
        print(
            f"{changes:>8} {step.name:<15} {step.status:>4} {step.wall:>8.1f} {step.rss_mb:>8.0f} "
            f"{applied!s:>8} {r.get('failed', '-')!s:>6}  {error}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--memory-mb", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.001)
    parser.add_argument("--time-scale", type=float, default=0.005)
    parser.add_argument("--python", help="the runbook's interpreter (Python 3.10 for Azure Automation's)")
    parser.add_argument("--bundle", type=Path, help="a bundle-runbook folder: its wheels run the runbook")
    parser.add_argument("--check", help="A,B: fail when peak RSS grows by more than --margin-mb from A to B changes")
    parser.add_argument("--margin-mb", type=float, default=40.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency, args.time_scale)
        return 0
    print(f"RLIMIT_AS {args.memory_mb} MB; a third adds, a third swaps, a third prunes")
    print(f"{'changes':>8} {'step':<15} {'exit':>4} {'wall s':>8} {'RSS MB':>8} {'applied':>8} {'failed':>6}")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        scratch = Path(folder)
        python, runbook = Path(sys.executable), ROOT / "runbooks" / "reconcile_licenses.py"
        if args.bundle is not None:
            from tests.support.runbook_on_target import RUNBOOK, install_bundle

            python, runbook = (
                install_bundle(args.python or sys.executable, args.bundle, scratch / "py"),
                args.bundle / RUNBOOK,
            )
        sizes = [int(s) for s in args.check.split(",")] if args.check else [args.changes]
        runs = {}
        ok = True
        for size in sizes:
            folder_for = scratch / str(size)
            folder_for.mkdir()
            runs[size] = run_steps(size, args, python, runbook, folder_for)
            ok &= print_steps(size, runs[size])
    if args.check:
        small, large = runs[sizes[0]], runs[sizes[-1]]
        for a, b in zip(small, large, strict=True):
            grew = b.rss_mb - a.rss_mb
            verdict = "ok" if grew <= args.margin_mb else f"GROWS more than {args.margin_mb:g} MB"
            ok &= grew <= args.margin_mb
            print(
                f"{a.name:<15} {a.rss_mb:>6.0f} MB at {sizes[0]:,} -> {b.rss_mb:>6.0f} MB at {sizes[-1]:,}: {verdict}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
