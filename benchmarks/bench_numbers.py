"""Numbering 10,000 users from the inventory in one apply, against the fake Teams API with a write quota.

    python -m benchmarks.bench_numbers [--users 10000] [--memory-mb 400] [--time-scale 0.1]

Microsoft documents no quota for the Teams administration API. The one assumed here is Graph's identity write quota,
shared by every write of the app (licenses, policies and numbers alike): 3,000 writes per 150 s, its window scaled
by --time-scale so the run takes a minute, not an hour (0.1: 3,000 per 15 s); the bound is writes / (3,000 / window)
s. Only the quota is scaled: every fixed cost of a run (reads, the license read-back, the last operations' looks)
is not, so the smaller the scale, the larger their share (at 0.01 they are ~100 times what they are against
Graph's real window). The client paces as for licenses, by the near-limit headers and 429/Retry-After. Each number
operation moves notStarted -> running -> succeeded, one state per GET, as the fake serves it (Graph documents no
timing).

Two workloads, each `teams-licensing apply` in a child under RLIMIT_AS --memory-mb (the runbook's 400 MB), its peak
RSS its own; the fake runs in a process of its own:

- `numbers`: users who already hold Phone System, a Calling Plan and the policy: one assignNumber each;
- `joiners`: new voice users: Phone System and a Calling Plan (one assignLicense), the calling policy, then the
  number once the license is read back Active: three writes each.

Targets: peak RSS <= 300 MB, apply wall <= 1.2x the quota bound. Prints requests by kind, operations polled,
throttled items, wall, bound, ratio and RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, measured, served_by

QUOTA = (3000, 150.0)  # the assumed quota: writes per seconds (Graph's identity write window)
LOCATION = "2b6f0c1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
CONFIG = f"""version: 1
rules:
  - name: us-voice
    select: {{groups: [Voice US]}}
    assign: [MCOEV, MCOPSTN1]
    usageLocation: US
    phoneNumber: {{type: callingPlan, locationId: {LOCATION}}}
    policies: {{TeamsCallingPolicy: AllowCalling}}
policy:
  maxChanges: 100000
"""


def window(time_scale: float) -> tuple[int, float]:
    return QUOTA[0], QUOTA[1] * time_scale


def tenant_document(users: int, joiners: bool) -> dict[str, Any]:
    """`users` US users in `Voice US` and as many free US Calling Plan numbers plus 1%."""
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
    from tests.support.teamstenant import lookup, number

    held = [state(TEAMS)] if joiners else [state(TEAMS), state(MCOEV), state(MCOPSTN1)]
    people = [user_object(n, list(held), upn_digits=6) for n in range(users)]
    calling = [{"policyType": "TeamsCallingPolicy", "policyAssignment": _assignment()}]
    configurations = [
        {
            "id": p["id"],
            "userPrincipalName": p["userPrincipalName"],
            "isEnterpriseVoiceEnabled": not joiners,
            "telephoneNumbers": [],
            "effectivePolicyAssignments": [] if joiners else calling,
        }
        for p in people
    ]
    inventory = [number(f"+1425{n:07d}", "callingPlan", "US") for n in range(users + users // 100 + 1)]
    return {
        "tenantId": TENANT_ID,
        "subscribedSkus": [
            sku_object(TEAMS, "Microsoft_Teams_Enterprise_New", TEAMS_PLANS, users, users * 2),
            sku_object(MCOEV, "MCOEV", MCOEV_PLANS, 0 if joiners else users, users * 2),
            sku_object(MCOPSTN1, "MCOPSTN1", MCOPSTN1_PLANS, 0 if joiners else users, users * 2),
        ],
        "users": people,
        "groups": [{"id": "9a000000-0000-4000-8000-0000000000c1", "displayName": "Voice US", "members": _ids(people)}],
        "numberAssignments": inventory,
        "policies": [lookup("TeamsCallingPolicy", "AllowCalling", "f7593e81-772a-4455-88a3-fc9e5ebc1e4a")],
        "userConfigurations": configurations,
        "emergencyLocations": [{"locationId": LOCATION, "countryOrRegion": "US"}],
    }


def _assignment() -> dict[str, Any]:
    return {"displayName": "AllowCalling", "assignmentType": "direct", "policyId": "Tag:AllowCalling"}


def _ids(people: list[dict[str, Any]]) -> list[str]:
    return [str(p["id"]) for p in people]


def serve(users: int, joiners: bool, time_scale: float) -> None:
    """The fake over loopback HTTP; on SIGTERM it prints what it answered, by kind, as one JSON line."""
    from tests.support.fakegraph import FakeGraph
    from tests.support.loopback import LoopbackGraph

    seen: Counter[str] = Counter()

    def fake(url: str) -> FakeGraph:
        graph = FakeGraph(
            tenant_document(users, joiners), base_url=url, write_quota=window(time_scale), fractional_retry_after=True
        )
        answer = graph._operation  # counted at the item level: $batch items are requests Graph answers one by one

        def counted(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            reply = answer(method, path, *args, **kwargs)
            seen[_kind(method, path)] += 1
            seen["throttled"] += reply.status == 429
            return reply

        graph._operation = counted  # type: ignore[method-assign]
        return graph

    server = LoopbackGraph(fake, keep_history=False)

    def report(*_: Any) -> None:
        print(json.dumps(dict(seen)), flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, report)
    print(json.dumps({"port": server.port}), flush=True)
    server.serve_forever()


def _kind(method: str, path: str) -> str:
    for word in ("assignNumber", "unassignNumber", "operations", "assignLicense", "userAssignments", "getPolicyId"):
        if word in path:
            return f"{method} {word}"
    return f"{method} other"


def run(users: int, workload: str, memory_mb: int, time_scale: float) -> dict[str, Any]:
    flags = ["--serve", str(users), "--workload", workload, "--time-scale", str(time_scale)]
    with tempfile.TemporaryDirectory() as folder, served_by("benchmarks.bench_numbers", flags) as server:
        config, out = Path(folder) / "licensing.yaml", Path(folder) / "apply.log"
        config.write_text(CONFIG, encoding="utf-8")
        env = {**os.environ, "TEAMS_LICENSING_ACCESS_TOKEN": "benchmark-token-not-a-secret"}
        command = [sys.executable, "-m", "teamslicensing", "apply", str(config), "--yes", "--graph-url", server["url"]]
        command += ["--audit-log", str(Path(folder) / "audit.jsonl")]
        status, wall, rss = measured(command, env, ROOT, out, memory_mb)
        log = out.read_text(encoding="utf-8")
        applied = re.search(r"Apply: (\d+) applied, (\d+) failed, (\d+) not attempted in ([\d.]+) s", log)
        process = server["process"]
        process.send_signal(signal.SIGTERM)
        counts: dict[str, int] = json.loads(process.stdout.readline())
    if applied is None:
        raise RuntimeError(f"apply exited {status}:\n{log[-3000:]}")
    found = {"status": status, "applied": int(applied[1]), "failed": int(applied[2]), "apply_s": float(applied[4])}
    return found | {"wall": wall, "rss": rss, "counts": counts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--memory-mb", type=int, default=400)
    parser.add_argument("--workloads", default="numbers,joiners")
    parser.add_argument("--time-scale", type=float, default=0.1, help="the quota window's scale (1: Graph's own)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.workload == "joiners", args.time_scale)
        return 0
    writes_per, seconds = window(args.time_scale)
    print(
        f"assumed quota {writes_per} writes per {seconds:g} s (Graph's identity window x {args.time_scale:g}); "
        f"RLIMIT_AS {args.memory_mb} MB"
    )
    failed = False
    for workload in args.workloads.split(","):
        r = run(args.users, workload, args.memory_mb, args.time_scale)
        counts = r["counts"]
        writes = sum(v for k, v in counts.items() if k.startswith("POST")) - counts.get("throttled", 0)
        bound = writes / (writes_per / seconds)
        polled = counts.get("GET operations", 0)
        ok = r["status"] == 0 and r["applied"] == args.users and r["rss"] <= 300 and r["apply_s"] <= 1.2 * bound
        failed |= not ok
        print(
            f"{workload:<8} exit {r['status']} applied {r['applied']:>6} writes {writes:>6} polled {polled:>6} "
            f"throttled {counts.get('throttled', 0):>5}  apply {r['apply_s']:>6.1f} s  bound {bound:>6.1f} s  "
            f"ratio {r['apply_s'] / bound:>4.2f}  process {r['wall']:>6.1f} s  RSS {r['rss']:>5.0f} MB"
            f"  {'ok' if ok else 'MISSED'}",
            flush=True,
        )
        print(f"         requests: {json.dumps(dict(sorted(counts.items())))}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
