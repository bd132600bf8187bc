"""Benchmark apply against the stateful fake tenant, with Graph's write quota scaled in time.

    python -m benchmarks.bench_apply [--sizes 1000,10000,100000] [--latency 0.002] [--time-scale 0.01]

Graph allows 3,000 writes per 150 s per app and tenant. Here the window is scaled by --time-scale (0.01: 3,000
writes per 1.5 s) and every HTTP request takes --latency seconds, so a 100k-user run takes about a minute. For each
size it reports the read and write requests, the wall time of the writes, the quota bound (writes / quota rate),
their ratio, and peak RSS; then the same for a naive client (GET then POST per user, one at a time), run in full up
to 10k users and on a sample, extrapolated, above. The fake tenant runs as a loopback HTTP server in a process of
its own (so the product's RSS is its own, and plain http://127.0.0.1 is exercised); the product runs in another.

Targets: wall <= 1.15x the quota bound, write requests <= ceil(W/20) + retries, no failed change,
peak RSS <= 300 MB at 100k.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import counting_graph, product_result, rollout_desired, rss_mb, served_by
from tests.support.rollout import MCOPSTN1, rollout_document

BASE = "https://graph.microsoft.com/v1.0"
QUOTA_WRITES, QUOTA_SECONDS = 3000, 150.0
NAIVE_SAMPLE = 2000


def tenant_document(users: int) -> dict[str, Any]:
    """Everyone in one voice group holding Teams and Phone System: each needs a Calling Plan, one assignLicense."""
    return rollout_document(users)


def serve(users: int, latency: float, time_scale: float) -> None:
    """Run the fake tenant as a loopback HTTP server (its own process, so its memory is not the product's)."""
    from tests.support.fakegraph import FakeGraph
    from tests.support.loopback import LoopbackGraph

    def fake(url: str) -> FakeGraph:
        return FakeGraph(
            tenant_document(users),
            base_url=url,
            write_quota=(QUOTA_WRITES, QUOTA_SECONDS * time_scale),
            fractional_retry_after=True,
        )

    server = LoopbackGraph(fake, latency=latency, keep_history=False)
    print(json.dumps({"port": server.port, "rss": rss_mb()}), flush=True)
    server.serve_forever()


def run_product(url: str, sample: int) -> dict[str, Any]:
    from teamslicensing.apply.audit import AuditLog
    from teamslicensing.apply.executor import execute
    from teamslicensing.graph.writer import GraphWriter
    from teamslicensing.plan.planner import plan
    from teamslicensing.reference.availability import load_availability
    from teamslicensing.tenant.live import read_tenant
    from teamslicensing.tenant.need import TenantNeed

    desired = rollout_desired()
    result: dict[str, Any] = {}

    async def product() -> None:
        async with counting_graph(url) as (graph, sent):
            tenant = await read_tenant(graph, TenantNeed.to_plan(desired))
            reads = sent()
            planned = plan(desired, tenant, load_availability())
            changed = {change.user_id for change in planned.changes}
            before = {user.id: user for user in tenant.users if user.id in changed}
            del tenant
            started = time.monotonic()
            with tempfile.TemporaryDirectory() as logs:
                audit = AuditLog.open(Path(logs) / "audit.jsonl", before)
                outcome = await execute(planned.changes, GraphWriter(graph), audit, before)
                audit.close()
            result.update(
                reads=reads,
                writes=sum(c.changes_licenses for c in planned.changes),
                write_requests=graph.write_requests,
                retries=graph.retries,
                failed=len(outcome.failed),
                wall=time.monotonic() - started,
            )

    asyncio.run(product())
    result["rss"] = rss_mb()
    result["naive"] = asyncio.run(naive(url, sample)) | {"sample": sample}
    return result


async def naive(url: str, sample: int) -> dict[str, Any]:
    """What a PowerShell-style loop does: read each user, then assign, one request at a time, honouring 429s."""
    import httpx

    requests = 0
    started = time.monotonic()
    async with httpx.AsyncClient(headers={"Authorization": "Bearer benchmark"}) as client:
        for n in range(sample):
            user_id = f"00000000-0000-4000-8000-{n:012d}"
            body = {"addLicenses": [{"skuId": MCOPSTN1, "disabledPlans": []}], "removeLicenses": []}
            for method, path, payload in (
                ("GET", f"/users/{user_id}?$select=id,assignedLicenses", None),
                ("POST", f"/users/{user_id}/assignLicense", body),
            ):
                while True:
                    requests += 1
                    response = await client.request(method, url + path, json=payload)
                    if response.status_code != 429:
                        break
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))
    return {"requests": requests, "wall": time.monotonic() - started}


def measure(size: int, latency: float, time_scale: float) -> dict[str, Any]:
    flags = ["--serve", str(size), "--latency", str(latency), "--time-scale", str(time_scale)]
    with served_by("benchmarks.bench_apply", flags) as server:
        sample = size if size <= 10_000 else NAIVE_SAMPLE
        result = product_result("benchmarks.bench_apply", ["--product", server["url"], "--sample", str(sample)])
        result["fake_rss"] = float(server["rss"])
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--latency", type=float, default=0.002, help="seconds per HTTP request (default 0.002)")
    parser.add_argument("--time-scale", type=float, default=0.01, help="quota window scale (default 0.01)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--product", help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency, args.time_scale)
        return 0
    if args.product:
        print(json.dumps(run_product(args.product, args.sample)))
        return 0
    rate = QUOTA_WRITES / (QUOTA_SECONDS * args.time_scale)
    print(
        f"write quota {QUOTA_WRITES} per {QUOTA_SECONDS * args.time_scale:g} s ({rate:.0f}/s), "
        f"latency {args.latency * 1000:g} ms per request; fake tenant served over loopback HTTP in its own process"
    )
    print(
        f"{'users':>7} {'reads':>6} {'writes':>7} {'batches':>8} {'retries':>8} {'failed':>6} "
        f"{'wall s':>8} {'bound s':>8} {'ratio':>6} {'RSS MB':>7} | {'naive req':>9} {'naive s':>9} {'ratio':>6}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        r = measure(size, args.latency, args.time_scale)
        bound = r["writes"] / rate
        naive = r["naive"]
        scale = size / naive["sample"]
        naive_wall = naive["wall"] * scale
        note = "" if scale == 1 else " (extrapolated from a sample)"
        checks = []
        if r["write_requests"] > math.ceil(r["writes"] / 20) + r["retries"]:
            checks.append("write requests above ceil(W/20)+retries")
        if r["wall"] > 1.15 * bound:
            checks.append("wall above 1.15x bound")
        if r["failed"]:
            checks.append("failed changes")
        print(
            f"{size:>7} {r['reads']:>6} {r['writes']:>7} {r['write_requests']:>8} {r['retries']:>8} {r['failed']:>6} "
            f"{r['wall']:>8.2f} {bound:>8.2f} {r['wall'] / bound:>6.2f} {r['rss']:>7.0f} | "
            f"{naive['requests'] * scale:>9.0f} {naive_wall:>9.1f} {naive_wall / bound:>6.2f}{note}"
            + ("  MISS: " + "; ".join(checks) if checks else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
