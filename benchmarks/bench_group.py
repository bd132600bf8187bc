"""Benchmark group-based licensing against direct assignment, and a migration that is killed and run again.

    python -m benchmarks.bench_group [--users 100000] [--groups 5] [--time-scale 0.01] [--kills 3]

The fake tenant runs as a loopback HTTP server in a process of its own, with Graph's write quota (3,000 writes per
150 s per app and tenant) scaled in time by --time-scale, as in bench_apply; it processes group license writes
asynchronously, as Entra does. The product runs as the real CLI (`teams-licensing apply … --yes`) in a fresh process
each time; its peak RSS is that process's own (a small wrapper reads RUSAGE_CHILDREN).

1. Rollout: `--users` users, already direct members of `--groups` groups, none licensed yet; every user needs Phone
   System and a Calling Plan. Group path: `groupLicenses` for the groups. Direct path: a rule per group assigning
   the same, one assignLicense per user. Both are reported against the same quota bound, unscaled: writes / 20 per
   second (3,000 per 150 s), i.e. 100,000 users take at least 83 minutes directly.
2. Migration: the same users holding both licenses directly, the groups licensing them too, and Entra (the fake)
   having processed 70% of the members Active, 20% not yet, 10% in CountViolation. `migrateDirect` must remove
   direct copies only from the Active ones. The apply is SIGKILLed `--kills` times at random moments; after every
   kill, and at the end, no user may be without either license (held directly, or inherited and Active).

Targets: group path <= groups writes + 0 PATCHes, wall <= 60 s, RSS <= 300 MB; the migration removes
only inherited-Active users' copies, paced at the quota, and no kill leaves a user without the license.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import ROOT, served_by
from tests.support.rollout import MCOEV, MCOPSTN1, TEAMS, TENANT_ID, sku_object, state, user_id, user_object

QUOTA_WRITES, QUOTA_SECONDS = 3000, 150.0
CLI = [sys.executable, "-m", "teamslicensing"]


def group_id(n: int) -> str:
    return f"9a000000-0000-4000-8000-{n:012d}"


def tenant_document(users: int, groups: int, migration: bool) -> dict[str, Any]:
    """Users spread over `groups` groups as direct members; for the migration, licensed both ways."""
    rng = random.Random(2026)
    people = []
    for n in range(users):
        group = group_id(n % groups)
        states = [state(TEAMS)]
        if migration:
            states += [state(MCOEV), state(MCOPSTN1)]
            draw = rng.random()  # 70% processed Active, 10% in CountViolation, 20% not processed yet
            status, error = (
                ("Active", "None") if draw < 0.7 else ("Error", "CountViolation") if draw < 0.8 else ("", "")
            )
            if status:
                states += [state(MCOEV, group, status, error), state(MCOPSTN1, group, status, error)]
        people.append(user_object(n, states))

    def sku(sku_id: str, part: str, plan_id: str) -> dict[str, Any]:
        consumed = users if (migration or sku_id == TEAMS) else 0
        return sku_object(sku_id, part, [(plan_id, part)], consumed, users * 2)

    licensed = [{"skuId": MCOEV, "disabledPlans": []}, {"skuId": MCOPSTN1, "disabledPlans": []}] if migration else []
    return {
        "tenantId": TENANT_ID,
        "subscribedSkus": [
            sku(TEAMS, "Microsoft_Teams_Enterprise_New", "57ff2da0-773e-42df-b2af-ffb7a2317929"),
            sku(MCOEV, "MCOEV", "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"),
            sku(MCOPSTN1, "MCOPSTN1", "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8"),
        ],
        "users": people,
        "groups": [
            {
                "id": group_id(g),
                "displayName": f"Voice {g}",
                "members": [user_id(n) for n in range(g, users, groups)],
                "assignedLicenses": licensed,
                "licenseProcessingState": {"state": "ProcessingComplete"},
            }
            for g in range(groups)
        ],
    }


def config(groups: int, path: str) -> str:
    head = "version: 1\npolicy: {maxChanges: 1000000, maxRemovals: 1000000}\n"
    if path == "direct":
        rules = "".join(
            f"  - name: voice-{g}\n    select: {{groups: [Voice {g}]}}\n    assign: [MCOEV, MCOPSTN1]\n"
            for g in range(groups)
        )
        return head + "rules:\n" + rules
    migrate = "\n    migrateDirect: true" if path == "migration" else ""
    entries = "".join(f"  - group: Voice {g}\n    assign: [MCOEV, MCOPSTN1]{migrate}\n" for g in range(groups))
    return head + "groupLicenses:\n" + entries


def serve(users: int, groups: int, migration: bool, time_scale: float) -> None:
    from tests.support.fakegraph import FakeGraph
    from tests.support.loopback import LoopbackGraph

    document = tenant_document(users, groups, migration)

    def fake(url: str) -> FakeGraph:
        return FakeGraph(
            document,
            base_url=url,
            write_quota=(QUOTA_WRITES, QUOTA_SECONDS * time_scale),
            fractional_retry_after=True,
            group_processing_delay=10**9,  # Entra processes nothing during the benchmark: the state is the script's
        )

    server = LoopbackGraph(fake, keep_history=False)
    print(json.dumps({"port": server.port}), flush=True)
    server.serve_forever()


@contextmanager
def served(users: int, groups: int, migration: bool, time_scale: float) -> Iterator[str]:
    flags = ["--serve", str(users), "--groups", str(groups), "--time-scale", str(time_scale)]
    with served_by("benchmarks.bench_group", flags + (["--migration"] if migration else [])) as server:
        yield server["url"]


# the CLI runs under this small wrapper, whose children's peak RSS is the CLI's alone: a child forked straight from
# the benchmark would count the benchmark's own pages (it holds whole tenants between runs) until exec
WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print(f'RSS_KB={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_cli(args: list[str], url: str, kill_after: float | None = None) -> dict[str, Any]:
    """The CLI in a fresh process: wall, peak RSS and its exit status (-9 when killed)."""
    env = {**os.environ, "TEAMS_LICENSING_ACCESS_TOKEN": "benchmark", "TEAMS_LICENSING_GRAPH_URL": url}
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, *CLI, *args], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
        if kill_after is not None:
            try:
                child.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                _kill_cli(child.pid)
        child.wait()
        out.seek(0)
        text = out.read().decode(errors="replace")
    rss = [line for line in text.splitlines() if line.startswith("RSS_KB=")]
    return {
        "code": child.returncode,
        "wall": time.monotonic() - started,
        "rss": int(rss[-1].split("=")[1]) / 1024 if rss else 0.0,
        "out": text,
    }


def _kill_cli(wrapper: int) -> None:
    """SIGKILL the CLI the wrapper runs (the wrapper then reports its RSS and exits)."""
    children = Path(f"/proc/{wrapper}/task/{wrapper}/children").read_text().split()
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)


def tenant_now(url: str) -> list[dict[str, Any]]:
    """Every user's licenseAssignmentStates, read from the fake over Graph's own paging."""
    users: list[dict[str, Any]] = []
    next_url: str | None = f"{url}/users?$select=id,licenseAssignmentStates&$top=999"
    with httpx.Client(headers={"Authorization": "Bearer benchmark"}, timeout=120) as client:
        while next_url:
            page = client.get(next_url).json()
            users.extend(page["value"])
            next_url = page.get("@odata.nextLink")
    return users


def without_license(users: list[dict[str, Any]]) -> int:
    def has(states: list[dict[str, Any]], sku: str) -> bool:
        return any(s["skuId"] == sku and s.get("state", "Active") == "Active" for s in states)

    return sum(
        1
        for u in users
        if not (has(u["licenseAssignmentStates"], MCOEV) and has(u["licenseAssignmentStates"], MCOPSTN1))
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=0.01, help="quota window scale (default 0.01)")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs during the migration apply")
    parser.add_argument("--skip-direct", action="store_true", help="leave out the (quota-bound) direct path")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--migration", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.groups, args.migration, args.time_scale)
        return 0
    rate = QUOTA_WRITES / QUOTA_SECONDS  # writes per second, unscaled
    bound = args.users / rate  # one assignLicense per user carries both licenses
    print(
        f"{args.users:,} users in {args.groups} groups; quota {QUOTA_WRITES} writes per {QUOTA_SECONDS:g} s "
        f"(scaled x{args.time_scale:g} in the fake); direct bound {bound / 60:.0f} min"
    )
    print(
        f"{'path':<10} {'writes':>7} {'group writes':>13} {'wall s':>9} {'real-time s':>12} {'x bound':>8} "
        f"{'RSS MB':>7}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for path in ("group", "direct"):
            if path == "direct" and args.skip_direct:
                continue
            conf = Path(folder) / f"{path}.yaml"
            conf.write_text(config(args.groups, path))
            with served(args.users, args.groups, False, args.time_scale) as url:
                audit = Path(folder) / f"{path}.jsonl"
                r = run_cli(["apply", str(conf), "--yes", "--audit-log", str(audit)], url)
                if r["code"] not in (0, 3):
                    print(r["out"][-3000:], file=sys.stderr)
                    return 1
                records = [json.loads(line) for line in audit.read_text().splitlines()]
                intents = [x for x in records if x["type"] == "intent"]
                group_writes = sum(1 for x in intents if x.get("kind") == "groupLicenses")
                # the direct path's wall is quota-bound in scaled time; the group path's is real time already
                real = r["wall"] / args.time_scale if path == "direct" else r["wall"]
                print(
                    f"{path:<10} {len(intents):>7} {group_writes:>13} {r['wall']:>9.1f} {real:>12.0f} "
                    f"{real / bound:>8.3f} {r['rss']:>7.0f}",
                    flush=True,
                )
        print()
        conf = Path(folder) / "migration.yaml"
        conf.write_text(config(args.groups, "migration"))
        with served(args.users, args.groups, True, args.time_scale) as url:
            before = tenant_now(url)
            active = sum(
                1
                for u in before
                if any(s["assignedByGroup"] and s["state"] == "Active" for s in u["licenseAssignmentStates"])
            )
            print(
                f"migration: {active:,} of {len(before):,} members inherited-Active; "
                f"{without_license(before)} without a license"
            )
            rng = random.Random(13)
            removed_total = 0
            planning = run_cli(["plan", str(conf), "--output", os.devnull], url)["wall"]  # kills land in the writes
            print(f"  (a plan alone takes {planning:.1f} s: kills come {planning:.0f}-{planning + 20:.0f} s in)")
            for attempt in range(args.kills + 1):
                audit = Path(folder) / f"migration-{attempt}.jsonl"
                kill = planning + rng.uniform(1.0, 20.0) if attempt < args.kills else None
                r = run_cli(["apply", str(conf), "--yes", "--audit-log", str(audit)], url, kill_after=kill)
                now = tenant_now(url)
                direct_left = sum(
                    1
                    for u in now
                    if any(s["assignedByGroup"] is None and s["skuId"] == MCOEV for s in u["licenseAssignmentStates"])
                )
                removed = len(before) - direct_left
                lacking = without_license(now)
                wrongly = sum(
                    1
                    for u in now
                    if not any(
                        s["assignedByGroup"] is None and s["skuId"] == MCOEV for s in u["licenseAssignmentStates"]
                    )
                    and not any(s["assignedByGroup"] and s["state"] == "Active" for s in u["licenseAssignmentStates"])
                )
                label = f"killed after {kill:.1f} s" if kill is not None else f"run to the end (exit {r['code']})"
                print(
                    f"  run {attempt + 1}: {label}: {removed - removed_total:,} more direct copies removed "
                    f"({removed:,} in all), {lacking} users without a license, "
                    f"{wrongly} removed without an Active group copy, "
                    f"RSS {r['rss']:.0f} MB",
                    flush=True,
                )
                removed_total = removed
                if lacking or wrongly:
                    print("  MISS: a user lost the license", flush=True)
            print(
                f"  removals ended at {removed_total:,} = the inherited-Active members ({active:,}): "
                f"{'PASS' if removed_total == active else 'MISS'}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
