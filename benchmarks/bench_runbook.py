"""The bundled runbook on Azure Automation's runtime, at 100k users, inside the sandbox's 400 MB.

    python -m benchmarks.bench_runbook --bundle DIR --python /path/to/python3.10 [--users 100000] [--memory-mb 400]

Installs the bundle's wheels into a fresh Python 3.10 environment as Azure Automation does (`--no-index --no-deps`),
serves the apply benchmark's tenant (everyone in one voice group, every user needing one assignLicense) over loopback
HTTP in a process of its own, and runs the bundled runbook in plan mode and then in apply mode with an address-space
limit of `--memory-mb` (RLIMIT_AS, set in the child before it starts). Each mode runs once on Python 3.10 from the
bundle and once on the interpreter running this benchmark (the checkout's install), against a fresh tenant, so
the figures stand side by side from one run. Peak RSS is the child's own (`os.wait4`), wall time the whole process.
Reports; asserts nothing (exit 1 only when a run fails).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import ROOT, served_by
from tests.support.rollout import CONFIG
from tests.support.runbook_on_target import RUNBOOK, install_bundle, runbook_environment


@dataclass(frozen=True)
class Measured:
    python: str
    mode: str
    status: int
    wall: float
    rss_mb: float
    result: dict[str, object]


def run_limited(
    python: Path, runbook: Path, env: dict[str, str], cwd: Path, limit_bytes: int
) -> tuple[int, str, float, float]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(
            [str(python), str(runbook)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, preexec_fn=limit
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    return child.returncode, text, time.monotonic() - started, usage.ru_maxrss / 1024


def measure(label: str, python: Path, runbook: Path, args: argparse.Namespace, scratch: Path) -> list[Measured]:
    config = scratch / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    rows = []
    flags = ["--serve", str(args.users), "--latency", str(args.latency), "--time-scale", str(args.time_scale)]
    with served_by("benchmarks.bench_apply", flags) as server:  # a fresh tenant: work for apply
        url = server["url"]
        for mode in ("plan", "apply"):
            env = runbook_environment(url, mode, config, scratch)
            env["TEAMS_LICENSING_MAX_CHANGES"] = str(args.users)
            status, output, wall, rss = run_limited(python, runbook, env, scratch, args.memory_mb * 1024 * 1024)
            try:
                result = json.loads(output.splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                result = {"error": output[-2000:]}
            rows.append(Measured(label, mode, status, wall, rss, result))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True, help="a bundle-runbook folder")
    parser.add_argument("--python", required=True, help="a Python 3.10 interpreter")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--memory-mb", type=int, default=400, help="address-space limit of the runbook process")
    parser.add_argument("--latency", type=float, default=0.002, help="seconds per HTTP request (default 0.002)")
    parser.add_argument("--time-scale", type=float, default=0.01, help="write-quota window scale (default 0.01)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-runbook-") as folder:
        scratch = Path(folder)
        py310 = install_bundle(args.python, args.bundle, scratch / "py310")
        rows = measure("3.10 bundle", py310, args.bundle / RUNBOOK, args, scratch)
        here = f"{sys.version_info[0]}.{sys.version_info[1]} checkout"
        rows += measure(here, Path(sys.executable), ROOT / "runbooks" / RUNBOOK, args, scratch)
    limits = f"RLIMIT_AS {args.memory_mb} MB, latency {args.latency * 1000:g} ms, write quota x{args.time_scale}"
    print(f"{args.users} users, {limits}")
    print(f"{'python':<14} {'mode':<6} {'exit':>4} {'wall s':>8} {'peak RSS MB':>12} ", end="")
    print(f"{'changes':>8} {'applied':>8} {'failed':>7}  error")
    failed = False
    for row in rows:
        r = row.result
        error = str(r.get("error") or "")[:60]
        failed |= bool(error) or row.status not in (0, 3)
        print(
            f"{row.python:<14} {row.mode:<6} {row.status:>4} {row.wall:>8.1f} {row.rss_mb:>12.0f} "
            f"{r.get('changes', '-')!s:>8} {r.get('applied', '-')!s:>8} {r.get('failed', '-')!s:>7}  {error}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
