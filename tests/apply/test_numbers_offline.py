"""`apply --snapshot` writes phone numbers and policies into the snapshot the way Graph would (TeamsDocument), so
the whole cycle runs offline: plan, apply, plan again (nothing to do), undo (the snapshot's Teams state as before)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from teamslicensing.cli import main

BOB = "5e1f0000-0000-4000-8000-000000000002"


def teams_state(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each number's holder, and each user's policies in effect (type -> (assignment type, name))."""
    document = json.loads(path.read_text(encoding="utf-8"))
    holders = {n["telephoneNumber"]: n["assignmentTargetId"] for n in document["numberAssignments"]}
    policies = {
        c["id"]: {
            p["policyType"]: (p["policyAssignment"]["assignmentType"], p["policyAssignment"]["displayName"])
            for p in c["effectivePolicyAssignments"]
        }
        for c in document["userConfigurations"]
    }
    return holders, policies


def test_the_demo_numbers_and_policies_go_into_the_snapshot_and_undo_takes_them_back(
    example_config: Path, demo_tenant: Path, tmp_path: Path
) -> None:
    tenant = tmp_path / "tenant.json"
    shutil.copy(demo_tenant, tenant)
    holders, policies = teams_state(tenant)
    audit = tmp_path / "apply.jsonl"
    assert main(["apply", str(example_config), "--snapshot", str(tenant), "--yes", "--audit-log", str(audit)]) == 3
    after_holders, after_policies = teams_state(tenant)
    assert after_holders["+14255550199"] == BOB, "the demo's one free number, to bob, after his license"
    assert {k: v for k, v in after_holders.items() if k != "+14255550199"} == {
        k: v for k, v in holders.items() if k != "+14255550199"
    }
    assert after_policies[BOB] == {"TeamsCallingPolicy": ("direct", "AllowCalling")}
    out = tmp_path / "again.json"
    main(["plan", str(example_config), "--snapshot", str(tenant), "--format", "json", "--output", str(out)])
    assert json.loads(out.read_text(encoding="utf-8"))["changes"] == []
    undo = ["undo", str(audit), "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "undo.jsonl")]
    assert main(undo) == 0
    assert teams_state(tenant) == (holders, policies), "numbers and policies as before the run"
