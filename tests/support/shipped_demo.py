"""The shipped example configuration and its demo tenant, as tests that run them read their numbers: from the
demo's own plan, so a story added to the demo changes no test that only counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from teamslicensing import app

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "licensing.yaml"
SNAPSHOT = ROOT / "config" / "examples" / "contoso-tenant.json"


def demo_changes() -> int:
    """How many users and groups the shipped configuration changes in the demo tenant."""
    plan = app.plan(CONFIG, app.TenantSource(snapshot=SNAPSHOT)).plan
    return len(plan.changes) + len(plan.group_changes)


# the emergency location the shipped configuration gives Calling Plan numbers (sales-voice's phoneNumber.locationId)
DEMO_LOCATION = "8f0c2a4e-6b1d-4f3a-9c5e-1a2b3c4d5e6f"


def demo_fake_document() -> dict[str, Any]:
    """The demo tenant as the fake Graph serves it: the snapshot, and the tenant's validated emergency locations
    (Graph has no API for them, so a snapshot has none; the fake needs them to accept a US Calling Plan number)."""
    document: dict[str, Any] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    document["emergencyLocations"] = [{"locationId": DEMO_LOCATION, "countryOrRegion": "US"}]
    return document
