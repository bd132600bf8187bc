"""Tests for the license catalogue: lookups, voice classification, and tolerance of CSV quirks."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from importlib.resources import files

import pytest

from teamslicensing.model.capability import Capability, is_guid
from teamslicensing.reference.catalog import (
    Catalog,
    is_pay_as_you_go_calling_plan,
    load_catalog,
    parse_catalog,
    plan_capability,
)

CSV_TEXT = (files("teamslicensing.reference") / "data" / "product-names-and-service-plan-identifiers.csv").read_text(
    encoding="utf-8-sig"
)

PHONE = Capability.PHONE_SYSTEM
CALLING = Capability.CALLING_PLAN
CONF = Capability.AUDIO_CONFERENCING
CREDITS = Capability.COMMUNICATIONS_CREDITS
RESOURCE = Capability.RESOURCE_ACCOUNT
TEAMS = Capability.TEAMS

# Friendly-name phrases that, by Microsoft's own wording, mean a voice capability.
FRIENDLY_KEYWORDS: dict[str, Capability] = {
    "phone system": PHONE,
    "cloud pbx": PHONE,
    "phone standard": PHONE,
    "calling plan": CALLING,
    "pstn calling": CALLING,
    "audio conferencing": CONF,
    "communications credits": CREDITS,
    "resource account": RESOURCE,  # "Microsoft 365 Phone Standard Resource Account": wins over "phone standard"
}
# Friendly names that are the Teams service itself, whole (Teams Premium, Rooms, Kiosk and Free are not).
TEAMS_SERVICE_NAMES = {
    "microsoft teams",
    "microsoft teams for government",
    "microsoft teams for gcchigh",
    "microsoft teams for gcchigh (ar)",
    "microsoft teams for dod (ar)",
    "microsoft teams essentials",
}

# Plans whose friendly name matches a keyword above but which must NOT count as that capability, with
# the reason (Teams Phone Mobile, SMS and Skype for Business plans do not use those phrases).
FRIENDLY_NAME_EXCLUSIONS: dict[str, str] = {
    # "Microsoft 365 Audio Conferencing - GCCHigh Tenant": a tenant license that makes Audio Conferencing run over
    # Direct Routing in GCC High (GRAPH-FACTS, US government clouds); no user gets Audio Conferencing from it.
    "MCOACBYOT_GCCHigh": "tenant license",
}

# Plans the catalogue classifies although no friendly name says so, with the capability and the reason.
CLASSIFIED_WITHOUT_KEYWORD: dict[str, Capability] = {
    # Friendly name is just "MCOPSTN3": sold as SKU MCOPSTNPP, the Communications Credits SKU of the Teams add-on
    # licensing docs (assign-teams-add-on-licenses, 2024-03).
    "6b340437-d6f9-4dc5-8cc2-99163f7f83d6": CREDITS,
}


def raw_rows() -> list[dict[str, str]]:
    """The CSV read with the csv module only, cleaned the way a careful human would."""
    reader = csv.DictReader(io.StringIO(CSV_TEXT))
    return [{k.strip(): v.strip() for k, v in row.items()} for row in reader]


def keyword_capabilities(friendly_name: str) -> set[Capability]:
    lowered = friendly_name.casefold()
    if lowered.strip() in TEAMS_SERVICE_NAMES:
        return {TEAMS}
    found = {cap for phrase, cap in FRIENDLY_KEYWORDS.items() if phrase in lowered}
    return {RESOURCE} if RESOURCE in found else found


def expected_plan_capabilities() -> dict[str, Capability]:
    """plan id -> capability, derived independently from friendly names across all rows of that plan."""
    by_plan: dict[str, set[Capability]] = defaultdict(set)
    names: dict[str, set[str]] = defaultdict(set)
    for row in raw_rows():
        plan_id = row["Service_Plan_Id"].lower()
        names[plan_id].add(row["Service_Plan_Name"])
        by_plan[plan_id] |= keyword_capabilities(row["Service_Plans_Included_Friendly_Names"])
    expected: dict[str, Capability] = {}
    for plan_id, caps in by_plan.items():
        if caps and not names[plan_id] & FRIENDLY_NAME_EXCLUSIONS.keys():
            assert len(caps) == 1, f"{names[plan_id]} friendly names suggest several capabilities: {caps}"
            expected[plan_id] = caps.pop()
    expected.update(CLASSIFIED_WITHOUT_KEYWORD)
    return expected


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


# --- lookups ---------------------------------------------------------------------------------------


# From GRAPH-FACTS.md "Voice SKUs and service plans".
GRAPH_FACTS = [
    ("MCOEV", "e43b5b99-8dfb-405f-9987-dc307f34bcbd", "MCOEV", "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"),
    (
        "PHONESYSTEM_VIRTUALUSER",
        "440eaaa8-b3e0-484b-a8be-62870b9ba70a",
        "MCOEV_VIRTUALUSER",
        "f47330e9-c134-43b3-9993-e7f004506889",
    ),
    ("MCOPSTN1", "0dab259f-bf13-4952-b7f8-7db8f131b28d", "MCOPSTN1", "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8"),
    ("MCOPSTN2", "d3b4fe1f-9992-4930-8acb-ca6ec609365e", "MCOPSTN2", "5a10155d-f5c1-411a-a8ec-e99aae125390"),
    ("MCOPSTN_5", "11dee6af-eca8-419f-8061-6864517c1875", "MCOPSTN5", "54a152dc-90de-4996-93d2-bc47e670fc06"),
    ("MCOPSTN_6", "729dbb8f-8d56-4994-8e33-2f218f549544", "MCOPSTN6", "346d83bf-6fe6-42ca-b424-b9300d2e21bf"),
    (
        "MCOMEETADV",
        "0c266dff-15dd-4b49-8397-2bb16070ed52",
        "MCOMEETADV",
        "3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40",
    ),
    ("MCOPSTNC", "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0", "MCOPSTNC", "505e180f-f7e0-4b65-91d4-00d670bbd18c"),
]


@pytest.mark.parametrize(("part", "sku_id", "plan_name", "plan_id"), GRAPH_FACTS)
def test_graph_facts_ids(catalog: Catalog, part: str, sku_id: str, plan_name: str, plan_id: str) -> None:
    (sku,) = catalog.by_part_number(part)
    assert sku.sku_id == sku_id
    assert sku.part_number == part
    assert (plan_id, plan_name) in {(p.id, p.name) for p in sku.service_plans}
    plan = catalog.service_plan(plan_name)
    assert plan is not None
    assert plan.id == plan_id


@pytest.mark.parametrize(
    ("ref", "sku_id"),
    [
        ("MCOEV", "e43b5b99-8dfb-405f-9987-dc307f34bcbd"),
        ("mcoev", "e43b5b99-8dfb-405f-9987-dc307f34bcbd"),
        ("  McoPstn1 ", "0dab259f-bf13-4952-b7f8-7db8f131b28d"),
        ("mcopstn2", "d3b4fe1f-9992-4930-8acb-ca6ec609365e"),
        ("MCOMEETADV", "0c266dff-15dd-4b49-8397-2bb16070ed52"),
        ("mcopstnc", "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0"),
        ("spe_e5", "06ebc4ee-1bb5-47dd-8120-11324bc54e06"),
        ("EnterprisePremium", "c7df2760-2c81-4ef7-b578-5b5392b571df"),
        ("E43B5B99-8DFB-405F-9987-DC307F34BCBD", "e43b5b99-8dfb-405f-9987-dc307f34bcbd"),
        ("  0DAB259F-BF13-4952-B7F8-7DB8F131B28D  ", "0dab259f-bf13-4952-b7f8-7db8f131b28d"),
        ("{06EBC4EE-1BB5-47DD-8120-11324BC54E06}", "06ebc4ee-1bb5-47dd-8120-11324bc54e06"),
    ],
)
def test_resolve_by_part_number_or_guid(catalog: Catalog, ref: str, sku_id: str) -> None:
    assert [s.sku_id for s in catalog.resolve(ref)] == [sku_id]


def test_resolve_unknown(catalog: Catalog) -> None:
    assert catalog.resolve("00000000-0000-0000-0000-000000000000") == ()
    assert catalog.resolve("NOT_A_SKU") == ()
    assert catalog.by_id("MCOEV") is None
    # A GUID is only ever a skuId: a service plan id must not resolve to the SKUs that carry it.
    assert catalog.resolve("4828c8ec-dc2e-4779-b502-87ac9ce28ab7") == ()


def test_duplicated_part_number_returns_every_sku(catalog: Catalog) -> None:
    # MCOPSTN5 is listed under two SKU GUIDs (and MCOPSTN_5 is a third, different part number).
    ids = {s.sku_id for s in catalog.by_part_number("mcopstn5")}
    assert ids == {"54a152dc-90de-4996-93d2-bc47e670fc06", "d43177b5-475b-4880-92d4-d54c27b5efbd"}
    assert all(s.capabilities == {CALLING} for s in catalog.by_part_number("MCOPSTN5"))
    assert [s.sku_id for s in catalog.by_part_number("MCOPSTN_5")] == ["11dee6af-eca8-419f-8061-6864517c1875"]


@pytest.mark.parametrize(
    ("raw_part", "sku_id"),
    [
        ("MCOCAP_FACULTY\xa0", "420c7602-7f70-4895-9394-d3d679ea36fb"),
        ("PHONESYSTEM_VIRTUALUSER_USGOV_GCCHIGH ", "e3f0522e-ebb7-4561-9f90-b44516d65b77"),
        ("RIGHTSMANAGEMENT_CE_GOV\t", "78362de1-6942-4bb8-83a1-a32aa67e6e2c"),
    ],
)
def test_padded_rows_are_cleaned(catalog: Catalog, raw_part: str, sku_id: str) -> None:
    # The padding is really in the shipped file; otherwise this test proves nothing.
    raw = csv.DictReader(io.StringIO(CSV_TEXT))
    assert any(row["String_Id"] == raw_part for row in raw)
    (sku,) = catalog.resolve(raw_part.strip())
    assert sku.sku_id == sku_id
    assert sku.part_number == raw_part.strip()
    assert catalog.by_id(sku_id + "\xa0") is sku


def test_padded_voice_rows_keep_their_capability(catalog: Catalog) -> None:
    # MCOCAP_FACULTY's SKU GUID carries a non-breaking space; a naive split would lose its Teams Phone.
    assert PHONE in catalog.resolve("MCOCAP_FACULTY")[0].capabilities
    assert catalog.resolve("PHONESYSTEM_VIRTUALUSER_USGOV_GCCHIGH")[0].capabilities == {RESOURCE}


def test_display_name_drift_is_one_sku(catalog: Catalog) -> None:
    # Same GUID listed as "Power Virtual Agent User License" and "Microsoft Copilot Studio User License".
    matches = catalog.search("4b74a65c-8b4a-4fc8-9f6b-5177ed11ddfa")
    assert len(matches) == 1
    assert matches[0].display_name in {
        "Power Virtual Agent User License",
        "Microsoft Copilot Studio User License",
    }


def test_skus_unique_and_sorted(catalog: Catalog) -> None:
    ids = [s.sku_id for s in catalog.skus]
    assert len(ids) == len(set(ids)) == len({r["GUID"].lower() for r in raw_rows()})
    assert ids == [s.sku_id for s in sorted(catalog.skus, key=lambda s: (s.part_number.casefold(), s.sku_id))]
    assert all(s.sku_id == s.sku_id.lower() and is_guid(s.sku_id) for s in catalog.skus)


def test_search(catalog: Catalog) -> None:
    assert "MCOEV" in {s.part_number for s in catalog.search("teams phone standard")}
    assert {"MCOPSTN1", "MCOPSTN2", "MCOPSTNC"} <= {s.part_number for s in catalog.search("mcopstn")}
    # By a service plan's code name: suites carrying MCOMEETADV show up.
    assert {"SPE_E5", "ENTERPRISEPREMIUM", "MEETING_ROOM"} <= {s.part_number for s in catalog.search("MCOMEETADV")}
    assert [s.part_number for s in catalog.search("E43B5B99")] == ["MCOEV"]
    assert catalog.search("no such licence anywhere") == ()
    # by a servicePlanId, as `skus --search` promises: every SKU carrying Teams Phone Standard's plan
    carrying = {s.part_number for s in catalog.search("4828C8EC-DC2E-4779-B502-87AC9CE28AB7")}
    assert {"MCOEV", "SPE_E5"} <= carrying


def test_calling_plans_carry_the_names_they_are_sold_under(catalog: Catalog) -> None:
    # The CSV still says "Skype for Business PSTN Domestic Calling"; admins buy "Microsoft Teams Domestic Calling Plan".
    (domestic,) = catalog.resolve("MCOPSTN1")
    assert domestic.display_name.startswith("Skype for Business")
    assert domestic.product_name == "Microsoft Teams Domestic Calling Plan"
    assert catalog.resolve("MCOPSTN2")[0].product_name == "Microsoft Teams Domestic and International Calling Plan"
    # Names the CSV already gets right are left as they are.
    assert catalog.resolve("MCOEV")[0].product_name == catalog.resolve("MCOEV")[0].display_name
    # Both names find it.
    for text in ("teams domestic calling plan", "PSTN Domestic Calling"):
        assert "MCOPSTN1" in {s.part_number for s in catalog.search(text)}


def test_service_plan_lookup(catalog: Catalog) -> None:
    by_name = catalog.service_plan(" mcomeetadv ")
    by_id = catalog.service_plan("{3E26EE1F-8A5F-4D52-AEE2-B81CE45C8F40}")
    assert by_name is not None
    assert by_name is by_id
    assert by_name.capability is CONF
    assert catalog.service_plan("NOPE") is None
    # The CSV also spells MCOEV's friendly name truncated ("MICROSOFT 365 PHONE SYSTE"); the majority wins.
    mcoev = catalog.service_plan("MCOEV")
    assert mcoev is not None
    assert mcoev.friendly_name == "Microsoft 365 Phone System"


# --- capabilities of well-known SKUs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "caps"),
    [
        ("ENTERPRISEPREMIUM", {PHONE, CONF, TEAMS}),
        ("SPE_E5", {PHONE, CONF, TEAMS}),
        ("SPE_E5_NOPSTNCONF", {PHONE, TEAMS}),
        ("ENTERPRISEPREMIUM_NOPSTNCONF", {PHONE, TEAMS}),
        ("SPE_E5_CALLINGMINUTES", {PHONE, CONF, CALLING, TEAMS}),
        ("SPE_E3", {TEAMS}),
        ("ENTERPRISEPACK", {TEAMS}),
        ("Microsoft_365_E5_(no_Teams)", {PHONE, CONF}),
        ("Microsoft_Teams_Enterprise_New", {TEAMS}),
        ("Teams_Ess", {TEAMS}),
        ("MCOTEAMS_ESSENTIALS", {PHONE, CALLING}),
        ("BUSINESS_VOICE_MED2", {PHONE, CONF, CALLING}),
        ("BUSINESS_VOICE_DIRECTROUTING", {PHONE, CONF}),
        ("MEETING_ROOM", {PHONE, CONF, TEAMS}),
        ("MEETING_ROOM_NOAUDIOCONF", {PHONE, TEAMS}),
        ("Microsoft_Teams_Rooms_Pro_GCC", {PHONE, CONF, TEAMS}),
        ("ENTERPRISEPREMIUM_GOV", {PHONE, CONF, TEAMS}),
        ("MCOEV_GOV", {PHONE}),
        ("MCOPSTN_1_GOV", {CALLING}),
        ("SPE_E5_USGOV_GCCHIGH", {PHONE, CONF, TEAMS}),
        ("MCOACBYOT_AR_GCCHIGH_USGOV_GCCHIGH", set()),  # a tenant license: no user gets Audio Conferencing
        ("PHONESYSTEM_VIRTUALUSER", {RESOURCE}),
        ("MCOEVSMB_1", {PHONE}),
        ("MCOPSTNPP", {CREDITS}),
        ("MCOPSTNEAU2", {CALLING}),
        ("MCOPSTN5_US", {CALLING}),
        ("Microsoft_Teams_Calling_Plan_pay_as_you_go_(country_zone_1)", {CALLING}),
        ("Microsoft_Teams_Audio_Conferencing_select_dial_out", {CONF}),
        ("MCOMEETACPEA", {CONF}),
        ("MCOPSTNC", {CREDITS}),
    ],
)
def test_sku_capabilities(catalog: Catalog, part: str, caps: set[Capability]) -> None:
    (sku,) = catalog.by_part_number(part)
    assert sku.capabilities == caps


def test_teams_premium_has_no_voice(catalog: Catalog) -> None:
    sku = catalog.by_id("36a0f3b3-adb5-49ea-bf66-762134cf063a")
    assert sku is not None
    assert sku.capabilities == frozenset()


# --- classification of single plans (also used on a tenant's subscribedSkus) ----------------------


@pytest.mark.parametrize(
    ("name", "cap"),
    [
        ("MCOEV", PHONE),
        ("mcoev_gov", PHONE),
        ("MCOEV_VIRTUALUSER", RESOURCE),
        ("MCOEV_VIRTUALUSER_GOV", RESOURCE),
        ("MCOEVSMB", PHONE),
        ("MCOPSTN1", CALLING),
        ("MCOPSTN1_GOV", CALLING),
        ("MCOPSTN2", CALLING),
        ("MCOPSTN3", CREDITS),
        ("MCOPSTN5", CALLING),
        ("MCOPSTN6", CALLING),
        ("MCOPSTN8", CALLING),
        ("MCOPSTNEAU", CALLING),
        ("PSTN5_US", CALLING),
        ("MCOPSTN_PAYG_1", CALLING),
        ("MCOPSTN_PAYG_2", CALLING),
        ("mcopstn_payg_3", CALLING),
        ("Skype for Business PSTN Calling Domestic Small", CALLING),
        ("  skype for business pstn calling domestic small ", CALLING),
        ("MCOMEETADV", CONF),
        ("MCOMEETADV_GOV", CONF),
        ("MCOMEETADV_AR_GCCHigh", CONF),
        ("MCOMEETADV_AR_GCCHIGH", CONF),
        ("MCOMEETACPEA", CONF),
        ("MCOMEETBASIC", CONF),
        ("MCOMEETBASIC_GOV", CONF),
        ("MCOPSTNC", CREDITS),
        (" mcopstnc\t", CREDITS),
        ("TEAMS1", TEAMS),
        ("TEAMS_GOV", TEAMS),
        ("TEAMS_AR_GCCHIGH", TEAMS),
        ("TEAMS_AR_DOD", TEAMS),
        ("TeamsEss", TEAMS),
        ("MCO_TEAMS_IW", TEAMS),
    ],
)
def test_plan_capability_by_name(name: str, cap: Capability) -> None:
    assert plan_capability(name) is cap


@pytest.mark.parametrize(
    "name",
    [
        "MCOFMC1",
        "MCOSMS5",
        "MCOSMS_PAYG_1",
        "MCOSTANDARD",
        "MCOSTANDARD_GOV",
        "MCOIMP",
        "MCOLITE",
        "MCOVOICECONF",
        "TEAMS_FREE",
        "TEAMSPRO_CUST",
        "MCOFREE",
        "MCO_VIRTUAL_APPT",
        "MCOBASIC",
        "MCOACBYOT_GCCHigh",
        "MCOPSTN",
        "MCOPSTN_PAYG_",
        "",
    ],
)
def test_plan_capability_non_voice(name: str) -> None:
    assert plan_capability(name) is None


def test_plan_capability_id_wins_and_unknown_id_falls_back_to_name() -> None:
    assert plan_capability("renamed-by-tenant", "4828C8EC-DC2E-4779-B502-87AC9CE28AB7") is PHONE
    assert plan_capability("MCOPSTN_PAYG_9", "11111111-1111-1111-1111-111111111111") is CALLING
    assert plan_capability("MCOFMC1", "cb22fbd7-ed7d-4786-a27a-e4cd617b69c0") is None


def test_is_pay_as_you_go_calling_plan() -> None:
    assert is_pay_as_you_go_calling_plan("MCOPSTN_PAYG_1")
    assert is_pay_as_you_go_calling_plan(" mcopstn_payg_2 ")
    assert not is_pay_as_you_go_calling_plan("MCOPSTN1")
    assert not is_pay_as_you_go_calling_plan("MCOSMS_PAYG_1")


def test_is_guid() -> None:
    assert is_guid("e43b5b99-8dfb-405f-9987-dc307f34bcbd")
    assert is_guid(" {E43B5B99-8DFB-405F-9987-DC307F34BCBD} ")
    assert not is_guid("MCOEV")
    assert not is_guid("e43b5b99-8dfb-405f-9987-dc307f34bcb")
    assert not is_guid("e43b5b998dfb405f9987dc307f34bcbd")


# --- the whole CSV, checked independently of the catalogue's own tables --------------------------


def test_every_voice_plan_in_the_csv_is_classified(catalog: Catalog) -> None:
    expected = expected_plan_capabilities()
    # Guard against a vacuous pass (e.g. friendly names renamed so no keyword matches).
    assert len(expected) >= 24
    wrong = {}
    for row in raw_rows():
        plan_id = row["Service_Plan_Id"].lower()
        want = expected.get(plan_id)
        got_by_name = plan_capability(row["Service_Plan_Name"])
        got_by_id = plan_capability(row["Service_Plan_Name"], plan_id)
        plan = catalog.service_plan(plan_id)
        got_in_catalog = None if plan is None else plan.capability
        if not want is got_by_name is got_by_id is got_in_catalog:
            wrong[row["Service_Plan_Name"]] = (want, got_by_name, got_by_id, got_in_catalog)
    assert wrong == {}


def test_exclusion_lists_are_not_stale() -> None:
    names = {r["Service_Plan_Name"] for r in raw_rows()}
    ids = {r["Service_Plan_Id"].lower() for r in raw_rows()}
    assert FRIENDLY_NAME_EXCLUSIONS.keys() <= names
    assert CLASSIFIED_WITHOUT_KEYWORD.keys() <= ids


def test_every_sku_reports_the_capabilities_of_its_plans(catalog: Catalog) -> None:
    expected_plans = expected_plan_capabilities()
    expected: dict[str, set[Capability]] = defaultdict(set)
    for row in raw_rows():
        sku_id = row["GUID"].lower()
        expected.setdefault(sku_id, set())  # every SKU, voice or not
        cap = expected_plans.get(row["Service_Plan_Id"].lower())
        if cap is not None:
            expected[sku_id].add(cap)
    assert sum(1 for caps in expected.values() if caps) >= 70
    mismatches = {}
    for sku_id, caps in expected.items():
        sku = catalog.by_id(sku_id)
        got = None if sku is None else set(sku.capabilities)
        if got != caps:
            mismatches[sku_id] = (caps, got)
    assert mismatches == {}


# --- tolerance of a messier copy of the file ------------------------------------------------------


def tamper(text: str) -> str:
    """BOM, padded and upper-cased fields, every row twice, CRLF line ends, a blank line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    writer.writerow([f" {h} " for h in header])
    guid_columns = {header.index("GUID"), header.index("Service_Plan_Id")}
    for n, row in enumerate(body):
        pad = ("\t", " ", "\xa0")[n % 3]
        cells = [
            (cell.upper() if i in guid_columns else cell) + pad if n % 2 else pad + cell for i, cell in enumerate(row)
        ]
        writer.writerow(cells)
        writer.writerow(cells)
    return "\ufeff" + out.getvalue() + "\r\n"


def test_tampered_copy_parses_the_same(catalog: Catalog) -> None:
    tampered = tamper(CSV_TEXT)
    assert tampered.startswith("\ufeff")
    assert parse_catalog(tampered) == catalog
    assert parse_catalog(CSV_TEXT) == catalog


def test_missing_column_is_reported() -> None:
    with pytest.raises(ValueError, match="Service_Plan_Id"):
        parse_catalog("Product_Display_Name,String_Id,GUID,Service_Plan_Name\n")


def test_load_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()
