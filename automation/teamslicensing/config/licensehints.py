"""What an admin may have meant by a license name the catalogue does not know: the SKU that sells a service plan
of that name, the products whose names hold the words, a near product name, then a near part number or alias."""

from __future__ import annotations

import difflib

from teamslicensing.config.suggest import suggest
from teamslicensing.reference.catalog import Catalog


def license_hint(ref: str, catalog: Catalog, aliases: list[str]) -> str:
    """What the admin may have meant: the SKU a service plan's name belongs to, a product name, a part number or
    alias spelt nearly so, or the SKUs whose names hold the words; else how to look."""
    plan = catalog.service_plan(ref)
    if plan is not None:
        carriers = sorted((s for s in catalog.skus if plan in s.service_plans), key=lambda s: len(s.service_plans))
        if carriers:
            sku = carriers[0]
            return f" ({ref} is a service plan; did you mean the SKU '{sku.part_number}' ({sku.product_name})?)"
    holding = [s for s in catalog.skus if _name_holds(s.product_name, ref)]
    if holding:
        listed = ", ".join(f"'{s.product_name}' ({s.part_number})" for s in holding[:5])
        more = f" and {len(holding) - 5} more" if len(holding) > 5 else ""
        return f' (products named so: {listed}{more}; `teams-licensing skus --search "{ref}"` shows their plans)'
    by_folded = {name.casefold(): name for name in catalog.product_names}
    named = difflib.get_close_matches(ref.casefold(), list(by_folded), n=1, cutoff=0.75)
    if named:
        sku = catalog.by_name(by_folded[named[0]])[0]
        return f" (did you mean '{by_folded[named[0]]}', {sku.part_number}?)"
    spelt = suggest(ref, [sku.part_number for sku in catalog.skus] + aliases)
    if spelt.startswith(" (did you mean"):
        return spelt
    found = catalog.search(ref)
    if found:
        listed = ", ".join(f"{s.part_number} ({s.product_name})" for s in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        return f' (SKUs whose names hold it: {listed}{more}; `teams-licensing skus --search "{ref}"` lists them)'
    return " (find it with `teams-licensing skus --search TEXT`)"


def _name_holds(name: str, words: str) -> bool:
    return " ".join(words.split()).casefold() in " ".join(name.split()).casefold()
