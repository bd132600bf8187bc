"""What a planned write becomes on the wire: method, URL and body of each Graph request, and OData literals."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from teamslicensing.model.outcome import Write, WriteKind
from teamslicensing.model.plan import GroupChange, UserChange


def assign_license_body(change: UserChange | GroupChange) -> dict[str, Any]:
    """Both arrays, always: Graph answers 400 "missing parameters" otherwise.

    Source: docs/explanation/facts.md, *License writes*."""
    return {
        "addLicenses": [{"skuId": a.sku_id, "disabledPlans": list(a.disabled_plans)} for a in change.add_licenses],
        "removeLicenses": [r.sku_id for r in change.remove_licenses],
    }


def write_request(write: Write) -> tuple[str, str, dict[str, Any]]:
    """(method, URL relative to the version root, body) of one write."""
    change = write.change
    if write.kind is WriteKind.USAGE_LOCATION:
        return "PATCH", f"/users/{change.user_id}", {"usageLocation": change.set_usage_location}
    return "POST", f"/users/{change.user_id}/assignLicense", assign_license_body(change)


def group_license_request(change: GroupChange) -> tuple[str, str, dict[str, Any]]:
    """`POST /groups/{id}/assignLicense` (Graph answers 202 Accepted; Entra then processes every direct member)."""
    return "POST", f"/groups/{change.group_id}/assignLicense", assign_license_body(change)


def reprocess_request(user_id: str) -> tuple[str, str, None]:
    """`POST /users/{id}/reprocessLicenseAssignment`: Entra evaluates the user's group licenses again."""
    return "POST", f"/users/{user_id}/reprocessLicenseAssignment", None


def odata_string(value: str) -> str:
    """A string literal for $filter: single quotes doubled, then URL-encoded."""
    return quote("'" + value.replace("'", "''") + "'", safe="")
