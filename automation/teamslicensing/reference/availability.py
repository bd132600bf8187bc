"""Which Teams voice capabilities Microsoft offers in which country, for warnings only.

Read from the packaged teams-voice-country-availability.csv. The table is stale by the nature of its
source (translated docs pages from 2021-2022), so callers may warn on a `False` but must never block a
change on it, and must treat `None` (country not listed, or the page was ambiguous) as "no opinion".
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from types import MappingProxyType

from teamslicensing.model.capability import Capability
from teamslicensing.reference.countries import is_country_code

__all__ = ["CountryAvailability", "load_availability", "offers", "parse_availability"]

_DATA_PACKAGE = "teamslicensing.reference"
_AVAILABILITY_FILE = "teams-voice-country-availability.csv"
_FLAG_COLUMNS = (
    "audio_conferencing",
    "phone_system",
    "calling_plan_domestic",
    "calling_plan_international",
    "calling_plan_payg",
    "communications_credits",
)
_FLAGS: Mapping[str, bool | None] = MappingProxyType({"yes": True, "no": False, "unknown": None})


@dataclass(frozen=True, slots=True)
class CountryAvailability:
    """What one country offers; None means the source did not say clearly."""

    iso2: str
    country_name: str
    calling_plans: bool | None
    audio_conferencing: bool | None
    communications_credits: bool | None
    phone_system: bool | None


def _any_calling_plan(flags: tuple[bool | None, ...]) -> bool | None:
    # Any Calling Plan flavour (domestic, international, pay-as-you-go) is enough to assign one; a single
    # "unknown" keeps us from claiming "not offered".
    if True in flags:
        return True
    if None in flags:
        return None
    return False


def parse_availability(text: str) -> Mapping[str, CountryAvailability]:
    """Parse the availability CSV's text into a read-only map keyed by upper-case ISO alpha-2 code."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    fieldnames = [name.strip() for name in reader.fieldnames or ()]
    missing = [c for c in ("iso2", "country_name", *_FLAG_COLUMNS) if c not in fieldnames]
    if missing:
        raise ValueError(f"country availability CSV lacks columns {missing}")
    reader.fieldnames = fieldnames

    table: dict[str, CountryAvailability] = {}
    for line_no, row in enumerate(reader, start=2):
        iso2 = (row["iso2"] or "").strip().upper()
        if not is_country_code(iso2):
            raise ValueError(f"country availability CSV line {line_no}: {iso2!r} is not an ISO 3166 code")
        if iso2 in table:
            raise ValueError(f"country availability CSV line {line_no}: {iso2} listed twice")
        flags: dict[str, bool | None] = {}
        for column in _FLAG_COLUMNS:
            value = (row[column] or "").strip().lower()
            if value not in _FLAGS:
                raise ValueError(f"country availability CSV line {line_no}: {column}={value!r}")
            flags[column] = _FLAGS[value]
        table[iso2] = CountryAvailability(
            iso2=iso2,
            country_name=(row["country_name"] or "").strip(),
            calling_plans=_any_calling_plan(
                (
                    flags["calling_plan_domestic"],
                    flags["calling_plan_international"],
                    flags["calling_plan_payg"],
                )
            ),
            audio_conferencing=flags["audio_conferencing"],
            communications_credits=flags["communications_credits"],
            phone_system=flags["phone_system"],
        )
    return MappingProxyType(table)


@functools.lru_cache(maxsize=1)
def load_availability() -> Mapping[str, CountryAvailability]:
    """The table shipped with the package, parsed once per process."""
    resource = files(_DATA_PACKAGE) / "data" / _AVAILABILITY_FILE
    return parse_availability(resource.read_text(encoding="utf-8-sig"))


def offers(table: Mapping[str, CountryAvailability], country: str, capability: Capability) -> bool | None:
    """Whether `country` offers `capability`; None when unlisted or unknown, which must not warn."""
    entry = table.get(country.strip().upper())
    if entry is None:
        return None
    if capability is Capability.PHONE_SYSTEM:
        return entry.phone_system
    if capability is Capability.CALLING_PLAN:
        return entry.calling_plans
    if capability is Capability.AUDIO_CONFERENCING:
        return entry.audio_conferencing
    if capability is Capability.COMMUNICATIONS_CREDITS:
        return entry.communications_credits
    # A new Capability must be mapped here explicitly, not silently read as some other column.
    raise ValueError(f"no availability column for capability {capability!r}")
