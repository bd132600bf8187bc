"""Graph's license writes applied to tenant data in Graph's own JSON (a snapshot document), as Graph applies them.

The one place the product edits tenant JSON: `apply --snapshot` writes through it, and the planner's tests use it to
check that planning again after applying a plan finds nothing to do. Graph's rules followed here: an add needs a
subscription, a usage location and a free seat unless the user already holds the SKU; only direct assignments can
be removed; an add for a SKU held directly replaces its disabled plans; a user consumes one seat per SKU however many
ways they hold it, and an assignment in state Error or Disabled gives nothing and holds no seat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from teamslicensing.model.tenant import INACTIVE_LICENSE_STATES

Json = dict[str, Any]

INVALID_LICENSE = "License {sku} does not correspond to a valid company License."
NO_USAGE_LOCATION = "License assignment cannot be done for user with invalid usage location."
NO_SEATS = "Subscription with SKU {sku} does not have any available licenses."
INHERITED = "User license {sku} is inherited from a group membership and cannot be removed directly from the user."


class TenantDocument:
    """A snapshot document with its users and subscriptions indexed by id; edits change the document in place."""

    def __init__(self, document: Json) -> None:
        self.document = document
        self._users = {str(u["id"]).lower(): u for u in document.get("users", [])}
        self._skus = {str(s["skuId"]).lower(): s for s in document.get("subscribedSkus", [])}

    def user(self, user_id: str) -> Json | None:
        return self._users.get(user_id.lower())

    def set_usage_location(self, user_id: str, location: str | None) -> tuple[int, Json | None]:
        user = self.user(user_id)
        if user is None:
            return 404, graph_error("Request_ResourceNotFound", f"Resource '{user_id}' does not exist.")
        user["usageLocation"] = location
        return 204, None

    def assign_license(
        self, user_id: str, adds: Sequence[tuple[str, Sequence[str]]], removes: Sequence[str]
    ) -> tuple[int, Json]:
        """One assignLicense: `adds` as (skuId, disabled plan ids), `removes` as skuIds; all or nothing."""
        user = self.user(user_id)
        if user is None:
            return 404, graph_error("Request_ResourceNotFound", f"Resource '{user_id}' does not exist.")
        states: list[Json] = user.get("licenseAssignmentStates") or [
            {**license, "assignedByGroup": None, "state": "Active", "error": "None"}
            for license in user.get("assignedLicenses", [])
        ]
        held = _seat_holding(states)
        direct = {str(s["skuId"]).lower(): s for s in states if not s.get("assignedByGroup")}
        for sku_id, _ in adds:
            sku = self._skus.get(sku_id.lower())
            if sku is None:
                return 400, graph_error("Request_BadRequest", INVALID_LICENSE.format(sku=sku_id))
            if not user.get("usageLocation"):
                return 400, graph_error("Request_BadRequest", NO_USAGE_LOCATION)
            if sku_id.lower() not in held and _free(sku) <= 0:
                return 400, graph_error("Request_BadRequest", NO_SEATS.format(sku=sku_id))
        for sku_id in removes:
            if sku_id.lower() not in direct:
                return 400, graph_error("Request_BadRequest", INHERITED.format(sku=sku_id))
        states = [s for s in states if s.get("assignedByGroup") or str(s["skuId"]).lower() not in _lower(removes)]
        for sku_id, disabled in adds:
            existing = direct.get(sku_id.lower())
            if existing is not None and existing in states:
                existing["disabledPlans"] = list(disabled)
            else:
                states.append(
                    {
                        "skuId": sku_id.lower(),
                        "disabledPlans": list(disabled),
                        "assignedByGroup": None,
                        "state": "Active",
                        "error": "None",
                    }
                )
        after = _seat_holding(states)
        for sku_id in after - held:
            self._skus[sku_id]["consumedUnits"] = self._skus[sku_id].get("consumedUnits", 0) + 1
        for sku_id in held - after:
            if sku_id in self._skus:
                self._skus[sku_id]["consumedUnits"] = self._skus[sku_id].get("consumedUnits", 0) - 1
        user["licenseAssignmentStates"] = states
        user["assignedLicenses"] = assigned_licenses(states)
        return 200, {"id": user["id"], "assignedLicenses": user["assignedLicenses"]}

    def group(self, group_id: str) -> Json | None:
        return next(
            (g for g in self.document.get("groups", []) if str(g.get("id", "")).lower() == group_id.lower()), None
        )

    def assign_group_license(
        self, group_id: str, adds: Sequence[tuple[str, Sequence[str]]], removes: Sequence[str]
    ) -> tuple[int, Json | None]:
        """One group assignLicense, then Entra's processing of it at once (Graph answers 202 and processes later;
        a snapshot has no later): each direct member inherits the group's SKUs, a member for whom a seat is
        lacking gets the assignment in state Error with CountViolation, and removed SKUs leave every member."""
        group = self.group(group_id)
        if group is None:
            return 404, graph_error("Request_ResourceNotFound", f"Resource '{group_id}' does not exist.")
        for sku_id, _ in adds:
            if sku_id.lower() not in self._skus:
                return 400, graph_error("Request_BadRequest", INVALID_LICENSE.format(sku=sku_id))
        licenses = {str(a["skuId"]).lower(): a for a in group.get("assignedLicenses") or []}
        for sku_id in removes:
            licenses.pop(sku_id.lower(), None)
        for sku_id, disabled in adds:
            licenses[sku_id.lower()] = {"skuId": sku_id.lower(), "disabledPlans": list(disabled)}
        group["assignedLicenses"] = list(licenses.values())
        group["licenseProcessingState"] = {"state": "ProcessingComplete"}
        key = str(group["id"]).lower()
        members = group.get("directMembers")
        for member_id in members if members is not None else group.get("members") or []:
            user = self.user(str(member_id))
            if user is not None:
                self._process_member(user, key, licenses)
        return 202, None

    def reprocess(self, user_id: str) -> tuple[int, Json | None]:
        """reprocessLicenseAssignment: every group that licenses the user, evaluated again (seats bought since)."""
        user = self.user(user_id)
        if user is None:
            return 404, graph_error("Request_ResourceNotFound", f"Resource '{user_id}' does not exist.")
        for group in self.document.get("groups", []):
            members = group.get("directMembers")
            members = members if members is not None else group.get("members") or []
            if str(user["id"]).lower() in {str(m).lower() for m in members} and group.get("assignedLicenses"):
                licenses = {str(a["skuId"]).lower(): a for a in group["assignedLicenses"]}
                self._process_member(user, str(group["id"]).lower(), licenses)
        return 200, {"id": user["id"], "assignedLicenses": user.get("assignedLicenses", [])}

    def _process_member(self, user: Json, group_id: str, licenses: dict[str, Json]) -> None:
        states: list[Json] = list(user.get("licenseAssignmentStates") or [])
        held = _seat_holding(states)
        others = [s for s in states if str(s.get("assignedByGroup") or "").lower() != group_id]
        ours = {str(s["skuId"]).lower(): s for s in states if str(s.get("assignedByGroup") or "").lower() == group_id}
        for sku_id, license in licenses.items():
            state = ours.get(sku_id) or {"skuId": sku_id, "assignedByGroup": group_id}
            state["disabledPlans"] = list(license.get("disabledPlans") or [])
            holding = sku_id in _seat_holding(others) or (sku_id in held and state.get("state") == "Active")
            if holding or _free(self._skus[sku_id]) > 0:  # one seat per SKU, however many ways it is held
                state.update(state="Active", error="None")
            else:
                state.update(state="Error", error="CountViolation")
            others.append(state)
        after = _seat_holding(others)
        for sku_id in after - held:
            self._skus[sku_id]["consumedUnits"] = self._skus[sku_id].get("consumedUnits", 0) + 1
        for sku_id in held - after:
            if sku_id in self._skus:
                self._skus[sku_id]["consumedUnits"] = self._skus[sku_id].get("consumedUnits", 0) - 1
        user["licenseAssignmentStates"] = others
        user["assignedLicenses"] = assigned_licenses(others)


def assigned_licenses(states: Iterable[Json]) -> list[Json]:
    """`assignedLicenses` as Graph derives it from the states: one entry per SKU, a plan disabled only if every
    assignment of that SKU disables it."""
    merged: dict[str, set[str]] = {}
    for state in states:
        disabled = {str(p) for p in state.get("disabledPlans", [])}
        sku_id = str(state["skuId"]).lower()
        merged[sku_id] = merged[sku_id] & disabled if sku_id in merged else disabled
    return [{"skuId": sku_id, "disabledPlans": sorted(plans)} for sku_id, plans in merged.items()]


def graph_error(code: str, message: str) -> Json:
    return {"error": {"code": code, "message": message}}


def _seat_holding(states: Iterable[Json]) -> set[str]:
    return {str(s["skuId"]).lower() for s in states if s.get("state") not in INACTIVE_LICENSE_STATES}


def _free(sku: Json) -> int:
    return int((sku.get("prepaidUnits") or {}).get("enabled", 0)) - int(sku.get("consumedUnits", 0))


def _lower(values: Iterable[str]) -> set[str]:
    return {value.lower() for value in values}
