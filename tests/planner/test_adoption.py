"""The greedy cover `init` uses: groups whose members are exactly (or nearly) the users holding a set of voice SKUs."""

from __future__ import annotations

from teamslicensing.plan.adoption import MAX_OUTSIDERS, greedy_cover, outsiders_allowed

NAMES = {"g-sales": "Voice - Sales", "g-uk": "Voice - UK", "g-all": "All staff", "g-small": "Sales EMEA"}


def members(*ids: int) -> frozenset[str]:
    return frozenset(f"u{n}" for n in ids)


def test_two_groups_holding_the_same_skus_are_two_rules_and_nobody_is_left() -> None:
    holders = members(*range(10))
    cover = greedy_cover(holders, {"g-sales": members(0, 1, 2, 3, 4, 5), "g-uk": members(6, 7, 8, 9)}, NAMES)
    assert cover.groups == ("g-sales", "g-uk"), "the larger first"
    assert cover.left == frozenset()
    assert cover.excluded == {}


def test_a_group_of_everybody_is_not_used_and_a_nested_one_adds_nothing() -> None:
    holders = members(*range(6))
    groups = {"g-all": members(*range(100)), "g-sales": members(*range(6)), "g-small": members(0, 1)}
    cover = greedy_cover(holders, groups, NAMES)
    assert cover.groups == ("g-sales",), "All staff would license 94 more people; Sales EMEA adds nobody"


def test_a_few_outsiders_are_excluded_by_name_and_who_is_left_is_said() -> None:
    holders = members(*range(40))
    groups = {"g-sales": members(*range(39), 500)}  # one member who holds nothing; u39 in no group
    cover = greedy_cover(holders, groups, NAMES)
    assert cover.groups == ("g-sales",)
    assert cover.excluded == {"g-sales": members(500)}
    assert cover.left == members(39)


def test_too_many_outsiders_make_a_group_unusable() -> None:
    holders = members(*range(400))
    allowed = outsiders_allowed(412)
    assert allowed == 12, "3% of a team of 412"
    just = {"g-sales": members(*range(400), *range(1000, 1000 + allowed))}
    over = {"g-sales": members(*range(399), *range(1000, 1000 + allowed + 1))}
    assert greedy_cover(holders, just, NAMES).groups == ("g-sales",)
    assert greedy_cover(holders, over, NAMES).groups == ()


def test_a_huge_group_may_exclude_no_more_than_the_cap() -> None:
    holders = members(*range(10_000))
    groups = {"g-sales": members(*range(10_000), *range(20_000, 20_000 + MAX_OUTSIDERS + 1))}
    assert greedy_cover(holders, groups, NAMES).groups == (), "3% would be 300 names to exclude"


def test_the_same_tenant_gives_the_same_cover_whatever_the_order() -> None:
    holders = members(*range(4))
    one = greedy_cover(holders, {"g-uk": members(0, 1), "g-sales": members(2, 3)}, NAMES)
    other = greedy_cover(holders, {"g-sales": members(2, 3), "g-uk": members(0, 1)}, NAMES)
    assert one == other
    assert one.groups == ("g-sales", "g-uk"), "equal gains: by display name"


def test_the_demo_holdings_are_the_direct_holders_of_stand_alone_voice_licenses() -> None:
    from pathlib import Path

    from teamslicensing.plan.adoption import holdings
    from teamslicensing.tenant.snapshot import load_snapshot

    root = Path(__file__).resolve().parents[2]
    tenant = load_snapshot(root / "config" / "examples" / "contoso-tenant.json", frozenset())
    found = holdings(tenant)
    names = {sku.sku_id: sku.part_number for sku in tenant.skus}
    by_users = {u.id: u.user_principal_name for u in tenant.users}
    described = {
        tuple(sorted(names[sku] for sku, _ in holding)): sorted(by_users[u] for u in users)
        for holding, users in found.items()
    }
    # Counted by hand from the snapshot's licenseAssignmentStates (assignedByGroup null, stand-alone voice SKUs
    # only; suites such as SPE_E5 and group-given licenses left out).
    assert described == {
        ("MCOEV", "MCOPSTN1", "MCOPSTNC"): ["alice@contoso.com", "grace@contoso.com"],
        ("MCOEV",): ["carol@contoso.com", "karl@contoso.com"],  # karl's E5 is a suite: not in his holding
        ("MCOEV", "MCOPSTN1"): ["dave@contoso.com"],
        ("MCOTEAMS_ESSENTIALS",): ["judy@contoso.com"],
        ("MCOMEETACPEA",): ["paula@contoso.com"],
        ("MCOPSTN_6", "MCOTEAMS_ESSENTIALS"): ["sven@contoso.com"],
        ("MCOPSTN1", "PHONESYSTEM_VIRTUALUSER"): ["aa-main@contoso.com"],
        ("PHONESYSTEM_VIRTUALUSER",): ["cq-legacy@contoso.com", "cq-sales@contoso.com"],  # cq-legacy's MCOEV: a group's
        ("MCOMEETADV",): ["ursula@contoso.com"],
    }
