"""`teams-licensing skus` in three formats: a table with a header for people, JSON and CSV for scripts. The JSON
is a contract (`version` 1): `skus` [{skuPartNumber, skuId, productName, capabilities, servicePlans}]."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from teamslicensing.reference.catalog import CatalogSku

CAPABILITIES = "capabilities"
HEADER = ("skuPartNumber", "skuId", "productName", CAPABILITIES)


def render_skus(skus: Sequence[CatalogSku], output_format: str) -> str:
    if output_format == "json":
        return json.dumps({"version": 1, "count": len(skus), "skus": [_sku_json(sku) for sku in skus]}, indent=2) + "\n"
    if output_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows((s.part_number, s.sku_id, s.product_name, ";".join(_capabilities(s))) for s in skus)
        return out.getvalue()
    return _table(skus)


def _table(skus: Sequence[CatalogSku]) -> str:
    width = min(max((len(sku.part_number) for sku in skus), default=10), 32)  # a few part numbers run to 60
    lines = [f"{'PART NUMBER':<{width}}  {'SKU ID':<36}  {'VOICE CAPABILITIES':<40}  PRODUCT"]
    for sku in skus:
        capabilities = ", ".join(_capabilities(sku)) or "-"
        lines.append(f"{sku.part_number:<{width}}  {sku.sku_id}  {capabilities:<40}  {sku.product_name}")
    lines.append(f"{len(skus)} SKU{'s' if len(skus) != 1 else ''}")
    return "\n".join(lines) + "\n"


def _capabilities(sku: CatalogSku) -> list[str]:
    return sorted(c.value for c in sku.capabilities)


def _sku_json(sku: CatalogSku) -> dict[str, object]:
    return {
        "skuPartNumber": sku.part_number,
        "skuId": sku.sku_id,
        "productName": sku.product_name,
        CAPABILITIES: _capabilities(sku),
        "servicePlans": [{"servicePlanName": p.name, "servicePlanId": p.id} for p in sku.service_plans],
    }
