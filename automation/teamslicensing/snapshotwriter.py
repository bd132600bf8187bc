"""Apply writes to a snapshot file the way Graph would, so `apply --snapshot` shows the whole cycle offline."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from teamslicensing.graph import BatchRequest, BatchResponse


class SnapshotWriter:
    """A `WriteBackend` over a snapshot file, so `apply --snapshot` shows the whole cycle offline.

    It applies assignLicense and usage-location writes to the snapshot's own JSON the way Graph would (seats,
    usage location, direct vs group-inherited states) and `save` writes the file back atomically.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as handle:
            self.document: dict[str, Any] = json.load(handle)
        self._users = {str(u["id"]).lower(): u for u in self.document.get("users", [])}
        self._skus = {str(s["skuId"]).lower(): s for s in self.document.get("subscribedSkus", [])}

    async def batch(
        self,
        requests: Sequence[BatchRequest],
        on_attempt: Callable[[BatchRequest, BatchResponse], None] | None = None,
    ) -> list[BatchResponse]:
        answers = []
        for request in requests:
            status, body = self._apply(request)
            answer = BatchResponse(request.id, status, body, f"snapshot-{uuid.uuid4()}")
            if on_attempt is not None:
                on_attempt(request, answer)
            answers.append(answer)
        return answers

    def save(self) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.document, handle, indent=1)
            handle.write("\n")
        os.replace(temporary, self.path)

    def _apply(self, request: BatchRequest) -> tuple[int, Any]:
        parts = request.url.strip("/").split("/")
        user = self._users.get(parts[1].lower()) if len(parts) >= 2 and parts[0] == "users" else None
        if user is None:
            return 404, _graph_error("Request_ResourceNotFound", f"Resource '{request.url}' does not exist.")
        body = request.body or {}
        if request.method == "PATCH":
            user["usageLocation"] = body.get("usageLocation")
            return 204, None
        return self._assign(user, body.get("addLicenses", []), body.get("removeLicenses", []))

    def _assign(self, user: dict[str, Any], adds: list[dict[str, Any]], removes: list[str]) -> tuple[int, Any]:
        states: list[dict[str, Any]] = user.setdefault("licenseAssignmentStates", None) or [
            {**license, "assignedByGroup": None, "state": "Active", "error": "None"}
            for license in user.get("assignedLicenses", [])
        ]
        held = {str(s["skuId"]).lower() for s in states}
        direct = {str(s["skuId"]).lower(): s for s in states if not s.get("assignedByGroup")}
        for add in adds:
            sku = self._skus.get(str(add["skuId"]).lower())
            if sku is None:
                return 400, _graph_error(
                    "Request_BadRequest", f"License {add['skuId']} does not correspond to a valid company License."
                )
            if not user.get("usageLocation"):
                return 400, _graph_error(
                    "Request_BadRequest", "License assignment cannot be done for user with invalid usage location."
                )
            free = (sku.get("prepaidUnits") or {}).get("enabled", 0) - sku.get("consumedUnits", 0)
            if str(add["skuId"]).lower() not in held and free <= 0:
                return 400, _graph_error(
                    "Request_BadRequest", f"Subscription with SKU {add['skuId']} does not have any available licenses."
                )
        for sku_id in removes:
            if sku_id.lower() not in direct:
                return 400, _graph_error(
                    "Request_BadRequest",
                    f"User license {sku_id} is inherited from a group membership and cannot be removed directly "
                    "from the user.",
                )
        for sku_id in removes:
            states.remove(direct.pop(sku_id.lower()))
            if sku_id.lower() not in {str(s["skuId"]).lower() for s in states}:
                self._skus[sku_id.lower()]["consumedUnits"] -= 1
        for add in adds:
            sku_id = str(add["skuId"]).lower()
            if sku_id in direct:
                direct[sku_id]["disabledPlans"] = list(add.get("disabledPlans", []))
                continue
            if sku_id not in {str(s["skuId"]).lower() for s in states}:
                self._skus[sku_id]["consumedUnits"] = self._skus[sku_id].get("consumedUnits", 0) + 1
            states.append(
                {
                    "skuId": sku_id,
                    "disabledPlans": list(add.get("disabledPlans", [])),
                    "assignedByGroup": None,
                    "state": "Active",
                    "error": "None",
                }
            )
        user["licenseAssignmentStates"] = states
        user["assignedLicenses"] = _assigned_licenses(states)
        return 200, {"id": user["id"], "assignedLicenses": user["assignedLicenses"]}


def _assigned_licenses(states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[str, set[str]] = {}
    for state in states:
        disabled = {str(p) for p in state.get("disabledPlans", [])}
        sku_id = str(state["skuId"]).lower()
        merged[sku_id] = merged[sku_id] & disabled if sku_id in merged else disabled
    return [{"skuId": sku_id, "disabledPlans": sorted(plans)} for sku_id, plans in merged.items()]


def _graph_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
