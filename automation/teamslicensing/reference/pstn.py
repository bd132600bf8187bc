"""What a PSTN call row says about the licence it used: Microsoft's licenseCapability codes with their pools
(data/license-capabilities.csv) and Audio Conferencing's Zone A (data/audio-conferencing-zone-a.csv), each file's
header naming its sources and dates."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from types import MappingProxyType

from teamslicensing.reference.availability import load_availability
from teamslicensing.reference.countries import country_code

CALLING_PLAN = "callingPlan"  # a usage location's pool of a calling plan
AUDIO_CONFERENCING = "audioConferencing"  # the tenant's Zone A dial-out pool
CREDITS = "credits"  # paid per minute from Communications Credits
PAY_PER_MINUTE = "payPerMinute"
NO_POOL = "none"
POOLED = frozenset({CALLING_PLAN, AUDIO_CONFERENCING})


@dataclass(frozen=True, slots=True)
class LicenseCapability:
    code: str  # as call rows carry it, upper case
    pool: str  # CALLING_PLAN, AUDIO_CONFERENCING, CREDITS, PAY_PER_MINUTE or NO_POOL
    service_plan: str | None  # a calling plan's pool counts the holders of this service plan
    meaning: str


def _rows(name: str) -> list[dict[str, str]]:
    text = files("teamslicensing.reference").joinpath("data").joinpath(name).read_text("utf-8")
    lines = [line for line in text.removeprefix("\ufeff").splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


@functools.cache
def license_capabilities() -> Mapping[str, LicenseCapability]:
    """licenseCapability code -> what it means; a code not here is unknown (counted and reported)."""
    table = {}
    for row in _rows("license-capabilities.csv"):
        code = row["code"].strip().upper()
        table[code] = LicenseCapability(code, row["pool"].strip(), row["servicePlan"].strip() or None, row["meaning"])
    return MappingProxyType(table)


@functools.cache
def zone_a() -> Mapping[str, str]:
    """ISO code -> name, as Microsoft's page spells it, of each Audio Conferencing Zone A country or region."""
    return MappingProxyType(
        {row["iso2"].strip(): row["name"].strip() for row in _rows("audio-conferencing-zone-a.csv")}
    )


@functools.cache
def _country_names() -> Mapping[str, str]:
    names = {entry.country_name.casefold(): code for code, entry in load_availability().items() if entry.country_name}
    names.update({name.casefold(): code for code, name in zone_a().items()})
    return MappingProxyType(names)


@functools.lru_cache(maxsize=4096)
def destination_country(name: str) -> str | None:
    """The ISO code of a call row's destinationName ("United Kingdom"), None when it names no country known."""
    return country_code(name, dict(_country_names()))


def in_zone_a(destination: str | None) -> bool | None:
    """Whether a dialled destination is in Zone A (by its name or an alias of it; Zimbabwe is not); None when the
    row names no destination."""
    if not destination:
        return None
    return destination_country(destination) in zone_a()
