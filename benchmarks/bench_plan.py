"""Benchmark of `teams-licensing plan --snapshot` on a large synthetic tenant.

Run by hand, not by pytest:

    python -m benchmarks.bench_plan [--users 100000] [--rules 50] [--seed 2024] [--keep DIR] [--repeat N]

It writes a deterministic synthetic Graph snapshot and a configuration (see synthetic.py), checks the configuration
with `teams-licensing validate`, then measures, each in a fresh process:

  (a) `python -c "json.load(...)"` on the snapshot: the baseline;
  (b) the whole `teams-licensing plan CONFIG --snapshot FILE --format json --output /dev/null`;
  (c) the planning step alone: a process that loads the configuration and the snapshot, then measures
      `time.process_time()` around `teamslicensing.plan.planner.plan(...)` only (it also times the stages around it).

Wall time and peak RSS of (a) and (b) come from a dedicated wrapper process per run that starts the command,
waits for it and reads `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`, so no other child (nor the generator)
is counted. Targets are reported as PASS/MISS, never asserted: the exit status is non-zero only when something
crashed. `--profile` adds a cProfile listing of the snapshot load and of the planning step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import synthetic

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

TARGET_WALL_RATIO = 10.0
TARGET_RSS_RATIO = 1.5
TARGET_PLAN_CPU = 2.0

# Runs argv[1:], waits, and prints wall seconds and the peak RSS of that one child (and its own children).
_WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
peak = peak if sys.platform == "darwin" else peak * 1024
print(json.dumps({"rc": done.returncode, "wall": wall, "rss": peak, "out": done.stdout.decode("utf-8", "replace")}))
"""

_BASELINE = "import json, sys; json.load(open(sys.argv[1], 'rb'))"

# The planning step alone; prints one JSON object. argv: config snapshot profile(0/1)
_PLANNING = """
import cProfile, io, json, pstats, sys, time
from teamslicensing.reference.availability import load_availability
from teamslicensing.config import load_desired_state
from teamslicensing.plan.planner import plan
from teamslicensing.report import render
from teamslicensing.tenant.snapshot import load_snapshot

config, snapshot, profile = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
profiles = {}

def timed(name, function):
    profiler = cProfile.Profile() if profile else None
    start, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    result = function()
    if profiler:
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
        profiles[name] = text.getvalue()
    times[name] = (time.perf_counter() - start, time.process_time() - cpu)
    return result

times = {}
desired = timed("config", lambda: load_desired_state(config))
tenant = timed("snapshot", lambda: load_snapshot(snapshot, desired.selected_attributes))
availability = load_availability()
result = timed("plan", lambda: plan(desired, tenant, availability))
text = timed("render", lambda: render(result, "json", title="benchmark"))
codes = {}
for gap in result.gaps:
    codes[gap.code.value] = codes.get(gap.code.value, 0) + 1
print(json.dumps({
    "times": times,
    "users": len(tenant.users),
    "groups": len(tenant.groups),
    "skus": len(tenant.skus),
    "rules": len(desired.rules),
    "changes": len(result.changes),
    "gaps": len(result.gaps),
    "gap_codes": codes,
    "destructive": sum(change.destructive for change in result.changes),
    "shortfall": sum(seat.shortfall for seat in result.seats),
    "profiles": profiles,
}))
"""


class Crash(Exception):
    """A measured command failed: the benchmark reports it and exits non-zero."""


@dataclass
class Run:
    wall: float  # seconds
    rss: int  # bytes
    out: str


def child_env() -> dict[str, str]:
    env = dict(os.environ)  # the package comes from the environment it is installed in, as for an admin
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def measure(argv: list[str], what: str) -> Run:
    """Run `argv` under a dedicated wrapper process: wall time and the peak RSS of that command alone."""
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *argv], stdout=subprocess.PIPE, env=child_env(), cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise Crash(f"{what}: the measuring wrapper failed (exit {done.returncode})")
    report = json.loads(done.stdout)
    if report["rc"] != 0:
        raise Crash(f"{what}: exit status {report['rc']}")
    return Run(report["wall"], report["rss"], report["out"])


def best(runs: list[Run]) -> Run:
    """Fastest wall time, highest peak RSS over the repeats (RSS barely varies; time does)."""
    fastest = min(runs, key=lambda r: r.wall)
    return Run(fastest.wall, max(r.rss for r in runs), fastest.out)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "teamslicensing", *args]


def generate(directory: Path, users: int, rules: int, seed: int) -> tuple[Path, Path, float]:
    snapshot = directory / f"snapshot-{users}-{rules}-{seed}.json"
    config = directory / f"config-{users}-{rules}-{seed}.yaml"
    start = time.perf_counter()
    generated = synthetic.write_snapshot(snapshot, users, rules=rules, seed=seed)
    synthetic.write_config(config, rules, generated)
    return snapshot, config, time.perf_counter() - start


def validate(config: Path) -> None:
    done = subprocess.run(
        cli("validate", str(config)), env=child_env(), cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise Crash(f"the generated configuration does not validate:\n{done.stdout}{done.stderr}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(args: argparse.Namespace, size: int, baseline: Run, command: Run, planning: dict[str, Any]) -> str:
    mb = 1_000_000
    times = planning["times"]
    wall_ratio = command.wall / baseline.wall
    rss_ratio = command.rss / baseline.rss
    plan_cpu = times["plan"][1]
    rows = [
        ("json.load (baseline)", f"{baseline.wall:8.2f}", f"{baseline.rss / mb:8.0f}", ""),
        ("plan --format json (whole)", f"{command.wall:8.2f}", f"{command.rss / mb:8.0f}", ""),
        ("  load config", f"{times['config'][0]:8.2f}", "", "planning child"),
        ("  load snapshot (parse)", f"{times['snapshot'][0]:8.2f}", "", "planning child"),
        ("  plan()", f"{times['plan'][0]:8.2f}", "", f"{plan_cpu:.2f} s CPU"),
        ("  render json", f"{times['render'][0]:8.2f}", "", "planning child"),
    ]
    codes = ", ".join(f"{code} {count}" for code, count in sorted(planning["gap_codes"].items(), key=lambda i: -i[1]))
    lines = [
        f"teams-licensing plan benchmark — Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"seed {args.seed}, best of {args.repeat}",
        f"snapshot {size / mb:.1f} MB: {planning['users']:,} users, {planning['groups']} groups, "
        f"{planning['skus']} SKUs; {planning['rules']} rules",
        f"plan: {planning['changes']:,} changes ({planning['destructive']} destructive), {planning['gaps']:,} gaps, "
        f"seat shortfall {planning['shortfall']:,}",
        f"gaps: {codes}",
        "",
        f"{'step':<30}{'wall s':>8}{'RSS MB':>9}  note",
        *(f"{name:<30}{wall:>8}{rss:>9}  {note}".rstrip() for name, wall, rss, note in rows),
        "",
        f"{'target':<34}{'measured':>10}  result",
        f"{'plan wall <= 10x json.load':<34}{wall_ratio:>9.2f}x  {verdict(wall_ratio <= TARGET_WALL_RATIO)}",
        f"{'plan RSS <= 1.5x json.load':<34}{rss_ratio:>9.2f}x  {verdict(rss_ratio <= TARGET_RSS_RATIO)}",
        f"{'planning step <= 2 s CPU':<34}{plan_cpu:>9.2f}s  {verdict(plan_cpu <= TARGET_PLAN_CPU)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000, help="users in the snapshot (default 100000)")
    parser.add_argument("--rules", type=int, default=50, help="rules in the configuration (default 50)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the synthetic tenant (default 2024)")
    parser.add_argument("--keep", metavar="DIR", help="write (and reuse) the snapshot and config in DIR")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each timed command; the best is kept")
    parser.add_argument("--profile", action="store_true", help="print cProfile listings of parse and plan")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-plan-") as scratch:
        directory = Path(args.keep) if args.keep else Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        try:
            snapshot = directory / f"snapshot-{args.users}-{args.rules}-{args.seed}.json"
            config = directory / f"config-{args.users}-{args.rules}-{args.seed}.yaml"
            if args.keep and snapshot.exists() and config.exists():
                print(f"reusing {snapshot} and {config}", file=sys.stderr)
            else:
                snapshot, config, seconds = generate(directory, args.users, args.rules, args.seed)
                print(f"generated {snapshot} in {seconds:.1f} s", file=sys.stderr)
            validate(config)
            size = snapshot.stat().st_size
            baselines, commands, planning_runs = [], [], []
            for _ in range(max(args.repeat, 1)):
                baselines.append(measure([sys.executable, "-c", _BASELINE, str(snapshot)], "json.load"))
                plan_argv = cli("plan", str(config), "--snapshot", str(snapshot), "--format", "json")
                commands.append(measure([*plan_argv, "--output", os.devnull], "teams-licensing plan"))
                planning_argv = [sys.executable, "-c", _PLANNING, str(config), str(snapshot), "0"]
                planning_runs.append(json.loads(measure(planning_argv, "planning step").out))
            planning = min(planning_runs, key=lambda p: p["times"]["plan"][1])
            print(report(args, size, best(baselines), best(commands), planning))
            if args.profile:
                profile_argv = [sys.executable, "-c", _PLANNING, str(config), str(snapshot), "1"]
                profiled = json.loads(measure(profile_argv, "profiled planning step").out)
                for name, text in profiled["profiles"].items():
                    print(f"\n==== cProfile: {name} ====\n{text}")
        except Crash as exc:
            print(f"bench_plan: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
