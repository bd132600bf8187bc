"""The shipped example configuration and its demo tenant, as tests that run them read their numbers: from the
demo's own plan, so a story added to the demo changes no test that only counts."""

from __future__ import annotations

from pathlib import Path

from teamslicensing import app

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "licensing.yaml"
SNAPSHOT = ROOT / "config" / "examples" / "contoso-tenant.json"


def demo_changes() -> int:
    """How many users and groups the shipped configuration changes in the demo tenant."""
    plan = app.plan(CONFIG, app.TenantSource(snapshot=SNAPSHOT)).plan
    return len(plan.changes) + len(plan.group_changes)
