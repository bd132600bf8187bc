"""Benchmark of `teams-licensing init --snapshot` at 100,000 users (issue 27): wall time and peak RSS.

Run by hand, not by pytest:

    python -m benchmarks.bench_init [--users 100000] [--keep DIR]

Two tenants, each written once (deterministic):

- `adoption`: voice teams whose groups hold the same licenses, with drift (`adoption_tenant.py`): what init is for;
- `messy`: bench_plan's synthetic enterprise tenant (`synthetic.py`), whose voice follows group x attribute pairs
  with drift no single group or attribute explains: init's worst case for coverage, and the larger file.

For each, side by side in one run, each command in a fresh process under a measuring wrapper (its own wall time and
peak RSS): `json.load` of the snapshot (the floor any reader pays), `init --snapshot` (read, propose, write, plan the
written file, print), and `plan` of the file init wrote against the same snapshot. init includes one plan of its
file and, when the first plan would change somebody, another; the ratio to `plan` says what the proposal costs on
top. The coverage line init printed is reported beside the figures. Targets (PASS/MISS, never asserted): init's wall
time at most 3x its file's plan, its peak RSS at most 1.5x.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from benchmarks import synthetic
from benchmarks.adoption_tenant import write_adoption_snapshot
from benchmarks.common import ROOT, measured

TARGET_WALL = 3.0
TARGET_RSS = 1.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the snapshots here and reuse them")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-init-"))
    folder.mkdir(parents=True, exist_ok=True)
    crashed = False
    print(f"init at {args.users:,} users (python {sys.version.split()[0]}, {os.cpu_count()} CPUs)\n")
    print(f"{'tenant':<10} {'command':<22} {'wall s':>8} {'RSS MB':>8} {'wall x':>8} {'RSS x':>7}")
    for name in ("adoption", "messy"):
        snapshot = folder / f"{name}-{args.users}.json"
        if not snapshot.exists():
            if name == "adoption":
                write_adoption_snapshot(snapshot, args.users)
            else:
                synthetic.write_snapshot(snapshot, args.users)
        crashed |= _measure(name, snapshot, folder)
    return 1 if crashed else 0


def _measure(name: str, snapshot: Path, folder: Path) -> bool:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    config = folder / f"{name}.yaml"
    config.unlink(missing_ok=True)
    python = sys.executable
    rows = {
        "json.load (floor)": [python, "-c", f"import json; json.load(open({str(snapshot)!r}, 'rb'))"],
        "init --snapshot": [
            python,
            "-m",
            "teamslicensing",
            "init",
            "--snapshot",
            str(snapshot),
            "--output",
            str(config),
        ],
        "plan of init's file": [python, "-m", "teamslicensing", "plan", str(config), "--snapshot", str(snapshot)],
    }
    results: dict[str, tuple[float, float]] = {}
    crashed = False
    line = ""
    for label, command in rows.items():
        out = folder / f"{name}-{label.split()[0]}.out"
        status, wall, rss = measured(command, env, ROOT, out)
        results[label] = (wall, rss)
        crashed |= status != 0
        if label.startswith("init"):
            coverage = re.search(r"^init: .*$", out.read_text(encoding="utf-8"), re.MULTILINE)
            line = coverage.group(0) if coverage else f"(no coverage line; exit {status})"
    base_wall, base_rss = results["plan of init's file"]
    for label in rows:
        wall, rss = results[label]
        print(f"{name:<10} {label:<22} {wall:>8.2f} {rss:>8.0f} {wall / base_wall:>7.2f}x {rss / base_rss:>6.2f}x")
    wall, rss = results["init --snapshot"]
    verdict = "PASS" if wall <= TARGET_WALL * base_wall and rss <= TARGET_RSS * base_rss else "MISS"
    print(f"{name:<10} {verdict}: init <= {TARGET_WALL}x its file's plan in wall time, <= {TARGET_RSS}x in RSS")
    print(f"{name:<10} {line[:220]}\n")
    return crashed


if __name__ == "__main__":
    sys.exit(main())
