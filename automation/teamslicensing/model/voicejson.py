"""The JSON contract of a change's numbers and policies and of the plan's number pools: `numberChanges`,
`policyChanges`, `numberPools`, read back exactly as written (saved plans)."""

from __future__ import annotations

from typing import Any

from teamslicensing.model.voicechange import (
    NumberAction,
    NumberChange,
    NumberPool,
    PolicyAction,
    PolicyChange,
)


def number_change_json(change: NumberChange) -> dict[str, Any]:
    return {
        "action": change.action.value,
        "telephoneNumber": change.number,
        "numberType": change.number_type,
        "locationId": change.location_id,
        "afterLicense": change.after_license,
        "source": change.source,
    }


def number_change_from_json(c: dict[str, Any]) -> NumberChange:
    location = c.get("locationId")
    return NumberChange(
        NumberAction(c["action"]),
        str(c["telephoneNumber"]),
        str(c["numberType"]),
        None if location is None else str(location),
        bool(c.get("afterLicense", False)),
        str(c.get("source", "")),
    )


def policy_change_json(change: PolicyChange) -> dict[str, Any]:
    return {
        "action": change.action.value,
        "policyType": change.policy_type,
        "policyName": change.policy_name,
        "rule": change.rule,
    }


def policy_change_from_json(c: dict[str, Any]) -> PolicyChange:
    return PolicyChange(PolicyAction(c["action"]), str(c["policyType"]), str(c["policyName"]), str(c.get("rule", "")))


def number_pool_json(pool: NumberPool) -> dict[str, Any]:
    return {
        "isoCountryCode": pool.iso_country_code,
        "numberType": pool.number_type,
        "free": pool.free,
        "needed": pool.needed,
        "short": pool.short,
    }


def number_pool_from_json(p: dict[str, Any]) -> NumberPool:
    return NumberPool(str(p["isoCountryCode"]), str(p["numberType"]), int(p["free"]), int(p["needed"]), int(p["short"]))
