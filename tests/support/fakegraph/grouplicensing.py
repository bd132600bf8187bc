"""Group-based licensing as Entra does it: `POST /groups/{id}/assignLicense` answers 202 and is processed later,
member by member, into each direct member's `licenseAssignmentStates`; seats are taken as members are licensed,
and a member for whom one of the group's SKUs has no seat gets none of the group's products (state Error,
CountViolation). `POST /users/{id}/reprocessLicenseAssignment` processes one user again (GRAPH-FACTS; Entra
group-based licensing docs). Processing runs when `process_group_licenses()` is called, or by itself once
`group_processing_delay` more requests have been handled after the write (0: by the very next request).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.fakegraph.common import (
    Json,
    _holds,
    _key,
    _not_found,
    _Reply,
)
from tests.support.fakegraph.store import TenantStore

QUEUED, COMPLETE = "QueuedForProcessing", "ProcessingComplete"


class GroupLicenseRoutes(TenantStore):
    group_processing_delay: int
    _license_body: Callable[[Any, bool], tuple[dict[str, tuple[str, list[str]]], dict[str, str]] | _Reply]
    # the rules a user's own write is checked against (writes.py): Entra holds group members to the same
    _enabled_plans: Callable[[list[Json]], dict[str, str]]
    _exclusive_conflict: Callable[[dict[str, str]], tuple[str, str] | None]
    _missing_dependency: Callable[[dict[str, str]], tuple[str, list[str]] | None]
    _pending_groups: list[tuple[str, int]]  # (group key, requests handled when it may be processed)
    _handled: int

    def _tick_group_processing(self) -> None:
        self._handled += 1
        due = [key for key, at in self._pending_groups if at <= self._handled]
        if due:
            self._pending_groups = [(key, at) for key, at in self._pending_groups if at > self._handled]
            for key in due:
                self._process_group(key)

    def process_group_licenses(self) -> None:
        """Process every group license write still queued (tests that step Entra by hand)."""
        pending, self._pending_groups = self._pending_groups, []
        for key, _ in pending:
            self._process_group(key)

    def direct_members(self, group_key: str) -> list[str]:
        direct = self._direct_members.get(group_key)
        return list(direct if direct is not None else self._members.get(group_key, []))

    def _assign_group_license(self, reference: str, body: Any, bad_body: bool) -> _Reply:
        group = self._group_index.get(reference.lower())
        if group is None:
            return _not_found(reference)
        parsed = self._license_body(body, bad_body)  # the same checks as a user's assignLicense
        if isinstance(parsed, _Reply):
            return parsed
        adds, removes = parsed
        licenses = {_key(a): a for a in group.get("assignedLicenses") or []}
        for key in removes:
            licenses.pop(key, None)
        for key, (_, disabled) in adds.items():
            licenses[key] = {"skuId": self._skus[key]["skuId"], "disabledPlans": list(disabled)}
        group["assignedLicenses"] = list(licenses.values())
        group["licenseProcessingState"] = {"state": QUEUED}
        key = str(group["id"]).lower()
        self._pending_groups.append((key, self._handled + 1 + self.group_processing_delay))
        return _Reply(202)

    def _reprocess(self, reference: str) -> _Reply:
        user = self.user(reference)
        if user is None:
            return _not_found(reference)
        user_key = str(user["id"]).lower()
        for group_key in list(self._group_index):
            if user_key in {m.lower() for m in self.direct_members(group_key)}:
                self._process_member(group_key, user)
        return _Reply(200, self._user_body(user))

    def _process_group(self, group_key: str) -> None:
        group = self._group_index.get(group_key)
        if group is None:
            return
        for member_id in self.direct_members(group_key):
            user = self.user(member_id)
            if user is not None:
                self._process_member(group_key, user)
        group["licenseProcessingState"] = {"state": COMPLETE}

    def _process_member(self, group_key: str, user: Json) -> None:
        """One member against the group's licenses: all of them Active, or (a seat lacking for one) all in Error."""
        group = self._group_index[group_key]
        states: list[Json] = user.get("licenseAssignmentStates") or []
        others = [s for s in states if str(s.get("assignedByGroup") or "").lower() != group_key]
        licenses = list(group.get("assignedLicenses") or [])
        lacking = [
            _key(a)
            for a in licenses
            if not _holds(states, _key(a))
            and self._consumed[_key(a)] + 1 > int((self._skus[_key(a)].get("prepaidUnits") or {}).get("enabled") or 0)
        ]

        def assignments(error: str) -> list[Json]:
            return [
                {
                    "skuId": a["skuId"],
                    "disabledPlans": list(a.get("disabledPlans") or []),
                    "assignedByGroup": group["id"],
                    "state": "Active" if error == "None" else "Error",
                    "error": error,
                }
                for a in licenses
            ]

        ours = assignments("CountViolation" if lacking else "None")
        if not lacking:  # what the member would hold must be valid, as for a direct write (Entra's error states)
            plans = self._enabled_plans(others + ours)
            if self._exclusive_conflict(plans) is not None:
                ours = assignments("MutuallyExclusiveViolation")
            elif self._missing_dependency(plans) is not None:
                ours = assignments("DependencyViolation")
        new_states = others + ours
        for key in {_key(s) for s in states} | {_key(s) for s in new_states}:
            self._consumed[key] += int(_holds(new_states, key)) - int(_holds(states, key))
        user["licenseAssignmentStates"] = new_states
        touched = {_key(s) for s in states} | {_key(s) for s in new_states}
        user["assignedLicenses"] = self._assigned(new_states, user.get("assignedLicenses") or [], touched)
