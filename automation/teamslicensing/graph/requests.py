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


NUMBER_ACTIONS = "/admin/teams/telephoneNumberManagement/numberAssignments"
POLICY_ACTIONS = "/admin/teams/policy/userAssignments"
POLICY_ASSIGNMENT = "#microsoft.graph.teamsAdministration.teamsPolicyUserAssignment"


def write_request(write: Write) -> tuple[str, str, dict[str, Any]]:
    """(method, URL relative to the version root, body) of one write."""
    change = write.change
    if write.kind is WriteKind.USAGE_LOCATION:
        return "PATCH", f"/users/{change.user_id}", {"usageLocation": change.set_usage_location}
    if write.kind.is_voice:
        return teams_request(write)
    return "POST", f"/users/{change.user_id}/assignLicense", assign_license_body(change)


def teams_request(write: Write) -> tuple[str, str, dict[str, Any]]:
    """A number or policy write, as the teamsAdministration actions take it (Graph v1.0 CSDL): one number or one
    policy assignment per request, so each has its own answer, audit record and undo."""
    if write.policy is not None:
        item: dict[str, Any] = {
            "@odata.type": POLICY_ASSIGNMENT,
            "userId": write.change.user_id,
            "policyType": write.policy.policy_type,
        }
        if write.kind is WriteKind.POLICY_ASSIGN:
            item["policyId"] = write.policy_id
            return "POST", f"{POLICY_ACTIONS}/assign", {"value": [item]}
        return "POST", f"{POLICY_ACTIONS}/unassign", {"value": [item]}
    number = write.number
    assert number is not None, "a Teams write names its number or policy"
    if write.kind is WriteKind.NUMBER_UNASSIGN:
        unassign = {"telephoneNumber": number.number, "numberType": number.number_type}
        return "POST", f"{NUMBER_ACTIONS}/unassignNumber", unassign
    if write.kind is WriteKind.NUMBER_UPDATE:
        update = {"telephoneNumber": number.number, "locationId": number.location_id}
        return "POST", f"{NUMBER_ACTIONS}/updateNumber", update
    body: dict[str, Any] = {
        "telephoneNumber": number.number,
        "assignmentTargetId": write.change.user_id,
        "numberType": number.number_type,
        "assignmentCategory": "primary",
    }
    if number.location_id:
        body["locationId"] = number.location_id
    return "POST", f"{NUMBER_ACTIONS}/assignNumber", body


def group_license_request(change: GroupChange) -> tuple[str, str, dict[str, Any]]:
    """`POST /groups/{id}/assignLicense` (Graph answers 202 Accepted; Entra then processes every direct member)."""
    return "POST", f"/groups/{change.group_id}/assignLicense", assign_license_body(change)


def reprocess_request(user_id: str) -> tuple[str, str, None]:
    """`POST /users/{id}/reprocessLicenseAssignment`: Entra evaluates the user's group licenses again."""
    return "POST", f"/users/{user_id}/reprocessLicenseAssignment", None


def odata_string(value: str) -> str:
    """A string literal for $filter: single quotes doubled, then URL-encoded."""
    return quote("'" + value.replace("'", "''") + "'", safe="")
