"""Every removal is judged for prune's reach by the SKU it removes, whatever reason a (resealed, unsigned) saved plan
records for it: a suite outside pruneAlso, or a license no rule manages, is never removed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main
from tests.support import planfiles

E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"


@pytest.fixture
def tenant(demo_tenant: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tenant.json"
    shutil.copyfile(demo_tenant, copy)
    return copy


def direct(tenant: Path, upn: str) -> set[str]:
    document = json.loads(tenant.read_text(encoding="utf-8"))
    skus = {s["skuId"]: s["skuPartNumber"] for s in document["subscribedSkus"]}
    user = next(u for u in document["users"] if u["userPrincipalName"] == upn)
    return {skus[s["skuId"]] for s in user["licenseAssignmentStates"] if not s.get("assignedByGroup")}


@pytest.mark.parametrize("reason", ["swap", "redundant", "migrate", "undo", None])
@pytest.mark.parametrize("with_config", [False, True])
def test_a_suite_removal_with_another_reason_is_withheld(
    example_config: Path, tenant: Path, tmp_path: Path, reason: str | None, with_config: bool
) -> None:
    saved = tmp_path / "plan.json"
    assert main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(saved)]) == 0
    records: list[dict[str, Any]] = planfiles.records(saved)
    for record in records:
        change = record.get("change")
        if change and change["userPrincipalName"] == "carol@contoso.com":
            change["removeLicenses"].append({"skuId": E3, "skuPartNumber": "SPE_E3", "reason": reason})
    planfiles.reseal(saved, records)
    assert "SPE_E3" in direct(tenant, "carol@contoso.com")
    extra = ["--config", str(example_config)] if with_config else []
    main(["apply", str(saved), "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "a.jsonl"), *extra])
    assert "SPE_E3" in direct(tenant, "carol@contoso.com"), "E3 (mail, files, Teams) taken: prune never manages it"


def test_an_unmanaged_voice_addon_removal_is_withheld(example_config: Path, tenant: Path, tmp_path: Path) -> None:
    """MCOPSTN_6 is no licence of this configuration; sven holds no number, so number protection lets it go."""
    saved = tmp_path / "plan.json"
    assert main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(saved)]) == 0
    records: list[dict[str, Any]] = planfiles.records(saved)
    document = json.loads(tenant.read_text(encoding="utf-8"))
    sven = next(u for u in document["users"] if u["userPrincipalName"] == "sven@contoso.com")
    mcopstn6 = next(s["skuId"] for s in document["subscribedSkus"] if s["skuPartNumber"] == "MCOPSTN_6")
    from teamslicensing.apply.planbasis import user_basis
    from teamslicensing.tenant.snapshot import load_snapshot

    t = load_snapshot(tenant, frozenset(records[0]["attributes"]))
    user = next(u for u in t.users if u.user_principal_name == "sven@contoso.com")
    change = {
        "userId": sven["id"],
        "userPrincipalName": "sven@contoso.com",
        "setUsageLocation": None,
        "addLicenses": [],
        "removeLicenses": [{"skuId": mcopstn6, "skuPartNumber": "MCOPSTN_6", "reason": "prune"}],
        "rules": [],
        "destructive": False,
        "phoneNumbers": [],
        "takesServicePlans": True,
    }
    records.insert(1, {"change": change, "basis": user_basis(user, t)})
    planfiles.reseal(saved, records)
    main(["apply", str(saved), "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "a.jsonl")])
    assert "MCOPSTN_6" in direct(tenant, "sven@contoso.com"), "an unmanaged licence pruned"
