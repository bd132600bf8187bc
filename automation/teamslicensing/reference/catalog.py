"""The license catalogue: which SKUs exist and which Teams voice capabilities each one grants.

Built from Microsoft's "Product names and service plan identifiers for licensing" CSV shipped as package
data (one row per SKU x service plan). Capabilities are decided per *service plan*, never per SKU name,
because suites (E5, Business Voice, Teams Rooms, GCC SKUs) carry the very same plans as the stand-alone
voice SKUs. Everything is keyed on GUIDs: display names drift between versions of the CSV.
"""

from __future__ import annotations

import csv
import functools
import io
import operator
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from types import MappingProxyType

from teamslicensing.model.capability import Capability, is_guid, normalise_guid

__all__ = [
    "PLANS_NOT_SOLD_IN",
    "Catalog",
    "CatalogSku",
    "ServicePlan",
    "is_exclusive_calling_plan",
    "is_pay_as_you_go_calling_plan",
    "load_catalog",
    "parse_catalog",
    "plan_capability",
]

_DATA_PACKAGE = "teamslicensing.reference"
_CATALOG_FILE = "product-names-and-service-plan-identifiers.csv"
_COLUMNS = (
    "Product_Display_Name",
    "String_Id",
    "GUID",
    "Service_Plan_Name",
    "Service_Plan_Id",
    "Service_Plans_Included_Friendly_Names",
)


# Names as Graph returns them in subscribedSkus[].servicePlans[].servicePlanName; the CSV uses the same.
# Keys are upper-cased because tenants and CSV copies disagree on case (MCOMEETADV_AR_GCCHigh).
_CAPABILITY_BY_PLAN_NAME: Mapping[str, Capability] = MappingProxyType(
    {
        # Teams Phone (formerly Phone System / Cloud PBX) and its SMB variant.
        "MCOEV": Capability.PHONE_SYSTEM,
        "MCOEV_GOV": Capability.PHONE_SYSTEM,
        "MCOEVSMB": Capability.PHONE_SYSTEM,
        # Teams Phone Resource Account: for auto attendants and call queues, never a person's Phone System
        # (Teams docs, manage-resource-accounts / virtual-user, 2025).
        "MCOEV_VIRTUALUSER": Capability.RESOURCE_ACCOUNT,
        "MCOEV_VIRTUALUSER_GOV": Capability.RESOURCE_ACCOUNT,
        # Calling Plans. MCOPSTNEAU is Telstra's Australian plan; the long name is how one MCOPSTN5 SKU spells its
        # plan (no code name at all).
        "MCOPSTN1": Capability.CALLING_PLAN,
        "MCOPSTN1_GOV": Capability.CALLING_PLAN,
        "MCOPSTN2": Capability.CALLING_PLAN,
        "MCOPSTN5": Capability.CALLING_PLAN,
        "MCOPSTN6": Capability.CALLING_PLAN,
        "MCOPSTN8": Capability.CALLING_PLAN,
        "MCOPSTNEAU": Capability.CALLING_PLAN,
        "PSTN5_US": Capability.CALLING_PLAN,
        "SKYPE FOR BUSINESS PSTN CALLING DOMESTIC SMALL": Capability.CALLING_PLAN,
        # Audio Conferencing: full, GCC/GCC High, pay-per-minute, and dial-out to select geographies.
        "MCOMEETADV": Capability.AUDIO_CONFERENCING,
        "MCOMEETADV_GOV": Capability.AUDIO_CONFERENCING,
        "MCOMEETADV_AR_GCCHIGH": Capability.AUDIO_CONFERENCING,
        "MCOMEETACPEA": Capability.AUDIO_CONFERENCING,
        "MCOMEETBASIC": Capability.AUDIO_CONFERENCING,
        "MCOMEETBASIC_GOV": Capability.AUDIO_CONFERENCING,
        "MCOPSTNC": Capability.COMMUNICATIONS_CREDITS,
        # MCOPSTN3 is sold as MCOPSTNPP, the Communications Credits SKU of the Teams add-on licensing docs
        # (assign-teams-add-on-licenses, 2024-03); Microsoft's CSV calls it "PSTN Usage Calling Plan".
        "MCOPSTN3": Capability.COMMUNICATIONS_CREDITS,
        # The Teams service: the prerequisite of Teams Phone. Commercial, GCC, GCC High and DoD; Teams Essentials
        # (TeamsEss, sold to small businesses without TEAMS1) is the Teams service of its SKU.
        "TEAMS1": Capability.TEAMS,
        "TEAMS_GOV": Capability.TEAMS,
        "TEAMS_AR_GCCHIGH": Capability.TEAMS,
        "TEAMS_AR_DOD": Capability.TEAMS,
        "TEAMSESS": Capability.TEAMS,
        "MCO_TEAMS_IW": Capability.TEAMS,  # "Microsoft Teams" of the trial and exploratory SKUs
        # Deliberately absent, so they classify as None:
        # - MCOFMC1 (Teams Phone Mobile) is an operator-delivered SIM service, not the MCOEV plan that
        #   Enterprise Voice and Calling Plans require; counting it would hide a missing Teams Phone.
        # - MCOSMS* are SMS bundles; they ride along in calling-plan SKUs but grant no voice.
        # - MCOSTANDARD/MCOIMP/MCOLITE/MCOVOICECONF are Skype for Business Online plans (IM/meetings).
        # - MCOACBYOT_GCCHigh ("Audio Conferencing - GCCHigh Tenant") is a tenant license that makes Audio
        #   Conferencing run over Direct Routing in GCC High; it gives no user Audio Conferencing.
        # - TEAMS_FREE, MCOFREE, MCO_VIRTUAL_APPT and TEAMSPRO_* (Teams Premium), Teams_Room* and MCOBASIC
        #   (Skype Meetings) carry no PSTN capability and are not the Teams service Teams Phone is licensed on.
    }
)

# Same plans by id, so a plan whose name a CSV copy or tenant mangles is still recognised.
_CAPABILITY_BY_PLAN_ID: Mapping[str, Capability] = MappingProxyType(
    {
        "4828c8ec-dc2e-4779-b502-87ac9ce28ab7": Capability.PHONE_SYSTEM,  # MCOEV
        "db23fce2-a974-42ef-9002-d78dd42a0f22": Capability.PHONE_SYSTEM,  # MCOEV_GOV
        "f47330e9-c134-43b3-9993-e7f004506889": Capability.RESOURCE_ACCOUNT,  # MCOEV_VIRTUALUSER
        "0628a73f-3b4a-4989-bd7b-0f8823144313": Capability.RESOURCE_ACCOUNT,  # MCOEV_VIRTUALUSER_GOV
        "ed777b71-af04-42ca-9798-84344c66f7c6": Capability.PHONE_SYSTEM,  # MCOEVSMB
        "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8": Capability.CALLING_PLAN,  # MCOPSTN1
        "3c8a8792-7866-409b-bb61-1b20ace0368b": Capability.CALLING_PLAN,  # MCOPSTN1_GOV
        "5a10155d-f5c1-411a-a8ec-e99aae125390": Capability.CALLING_PLAN,  # MCOPSTN2
        "6b340437-d6f9-4dc5-8cc2-99163f7f83d6": Capability.COMMUNICATIONS_CREDITS,  # MCOPSTN3 (MCOPSTNPP)
        "54a152dc-90de-4996-93d2-bc47e670fc06": Capability.CALLING_PLAN,  # MCOPSTN5
        "346d83bf-6fe6-42ca-b424-b9300d2e21bf": Capability.CALLING_PLAN,  # MCOPSTN6
        "16935b20-87c0-4908-934a-22aa267d0d26": Capability.CALLING_PLAN,  # MCOPSTN8
        "7861360b-dc3b-4eba-a3fc-0d323a035746": Capability.CALLING_PLAN,  # MCOPSTNEAU
        "1346d5e6-15a6-4b88-9693-806ff7296a7a": Capability.CALLING_PLAN,  # PSTN5_US
        "9a0125a5-c8f8-4526-b231-49e2abe0ebce": Capability.CALLING_PLAN,  # ...PSTN Calling Domestic Small
        "156a1efe-17cd-4b03-9f17-2eb512298fb3": Capability.CALLING_PLAN,  # MCOPSTN_PAYG_1
        "3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40": Capability.AUDIO_CONFERENCING,  # MCOMEETADV
        "f544b08d-1645-4287-82de-8d91f37c02a1": Capability.AUDIO_CONFERENCING,  # MCOMEETADV_GOV
        "f1e3613f-3818-4254-9b5e-f02d803384e0": Capability.AUDIO_CONFERENCING,  # MCOMEETADV_AR_GCCHigh
        "bb038288-76ab-49d6-afc1-eaa6c222c65a": Capability.AUDIO_CONFERENCING,  # MCOMEETACPEA
        "9974d6cf-cd24-4ba2-921c-e2aa687da846": Capability.AUDIO_CONFERENCING,  # MCOMEETBASIC
        "986d454b-9027-4d9f-880b-f1b68f920cc4": Capability.AUDIO_CONFERENCING,  # MCOMEETBASIC_GOV
        "505e180f-f7e0-4b65-91d4-00d670bbd18c": Capability.COMMUNICATIONS_CREDITS,  # MCOPSTNC
        "57ff2da0-773e-42df-b2af-ffb7a2317929": Capability.TEAMS,  # TEAMS1
        "304767db-7d23-49e8-a945-4a7eb65f9f28": Capability.TEAMS,  # TEAMS_GOV
        "9953b155-8aef-4c56-92f3-72b0487fce41": Capability.TEAMS,  # TEAMS_AR_GCCHIGH
        "fd500458-c24c-478e-856c-a6067a8376cd": Capability.TEAMS,  # TEAMS_AR_DOD
        "f4f2f6de-6830-442b-a433-e92249faebe2": Capability.TEAMS,  # TeamsEss
        "42a3ec34-28ba-46b6-992f-db53a675ac5b": Capability.TEAMS,  # MCO_TEAMS_IW
    }
)

# Pay-as-you-go calling plans come one per country zone (MCOPSTN_PAYG_1, _2, _3, ...); Microsoft adds
# zones without notice, so match the family rather than list the zones. Kept narrow: MCOSMS_PAYG_* is SMS.
_PAYG_CALLING_PLAN = re.compile(r"MCOPSTN_PAYG_[A-Z0-9_]+")

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _normalise_name(name: str) -> str:
    # Collapses runs of whitespace too: CSV copies contain tabs and non-breaking spaces inside values.
    return " ".join(name.split()).upper()


# "MCOPSTN1, MCOPSTN2 and MCOPSTN5 cannot be assigned together" is the whole of Microsoft's exclusivity list for
# calling plans (Entra doc "Product names and service plan identifiers", rev. 2025-10-29, which warns it is not
# kept current). Other calling plans stack (an international add-on on a domestic plan, PAYG zones, MCOPSTN6/8).
_EXCLUSIVE_CALLING_PLAN_IDS = frozenset(
    {
        "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8",  # MCOPSTN1
        "5a10155d-f5c1-411a-a8ec-e99aae125390",  # MCOPSTN2
        "54a152dc-90de-4996-93d2-bc47e670fc06",  # MCOPSTN5
        "9a0125a5-c8f8-4526-b231-49e2abe0ebce",  # MCOPSTN5 as one SKU spells it (PSTN Calling Domestic Small)
    }
)
_EXCLUSIVE_CALLING_PLAN_NAMES = frozenset(
    {"MCOPSTN1", "MCOPSTN2", "MCOPSTN5", "SKYPE FOR BUSINESS PSTN CALLING DOMESTIC SMALL"}
)


def is_exclusive_calling_plan(service_plan_name: str, service_plan_id: str | None = None) -> bool:
    """True for the calling plans Microsoft lists as mutually exclusive (a user holds at most one of them)."""
    if service_plan_id is not None and normalise_guid(service_plan_id) in _EXCLUSIVE_CALLING_PLAN_IDS:
        return True
    return _normalise_name(service_plan_name) in _EXCLUSIVE_CALLING_PLAN_NAMES


def is_pay_as_you_go_calling_plan(service_plan_name: str) -> bool:
    """True for the per-zone pay-as-you-go Calling Plan service plans (MCOPSTN_PAYG_*)."""
    return _PAYG_CALLING_PLAN.fullmatch(_normalise_name(service_plan_name)) is not None


def plan_capability(service_plan_name: str, service_plan_id: str | None = None) -> Capability | None:
    """Classify one service plan; None when it grants no Teams voice capability.

    The id, when known, wins over the name; an unknown id falls back to the name so plans from a tenant's
    subscribedSkus that this CSV copy predates still classify.
    """
    if service_plan_id is not None:
        by_id = _CAPABILITY_BY_PLAN_ID.get(normalise_guid(service_plan_id))
        if by_id is not None:
            return by_id
    name = _normalise_name(service_plan_name)
    by_name = _CAPABILITY_BY_PLAN_NAME.get(name)
    if by_name is not None:
        return by_name
    if _PAYG_CALLING_PLAN.fullmatch(name):
        return Capability.CALLING_PLAN
    return None


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """One service plan (a component of a SKU)."""

    id: str
    name: str
    friendly_name: str
    capability: Capability | None


# The CSV still names the Calling Plans by their Skype for Business era names; the admin center, Microsoft's
# store and the Teams docs (resource accounts, Calling Plans; stored copies read 2026-12-01) sell them as these.
# Keyed on the SKU GUID, which never drifts.
_CURRENT_PRODUCT_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "0dab259f-bf13-4952-b7f8-7db8f131b28d": "Microsoft Teams Domestic Calling Plan",  # MCOPSTN1
        "d3b4fe1f-9992-4930-8acb-ca6ec609365e": "Microsoft Teams Domestic and International Calling Plan",  # MCOPSTN2
        "54a152dc-90de-4996-93d2-bc47e670fc06": "Microsoft Teams Domestic Calling Plan (120 min)",  # MCOPSTN5
    }
)


@dataclass(frozen=True, slots=True)
class CatalogSku:
    """One SKU (what Graph calls skuId / skuPartNumber) and the service plans it bundles."""

    sku_id: str
    part_number: str
    display_name: str  # the CSV's Product_Display_Name
    service_plans: tuple[ServicePlan, ...]

    @property
    def product_name(self) -> str:
        """The name admins buy and see it under: the CSV's, unless that is a retired Skype for Business name."""
        return _CURRENT_PRODUCT_NAMES.get(self.sku_id, self.display_name)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset(p.capability for p in self.service_plans if p.capability is not None)


def _sku_sort_key(sku: CatalogSku) -> tuple[str, str, str]:
    return (sku.part_number.casefold(), sku.part_number, sku.sku_id)


@dataclass(frozen=True, slots=True)
class Catalog:
    """All known SKUs, with case- and whitespace-tolerant lookups. Equality compares the SKUs only."""

    skus: tuple[CatalogSku, ...]
    _by_id: Mapping[str, CatalogSku] = field(init=False, repr=False, compare=False)
    _by_part_number: Mapping[str, tuple[CatalogSku, ...]] = field(init=False, repr=False, compare=False)
    _plans: Mapping[str, ServicePlan] = field(init=False, repr=False, compare=False)
    _search_text: tuple[tuple[CatalogSku, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # object.__setattr__ because the dataclass is frozen; the indexes are derived, never user state.
        skus = tuple(sorted(self.skus, key=_sku_sort_key))
        object.__setattr__(self, "skus", skus)
        object.__setattr__(self, "_by_id", MappingProxyType({s.sku_id: s for s in skus}))
        by_part: dict[str, list[CatalogSku]] = {}
        for sku in skus:
            by_part.setdefault(sku.part_number.casefold(), []).append(sku)
        object.__setattr__(self, "_by_part_number", MappingProxyType({k: tuple(v) for k, v in by_part.items()}))
        plans: dict[str, ServicePlan] = {}
        for sku in skus:
            for plan in sku.service_plans:
                plans.setdefault(plan.id, plan)
        for plan in list(plans.values()):
            plans.setdefault(_normalise_name(plan.name), plan)
        object.__setattr__(self, "_plans", MappingProxyType(plans))
        search_text = tuple(
            (
                sku,
                "\n".join(
                    [sku.part_number, sku.display_name, sku.product_name, sku.sku_id]
                    + [p.name for p in sku.service_plans]
                    + [p.id for p in sku.service_plans]  # the help promises servicePlanIds too
                    + [p.friendly_name for p in sku.service_plans]
                ).casefold(),
            )
            for sku in skus
        )
        object.__setattr__(self, "_search_text", search_text)

    def by_id(self, sku_id: str) -> CatalogSku | None:
        """The SKU with this skuId (any case, braces and surrounding spaces allowed), or None."""
        return self._by_id.get(normalise_guid(sku_id))

    def by_part_number(self, part_number: str) -> tuple[CatalogSku, ...]:
        """Every SKU with this skuPartNumber, ignoring case; several when Microsoft reused one."""
        return self._by_part_number.get(part_number.strip().casefold(), ())

    def resolve(self, ref: str) -> tuple[CatalogSku, ...]:
        """SKUs a user's reference means: a GUID is looked up as skuId only, anything else as part number."""
        if is_guid(ref):
            sku = self.by_id(ref)
            return () if sku is None else (sku,)
        return self.by_part_number(ref)

    def search(self, text: str) -> tuple[CatalogSku, ...]:
        """SKUs whose part number, display name, id or plan (code or friendly) names contain `text`."""
        needle = " ".join(text.split()).casefold()
        return tuple(sku for sku, haystack in self._search_text if needle in haystack)

    def service_plan(self, name_or_id: str) -> ServicePlan | None:
        """A service plan by id (any case, braces allowed) or by code name (any case)."""
        if is_guid(name_or_id):
            return self._plans.get(normalise_guid(name_or_id))
        return self._plans.get(_normalise_name(name_or_id))


def _clean(cell: str) -> str:
    # Values arrive padded with spaces, tabs or non-breaking spaces, and a few contain inner tab runs.
    return " ".join(cell.split())


def _most_common(values: list[str]) -> str:
    # Cleaning happens here, once per distinct id, not per cell: per-cell work is what keeps parsing a
    # 6,000-row file from staying well under 50 ms.
    first = values[0]
    if values.count(first) == len(values):
        return _clean(first)
    # Counter keeps first-seen order among ties, so the result is stable for a given file.
    return Counter(_clean(v) for v in values).most_common(1)[0][0]


def parse_catalog(text: str) -> Catalog:
    """Build a catalogue from the CSV's text (BOM, padded fields and duplicate rows are tolerated)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [_clean(h) for h in next(reader, ())]
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise ValueError(f"license catalogue CSV lacks columns {missing}; header is {header}")
    pick = operator.itemgetter(*(header.index(c) for c in _COLUMNS))

    sku_part: dict[str, list[str]] = {}
    sku_display: dict[str, list[str]] = {}
    sku_plan_ids: dict[str, dict[str, None]] = {}  # dict as an ordered set
    plan_names: dict[str, list[str]] = {}
    plan_friendly: dict[str, list[str]] = {}
    for line_no, row in enumerate(reader, start=2):
        if len(row) < len(header):
            if "".join(row).strip():
                raise ValueError(f"license catalogue CSV line {line_no}: expected {len(header)} fields")
            continue  # blank line
        display, part, sku_id, plan_name, plan_id, friendly = pick(row)
        sku_id = sku_id.strip().lower()
        plan_id = plan_id.strip().lower()
        if sku_id not in sku_plan_ids:
            if not _GUID.fullmatch(sku_id):
                raise ValueError(f"license catalogue CSV line {line_no}: malformed SKU GUID {sku_id!r}")
            sku_part[sku_id] = []
            sku_display[sku_id] = []
            sku_plan_ids[sku_id] = {}
        if plan_id not in plan_names:
            if not _GUID.fullmatch(plan_id):
                raise ValueError(f"license catalogue CSV line {line_no}: malformed plan GUID {plan_id!r}")
            plan_names[plan_id] = []
            plan_friendly[plan_id] = []
        sku_part[sku_id].append(part)
        sku_display[sku_id].append(display)
        sku_plan_ids[sku_id][plan_id] = None
        plan_names[plan_id].append(plan_name)
        plan_friendly[plan_id].append(friendly)

    # One canonical object per plan id: the CSV spells some plans two ways (typos, truncation, case),
    # and the most common spelling is the one Graph reports.
    plans: dict[str, ServicePlan] = {}
    for plan_id, names in plan_names.items():
        name = _most_common(names)
        plans[plan_id] = ServicePlan(
            id=plan_id,
            name=name,
            friendly_name=_most_common(plan_friendly[plan_id]),
            capability=plan_capability(name, plan_id),
        )
    skus = tuple(
        CatalogSku(
            sku_id=sku_id,
            part_number=_most_common(sku_part[sku_id]),
            display_name=_most_common(sku_display[sku_id]),
            service_plans=tuple(sorted((plans[p] for p in plan_ids), key=lambda p: (p.name.casefold(), p.id))),
        )
        for sku_id, plan_ids in sku_plan_ids.items()
    )
    return Catalog(skus=skus)


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalogue shipped with the package, parsed once per process."""
    resource = files(_DATA_PACKAGE) / "data" / _CATALOG_FILE
    return parse_catalog(resource.read_text(encoding="utf-8-sig"))


# Plan-specific country facts the per-country table does not carry: the 120- and 240-minute Domestic Calling Plans
# are not sold in the United States (Teams docs, calling-plans-for-office-365, 2025).
PLANS_NOT_SOLD_IN: Mapping[str, frozenset[str]] = MappingProxyType(
    {"MCOPSTN5": frozenset({"US"}), "MCOPSTN6": frozenset({"US"})}
)
