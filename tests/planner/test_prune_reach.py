"""Prune's reach: which SKUs are voice add-ons (decided from Microsoft's catalogue), how pruneAlso is checked, and
that the judgement every change meets never withholds what the planner itself kept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from teamslicensing.config import load_desired_state
from teamslicensing.errors import ConfigError
from teamslicensing.model.capability import Capability
from teamslicensing.model.plan import GroupChange, UserChange
from teamslicensing.model.tenant import Tenant
from teamslicensing.plan.guardrails import Safety
from teamslicensing.plan.voicerules import VoiceRules
from teamslicensing.reference.addons import is_companion_plan, is_voice_addon
from teamslicensing.reference.catalog import CatalogSku, load_catalog
from tests.planner.test_plans import CASES, load_case, run

CALLING = Capability.CALLING_PLAN


def _addon(sku: CatalogSku) -> bool:
    return is_voice_addon((plan.name, plan.capability) for plan in sku.service_plans)


def _sku(part: str) -> CatalogSku:
    return load_catalog().by_part_number(part)[0]


def test_sms_units_are_sold_only_inside_calling_plan_skus() -> None:
    """The reason SMS plans are companions: the catalogue has no SKU carrying one without a Calling Plan."""
    sms = [
        (sku.part_number, plan.name)
        for sku in load_catalog().skus
        for plan in sku.service_plans
        if plan.name.upper().startswith("MCOSMS")
    ]
    assert sms, "the catalogue still has SMS plans to judge"
    for part, _ in sms:
        assert any(p.capability is CALLING for p in _sku(part).service_plans), f"{part} sells SMS without calling"


def test_exchange_foundation_rides_in_many_add_ons_that_are_not_voice() -> None:
    """The reason Exchange Foundation is a companion: a placeholder Microsoft puts in dozens of unrelated add-ons."""
    carriers = [
        sku
        for sku in load_catalog().skus
        if any(p.name.upper().startswith("EXCHANGE_S_FOUNDATION") for p in sku.service_plans)
    ]
    unrelated = [sku for sku in carriers if not sku.capabilities]
    assert len(unrelated) >= 30


def test_every_other_plan_beside_voice_makes_a_suite() -> None:
    """Over the whole catalogue: a SKU with a voice plan is an add-on exactly when nothing but voice and companion
    plans ride along; a new kind of companion in a future CSV fails here."""
    for sku in load_catalog().skus:
        if not sku.capabilities - {Capability.TEAMS}:
            assert not _addon(sku), sku.part_number
            continue
        others = [p.name for p in sku.service_plans if p.capability is None or p.capability is Capability.TEAMS]
        assert _addon(sku) == all(is_companion_plan(name) for name in others), sku.part_number


@pytest.mark.parametrize(
    ("part", "addon"),
    [
        ("MCOEV", True),
        ("MCOEV_GOV", True),  # with Exchange Foundation
        ("MCOPSTN1", True),
        ("MCOPSTN_5", True),  # with SMS units
        ("Microsoft_Teams_Calling_Plan_pay_as_you_go_(country_zone_1)", True),  # with SMS units
        ("MCOMEETADV", True),
        ("MCOPSTNC", True),
        ("PHONESYSTEM_VIRTUALUSER", True),
        ("MCOTEAMS_ESSENTIALS", True),  # Teams Phone with Calling Plan: voice alone
        ("BUSINESS_VOICE_DIRECTROUTING", True),
        ("SPE_E3", False),
        ("SPE_E5", False),
        ("Microsoft_Teams_Enterprise_New", False),
        ("Microsoft_Teams_Rooms_Basic", False),  # Audio Conferencing beside the Teams service
        ("MCOCAP", False),  # Common Area Phone: Phone System beside Teams, Exchange and Intune
    ],
)
def test_voice_addons_against_suites(part: str, addon: bool) -> None:
    assert _addon(_sku(part)) is addon


def _config(tmp_path: Path, policy: str) -> Path:
    path = tmp_path / "licensing.yaml"
    path.write_text(
        "version: 1\n"
        f"policy: {policy}\n"
        "licenses: {e3: SPE_E3, phone: MCOEV}\n"
        "rules:\n"
        "  - name: sales\n"
        "    select: {groups: [Sales]}\n"
        "    assign: [e3, phone]\n",
        encoding="utf-8",
    )
    return path


def test_prune_also_takes_aliases_part_numbers_and_ids_of_managed_licenses(tmp_path: Path) -> None:
    e3 = _sku("SPE_E3").sku_id
    desired = load_desired_state(_config(tmp_path, f"{{prune: true, pruneAlso: [e3, SPE_E3, '{e3.upper()}']}}"))
    assert {ref.ref for ref in desired.policy.prune_also} == {"SPE_E3", e3}


def test_prune_also_refuses_a_license_no_rule_manages_and_suggests_a_name(tmp_path: Path) -> None:
    path = _config(tmp_path, "{prune: true, pruneAlso: [SPE_E5, SPE_E33]}")
    with pytest.raises(ConfigError) as caught:
        load_desired_state(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == (
        f"{path}:2:35: policy.pruneAlso names 'SPE_E5', which no rule or groupLicenses entry assigns: prune only ever "
        "removes licenses this file manages"
    )
    assert lines[1].startswith(f"{path}:2:43: unknown license 'SPE_E33'")
    assert "(did you mean 'SPE_E3'?)" in lines[1]


def test_the_judgement_withholds_nothing_the_planner_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every change the planner makes passes the judgement undo and saved plans meet unaltered: on every planner
    case the judgement keeps each change and group change exactly as proposed (reasons and number-loss flags too)
    and adds no gap of its own."""
    from teamslicensing.plan import planner
    from teamslicensing.plan.judgement import Judged, judge

    seen: list[tuple[tuple[tuple[UserChange, ...], tuple[GroupChange, ...]], Judged]] = []

    def spy(
        proposed: Sequence[UserChange],
        tenant: Tenant,
        safety: Safety,
        group_changes: Sequence[GroupChange] = (),
        voice: VoiceRules | None = None,
    ) -> Judged:
        judged = judge(proposed, tenant, safety, group_changes, voice)
        seen.append(((tuple(proposed), tuple(group_changes)), judged))
        return judged

    monkeypatch.setattr(planner, "judge", spy)
    for path in CASES:
        seen.clear()
        _, desired, document = load_case(path, tmp_path)
        run(desired, document)
        assert len(seen) == 1, path.stem
        (proposed, proposed_groups), judged = seen[0]
        assert judged.changes == proposed, path.stem
        assert judged.group_changes == proposed_groups, path.stem
        assert judged.gaps == (), path.stem


def test_prune_also_by_sku_id_reaches_a_suite_the_rules_name_by_part_number(tmp_path: Path) -> None:
    from teamslicensing.plan.planner import plan
    from teamslicensing.reference.availability import load_availability
    from teamslicensing.tenant.snapshot import parse_snapshot
    from tests.planner.test_plans import expand_tenant

    e3 = _sku("SPE_E3").sku_id
    desired = load_desired_state(_config(tmp_path, f"{{prune: true, pruneAlso: ['{e3}']}}"))
    document = expand_tenant(
        {
            "subscribedSkus": ["SPE_E3", "MCOEV"],
            "groups": [{"name": "Sales", "members": ["ann@contoso.com"]}],
            "users": [{"upn": "ann@contoso.com", "teams": False}, {"upn": "dan@contoso.com", "licenses": ["SPE_E3"]}],
            "numbers": [],
        }
    )
    result = plan(desired, parse_snapshot(document, "case", frozenset()), load_availability())
    (dan,) = [c for c in result.changes if c.user_principal_name == "dan@contoso.com"]
    assert [r.sku_part_number for r in dan.remove_licenses] == ["SPE_E3"]
    assert dan.removes_beyond_voice
