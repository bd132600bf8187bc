"""Stage 7: what the plan costs and saves per month, from the configuration's prices (pure). For each priced SKU the
tenant has: the seats the plan adds and frees, the direct assignments another license already covers, and the seats
left unassigned once the plan is applied, each times the price; one entry per currency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from teamslicensing.model.cost import CurrencyCost, SkuCost, SkuPrice
from teamslicensing.model.plan import SeatLine
from teamslicensing.model.tenant import TenantSku


def plan_cost(
    seats: Sequence[SeatLine], skus: Iterable[TenantSku], prices: Sequence[SkuPrice]
) -> tuple[CurrencyCost, ...]:
    if not prices:
        return ()
    seat_of = {seat.sku_id: seat for seat in seats}
    by_currency: dict[str, list[SkuCost]] = defaultdict(list)
    for sku in sorted(skus, key=lambda s: s.part_number):
        price = next((p for p in prices if sku.sku_id in p.sku_ids), None)
        if price is None:
            continue
        seat = seat_of.get(sku.sku_id)
        added, freed, redundant = (seat.to_add, seat.to_remove, seat.redundant) if seat else (0, 0, 0)
        unused = max(sku.enabled - sku.consumed - added + freed, 0)
        if sku.capability_status.lower() not in ("enabled", "warning"):  # not billed: nothing to save or waste
            freed = redundant = unused = 0
        each = price.monthly
        by_currency[price.currency].append(
            SkuCost(sku.part_number, each, each * added, each * freed, each * redundant, each * Decimal(unused))
        )
    return tuple(CurrencyCost(currency, tuple(found)) for currency, found in sorted(by_currency.items()))
