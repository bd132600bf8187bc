"""The tenant the fake holds: subscriptions with their seats and plans, users, groups and members, loaded from a
snapshot document and handed back as one."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from tests.support.fakegraph.common import (
    DEFAULT_USER_PROPERTIES,
    USER_COLLECTIONS,
    USER_PROPERTIES,
    Json,
    _key,
)


class TenantStore:
    """State and accessors shared by every part of the fake (the parts are mixins over it)."""

    base_url: str
    _base_path: str
    page_size_limit: int
    latency: float
    write_quota: tuple[int, float] | None
    write_bucket: tuple[float, float] | None
    tenant_write_quota: tuple[int, float] | None
    _tokens: float
    _filter_cache: dict[str, tuple[bool, list[Json]]]
    _refilled: float
    _tenant_times: deque[float]
    apply_throttled_writes: bool
    fractional_retry_after: bool
    enforce_dependencies: bool
    _clock: Callable[[], float]
    _rng: random.Random
    requests: list[tuple[str, str]]
    writes: list[dict[str, Any]]
    _write_times: deque[float]
    _outright: deque[float]
    _item_throttles: deque[float]
    _failures: deque[int]
    _lost_answers: deque[str]
    _headers: dict[str, str]
    _extra: dict[str, Any]
    roles: frozenset[str]

    def _load_skus(self, skus: Iterable[Json]) -> None:
        self._skus: dict[str, Json] = {}
        self._consumed: dict[str, int] = {}
        self._plans: dict[str, tuple[tuple[str, str], ...]] = {}  # sku -> ((plan id, plan name), ...)
        self._plan_ids_by_name: dict[str, list[str]] = {}
        for raw in skus:
            key = str(raw["skuId"]).strip().lower()
            self._skus[key] = dict(raw)
            self._consumed[key] = int(raw.get("consumedUnits") or 0)
            plans = []
            for plan in raw.get("servicePlans") or []:
                plan_id = str(plan["servicePlanId"]).strip().lower()
                name = str(plan.get("servicePlanName") or plan_id).strip()
                plans.append((plan_id, name))
                known = self._plan_ids_by_name.setdefault(name, [])
                if plan_id not in known:
                    known.append(plan_id)
            self._plans[key] = tuple(plans)

    def _load_users(self, users: Iterable[Json]) -> None:
        self._users: list[Json] = []
        self._user_index: dict[str, int] = {}
        keys: set[str] = set()
        for raw in users:
            user = dict(raw)
            keys.update(user)
            if user.get("licenseAssignmentStates") is None:  # older exports: every license counts as direct
                user["licenseAssignmentStates"] = [
                    {
                        "skuId": a["skuId"],
                        "disabledPlans": list(a.get("disabledPlans") or []),
                        "assignedByGroup": None,
                        "state": "Active",
                        "error": "None",
                    }
                    for a in user.get("assignedLicenses") or []
                ]
            if user.get("assignedLicenses") is None:
                states = user["licenseAssignmentStates"]
                user["assignedLicenses"] = self._assigned(states, [], {_key(s) for s in states})
            position = len(self._users)
            self._users.append(user)
            self._user_index[str(user["id"]).lower()] = position
            upn = user.get("userPrincipalName")
            if isinstance(upn, str):
                self._user_index.setdefault(upn.lower(), position)
        self._user_properties = {name.lower(): name for name in USER_PROPERTIES | keys}

    def _load_groups(self, groups: Iterable[Json]) -> None:
        self._groups: list[Json] = []
        self._group_index: dict[str, Json] = {}
        self._groups_by_name: dict[str, list[Json]] = {}
        self._members: dict[str, list[str]] = {}
        self._direct_members: dict[str, list[str]] = {}
        for raw in groups:
            group = {k: v for k, v in raw.items() if k not in ("members", "directMembers")}
            key = str(group["id"]).lower()
            self._groups.append(group)
            self._group_index[key] = group
            self._members[key] = [str(m) for m in raw.get("members") or []]
            if raw.get("directMembers") is not None:  # else the members are all direct
                self._direct_members[key] = [str(m) for m in raw["directMembers"]]
            name = group.get("displayName")
            if isinstance(name, str):
                self._groups_by_name.setdefault(name.lower(), []).append(group)

    def document(self) -> dict[str, Any]:
        """The tenant now, as a snapshot document (nested lists are shared with the fake: treat as read-only)."""
        skus = []
        for key, sku in self._skus.items():
            copy = dict(sku)
            copy["consumedUnits"] = self._consumed[key]
            skus.append(copy)
        groups = [{**group, "members": list(self._members[str(group["id"]).lower()])} for group in self._groups]
        for group in groups:
            direct = self._direct_members.get(str(group["id"]).lower())
            if direct is not None:
                group["directMembers"] = list(direct)
        return {
            **self._extra,
            "subscribedSkus": skus,
            "users": [dict(user) for user in self._users],
            "groups": groups,
        }

    def _licenses_written(self, user: Json, before: list[Json]) -> None:
        """A user's licenses just changed from `before` (the Teams part keeps what Teams still sees a while)."""

    def user(self, reference: str) -> Json | None:
        """The current user object by id or UPN (case-insensitive), for assertions; None if unknown."""
        position = self._user_index.get(reference.lower())
        return None if position is None else self._users[position]

    def consumed_units(self, sku_id: str) -> int:
        return self._consumed[sku_id.lower()]

    def _user_body(self, user: Json, fields: Sequence[str] = DEFAULT_USER_PROPERTIES) -> Json:
        return {"@odata.context": f"{self.base_url}/$metadata#users/$entity", **self._user_fields_of(user, fields)}

    @staticmethod
    def _user_fields_of(user: Json, fields: Sequence[str]) -> Json:
        """The user's `fields`; one the document lacks as Graph sends it: [] for a collection, else null."""
        return {n: user.get(n, [] if n in USER_COLLECTIONS else None) for n in fields}

    @staticmethod
    def _assigned(states: list[Json], previous: list[Json], touched: set[str]) -> list[Json]:
        """assignedLicenses: one entry per SKU held; a plan is disabled only if every assignment disables it."""
        entries: dict[str, Json] = {}
        for state in states:
            key = _key(state)
            disabled = [str(p) for p in state.get("disabledPlans") or []]
            entry = entries.get(key)
            if entry is None:
                entries[key] = {"skuId": state["skuId"], "disabledPlans": disabled}
            else:
                keep = {p.lower() for p in disabled}
                entry["disabledPlans"] = [p for p in entry["disabledPlans"] if p.lower() in keep]
        result: list[Json] = []
        seen: set[str] = set()
        for old in previous:  # untouched entries stay as they were, and every entry keeps its place
            key = _key(old)
            if key in seen:
                continue
            if key not in touched:
                result.append(old)
                seen.add(key)
            elif key in entries:
                result.append(entries[key])
                seen.add(key)
        result.extend(entry for key, entry in entries.items() if key not in seen and key in touched)
        return result

    @staticmethod
    def _fill_inner_error(body: Any, request_id: str, client_request_id: str) -> None:
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body["error"]["innerError"] = {
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
