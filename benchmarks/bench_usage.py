"""Benchmark the usage report: a million PSTN call rows over 90 days, aggregated as they are read.

    python -m benchmarks.bench_usage [--rows 1000000] [--days 90] [--users 5000]

The fake tenant (tests/support/rollout, `--users` users, a fifth of them holding a Calling Plan) and its call rows
(tests/support/fakegraph/calls: a seeded model in Graph's own row shape) are served over loopback HTTP by a process
of their own; the product reads the tenant, then getPstnCalls and getDirectRoutingCalls window by window (at most 90
days each) and page by page (1,000 rows), and builds the report, in a fresh process whose peak RSS is its own.
Reported: rows aggregated, requests, wall time, peak RSS, and the report's totals. Target: 1,000,000 rows
over 90 days in <= 150 MB RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from benchmarks.common import counting_graph, product_result, rollout_desired, rss_mb, served_by
from tests.support.rollout import rollout_document, user_id


def serve(rows: int, days: int, users: int) -> None:
    from tests.support.fakegraph import FakeGraph
    from tests.support.fakegraph.calls import generate_calls
    from tests.support.loopback import LoopbackGraph

    document = rollout_document(users, holding_calling_plan=users // 5)
    callers = [(user_id(n), f"user{n:06d}@contoso.com", "US") for n in range(users // 5)]
    # days - 1 whole days, from an hour into the window: every row falls inside the product's --days window
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=days) + timedelta(hours=1)
    calls = list(generate_calls(callers, start, days - 1, -(-rows // (days - 1)), toll_free="+18005550100"))

    def fake(url: str) -> FakeGraph:
        graph = FakeGraph(document, base_url=url)
        graph.load_calls("getPstnCalls", calls)
        return graph

    server = LoopbackGraph(fake, keep_history=False)
    print(json.dumps({"port": server.port, "rows": len(calls), "rss": rss_mb()}), flush=True)
    server.serve_forever()


def run_product(url: str, days: int) -> dict[str, Any]:
    from teamslicensing.plan.usage import UsageAggregate, usage_report
    from teamslicensing.reference.minutes import MinutesTable
    from teamslicensing.tenant.calls import call_rows, parse_call, window_for_days
    from teamslicensing.tenant.live import read_tenant
    from teamslicensing.tenant.need import TenantNeed

    desired = rollout_desired()
    result: dict[str, Any] = {}

    async def product() -> None:
        started = time.monotonic()
        start, end = window_for_days(days)
        async with counting_graph(url) as (graph, sent):
            tenant = await read_tenant(graph, TenantNeed.to_plan(desired))
            aggregate = UsageAggregate(start.date(), end.date())
            async for source, raw in call_rows(graph, start, end):
                aggregate.add(parse_call(raw, source))
            requests = sent()
        report = usage_report(aggregate, tenant, MinutesTable())
        (usd,) = report.currencies
        result.update(
            rows=report.calls,
            requests=requests,
            wall=time.monotonic() - started,
            spend=usd.spend,
            recharge=usd.funding.recharge_amount if usd.funding else None,
            gaps=len(report.gaps),
        )

    asyncio.run(product())
    result["rss"] = rss_mb()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--product", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.days, args.users)
        return 0
    if args.product:
        print(json.dumps(run_product(args.product, args.days)))
        return 0
    started = time.monotonic()
    flags = ["--serve", str(args.rows), "--days", str(args.days), "--users", str(args.users)]
    with served_by("benchmarks.bench_usage", flags) as ready:
        print(f"fake: {ready['rows']:,} call rows over {args.days} days ready in {time.monotonic() - started:.0f} s")
        try:
            r = product_result("benchmarks.bench_usage", ["--product", ready["url"], "--days", str(args.days)])
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
    verdict = "PASS" if r["rss"] <= 150 and r["rows"] == ready["rows"] else "MISS"
    print(f"{'rows':>10} {'requests':>9} {'wall s':>8} {'RSS MB':>7} {'spend USD':>11} {'recharge':>9} {'gaps':>5}")
    print(
        f"{r['rows']:>10,} {r['requests']:>9} {r['wall']:>8.1f} {r['rss']:>7.0f} {r['spend']:>11,.2f} "
        f"{r['recharge']!s:>9} {r['gaps']:>5}  {verdict} (target: every row, <= 150 MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
