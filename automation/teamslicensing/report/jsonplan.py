"""The plan as JSON: a contract scripts read (README, *Planning*); field names never change within a version."""

from __future__ import annotations

from typing import Any

from teamslicensing.model.plan import Plan, SeatLine, UserChange

JSON_VERSION = 1


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "changes": [_change_json(change) for change in plan.changes],
        "gaps": [
            {
                "code": gap.code.value,
                "severity": gap.severity.value,
                "userPrincipalName": gap.user_principal_name,
                "skuPartNumber": gap.sku_part_number,
                "message": gap.message,
            }
            for gap in plan.gaps
        ],
        "seats": [_seat_json(seat) for seat in plan.seats],
    }


def _change_json(change: UserChange) -> dict[str, Any]:
    return {
        "userId": change.user_id,
        "userPrincipalName": change.user_principal_name,
        "setUsageLocation": change.set_usage_location,
        "addLicenses": [
            {"skuId": add.sku_id, "skuPartNumber": add.sku_part_number, "disabledPlans": list(add.disabled_plans)}
            for add in change.add_licenses
        ],
        "removeLicenses": [
            {"skuId": remove.sku_id, "skuPartNumber": remove.sku_part_number} for remove in change.remove_licenses
        ],
        "rules": list(change.rules),
        "destructive": change.destructive,
    }


def _seat_json(seat: SeatLine) -> dict[str, Any]:
    return {
        "skuId": seat.sku_id,
        "skuPartNumber": seat.sku_part_number,
        "enabled": seat.enabled,
        "consumed": seat.consumed,
        "toAdd": seat.to_add,
        "toRemove": seat.to_remove,
        "available": seat.available,
        "shortfall": seat.shortfall,
        "redundant": seat.redundant,
    }
