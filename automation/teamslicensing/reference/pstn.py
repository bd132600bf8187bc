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

# Calls a Calling Plan counts as domestic across a border, which Microsoft's PSTN usage report (judging a row by the
# user's location) marks International. Microsoft's country pages (MicrosoftDocs/OfficeDocs-SkypeForBusiness,
# Teams/country-and-region-availability-for-audio-conferencing-and-calling-plans/, stored copies read 2026-12):
# - availability-in-canada.md at 01345c79 and ab47ff88: "When a Calling Plan (domestic or domestic and
#   international) user in the U.S. dials a phone number in Canada it will be treated as a domestic call. This is
#   also the case when a user in Canada will make a call to a U.S. number."
# - availability-in-puerto-rico.md at 0c25468e: "United States domestic calling includes calls to all 50 U.S. states
#   and Puerto Rico."
# No page says the same of Puerto Rico and Canada, so a call between them stays as the row reports it.
DOMESTIC_ACROSS_BORDERS = frozenset({frozenset({"US", "CA"}), frozenset({"US", "PR"})})


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


def domestic_across_border(usage_country: str, destination: str | None) -> bool:
    """Whether a call from a user in `usage_country` (ISO) to `destination` (a row's destinationName) is one a
    Calling Plan counts as domestic though it crosses a border (between the US and Canada or Puerto Rico)."""
    dialled = destination_country(destination) if destination else None
    return dialled is not None and frozenset({usage_country.upper(), dialled}) in DOMESTIC_ACROSS_BORDERS


def in_zone_a(destination: str | None) -> bool | None:
    """Whether a dialled destination is in Zone A (by its name or an alias of it; Zimbabwe is not); None when the
    row names no destination."""
    if not destination:
        return None
    return destination_country(destination) in zone_a()
