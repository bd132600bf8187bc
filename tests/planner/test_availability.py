"""Tests for the per-country voice availability table and the ISO country code list."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from importlib.resources import files

import pytest

from teamslicensing.model.capability import Capability
from teamslicensing.reference.availability import CountryAvailability, load_availability, offers, parse_availability
from teamslicensing.reference.countries import ISO_3166_ALPHA2, is_country_code

CSV_TEXT = (files("teamslicensing.reference") / "data" / "teams-voice-country-availability.csv").read_text(
    encoding="utf-8-sig"
)
HEADER = (
    "country_name,iso2,audio_conferencing,phone_system,calling_plan_domestic,calling_plan_international,"
    "calling_plan_payg,communications_credits,toll_free_numbers,toll_numbers,source_path,"
    "source_commit_or_date,notes\n"
)


@pytest.fixture(scope="module")
def table() -> Mapping[str, CountryAvailability]:
    return load_availability()


@pytest.mark.parametrize(
    ("country", "capability", "expected"),
    [
        ("US", Capability.CALLING_PLAN, True),  # payg "unknown" but domestic "yes": still offered
        ("us", Capability.CALLING_PLAN, True),
        (" GB ", Capability.CALLING_PLAN, True),
        ("DE", Capability.AUDIO_CONFERENCING, True),
        ("IN", Capability.AUDIO_CONFERENCING, False),
        ("IN", Capability.CALLING_PLAN, False),
        ("IN", Capability.COMMUNICATIONS_CREDITS, False),
        ("IN", Capability.PHONE_SYSTEM, True),
        ("AL", Capability.CALLING_PLAN, False),
        ("AU", Capability.CALLING_PLAN, None),  # sold through Telstra: the page was ambiguous
        ("JP", Capability.CALLING_PLAN, None),  # sold through SoftBank
        ("AU", Capability.AUDIO_CONFERENCING, True),
        ("AQ", Capability.CALLING_PLAN, None),  # a real country code, not in the table
        ("UK", Capability.PHONE_SYSTEM, None),  # not a code at all
        ("", Capability.PHONE_SYSTEM, None),
    ],
)
def test_offers(
    table: Mapping[str, CountryAvailability], country: str, capability: Capability, expected: bool | None
) -> None:
    assert offers(table, country, capability) is expected


def test_table_matches_the_csv_row_by_row(table: Mapping[str, CountryAvailability]) -> None:
    # Recomputed from the raw columns with the documented rule, not through the module's helpers.
    rows = list(csv.DictReader(io.StringIO(CSV_TEXT)))
    assert len(rows) == len(table) == 114
    flag = {"yes": True, "no": False, "unknown": None}
    for row in rows:
        plans = [flag[row[c]] for c in ("calling_plan_domestic", "calling_plan_international", "calling_plan_payg")]
        calling = True if True in plans else (None if None in plans else False)
        entry = table[row["iso2"]]
        assert entry.country_name == row["country_name"]
        assert offers(table, row["iso2"], Capability.CALLING_PLAN) is calling, row["iso2"]
        assert offers(table, row["iso2"], Capability.AUDIO_CONFERENCING) is flag[row["audio_conferencing"]]
        assert offers(table, row["iso2"], Capability.PHONE_SYSTEM) is flag[row["phone_system"]]
        assert offers(table, row["iso2"], Capability.COMMUNICATIONS_CREDITS) is flag[row["communications_credits"]]


def test_every_key_is_an_iso_code(table: Mapping[str, CountryAvailability]) -> None:
    assert all(is_country_code(k) and table[k].iso2 == k for k in table)


@pytest.mark.parametrize(
    ("domestic", "international", "payg", "expected"),
    [
        ("no", "no", "no", False),
        ("no", "no", "unknown", None),
        ("unknown", "unknown", "yes", True),
        ("no", "yes", "no", True),
    ],
)
def test_calling_plan_rule(domestic: str, international: str, payg: str, expected: bool | None) -> None:
    text = HEADER + f"Testland,FR,yes,yes,{domestic},{international},{payg},yes,no,no,x,y,\n"
    assert parse_availability(text)["FR"].calling_plans is expected


def test_bad_rows_are_rejected() -> None:
    with pytest.raises(ValueError, match="maybe"):
        parse_availability(HEADER + "Testland,FR,maybe,yes,no,no,no,yes,no,no,x,y,\n")
    with pytest.raises(ValueError, match="ISO"):
        parse_availability(HEADER + "United Kingdom,UK,yes,yes,no,no,no,yes,no,no,x,y,\n")
    with pytest.raises(ValueError, match="twice"):
        parse_availability(HEADER + 2 * "France,FR,yes,yes,no,no,no,yes,no,no,x,y,\n")


def test_bom_and_padding_tolerated() -> None:
    text = "\ufeff" + HEADER + " France , fr , Yes ,yes,no,no,no, yes ,no,no,x,y,\n"
    entry = parse_availability(text)["FR"]
    assert entry == CountryAvailability("FR", "France", False, True, True, True)


def test_iso_codes() -> None:
    assert len(ISO_3166_ALPHA2) == 249
    assert {"US", "GB", "DE", "FR", "IN", "AU", "JP", "AX", "SS", "BQ", "CW", "SX"} <= ISO_3166_ALPHA2
    assert not {"UK", "EU", "XK", "ZZ", "AN", "YU"} & ISO_3166_ALPHA2
    assert all(len(c) == 2 and c.isascii() and c.isupper() for c in ISO_3166_ALPHA2)
    assert is_country_code("US")
    assert not is_country_code("us")
    assert not is_country_code("UK")
    assert not is_country_code("EU")


def test_load_availability_is_cached_and_read_only(table: Mapping[str, CountryAvailability]) -> None:
    assert load_availability() is table
    with pytest.raises(TypeError):
        table["ZZ"] = table["US"]  # type: ignore[index]
