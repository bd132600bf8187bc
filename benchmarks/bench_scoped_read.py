"""Benchmark a scoped read (policy.read) against a full one on a tenant far larger than its voice population.

    python -m benchmarks.bench_scoped_read [--users 1000000] [--voice 20000] [--modes scoped,all]

The tenant: `--users` accounts, most holding an unmanaged suite or nothing; `--voice` of them in the group the
rule selects ("Voice"), holding Teams and Phone System, all but 5% holding a Domestic Calling Plan (with a Teams
number each), plus 1% of the voice population outside the group still holding a Calling Plan (leftovers). The rule
assigns MCOEV and MCOPSTN1, so two SKUs are managed. The fake tenant runs as a loopback HTTP server in a process of
its own; each mode runs the product (read + plan) in a fresh process, so its peak RSS is its own. Reported: read
requests, users read, changes and gaps planned, wall time, peak RSS. Target: scoped, 1,000,000 users with
20,000 voice users: <= 100 read requests and <= 200 MB RSS. The changes of both modes are compared when both run.
`check` checks the plan the previous mode saved as `apply PLANFILE` does (reading the changed users by id), and
`check-all` as it did before (reading every user): `changes` are then the changes still fresh, `gaps` the stale.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import counting_graph, product_result, rollout_desired, rss_mb, served_by
from tests.support.rollout import (
    GROUP_ID,
    MCOEV,
    MCOEV_PLANS,
    MCOPSTN1,
    MCOPSTN1_PLANS,
    TEAMS,
    TEAMS_PLANS,
    TENANT_ID,
    sku_object,
    state,
    user_id,
    user_object,
)

E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"  # SPE_E3: no voice plan of its own here


def tenant_document(users: int, voice: int) -> dict[str, Any]:
    """The benchmark tenant in Graph's JSON; deterministic."""
    without_plan = voice // 20  # new joiners: the plan's changes
    leftovers = voice // 100  # Calling Plans outside the group (report-only without prune)

    def held(n: int) -> list[dict[str, Any]]:
        if n < voice:
            skus = [TEAMS, MCOEV] + ([MCOPSTN1] if n >= without_plan else [])
        elif n < voice + leftovers:
            skus = [E3, MCOPSTN1]
        else:
            skus = [E3] if n % 3 else []
        return [state(sku) for sku in skus]

    people: list[dict[str, Any]] = []
    numbers: list[dict[str, Any]] = []
    for n in range(users):
        licenses = held(n)
        people.append(user_object(n, licenses, upn_digits=7))
        if any(h["skuId"] == MCOPSTN1 for h in licenses):
            numbers.append(
                {
                    "telephoneNumber": f"+1425555{n:07d}",
                    "numberType": "callingPlan",
                    "assignmentStatus": "userAssigned",
                    "assignmentTargetId": user_id(n),
                }
            )

    def sku(sku_id: str, part: str, plans: list[tuple[str, str]]) -> dict[str, Any]:
        consumed = sum(1 for p in people if any(h["skuId"] == sku_id for h in p["assignedLicenses"]))
        return sku_object(sku_id, part, plans, consumed, consumed + voice)

    return {
        "tenantId": TENANT_ID,
        "subscribedSkus": [
            sku(TEAMS, "Microsoft_Teams_Enterprise_New", TEAMS_PLANS),
            sku(MCOEV, "MCOEV", MCOEV_PLANS),
            sku(MCOPSTN1, "MCOPSTN1", MCOPSTN1_PLANS),
            sku(E3, "SPE_E3", [("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE")]),
        ],
        "users": people,
        "groups": [{"id": GROUP_ID, "displayName": "Voice", "members": [user_id(n) for n in range(voice)]}],
        "numberAssignments": numbers,
    }


def serve(users: int, voice: int, latency: float) -> None:
    from tests.support.fakegraph import FakeGraph
    from tests.support.loopback import LoopbackGraph

    document = tenant_document(users, voice)

    def fake(url: str) -> FakeGraph:
        return FakeGraph(document, base_url=url)

    server = LoopbackGraph(fake, latency=latency, keep_history=False)
    print(json.dumps({"port": server.port, "rss": rss_mb()}), flush=True)
    server.serve_forever()


def digest(changes: Any) -> str:
    listed = json.dumps([[c.user_id, [a.sku_id for a in c.add_licenses]] for c in changes])
    return hashlib.sha256(listed.encode()).hexdigest()[:12]


def run_product(url: str, mode: str, plan_file: Path) -> dict[str, Any]:
    """Read and plan in `mode`, saving the plan to `plan_file`; or, for the check modes, check the plan saved
    there as `apply PLANFILE` does (`check`: the product's way; `check-all`: reading every user, as before)."""
    from teamslicensing.app.core import managed_skus
    from teamslicensing.apply.planbasis import stale_users
    from teamslicensing.apply.planfile import basis_read, read_plan_file, write_plan_file
    from teamslicensing.plan.planner import plan
    from teamslicensing.reference.availability import load_availability
    from teamslicensing.tenant.live import read_tenant
    from teamslicensing.tenant.need import TenantNeed

    result: dict[str, Any] = {}

    async def product() -> None:
        started = time.monotonic()
        if mode.startswith("check"):
            saved = read_plan_file(plan_file)
            need = basis_read(saved)
            async with counting_graph(url) as (graph, sent):
                if mode != "check":
                    need = dataclasses.replace(need, user_ids=None)
                tenant = await read_tenant(graph, need)
                requests = sent()
            read_wall = time.monotonic() - started
            fresh, stale = stale_users(saved.plan.changes, saved.basis, tenant)
            result.update(changes=len(fresh), changes_digest=digest(fresh), gaps=len(stale))
        else:
            desired = rollout_desired()
            async with counting_graph(url) as (graph, sent):
                tenant = await read_tenant(graph, TenantNeed.to_plan(desired, mode))  # type: ignore[arg-type]
                requests = sent()
            read_wall = time.monotonic() - started
            planned = plan(desired, tenant, load_availability())
            policy = desired.policy
            write_plan_file(
                plan_file,
                planned,
                tenant,
                config="licensing.yaml",
                config_digest=None,
                policy=policy,
                managed=managed_skus(desired, tenant),
                attributes=tuple(sorted(desired.selected_attributes)),
            )
            result.update(changes=len(planned.changes), changes_digest=digest(planned.changes), gaps=len(planned.gaps))
        result.update(
            requests=requests, users_read=len(tenant.users), read_wall=read_wall, wall=time.monotonic() - started
        )

    asyncio.run(product())
    result["rss"] = rss_mb()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--voice", type=int, default=20_000)
    parser.add_argument(
        "--modes",
        default="scoped,check,check-all,all",
        help="comma-separated: scoped, all, auto (plan), check, check-all (check the last plan as apply PLANFILE does)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per HTTP request (default 0)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--product", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--plan-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.voice, args.latency)
        return 0
    if args.product:
        print(json.dumps(run_product(args.product, args.mode, args.plan_file)))
        return 0
    print(f"{args.users:,} users, {args.voice:,} voice users; fake tenant over loopback HTTP in its own process")
    started = time.monotonic()
    flags = ["--serve", str(args.users), "--voice", str(args.voice), "--latency", str(args.latency)]
    with served_by("benchmarks.bench_scoped_read", flags) as server, tempfile.TemporaryDirectory() as folder:
        print(f"fake tenant ready in {time.monotonic() - started:.0f} s ({server['rss']:.0f} MB)")
        print(
            f"{'mode':>9} {'requests':>9} {'users read':>11} {'changes':>8} {'digest':>13} {'gaps':>6} "
            f"{'read s':>7} {'wall s':>7} {'RSS MB':>7}"
        )
        for mode in args.modes.split(","):
            plan_file = str(Path(folder) / "plan.json")
            try:
                r = product_result(
                    "benchmarks.bench_scoped_read",
                    ["--product", server["url"], "--mode", mode, "--plan-file", plan_file],
                )
            except RuntimeError as exc:
                print(exc, file=sys.stderr)
                return 1
            print(
                f"{mode:>9} {r['requests']:>9} {r['users_read']:>11,} {r['changes']:>8} {r['changes_digest']:>13} "
                f"{r['gaps']:>6} {r['read_wall']:>7.1f} {r['wall']:>7.1f} {r['rss']:>7.0f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
