"""Benchmark apply against the stateful fake tenant, with Graph's write quota scaled in time.

    python benchmarks/bench_apply.py [--sizes 1000,10000,100000] [--latency 0.002] [--time-scale 0.01]

Graph allows 3,000 writes per 150 s per app and tenant. Here the window is scaled by --time-scale (0.01: 3,000
writes per 1.5 s) and every HTTP request takes --latency seconds, so a 100k-user run takes about a minute. For each
size it reports the read and write requests, the wall time of the writes, the quota bound (writes / quota rate),
their ratio, and peak RSS; then the same for a naive client (GET then POST per user, one at a time), run in full up
to 10k users and on a sample, extrapolated, above. Each size runs in its own process so RSS is its own.

Targets (issue 4): wall <= 1.15x the quota bound, write requests <= ceil(W/20) + retries, no failed change,
peak RSS <= 300 MB at 100k (the fake tenant's own memory is shown apart; it is not the product's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "automation"), str(ROOT / "tests")]

BASE = "https://graph.microsoft.com/v1.0"
QUOTA_WRITES, QUOTA_SECONDS = 3000, 150.0
MCOEV = "e43b5b99-8dfb-405f-9987-dc307f34bcbd"
MCOPSTN1 = "0dab259f-bf13-4952-b7f8-7db8f131b28d"
NAIVE_SAMPLE = 2000


def tenant_document(users: int) -> dict[str, Any]:
    """Everyone in one voice group, half already holding Phone System: each needs one assignLicense."""

    def sku(sku_id: str, part: str, plan_id: str) -> dict[str, Any]:
        return {
            "skuId": sku_id,
            "skuPartNumber": part,
            "appliesTo": "User",
            "capabilityStatus": "Enabled",
            "consumedUnits": users // 2 if part == "MCOEV" else 0,
            "prepaidUnits": {"enabled": users * 2, "suspended": 0, "warning": 0},
            "servicePlans": [{"servicePlanId": plan_id, "servicePlanName": part, "provisioningStatus": "Success"}],
        }

    people = []
    for n in range(users):
        held = [{"skuId": MCOEV, "disabledPlans": []}] if n % 2 else []
        people.append(
            {
                "id": f"00000000-0000-4000-8000-{n:012d}",
                "userPrincipalName": f"user{n:06d}@contoso.com",
                "displayName": f"User {n}",
                "accountEnabled": True,
                "usageLocation": "US",
                "department": "Sales",
                "assignedLicenses": held,
                "licenseAssignmentStates": [
                    {**h, "assignedByGroup": None, "state": "Active", "error": "None"} for h in held
                ],
            }
        )
    return {
        "subscribedSkus": [
            sku(MCOEV, "MCOEV", "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"),
            sku(MCOPSTN1, "MCOPSTN1", "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8"),
        ],
        "users": people,
        "groups": [
            {"id": "9a000000-0000-4000-8000-000000000001", "displayName": "Voice", "members": [p["id"] for p in people]}
        ],
    }


CONFIG = """version: 1
rules:
  - name: voice
    select: {groups: [Voice]}
    assign: [MCOEV, MCOPSTN1]
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(users: int, latency: float, time_scale: float) -> dict[str, Any]:
    import respx

    from fakegraph import FakeGraph
    from teamslicensing.availability import load_availability
    from teamslicensing.config import load_desired_state
    from teamslicensing.executor import execute
    from teamslicensing.graph import Connection, Graph
    from teamslicensing.graphsource import read_tenant
    from teamslicensing.planner import plan

    os.environ["TEAMS_LICENSING_ACCESS_TOKEN"] = "benchmark"
    quota = (QUOTA_WRITES, QUOTA_SECONDS * time_scale)
    rate = quota[0] / quota[1]
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "licensing.yaml"
        config.write_text(CONFIG)
        desired = load_desired_state(config)
    document = tenant_document(users)
    fake = FakeGraph(document, base_url=BASE, latency=latency, write_quota=quota, fractional_retry_after=True)
    del document
    fake_rss = rss_mb()
    result: dict[str, Any] = {"users": users}
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)

        async def product() -> None:
            async with Graph(Connection(BASE)) as graph:
                tenant = await read_tenant(graph, desired)
                planned = plan(desired, tenant, load_availability())
                del tenant
                reads = graph.read_requests
                started = time.monotonic()
                outcome = await execute(planned, graph)
                wall = time.monotonic() - started
                writes = sum(len(c.add_licenses) > 0 or len(c.remove_licenses) > 0 for c in planned.changes)
                result.update(
                    reads=reads,
                    writes=writes,
                    write_requests=graph.write_requests,
                    retries=graph.retries,
                    failed=len(outcome.failed),
                    wall=wall,
                    bound=writes / rate,
                )

        asyncio.run(product())
        result["rss"] = rss_mb()
        result["fake_rss"] = fake_rss

        sample = users if users <= 10_000 else NAIVE_SAMPLE
        result["naive"] = asyncio.run(naive(fake, sample)) | {"sample": sample}
    return result


async def naive(fake: Any, sample: int) -> dict[str, Any]:
    """What a PowerShell-style loop does: read each user, then assign, one request at a time, honouring 429s."""
    import httpx

    headers = {"Authorization": "Bearer benchmark"}
    requests = 0
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=BASE, headers=headers) as client:
        for n in range(sample):
            user_id = f"00000000-0000-4000-8000-{n:012d}"
            for method, url, body in (
                ("GET", f"{BASE}/users/{user_id}?$select=id,assignedLicenses", None),
                (
                    "POST",
                    f"{BASE}/users/{user_id}/assignLicense",
                    {"addLicenses": [{"skuId": MCOPSTN1, "disabledPlans": []}], "removeLicenses": []},
                ),
            ):
                while True:
                    requests += 1
                    response = await client.request(method, url, json=body)
                    if response.status_code != 429:
                        break
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))
    return {"requests": requests, "wall": time.monotonic() - started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--latency", type=float, default=0.002, help="seconds per HTTP request (default 0.002)")
    parser.add_argument("--time-scale", type=float, default=0.01, help="quota window scale (default 0.01)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.latency, args.time_scale)))
        return 0
    rate = QUOTA_WRITES / (QUOTA_SECONDS * args.time_scale)
    print(
        f"write quota {QUOTA_WRITES} per {QUOTA_SECONDS * args.time_scale:g} s ({rate:.0f}/s), "
        f"latency {args.latency * 1000:g} ms per request"
    )
    header = (
        f"{'users':>7} {'reads':>6} {'writes':>7} {'batches':>8} {'retries':>8} {'failed':>6} "
        f"{'wall s':>8} {'bound s':>8} {'ratio':>6} {'RSS MB':>7} {'fake MB':>8} | "
        f"{'naive req':>9} {'naive s':>9}"
    )
    print(header)
    for size in (int(s) for s in args.sizes.split(",")):
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--latency",
                str(args.latency),
                "--time-scale",
                str(args.time_scale),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return 1
        r = json.loads(child.stdout.strip().splitlines()[-1])
        naive = r["naive"]
        scale = size / naive["sample"]
        naive_note = "" if scale == 1 else " (extrapolated)"
        batches_ok = r["write_requests"] <= math.ceil(r["writes"] / 20) + r["retries"]
        print(
            f"{size:>7} {r['reads']:>6} {r['writes']:>7} {r['write_requests']:>8} {r['retries']:>8} "
            f"{r['failed']:>6} {r['wall']:>8.2f} {r['bound']:>8.2f} {r['wall'] / r['bound']:>6.2f} "
            f"{r['rss']:>7.0f} {r['fake_rss']:>8.0f} | {naive['requests'] * scale:>9.0f} "
            f"{naive['wall'] * scale:>9.1f}{naive_note}" + ("" if batches_ok else "  batches above bound")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
