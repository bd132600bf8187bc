"""Graph's Teams number and policy writes applied to a snapshot document, as the service applies them once an
operation succeeds: `apply --snapshot` writes through it, and the planner's tests use it to check that planning
again after a plan finds nothing to do.

Refused as Teams refuses (the texts Teams PowerShell shows for the same service; Graph documents none): a number
not in the inventory or of another type, a number someone else holds, a user without the license the number needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from teamslicensing.model.capability import Capability
from teamslicensing.model.tenant import INACTIVE_LICENSE_STATES, policy_key
from teamslicensing.reference.catalog import plan_capability
from teamslicensing.tenant.assign import Json, graph_error

NOT_FOUND = "Telephone Number '{number}' is not found from tenant"
TAKEN = "Telephone Number '{number}' has already been assigned to another user"
UNLICENSED = "User '{user}' lacks appropriate licenses to assign a '{kind}' number"
_NEEDED = {
    "callingplan": "CallingPlan",
    "directrouting": "DirectRouting",
    "operatorconnect": "OperatorConnect",
}


class TeamsDocument:
    """The numberAssignments and userConfigurations of a snapshot document; edits change it in place."""

    def __init__(self, document: Json) -> None:
        self.document = document

    def assign_number(self, user_id: str, number: str, number_type: str, location_id: str | None) -> tuple[int, Any]:
        user = self._user(user_id)
        entry = self._number(number)
        if entry is None or str(entry.get("numberType", "")).lower() != number_type.lower():
            return 400, graph_error("BadRequest", NOT_FOUND.format(number=number))
        holder = str(entry.get("assignmentTargetId") or "").lower()
        if str(entry.get("assignmentStatus", "")).lower() != "unassigned" and holder != user_id.lower():
            return 400, graph_error("BadRequest", TAKEN.format(number=number))
        if user is None:
            return 404, graph_error("NotFound", f"User '{user_id}' was not found")
        if not self._licensed(user, number_type):
            kind = _NEEDED.get(number_type.lower(), number_type)
            return 400, graph_error("BadRequest", UNLICENSED.format(user=user_id, kind=kind))
        entry.update(
            assignmentTargetId=str(user["id"]),
            assignmentStatus="userAssigned",
            assignmentCategory="primary",
            locationId=location_id or entry.get("locationId"),
        )
        configuration = self._configuration(user_id)
        if configuration is not None:
            numbers = [n for n in configuration.get("telephoneNumbers") or [] if n.get("telephoneNumber") != number]
            configuration["telephoneNumbers"] = [*numbers, {"telephoneNumber": number, "assignmentCategory": "primary"}]
            configuration["isEnterpriseVoiceEnabled"] = True
        return 202, None

    def unassign_number(self, number: str, number_type: str) -> tuple[int, Any]:
        entry = self._number(number)
        if entry is None or str(entry.get("numberType", "")).lower() != number_type.lower():
            return 400, graph_error("BadRequest", NOT_FOUND.format(number=number))
        holder = str(entry.get("assignmentTargetId") or "")
        entry.update(assignmentTargetId=None, assignmentStatus="unassigned", assignmentCategory=None)
        configuration = self._configuration(holder) if holder else None
        if configuration is not None:
            kept = [n for n in configuration.get("telephoneNumbers") or [] if n.get("telephoneNumber") != number]
            configuration["telephoneNumbers"] = kept
        return 202, None

    def assign_policy(self, user_id: str, policy_type: str, policy_name: str, policy_id: str) -> tuple[int, Any]:
        configuration = self._configuration(user_id)
        if self._user(user_id) is None:
            return 404, graph_error("NotFound", f"User '{user_id}' was not found")
        if configuration is None:  # a snapshot without userConfigurations: nothing to record the policy in
            return 204, None
        kept = [
            p
            for p in configuration.get("effectivePolicyAssignments") or []
            if str(p.get("policyType", "")).lower() != policy_type.lower()
        ]
        assignment = {"displayName": policy_name, "assignmentType": "direct", "policyId": policy_id}
        configuration["effectivePolicyAssignments"] = [
            *kept,
            {"policyType": policy_type, "policyAssignment": assignment},
        ]
        return 204, None

    def unassign_policy(self, user_id: str, policy_type: str) -> tuple[int, Any]:
        """The user's direct policy of the type taken back: a group's, or the org-wide default, applies again (a
        snapshot keeps only what is in effect, so the group one is unknown here: none is shown)."""
        if self._user(user_id) is None:
            return 404, graph_error("NotFound", f"User '{user_id}' was not found")
        configuration = self._configuration(user_id)
        if configuration is not None:
            configuration["effectivePolicyAssignments"] = [
                p
                for p in configuration.get("effectivePolicyAssignments") or []
                if str(p.get("policyType", "")).lower() != policy_type.lower()
                or (p.get("policyAssignment") or {}).get("assignmentType") != "direct"
            ]
        return 204, None

    def update_number(self, number: str, location_id: str | None) -> tuple[int, Any]:
        entry = self._number(number)
        if entry is None:
            return 404, graph_error("NotFound", NOT_FOUND.format(number=number))
        if location_id is not None:
            entry["locationId"] = location_id or None
        return 200, None

    def policy_ids(self, policy_type: str, name: str) -> list[tuple[str, str]]:
        """(name, id) of the policies getPolicyId would answer with: the snapshot's own lookups (an export keeps
        getPolicyId's answers for the policies in effect), else a policy of that type and name in effect for
        someone in the snapshot; none when neither knows it."""
        key = policy_key(policy_type, name)
        for lookup in self.document.get("policies") or []:
            if policy_key(str(lookup.get("policyType", "")), str(lookup.get("name", ""))) == key:
                return [(str(row["name"]), str(row["policyId"])) for row in lookup.get("value") or []]
        for configuration in self.document.get("userConfigurations") or []:
            for effective in configuration.get("effectivePolicyAssignments") or []:
                assignment = effective.get("policyAssignment") or {}
                found = policy_key(str(effective.get("policyType", "")), str(assignment.get("displayName", "")))
                if found == key and assignment.get("policyId"):
                    return [(str(assignment["displayName"]), str(assignment["policyId"]))]
        return []

    def _user(self, user_id: str) -> Json | None:
        return next(
            (u for u in self.document.get("users", []) if str(u.get("id", "")).lower() == user_id.lower()), None
        )

    def _number(self, number: str) -> Json | None:
        return next(
            (n for n in self.document.get("numberAssignments") or [] if n.get("telephoneNumber") == number), None
        )

    def _configuration(self, user_id: str) -> Json | None:
        configurations = self.document.get("userConfigurations") or []
        return next((c for c in configurations if str(c.get("id", "")).lower() == user_id.lower()), None)

    def _licensed(self, user: Json, number_type: str) -> bool:
        capabilities = set(self._capabilities(user))
        if Capability.PHONE_SYSTEM not in capabilities:
            return False
        return number_type.lower() != "callingplan" or Capability.CALLING_PLAN in capabilities

    def _capabilities(self, user: Json) -> Iterator[Capability]:
        skus = {str(s["skuId"]).lower(): s for s in self.document.get("subscribedSkus", [])}
        states = user.get("licenseAssignmentStates") or user.get("assignedLicenses") or []
        for state in states:
            if state.get("state") in INACTIVE_LICENSE_STATES:
                continue
            off = {str(p).lower() for p in state.get("disabledPlans") or []}
            sku = skus.get(str(state["skuId"]).lower()) or {}
            for plan in sku.get("servicePlans") or []:
                if str(plan.get("servicePlanId", "")).lower() in off:
                    continue
                capability = plan_capability(str(plan.get("servicePlanName", "")), plan.get("servicePlanId"))
                if capability is not None:
                    yield capability
