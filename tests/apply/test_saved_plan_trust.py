"""A saved plan is a file anyone with write access to a pipeline can change: it is checked whole before it is
believed, and every change it still holds meets the judgement a fresh plan meets, against the tenant as it is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main
from tests.support import planfiles

KEY = "k" * 40
E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
MCOEV = "e43b5b99-8dfb-405f-9987-dc307f34bcbd"
MCOPSTN1 = "0dab259f-bf13-4952-b7f8-7db8f131b28d"


@pytest.fixture
def tenant(demo_tenant: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tenant.json"
    shutil.copyfile(demo_tenant, copy)
    return copy


@pytest.fixture
def saved(example_config: Path, tenant: Path, tmp_path: Path) -> Path:
    path = tmp_path / "plan.tlplan.json"
    assert main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(path)]) == 0
    return path


def licenses(tenant: Path) -> dict[str, list[Any]]:
    document = json.loads(tenant.read_text(encoding="utf-8"))
    return {u["userPrincipalName"]: u["licenseAssignmentStates"] for u in document["users"]}


def apply(saved: Path, tenant: Path, *extra: str) -> int:
    audit = saved.with_suffix(f".audit-{len(list(saved.parent.glob('*.audit-*')))}.jsonl")
    return main(["apply", str(saved), "--snapshot", str(tenant), "--yes", "--audit-log", str(audit), *extra])


def edited(saved: Path, upn: str, **fields: Any) -> list[dict[str, Any]]:
    """The plan's records with one user's change edited."""
    records = planfiles.records(saved)
    for record in records:
        if record.get("change", {}).get("userPrincipalName") == upn:
            record["change"].update(fields)
    return records


# grace's calling-plan swap turned into removals of Phone System and her Calling Plan, its safety flags cleared:
# she holds +14255550106 (the inventory says so)
GRACE_STRIPPED = {
    "addLicenses": [],
    "removeLicenses": [
        {"skuId": MCOEV, "skuPartNumber": "MCOEV", "reason": "prune"},
        {"skuId": MCOPSTN1, "skuPartNumber": "MCOPSTN1", "reason": "prune"},
    ],
    "destructive": False,
    "phoneNumbers": [],
    "takesServicePlans": False,
}


def test_a_plan_file_edited_after_it_was_saved_is_refused_whole(
    saved: Path, tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = edited(saved, "grace@contoso.com", **GRACE_STRIPPED)
    end = saved.read_bytes().splitlines()[-1]
    saved.write_bytes(b"".join((json.dumps(r) + "\n").encode() for r in records) + end + b"\n")  # digest left
    before = tenant.read_bytes()
    assert apply(saved, tenant) == 1
    assert "was changed after it was saved" in capsys.readouterr().err
    assert tenant.read_bytes() == before, "nothing was written"
    planfiles.reseal(saved, records[:-3])  # records taken away, the end record made to match: a digest still
    end_record = json.loads(saved.read_bytes().splitlines()[-1])
    assert end_record["end"]["records"] == len(records) - 3, "the reseal counts what it kept"
    saved.write_bytes(saved.read_bytes().replace(b'"records":', b'"records":1', 1))  # valid JSON, a wrong count
    assert apply(saved, tenant) == 1
    assert "was changed after it was saved" in capsys.readouterr().err
    assert tenant.read_bytes() == before


def test_a_resealed_edit_meets_the_judgement_and_takes_no_number(
    saved: Path, tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planfiles.reseal(saved, edited(saved, "grace@contoso.com", **GRACE_STRIPPED))  # the digest made to match
    grace = licenses(tenant)["grace@contoso.com"]
    assert apply(saved, tenant) == 4, "partial: a change the judgement held back is STALE"
    err = capsys.readouterr().err
    assert "STALE grace@contoso.com: a plan made now would hold it back: " in err
    assert "+14255550106" in err
    assert licenses(tenant)["grace@contoso.com"] == grace, "no number lost"
    assert "judged with the policy" in err


def test_an_add_nobody_planned_is_not_written(
    saved: Path, tenant: Path, example_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    carol = next(c for c in planfiles.changes(saved) if c["userPrincipalName"] == "carol@contoso.com")
    adds = [*carol["addLicenses"], {"skuId": E5, "skuPartNumber": "SPE_E5", "disabledPlans": []}]
    planfiles.reseal(saved, edited(saved, "carol@contoso.com", addLicenses=adds))
    before = licenses(tenant)["carol@contoso.com"]
    for extra in ((), ("--config", str(example_config))):
        assert apply(saved, tenant, *extra) == 4
        err = capsys.readouterr().err
        assert "STALE carol@contoso.com: " in err
        assert "SPE_E5, which the configuration does not assign" in err
        assert licenses(tenant)["carol@contoso.com"] == before


def test_the_reviewed_configuration_decides_the_policy_not_the_file(
    saved: Path, tenant: Path, example_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = edited(saved, "grace@contoso.com", **GRACE_STRIPPED)
    records[0]["policy"]["allowNumberLoss"] = True  # the recorded policy loosened too
    planfiles.reseal(saved, records)
    grace = licenses(tenant)["grace@contoso.com"]
    assert apply(saved, tenant, "--config", str(example_config)) == 4
    err = capsys.readouterr().err
    assert f"judged with the policy of {example_config}" in err
    assert "STALE grace@contoso.com" in err
    assert licenses(tenant)["grace@contoso.com"] == grace
    other = tmp_path / "other.yaml"
    other.write_text(example_config.read_text(encoding="utf-8").replace("maxChanges: 200", "maxChanges: 201"))
    assert apply(saved, tenant, "--config", str(other)) == 1
    assert "is not the configuration" in capsys.readouterr().err


def test_with_the_key_set_only_a_plan_signed_with_it_is_applied(
    example_config: Path,
    tenant: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    unsigned = tmp_path / "unsigned.json"
    assert main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(unsigned)]) == 0
    monkeypatch.setenv("TEAMS_LICENSING_PLAN_KEY", KEY)
    signed = tmp_path / "signed.json"
    assert main(["plan", str(example_config), "--snapshot", str(tenant), "--out", str(signed)]) == 0
    assert planfiles.end(signed)["signature"].startswith("hmac-sha256:")
    before = tenant.read_bytes()
    assert apply(unsigned, tenant) == 1
    assert "is not signed, but TEAMS_LICENSING_PLAN_KEY is set" in capsys.readouterr().err
    forged = tmp_path / "forged.json"
    shutil.copyfile(signed, forged)
    planfiles.reseal(forged, edited(forged, "grace@contoso.com", **GRACE_STRIPPED), key="a guess " * 5)
    assert apply(forged, tenant) == 1
    assert "signature does not match TEAMS_LICENSING_PLAN_KEY" in capsys.readouterr().err
    assert tenant.read_bytes() == before
    monkeypatch.setenv("TEAMS_LICENSING_PLAN_KEY", "short")
    assert apply(signed, tenant) == 1
    assert "use at least 32 random" in capsys.readouterr().err
    monkeypatch.delenv("TEAMS_LICENSING_PLAN_KEY")
    assert apply(signed, tenant) == 3, "without the key here the signature is not checked, and it is said"
    assert "its signature was not checked" in capsys.readouterr().err
    monkeypatch.setenv("TEAMS_LICENSING_PLAN_KEY", KEY)
    assert apply(signed, tenant) == 3, "already applied: every user in sync"


def test_seats_bought_out_and_a_suspension_since_the_plan_make_its_adds_stale(
    saved: Path, tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(tenant.read_text(encoding="utf-8"))
    for sku in document["subscribedSkus"]:
        if sku["skuId"] == MCOEV:
            sku["consumedUnits"] = sku["prepaidUnits"]["enabled"]  # someone else took the free seats
        if sku["skuId"] == MCOPSTN1:
            sku["capabilityStatus"] = "Suspended"
    tenant.write_text(json.dumps(document), encoding="utf-8")
    adds = {
        c["userPrincipalName"]: {a["skuId"] for a in c["addLicenses"]}
        for c in planfiles.changes(saved)
        if c["addLicenses"]
    }
    calling = sorted(u for u, skus in adds.items() if MCOPSTN1 in skus)
    phone = sorted(u for u, skus in adds.items() if MCOEV in skus and MCOPSTN1 not in skus)
    assert calling
    assert len(phone) >= 2
    before = licenses(tenant)
    assert apply(saved, tenant, "--format", "json", "--output", str(saved.parent / "out.json")) == 4
    err = capsys.readouterr().err
    result = json.loads((saved.parent / "out.json").read_text(encoding="utf-8"))["result"]
    assert result["failed"] == 0, "nothing sent for Graph to refuse"
    for upn in calling:
        assert f"STALE {upn}: a plan made now would hold it back: the MCOPSTN1 subscription is Suspended" in err
        assert licenses(tenant)[upn] == before[upn]
    short = [upn for upn in phone if f"STALE {upn}: a plan made now would hold it back: no seat left" in err]
    assert len(short) == len(phone) - 1, "karl's removal frees one seat: one add fits"
    audit = sorted(saved.parent.glob("*.audit-*.jsonl"))[-1]
    end = json.loads(audit.read_text(encoding="utf-8").splitlines()[-1])
    assert end["type"] == "end"
    assert end["stale"] == len(calling) + len(short), "the audit log's end record counts the stale users"
