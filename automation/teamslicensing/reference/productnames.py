"""Microsoft's product names beside the part numbers every report and `explain` print."""

from __future__ import annotations

import functools

from teamslicensing.reference.catalog import load_catalog

__all__ = ["named", "product_name"]


@functools.cache
def product_name(part_number: str) -> str | None:
    """Microsoft's product name for a skuPartNumber ("Microsoft Teams Domestic Calling Plan" for MCOPSTN1, not the
    CSV's retired "Skype for Business PSTN Domestic Calling"); None when the catalogue does not know it (a GUID, a
    SKU newer than the CSV)."""
    found = load_catalog().by_part_number(part_number)
    return found[0].product_name if found and found[0].product_name else None


def named(part_number: str) -> str:
    """`MCOPSTN1 (Microsoft Teams Domestic Calling Plan)`, or the part number alone."""
    name = product_name(part_number)
    return f"{part_number} ({name})" if name and name.casefold() != part_number.casefold() else part_number
