"""The plan's cost in the human formats: a table per currency (what the plan adds and saves per month, what
redundant and unused seats cost), and the HTML tiles. Shown only when the configuration gives prices."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from html import escape

from teamslicensing.model.cost import CurrencyCost

COST_HEADER = ("SKU", "price", "added", "saved", "redundant", "unused")
COST_LEGEND = (
    "per month: added and saved by this plan's seats; redundant: direct assignments another license already covers "
    "(REDUNDANT_LICENSE); unused: seats paid for and assigned to nobody once the plan is applied"
)


def money(value: Decimal, currency: str) -> str:
    return f"{currency} {value:,.2f}"


def cost_headline(cost: CurrencyCost) -> str:
    """`USD: +86.00 added, -22.00 saved per month; redundant 4.00, unused 1,515.00`."""
    return (
        f"{cost.currency}: +{cost.monthly_added:,.2f} added, -{cost.monthly_saved:,.2f} saved per month; "
        f"redundant {cost.redundant_monthly:,.2f}, unused {cost.unused_monthly:,.2f}"
    )


def cost_lines(costs: Sequence[CurrencyCost], *, markdown: bool) -> Iterator[str]:
    for cost in costs:
        rows = [
            (s.sku_part_number, s.monthly, s.added, s.saved, s.redundant, s.unused)
            for s in cost.by_sku
            if s.added or s.saved or s.redundant or s.unused
        ]
        if markdown:
            yield f"**{cost_headline(cost)}**"
            yield ""
            yield "| " + " | ".join(COST_HEADER) + " |"
            yield "|---|" + "---:|" * (len(COST_HEADER) - 1)
            yield from ("| " + " | ".join([row[0], *(f"{v:,.2f}" for v in row[1:])]) + " |" for row in rows)
            yield ""
            continue
        yield f"  {cost_headline(cost)}"
        width = max([len(COST_HEADER[0]), *(len(row[0]) for row in rows)])
        yield "    " + COST_HEADER[0].ljust(width) + "".join(f"{h:>12}" for h in COST_HEADER[1:])
        yield from ("    " + row[0].ljust(width) + "".join(f"{v:>12,.2f}" for v in row[1:]) for row in rows)


def cost_tiles(costs: Sequence[CurrencyCost]) -> Iterator[str]:
    """The plan's monthly cost and saving, a tile each per currency, beside the summary tiles."""
    for cost in costs:
        yield _tile("added per month", cost.monthly_added, cost.currency, "warn" if cost.monthly_added else "ok")
        yield _tile("saved per month", cost.monthly_saved, cost.currency, "ok")


def _tile(label: str, value: Decimal, currency: str, kind: str) -> str:
    return f"<div class='tile cost {kind}'><b>{escape(money(value, currency))}</b>{escape(label)}</div>"


def cost_html(costs: Sequence[CurrencyCost]) -> Iterator[str]:
    """Per currency: what redundant and unused seats cost, and every priced SKU's share."""
    yield "<h2>Cost per month</h2>\n"
    for cost in costs:
        yield "<div class='tiles'>"
        yield _tile(
            "redundant seats", cost.redundant_monthly, cost.currency, "warn" if cost.redundant_monthly else "ok"
        )
        yield _tile("unused seats", cost.unused_monthly, cost.currency, "warn" if cost.unused_monthly else "ok")
        yield "</div>\n<table><tr>" + "".join(f"<th>{h}</th>" for h in COST_HEADER) + "</tr>"
        for s in cost.by_sku:
            if s.added or s.saved or s.redundant or s.unused:
                cells = [f"<td><code>{escape(s.sku_part_number)}</code></td>"]
                cells += [f"<td class='n'>{v:,.2f}</td>" for v in (s.monthly, s.added, s.saved, s.redundant, s.unused)]
                yield "<tr>" + "".join(cells) + "</tr>"
        yield "</table>\n"
    yield f"<p class='legend'>{escape(COST_LEGEND)}</p>\n"
