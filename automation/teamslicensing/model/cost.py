"""What a plan costs or saves per month, from the prices a configuration gives (`prices:`): the JSON `cost` list, one
entry per currency. Amounts are seats times the monthly price; the tool knows no price of its own."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True, slots=True)
class SkuPrice:
    """A price the configuration gives: one license (its skuIds) per month, in a currency."""

    name: str  # as the file names it, resolved to a part number where the catalogue knows it
    sku_ids: tuple[str, ...]
    monthly: Decimal
    currency: str  # ISO 4217, e.g. USD


@dataclass(frozen=True, slots=True)
class SkuCost:
    sku_part_number: str
    monthly: Decimal  # the price of one seat
    added: Decimal  # seats this plan adds x price
    saved: Decimal  # seats this plan frees x price
    redundant: Decimal  # direct assignments another license already covers x price (REDUNDANT_LICENSE)
    unused: Decimal  # seats paid for and assigned to nobody once the plan is applied x price


@dataclass(frozen=True, slots=True)
class CurrencyCost:
    currency: str
    by_sku: tuple[SkuCost, ...]

    @property
    def monthly_added(self) -> Decimal:
        return sum((s.added for s in self.by_sku), Decimal(0))

    @property
    def monthly_saved(self) -> Decimal:
        return sum((s.saved for s in self.by_sku), Decimal(0))

    @property
    def redundant_monthly(self) -> Decimal:
        return sum((s.redundant for s in self.by_sku), Decimal(0))

    @property
    def unused_monthly(self) -> Decimal:
        return sum((s.unused for s in self.by_sku), Decimal(0))


def cost_json(cost: CurrencyCost) -> dict[str, Any]:
    return {
        "currency": cost.currency,
        "monthlyAdded": _amount(cost.monthly_added),
        "monthlySaved": _amount(cost.monthly_saved),
        "redundantMonthly": _amount(cost.redundant_monthly),
        "unusedMonthly": _amount(cost.unused_monthly),
        "bySku": [
            {
                "skuPartNumber": s.sku_part_number,
                "monthly": _amount(s.monthly),
                "added": _amount(s.added),
                "saved": _amount(s.saved),
                "redundant": _amount(s.redundant),
                "unused": _amount(s.unused),
            }
            for s in cost.by_sku
        ],
    }


def cost_from_json(document: dict[str, Any]) -> CurrencyCost:
    """A saved plan's cost record; ValueError for an amount that is not one (the file's reader says where)."""
    skus = tuple(
        SkuCost(
            str(s["skuPartNumber"]),
            *(_decimal(s[name]) for name in ("monthly", "added", "saved", "redundant", "unused")),
        )
        for s in document["bySku"]
    )
    return CurrencyCost(str(document["currency"]), skus)


def _decimal(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:  # an ArithmeticError, which the file's reader would not take for a bad value
        raise ValueError(f"{str(value)[:40]!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    return amount


def _amount(value: Decimal) -> float:
    """A JSON number with at most two decimals: money as people read it."""
    return float(value.quantize(Decimal("0.01")))
