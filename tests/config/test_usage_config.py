"""`includedMinutes` entries that would validate and change nothing (or the wrong pool) are refused at their position
with what to write instead; the forms that do what an admin means take effect, with hand-computed pools.

Why refuse rather than guess: `countries` defaults to '*' and `destination` to domestic for every plan, so reading
them otherwise for the Audio Conferencing pool would make the same YAML mean different things per plan; and a shared
entry with `minutes` changes one allowance of a pool that exists, so it cannot tell whether Canada should join the US
and Puerto Rico or Puerto Rico be left alone. The refusal names the one form that works."""

from __future__ import annotations

from pathlib import Path

from teamslicensing.config import load_desired_state
from teamslicensing.model.usage import UsageReport
from tests.config.test_config import problems_of, where, write
from tests.planner.test_usage_pools import figures, pool, report, row

REFUSED = """
version: 1
includedMinutes:
  - {plan: MCOMEETADD, destination: zoneA, minutes: 30}
  - {plan: MCOMEETADD, countries: [tenant], minutes: 30}
  - {plan: MCOPSTN1, countries: [US, CA], shared: true, minutes: 2000}
"""


def test_entries_that_would_change_nothing_or_drop_a_country_are_refused_with_what_to_write(tmp_path: Path) -> None:
    """Line 3: no countries, so '*', which no MCOMEETADD pool is (the tenant's pool wins): at the entry, column 5.
    Line 4: no destination, so domestic, an allowance no dial-out draws on: at the 30 of `minutes: 30`, column 54.
    Line 5: the US is in the pool it shares with Puerto Rico, which Canada is not in: at `countries`, column 33."""
    problems = problems_of(write(tmp_path, REFUSED))
    assert where(problems) == [(3, 5), (4, 54), (5, 33)]
    tenant, domestic, canada = (p.message for p in problems)
    assert "write countries: [tenant]" in tenant
    assert "write destination: zoneA" in domestic
    assert "US is in the pool PR and US share, which CA is not in" in canada
    assert "countries: [CA, PR, US], shared: true" in canada
    assert str(problems[0]).startswith(f"{tmp_path / 'licensing.yaml'}:3:5: ")


def test_the_pool_s_kind_decides_its_countries_and_destinations(tmp_path: Path) -> None:
    """A calling plan's pools are per usage location and never Zone A; the Audio Conferencing pool is the tenant's
    and Zone A only; a shared entry must not take the US out of the pool it shares with Puerto Rico."""
    path = write(
        tmp_path,
        """
        version: 1
        includedMinutes:
          - {plan: MCOPSTN1, countries: [tenant], minutes: 100}
          - {plan: MCOPSTN2, countries: [GB], destination: zoneA, minutes: 100}
          - {plan: MCOMEETADD, countries: [tenant], allowances: {zoneA: 30, domestic: 10}}
          - {plan: MCOMEETADD, countries: [US], destination: zoneA, minutes: 30}
          - {plan: MCOPSTN1, countries: [CA, US], shared: true, minutes: 2000}
        """,
    )
    messages = [p.message for p in problems_of(path)]
    assert len(messages) == 5
    assert "a calling plan's pools are per usage location" in messages[0]
    assert "zoneA is the Audio Conferencing pool's" in messages[1]
    assert "'domestic'" in messages[2]
    assert "allowances: {zoneA: N}" in messages[2]
    assert "write countries: [tenant]" in messages[3]
    assert "would take US out of the pool PR and US share" in messages[4]


def conferencing(config: Path) -> UsageReport:
    """10 MCOMEETADV units; 300 minutes to the United Kingdom in 1 to 10 May: forecast 930."""
    spec = {
        "subscribedSkus": [{"part": "MCOMEETADV", "enabled": 10}],
        "users": [{"upn": "erin@contoso.com", "licenses": ["MCOMEETADV"]}],
    }
    rows = [row("erin@contoso.com", "MCOMEETADD", 300, callType="conf_out", international=True, to="United Kingdom")]
    return report(spec, rows, load_desired_state(config).included_minutes)


def test_the_forms_the_refusals_name_take_effect(tmp_path: Path) -> None:
    """`countries: [tenant], destination: zoneA, minutes: 30`: 10 units x 30 = 300 Zone A minutes (not 600), and
    the 930 forecast runs out. Canada joined to the US and Puerto Rico, listed in either order: one pool of the
    three, 2 licences x 2,000 = 4,000 minutes."""
    tenant_wide = write(
        tmp_path,
        "version: 1\nincludedMinutes:\n  - {plan: MCOMEETADD, countries: [tenant], destination: zoneA, minutes: 30}\n",
        "conferencing.yaml",
    )
    assert figures(pool(conferencing(tenant_wide), "MCOMEETADD")) == {"zoneA": (300, 300.0, 930.0, True)}
    spec = {
        "subscribedSkus": ["MCOEV", "MCOPSTN1"],
        "users": [
            {"upn": "chloe@contoso.com", "usageLocation": "CA", "licenses": ["MCOEV", "MCOPSTN1"]},
            {"upn": "dan@contoso.com", "licenses": ["MCOEV", "MCOPSTN1"]},
        ],
    }
    for order in ("CA, PR, US", "US, PR, CA"):
        config = write(
            tmp_path,
            f"version: 1\nincludedMinutes:\n  - {{plan: MCOPSTN1, countries: [{order}], "
            "shared: true, minutes: 2000}\n",
            "north-america.yaml",
        )
        (joined,) = report(spec, [], load_desired_state(config).included_minutes).pools
        assert (joined.countries, joined.licences) == (("CA", "PR", "US"), 2), order
        assert figures(joined) == {"domestic": (4000, 0.0, 0.0, False)}
