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
from teamslicensing.reference.voiceplans import (
    is_exclusive_calling_plan,
    is_pay_as_you_go_calling_plan,
    normalise_name,
    plan_capability,
)

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


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _sku_sort_key(sku: CatalogSku) -> tuple[str, str, str]:
    return (sku.part_number.casefold(), sku.part_number, sku.sku_id)


@dataclass(frozen=True, slots=True)
class Catalog:
    """All known SKUs, with case- and whitespace-tolerant lookups. Equality compares the SKUs only."""

    skus: tuple[CatalogSku, ...]
    _by_id: Mapping[str, CatalogSku] = field(init=False, repr=False, compare=False)
    _by_part_number: Mapping[str, tuple[CatalogSku, ...]] = field(init=False, repr=False, compare=False)
    _by_name: Mapping[str, tuple[CatalogSku, ...]] = field(init=False, repr=False, compare=False)
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
        by_name: dict[str, dict[str, CatalogSku]] = {}
        for sku in skus:  # the product name admins see, and the CSV's where it differs
            for name in (sku.product_name, sku.display_name):
                by_name.setdefault(_name_key(name), {})[sku.sku_id] = sku
        object.__setattr__(self, "_by_name", MappingProxyType({k: tuple(v.values()) for k, v in by_name.items()}))
        plans: dict[str, ServicePlan] = {}
        for sku in skus:
            for plan in sku.service_plans:
                plans.setdefault(plan.id, plan)
        for plan in list(plans.values()):
            plans.setdefault(normalise_name(plan.name), plan)
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

    def by_name(self, name: str) -> tuple[CatalogSku, ...]:
        """Every SKU Microsoft sells under this product name (exactly, ignoring case and spacing)."""
        return self._by_name.get(_name_key(name), ())

    @property
    def product_names(self) -> tuple[str, ...]:
        return tuple(sorted({sku.product_name for sku in self.skus}))

    def resolve(self, ref: str) -> tuple[CatalogSku, ...]:
        """SKUs a user's reference means: a GUID is looked up as skuId only, anything else as a part number, then
        as a product name ("Microsoft Teams Phone Standard")."""
        if is_guid(ref):
            sku = self.by_id(ref)
            return () if sku is None else (sku,)
        return self.by_part_number(ref) or self.by_name(ref)

    def search(self, text: str) -> tuple[CatalogSku, ...]:
        """SKUs whose part number, display name, id or plan (code or friendly) names contain `text`."""
        needle = " ".join(text.split()).casefold()
        return tuple(sku for sku, haystack in self._search_text if needle in haystack)

    def service_plan(self, name_or_id: str) -> ServicePlan | None:
        """A service plan by id (any case, braces allowed) or by code name (any case)."""
        if is_guid(name_or_id):
            return self._plans.get(normalise_guid(name_or_id))
        return self._plans.get(normalise_name(name_or_id))


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
