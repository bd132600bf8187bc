"""The write routes: PATCH of a user, and assignLicense with Graph's validations, texts and seat accounting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.fakegraph.common import (
    BAD_JSON,
    CREDITS_PLAN,
    DEPENDS,
    EXCLUSIVE,
    EXCLUSIVE_CALLING_PLANS,
    INACTIVE_STATES,
    INHERITED,
    INVALID_LICENSE,
    INVALID_USAGE_LOCATION,
    MISSING_PARAMETERS,
    NO_CHANGES,
    NO_SEATS,
    NOT_HELD,
    READ_ONLY_USER_PROPERTIES,
    USAGE_LOCATION,
    Json,
    _bad_request,
    _holds,
    _key,
    _license_changes,
    _not_found,
    _Reply,
)
from tests.support.fakegraph.store import TenantStore


class WriteRoutes(TenantStore):
    """PATCH /users/{id} and POST /users/{id}/assignLicense."""

    def _patch_user(self, reference: str, body: Any, bad_body: bool) -> _Reply:
        user = self.user(reference)
        if user is None:
            return _not_found(reference)
        if bad_body or not isinstance(body, dict):
            return _bad_request(BAD_JSON, "BadRequest")
        changes: Json = {}
        for name, value in body.items():
            canonical = self._user_properties.get(name.lower())
            if canonical is None:
                return _bad_request(f"Property '{name}' does not exist as a declared property or extension property.")
            if canonical in READ_ONLY_USER_PROPERTIES:
                return _bad_request(f"Property '{canonical}' is read-only and cannot be set.")
            if (
                canonical == "usageLocation"
                and value is not None
                and not (isinstance(value, str) and USAGE_LOCATION.fullmatch(value))
            ):
                return _bad_request("Invalid value specified for property 'usageLocation' of resource 'User'.")
            changes[canonical] = value
        user.update(changes)
        return _Reply(204)

    def _assign_license(self, reference: str, body: Any, bad_body: bool) -> _Reply:
        user = self.user(reference)
        if user is None:
            return _not_found(reference)
        parsed = self._license_body(body, bad_body)
        if isinstance(parsed, _Reply):
            return parsed
        adds, removes = parsed
        # then, in the order the brief fixes: usage location, seats, removals, exclusivity, dependencies
        if adds and not user.get("usageLocation"):
            return _bad_request(INVALID_USAGE_LOCATION)
        states: list[Json] = user["licenseAssignmentStates"]
        new_states = self._end_states(states, adds, removes)
        for key in adds:
            if not _holds(states, key) and _holds(new_states, key):
                enabled = int((self._skus[key].get("prepaidUnits") or {}).get("enabled") or 0)
                if self._consumed[key] + 1 > enabled:  # free seats = prepaidUnits.enabled - consumedUnits
                    return _bad_request(NO_SEATS.format(sku=self._skus[key]["skuId"]))
        for key in removes:
            direct = any(_key(s) == key and s.get("assignedByGroup") is None for s in states)
            if not direct:
                inherited = any(_key(s) == key for s in states)
                return _bad_request(INHERITED if inherited else NOT_HELD)
        plans = self._enabled_plans(new_states)
        conflict = self._exclusive_conflict(plans)
        if conflict is not None:
            return _bad_request(EXCLUSIVE.format(first=conflict[0], second=conflict[1]))
        if self.enforce_dependencies:
            dependency = self._missing_dependency(plans)
            if dependency is not None:
                return _bad_request(DEPENDS.format(plan=dependency[0], needs=", ".join(dependency[1])))
        touched = set(adds) | set(removes)
        for key in touched:
            self._consumed[key] += int(_holds(new_states, key)) - int(_holds(states, key))
        self._licenses_written(user, states)
        user["licenseAssignmentStates"] = new_states
        user["assignedLicenses"] = self._assigned(new_states, user.get("assignedLicenses") or [], touched)
        return _Reply(200, self._user_body(user))

    def _license_body(
        self, body: Any, bad_body: bool
    ) -> tuple[dict[str, tuple[str, list[str]]], dict[str, str]] | _Reply:
        """An assignLicense body (a user's or a group's): both arrays, something to do, SKUs the tenant has."""
        if bad_body or not isinstance(body, dict):
            return _bad_request(BAD_JSON, "BadRequest")
        # both arrays are required, even when one is empty (GRAPH-FACTS; msgraph-sdk-powershell#3361)
        missing = [name for name in ("addLicenses", "removeLicenses") if body.get(name) is None]
        if missing:
            return _bad_request(MISSING_PARAMETERS.format(names=", ".join(missing)))
        parsed = _license_changes(body["addLicenses"], body["removeLicenses"])
        if isinstance(parsed, _Reply):
            return parsed
        adds, removes = parsed
        if not adds and not removes:
            return _bad_request(NO_CHANGES)
        for given in [*(sku for sku, _ in adds.values()), *removes.values()]:
            if given.strip().lower() not in self._skus:
                return _bad_request(INVALID_LICENSE.format(sku=given))
        return adds, removes

    def _end_states(
        self, states: list[Json], adds: dict[str, tuple[str, list[str]]], removes: dict[str, str]
    ) -> list[Json]:
        """The user's states after the call: direct ones removed or replaced; group ones untouched."""
        result: list[Json] = []
        replaced: set[str] = set()
        for state in states:
            key = _key(state)
            if state.get("assignedByGroup") is None:
                if key in removes:
                    continue
                if key in adds:
                    # disabledPlans replaces the SKU's list; [] re-enables every plan (GRAPH-FACTS)
                    result.append({**state, "disabledPlans": list(adds[key][1]), "state": "Active", "error": "None"})
                    replaced.add(key)
                    continue
            result.append(state)
        for key, (_, disabled) in adds.items():
            if key not in replaced:
                result.append(
                    {
                        "skuId": self._skus[key]["skuId"],
                        "disabledPlans": list(disabled),
                        "assignedByGroup": None,
                        "state": "Active",
                        "error": "None",
                    }
                )
        return result

    def _enabled_plans(self, states: list[Json]) -> dict[str, str]:
        """Plan id -> name of every plan in effect: SKU plans minus disabledPlans, group-inherited included."""
        plans: dict[str, str] = {}
        for state in states:
            if state.get("state") in INACTIVE_STATES:
                continue
            disabled = {str(p).lower() for p in state.get("disabledPlans") or []}
            for plan_id, name in self._plans.get(_key(state), ()):
                if plan_id not in disabled:
                    plans.setdefault(plan_id, name)
        return plans

    @staticmethod
    def _exclusive_conflict(plans: dict[str, str]) -> tuple[str, str] | None:
        calling = [plan_id for plan_id, name in plans.items() if name in EXCLUSIVE_CALLING_PLANS]
        names = {plans[p] for p in calling}
        if len(names) < 2:
            return None
        first = calling[0]
        second = next(p for p in calling if plans[p] != plans[first])
        return first, second

    def _missing_dependency(self, plans: dict[str, str]) -> tuple[str, list[str]] | None:
        names = set(plans.values())
        phone = any(n.startswith("MCOEV") for n in names)
        audio = any(n.startswith("MCOMEETADV") for n in names)
        for plan_id, name in plans.items():
            if name.startswith("MCOPSTN") and name != CREDITS_PLAN and not phone:  # Calling Plan needs Phone System
                return plan_id, self._plan_ids(lambda n: n.startswith("MCOEV"), "MCOEV")
            if name == CREDITS_PLAN and not (phone or audio):  # Credits need Audio Conferencing or Phone System
                return plan_id, self._plan_ids(lambda n: n.startswith(("MCOMEETADV", "MCOEV")), "MCOMEETADV, MCOEV")
        return None

    def _plan_ids(self, wanted: Callable[[str], bool], fallback: str) -> list[str]:
        ids = [i for name, found in self._plan_ids_by_name.items() if wanted(name) for i in found]
        return ids or [fallback]
