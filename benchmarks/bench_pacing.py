"""Benchmark write pacing against quotas shaped as Graph's emulators shape them, paced and unpaced side
by side in one run.

    python -m benchmarks.bench_pacing [--writes 1200] [--window-writes 10000]

Each run starts a fresh fake tenant (tests/support/rollout: every user needs one assignLicense) served over loopback
HTTP in a process of its own, with the near-limit headers inside the $batch items only, as Graph sends them, and
applies it with the product's executor and Graph client: once with the learnt pacing (`paced`), once with only
Retry-After holding writes back (`unpaced`, the behaviour before). Quotas:

- `bucket 60/30`: a token bucket 60 deep refilled at 30 writes/s; bound = (writes - 60) / 30 s
- `bucket 60/20`: the same at 20 writes/s
- `window`: the sliding window the other benchmarks use, Graph's 3,000 per 150 s scaled to 1.5 s; bound = writes /
  2,000 per s

Targets: on the buckets, wall <= 1.10x the bound with throttled items <= 5% of writes; on the window, <= 1.07x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import rollout_desired, served_by

QUOTAS: dict[str, tuple[dict[str, Any], Callable[[int], float]]] = {  # name -> (fake options, bound from writes)
    "bucket 60/30": ({"write_bucket": (60, 30.0)}, lambda w: (w - 60) / 30.0),
    "bucket 60/20": ({"write_bucket": (60, 20.0)}, lambda w: (w - 60) / 20.0),
    "window": ({"write_quota": (3000, 1.5)}, lambda w: w / 2000.0),
}


def serve(users: int, quota: str) -> None:
    from tests.support.fakegraph import FakeGraph
    from tests.support.loopback import LoopbackGraph
    from tests.support.rollout import rollout_document

    options = QUOTAS[quota][0]
    server = LoopbackGraph(
        lambda url: FakeGraph(rollout_document(users), base_url=url, fractional_retry_after=True, **options),
        latency=0.002,
        keep_history=False,
    )
    print(json.dumps({"port": server.port}), flush=True)
    server.serve_forever()


async def apply(url: str, paced: bool) -> dict[str, Any]:
    from teamslicensing.apply.audit import AuditLog
    from teamslicensing.apply.executor import execute
    from teamslicensing.graph import Connection, Graph
    from teamslicensing.graph.writer import GraphWriter
    from teamslicensing.plan.planner import plan
    from teamslicensing.reference.availability import load_availability
    from teamslicensing.tenant.live import read_tenant
    from teamslicensing.tenant.need import TenantNeed

    desired = rollout_desired()
    with tempfile.TemporaryDirectory() as folder:
        async with Graph(Connection(url), access_token="benchmark", pace_writes=paced) as graph:
            tenant = await read_tenant(graph, TenantNeed.to_plan(desired))
            planned = plan(desired, tenant, load_availability())
            before = {user.id: user for user in tenant.users}
            started = time.monotonic()
            with AuditLog.open(Path(folder) / "audit.jsonl", before) as audit:
                outcome = await execute(planned.changes, GraphWriter(graph), audit, before)
            return {
                "writes": len(planned.changes),
                "throttled": graph.retries,
                "failed": len(outcome.failed),
                "wall": time.monotonic() - started,
            }


def run(users: int, quota: str, paced: bool) -> dict[str, Any]:
    with served_by("benchmarks.bench_pacing", ["--serve", str(users), "--quota", quota]) as server:
        return asyncio.run(apply(server["url"], paced))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=1200, help="users to write on the bucket quotas")
    parser.add_argument("--window-writes", type=int, default=10000, help="users to write on the window quota")
    parser.add_argument("--quotas", default=",".join(QUOTAS), help=f"comma-separated, of: {', '.join(QUOTAS)}")
    parser.add_argument("--paced-only", action="store_true", help="skip the unpaced baseline rows")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--quota", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.quota)
        return 0
    print(f"{'quota':<13} {'pacing':<8} {'writes':>7} {'wall s':>8} {'bound s':>8} {'ratio':>6} {'throttled':>10}")
    for quota in args.quotas.split(","):
        bound_of = QUOTAS[quota.strip()][1]
        quota = quota.strip()
        users = args.window_writes if quota == "window" else args.writes
        for paced in (True,) if args.paced_only else (True, False):
            r = run(users, quota, paced)
            bound = bound_of(r["writes"])
            share = r["throttled"] / r["writes"]
            print(
                f"{quota:<13} {'paced' if paced else 'unpaced':<8} {r['writes']:>7} {r['wall']:>8.2f} {bound:>8.2f} "
                f"{r['wall'] / bound:>6.2f} {r['throttled']:>5} ({share:>4.0%})"
                + (f"  FAILED {r['failed']}" if r["failed"] else ""),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
