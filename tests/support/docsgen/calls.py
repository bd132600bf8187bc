"""`python -m tests.support.docsgen.calls FILE`: three months of PSTN call rows of the demo tenant's first users, in
the JSON Lines form `export --calls` writes (one Graph row per line), from the fake's seeded model of a tenant's
calling. It stands in for a tenant's real call records in the documentation's offline usage example."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SNAPSHOT = ROOT / "config" / "examples" / "contoso-tenant.json"


def write_calls(path: Path) -> Path:
    from tests.support.fakegraph.calls import generate_calls

    document = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    users = [(u["id"], u["userPrincipalName"], u.get("usageLocation") or "US") for u in document["users"][:4]]
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = generate_calls(users, start, 90, 6, toll_free="+18005550100", plan="MCOPSTN1")
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.support.docsgen.calls FILE")
    print(f"wrote {write_calls(Path(sys.argv[1]))}")
