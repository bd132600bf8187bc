"""The plan as one CSV table for spreadsheets: a `kind` column (change, group change, gap, seat), one row per
license add or removal, usage location, gap and seat line."""

from __future__ import annotations

import csv
import io

from teamslicensing.model.plan import Plan
from teamslicensing.report.common import product_name

COLUMNS = ("kind", "user", "userId", "action", "skuPartNumber", "productName", "severity", "code", "detail")


def plan_csv(plan: Plan) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for change in plan.changes:
        who = (change.user_principal_name, change.user_id)
        rules = ", ".join(change.rules) or "prune"
        if change.set_usage_location:
            writer.writerow(["change", *who, "usageLocation", "", "", "", "", change.set_usage_location])
        for add in change.add_licenses:
            detail = f"rules: {rules}" + (
                f"; disabled plans: {' '.join(add.disabled_plans)}" if add.disabled_plans else ""
            )
            writer.writerow(
                ["change", *who, "add", add.sku_part_number, product_name(add.sku_part_number) or "", "", "", detail]
            )
        for remove in change.remove_licenses:
            detail = f"rules: {rules}" + (
                "; DESTRUCTIVE: " + ", ".join(change.phone_numbers) if change.destructive else ""
            )
            writer.writerow(
                [
                    "change",
                    *who,
                    "remove",
                    remove.sku_part_number,
                    product_name(remove.sku_part_number) or "",
                    "",
                    "",
                    detail,
                ]
            )
    for group in plan.group_changes:
        for add in group.add_licenses:
            writer.writerow(
                [
                    "groupChange",
                    group.group_name,
                    group.group_id,
                    "add",
                    add.sku_part_number,
                    product_name(add.sku_part_number) or "",
                    "",
                    "",
                    f"{group.members} direct members",
                ]
            )
        for remove in group.remove_licenses:
            writer.writerow(
                [
                    "groupChange",
                    group.group_name,
                    group.group_id,
                    "remove",
                    remove.sku_part_number,
                    product_name(remove.sku_part_number) or "",
                    "",
                    "",
                    f"{group.members} direct members",
                ]
            )
    for gap in plan.gaps:
        writer.writerow(
            [
                "gap",
                gap.user_principal_name or "",
                "",
                "",
                gap.sku_part_number or "",
                product_name(gap.sku_part_number) or "" if gap.sku_part_number else "",
                gap.severity.value,
                gap.code.value,
                gap.message,
            ]
        )
    for seat in plan.seats:
        detail = (
            f"enabled {seat.enabled}; consumed {seat.consumed}; to add {seat.to_add}; to remove {seat.to_remove}; "
            f"available {seat.available}; shortfall {seat.shortfall}; redundant {seat.redundant}"
        )
        writer.writerow(
            ["seat", "", "", "", seat.sku_part_number, product_name(seat.sku_part_number) or "", "", "", detail]
        )
    return out.getvalue()
