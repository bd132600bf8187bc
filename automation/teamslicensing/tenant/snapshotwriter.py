"""Apply writes to a snapshot file the way Graph would, so `apply --snapshot` shows the whole cycle offline."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from teamslicensing.graph.requests import group_license_request, reprocess_request, write_request
from teamslicensing.model.outcome import UNREADABLE, OperationState, Write, WriteAttempt, WriteKind
from teamslicensing.model.plan import GroupChange
from teamslicensing.model.tenant import PolicyLookup, policy_key
from teamslicensing.tenant.assign import TenantDocument
from teamslicensing.tenant.assignvoice import TeamsDocument

OPERATIONS = "snapshot:operations/"  # where a snapshot's number writes say their operation is: done at once


class SnapshotWriter:
    """A write backend over a snapshot file: each write edits the snapshot's own JSON through `TenantDocument`
    (seats, usage location, direct vs group-inherited states), and `save` writes the file back atomically. Attempts
    are described as the Graph requests they stand for, so the audit log reads the same as a live run's."""

    batch_size = 20
    concurrency = 1  # one document, edited in order

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as handle:
            self.document: dict[str, Any] = json.load(handle)
        self._tenant = TenantDocument(self.document)
        self._teams = TeamsDocument(self.document)
        self._operations: set[str] = set()

    async def write(
        self,
        writes: Sequence[Write],
        on_answers: Callable[[list[tuple[Write, WriteAttempt]]], None],
        keep_trying: Callable[[], bool],
        on_sent: Callable[[Sequence[Write]], None],
    ) -> list[WriteAttempt]:
        on_sent(writes)
        attempts = [self._apply(write) for write in writes]
        on_answers(list(zip(writes, attempts, strict=True)))
        return attempts

    async def write_groups(self, changes: Sequence[GroupChange], keep_trying: Callable[[], bool]) -> list[WriteAttempt]:
        """Group license writes, processed at once for every direct member (a snapshot has no later)."""
        attempts = []
        for change in changes:
            adds = [(a.sku_id, a.disabled_plans) for a in change.add_licenses]
            removes = [r.sku_id for r in change.remove_licenses]
            status, body = self._tenant.assign_group_license(change.group_id, adds, removes)
            attempts.append(_attempt(group_license_request(change), status, body))
        return attempts

    async def reprocess(self, user_ids: Sequence[str], keep_trying: Callable[[], bool]) -> list[WriteAttempt]:
        return [_attempt(reprocess_request(user_id), *self._tenant.reprocess(user_id)) for user_id in user_ids]

    async def group_states(self, group_ids: Sequence[str]) -> dict[str, str | None]:
        states: dict[str, str | None] = {}
        for group_id in group_ids:
            group = self._tenant.group(group_id)
            processing = group.get("licenseProcessingState") if group else None
            states[group_id] = processing.get("state") if isinstance(processing, dict) else None
        return states

    async def policy_ids(self, wanted: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], PolicyLookup]:
        return {
            policy_key(kind, name): PolicyLookup(kind, name, tuple(self._teams.policy_ids(kind, name)))
            for kind, name in wanted
        }

    async def operations(self, locations: Sequence[str], keep_trying: Callable[[], bool]) -> list[OperationState]:
        """A snapshot's number writes are made when they are sent: their operations have succeeded."""
        return [
            OperationState("succeeded") if location in self._operations else OperationState(UNREADABLE, "unknown")
            for location in locations
        ]

    async def teams_features(self, user_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        """The featureTypes the snapshot's configurations list (a snapshot has no later: Teams sees what it holds)."""
        wanted = {user_id.lower() for user_id in user_ids}
        return {
            str(c["id"]).lower(): frozenset(str(f).lower() for f in c.get("featureTypes") or [])
            for c in self.document.get("userConfigurations") or []
            if str(c.get("id", "")).lower() in wanted
        }

    async def read_users(self, user_ids: Sequence[str]) -> dict[str, Any]:
        found = {user_id.lower(): self._tenant.user(user_id) for user_id in user_ids}
        return {user_id: user for user_id, user in found.items() if user is not None}

    def save(self) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.document, handle, indent=1)
            handle.write("\n")
        os.replace(temporary, self.path)

    def _apply(self, write: Write) -> WriteAttempt:
        change = write.change
        if write.kind.is_voice:
            return self._apply_teams(write)
        if write.kind is WriteKind.USAGE_LOCATION:
            status, body = self._tenant.set_usage_location(change.user_id, change.set_usage_location)
        else:
            adds = [(a.sku_id, a.disabled_plans) for a in change.add_licenses]
            status, body = self._tenant.assign_license(change.user_id, adds, [r.sku_id for r in change.remove_licenses])
        return _attempt(write_request(write), status, body)

    def _apply_teams(self, write: Write) -> WriteAttempt:
        """A number or policy write through `TeamsDocument`; a number's operation is done once it is accepted."""
        user_id, policy, number = write.change.user_id, write.policy, write.number
        if write.kind is WriteKind.POLICY_ASSIGN and policy is not None:
            answer = self._teams.assign_policy(user_id, policy.policy_type, policy.policy_name, str(write.policy_id))
        elif write.kind is WriteKind.POLICY_UNASSIGN and policy is not None:
            answer = self._teams.unassign_policy(user_id, policy.policy_type)
        elif write.kind is WriteKind.NUMBER_UPDATE and number is not None:
            answer = self._teams.update_number(number.number, number.location_id)
        elif write.kind is WriteKind.NUMBER_UNASSIGN and number is not None:
            answer = self._teams.unassign_number(number.number, number.number_type)
        else:
            assert number is not None
            answer = self._teams.assign_number(user_id, number.number, number.number_type, number.location_id)
        attempt = _attempt(write_request(write), *answer)
        if answer[0] != 202:
            return attempt
        location = f"{OPERATIONS}{len(self._operations) + 1}"
        self._operations.add(location)
        return dataclasses.replace(attempt, location=location)


def _attempt(request: tuple[str, str, dict[str, Any] | None], status: int, body: Any) -> WriteAttempt:
    """A snapshot edit described as the Graph request it stands for, with Graph's answer to it."""
    method, url, request_body = request
    error = body.get("error") if isinstance(body, dict) else None
    licenses = body.get("assignedLicenses") if isinstance(body, dict) else None
    return WriteAttempt(
        method=method,
        url=url,
        body=request_body,
        status=status,
        error_message=str(error.get("message")) if isinstance(error, dict) else None,
        request_id=f"snapshot-{uuid.uuid4()}",
        assigned_licenses=licenses if isinstance(licenses, list) else None,
    )
