"""Benchmark parsing /users pages into the tenant types (target: at most 0.05 ms per user).

    python -m benchmarks.bench_parse [--users 20000] [--snapshot FILE]

Takes users from a synthetic tenant (or a snapshot you give), cuts them into pages of 999 as Graph sends them,
serialises each page to bytes, then times what the live reader does with a page: `json.loads` of the bytes and
`parse_user` of every user (with the attributes a 50-rule configuration selects on). Best of five runs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.synthetic import write_snapshot
from teamslicensing.tenant.parse import Interner, parse_user

PAGE = 999
ATTRIBUTES = ("department", "jobTitle", "country", "usageLocation", "extensionAttribute3", "employeeType")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--snapshot", type=Path)
    args = parser.parse_args()
    if args.snapshot:
        users = json.loads(args.snapshot.read_bytes())["users"]
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "tenant.json"
            write_snapshot(path, args.users)
            users = json.loads(path.read_bytes())["users"]
    pages = [
        json.dumps(
            {"value": users[i : i + PAGE], "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=x"}
        ).encode()
        for i in range(0, len(users), PAGE)
    ]
    count = len(users)
    del users
    best = float("inf")
    for _ in range(5):
        share = Interner()
        started = time.perf_counter()
        for page in pages:
            for item in json.loads(page)["value"]:
                parse_user(item, ATTRIBUTES, share)
        best = min(best, time.perf_counter() - started)
    per_user = best / count * 1000
    verdict = "PASS" if per_user <= 0.05 else "MISS"
    size = sum(len(p) for p in pages) / count
    print(
        f"{count} users in {len(pages)} pages ({size:.0f} bytes per user): {best:.3f} s, "
        f"{per_user:.4f} ms per user (json.loads + parse_user)  target <= 0.05 ms: {verdict}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
