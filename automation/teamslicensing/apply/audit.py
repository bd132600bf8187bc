"""The audit log: JSON Lines, written ahead of every write (README, *Audit log*).

Record types (`"audit": 2` in each): `header` (tool version, tenant, config digest, run id) before anything is sent;
`intent` per write before its batch is sent (user, request, and the state before: licenses, or for a Teams write
who held the number or which policy was in effect); `result` per attempt after Graph's answer (a number write's
with the `location` of its operation); `operation` when a number write's operation ended, or was given up on;
`verified` when a write without a trustworthy answer was read back; `end` with the run's summary.
Records are flushed and fsynced per batch, so a write the process sent always has its intent on disk, whatever
happens to the process afterwards. An `OSError` while logging is raised as `AuditError`: the executor then stops
taking batches.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, TextIO

from teamslicensing import __version__
from teamslicensing.errors import UsageError
from teamslicensing.graph.requests import group_license_request, reprocess_request, write_request
from teamslicensing.model.outcome import STATUSES, ApplyResult, OperationState, Write, WriteAttempt, WriteKind
from teamslicensing.model.plan import GroupChange
from teamslicensing.model.tenant import TeamsUserConfiguration, Tenant, TenantUser
from teamslicensing.model.voicejson import number_change_json, policy_change_json

AUDIT_VERSION = 2
# records copied into a job's output stream (the runbook) carry this prefix, so `undo` can read the output itself
MIRROR_PREFIX = "teams-licensing audit: "
GROUP_KIND = "groupLicenses"  # the kind of a group license write's records
REPROCESS_KIND = "reprocess"  # and of a reprocessLicenseAssignment call's


class AuditError(Exception):
    """The audit log could not be written (disk full, file gone read-only): no further write may be sent."""


def default_audit_path(folder: str | Path = ".") -> Path:
    return Path(folder) / f"teams-licensing-audit-{datetime.now(timezone.utc):%Y%m%dT%H%M%S.%fZ}.jsonl"


def license_state(user: TenantUser | None) -> dict[str, Any] | None:
    """A user's usage location and licenses (with disabled plans and where they come from), as the log keeps them."""
    if user is None:
        return None
    return {
        "usageLocation": user.usage_location,
        "licenses": [
            {"skuId": a.sku_id, "disabledPlans": sorted(a.disabled_plans), "assignedByGroup": a.assigned_by_group}
            for a in user.licenses
        ],
    }


@dataclass(frozen=True)
class TeamsBefore:
    """The Teams state a plan was made from, for the `before` of Teams writes (what `undo` restores): who held each
    number of the inventory, and each user's policies in effect."""

    holders: Mapping[str, str | None] = field(default_factory=dict)  # number -> holder's id (None: free)
    configurations: Mapping[str, TeamsUserConfiguration] = field(default_factory=dict)

    @classmethod
    def of(cls, tenant: Tenant) -> TeamsBefore:
        holders: dict[str, str | None] = {n.number: None for n in tenant.free_numbers}
        holders.update({n.number: n.user_id for n in tenant.numbers or ()})
        return cls(holders, tenant.teams_users or {})

    def state(self, write: Write) -> dict[str, Any]:
        """A number's holder, or the policy in effect of the write's type (None: the org-wide default)."""
        if write.number is not None:
            fallback = write.change.user_id if write.kind is WriteKind.NUMBER_UNASSIGN else None
            return {
                "telephoneNumber": write.number.number,
                "numberType": write.number.number_type,
                "assignedTo": self.holders.get(write.number.number, fallback),
            }
        assert write.policy is not None
        configuration = self.configurations.get(write.change.user_id)
        current = configuration.policy(write.policy.policy_type) if configuration is not None else None
        return {
            "policyType": write.policy.policy_type,
            "policyName": current.name if current else None,
            "policyId": current.policy_id if current else None,
            "assignmentType": current.assignment_type if current else None,
        }


class AuditLog:
    """One run's records in one file. `open` checks the file can be written before anything is sent."""

    def __init__(self, out: IO[str], before: Mapping[str, TenantUser], run_id: str | None = None) -> None:
        self._out = out
        self._before = before
        self.run_id = run_id or str(uuid.uuid4())
        self._seq: dict[tuple[str, ...], int] = {}  # a write's key (user id, kind, what) -> its intent's number
        self._next = 0

    mirror: TextIO | None = None  # a second copy of every record, prefixed (a job output that outlives the job)
    teams: TeamsBefore = TeamsBefore()  # the Teams state before the run (a run writing numbers or policies)

    @classmethod
    def open(
        cls, path: str | Path, before: Mapping[str, TenantUser], *, append: bool = False, mirror: TextIO | None = None
    ) -> AuditLog:
        """Open `path` for this run: a new file, or (with `append`) the end of an existing one. With `mirror`,
        each record also goes there, prefixed with MIRROR_PREFIX, before the write it announces is sent."""
        target = Path(path)
        if not append and target.exists() and target.stat().st_size > 0:
            raise UsageError(
                f"audit log {target} already holds a run: one run per file, so name a new file "
                "(or pass --append-audit to add this run to it); nothing was written"
            )
        try:
            out = open(target, "a", encoding="utf-8")  # noqa: SIM115 -- held for the run; `close` ends it
            if append and target.stat().st_size and not _ends_with_newline(target):
                out.write("\n")  # the last run was cut short mid-line: this run's records start on a line of their own
        except OSError as exc:
            raise UsageError(
                f"cannot write the audit log {target}: {exc.strerror or exc}; nothing was written"
            ) from exc
        log = cls(out, before)
        log.mirror = mirror
        return log

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a failure was reported when its record was written
            self._out.close()

    # ---- records -------------------------------------------------------------------------------------------------

    def header(self, *, tenant_id: str | None, config_digest: str | None, source: str, mode: str, planned: int) -> None:
        self._emit(
            [
                {
                    "type": "header",
                    "tool": "teams-licensing",
                    "version": __version__,
                    "mode": mode,
                    "tenantId": tenant_id,
                    "configDigest": config_digest,
                    "source": source,
                    "planned": planned,
                    "pid": os.getpid(),
                }
            ]
        )

    def intents(self, writes: Sequence[Write]) -> None:
        """Before a batch is sent: one record per write, on disk before this returns."""
        records = []
        for write in writes:
            change = write.change
            self._next += 1
            self._seq[write.key] = self._next
            record = {
                "type": "intent",
                "seq": self._next,
                "userId": change.user_id,
                "userPrincipalName": change.user_principal_name,
                "kind": write.kind.value,
                "request": _request(write),
            }
            if write.kind.is_voice:
                record["teams"] = _teams_change(write)
                record["before"] = self.teams.state(write)
            else:
                record["before"] = license_state(self._before.get(change.user_id))
            records.append(record)
        self._emit(records)

    def results(self, answers: Iterable[tuple[Write, WriteAttempt]]) -> None:
        records = []
        for write, attempt in answers:
            after = attempt.assigned_licenses
            records.append(
                {
                    "type": "result",
                    "seq": self._seq.get(write.key),
                    "userId": write.change.user_id,
                    "userPrincipalName": write.change.user_principal_name,
                    "kind": write.kind.value,
                    "request": {"method": attempt.method, "url": attempt.url, "body": attempt.body},
                    "status": attempt.status,
                    "attempt": attempt.attempt,
                    "trustworthy": attempt.trustworthy,
                    "requestId": attempt.request_id,
                    "error": attempt.error_message,
                    "after": {"assignedLicenses": after} if after is not None else None,
                    **({"location": attempt.location} if write.kind.is_operation else {}),
                }
            )
        if records:
            self._emit(records)

    def operations(self, ended: Iterable[tuple[Write, str, OperationState]]) -> None:
        """A number write's operation, as it ended (succeeded, failed) or as it was left (still running at a stop,
        unreadable): what `undo` believes of the write."""
        records = [
            {
                "type": "operation",
                "seq": self._seq.get(write.key),
                "userId": write.change.user_id,
                "userPrincipalName": write.change.user_principal_name,
                "kind": write.kind.value,
                "location": location,
                "status": state.status,
                "statusDetail": state.detail,
            }
            for write, location, state in ended
        ]
        if records:
            self._emit(records)

    def verified(self, write: Write, state: str, current: TenantUser | None) -> None:
        self._emit(
            [
                {
                    "type": "verified",
                    "seq": self._seq.get(write.key),
                    "userId": write.change.user_id,
                    "userPrincipalName": write.change.user_principal_name,
                    "kind": write.kind.value,
                    "state": state,
                    "current": license_state(current),
                }
            ]
        )

    def group_intents(self, changes: Sequence[GroupChange]) -> None:
        """Before group writes are sent: one record each (kind "groupLicenses"; `undo` leaves groups alone)."""
        records = []
        for change in changes:
            self._next += 1
            self._seq[(change.group_id, GROUP_KIND)] = self._next
            method, url, body = group_license_request(change)
            records.append(
                {
                    "type": "intent",
                    "seq": self._next,
                    "groupId": change.group_id,
                    "groupName": change.group_name,
                    "kind": GROUP_KIND,
                    "request": {"method": method, "url": url, "body": body},
                    "members": change.members,
                }
            )
        self._emit(records)

    def group_results(self, answers: Iterable[tuple[GroupChange, WriteAttempt]]) -> None:
        records = [
            {
                "type": "result",
                "seq": self._seq.get((change.group_id, GROUP_KIND)),
                "groupId": change.group_id,
                "groupName": change.group_name,
                "kind": GROUP_KIND,
                "request": {"method": attempt.method, "url": attempt.url, "body": attempt.body},
                "status": attempt.status,
                "attempt": attempt.attempt,
                "trustworthy": attempt.trustworthy,
                "requestId": attempt.request_id,
                "error": attempt.error_message,
            }
            for change, attempt in answers
        ]
        if records:
            self._emit(records)

    def reprocess_intents(self, targets: Sequence[tuple[str, str]]) -> None:
        """Before reprocessLicenseAssignment calls: (user id, UPN) each (kind "reprocess"; `undo` skips them)."""
        records = []
        for user_id, upn in targets:
            self._next += 1
            self._seq[(user_id, REPROCESS_KIND)] = self._next
            method, url, body = reprocess_request(user_id)
            request = {"method": method, "url": url, "body": body}
            records.append(
                {
                    "type": "intent",
                    "seq": self._next,
                    "userId": user_id,
                    "userPrincipalName": upn,
                    "kind": REPROCESS_KIND,
                    "request": request,
                }
            )
        self._emit(records)

    def reprocess_results(self, answers: Iterable[tuple[tuple[str, str], WriteAttempt]]) -> None:
        records = [
            {
                "type": "result",
                "seq": self._seq.get((user_id, REPROCESS_KIND)),
                "userId": user_id,
                "userPrincipalName": upn,
                "kind": REPROCESS_KIND,
                "status": attempt.status,
                "requestId": attempt.request_id,
                "error": attempt.error_message,
            }
            for (user_id, upn), attempt in answers
        ]
        if records:
            self._emit(records)

    def end(self, result: ApplyResult) -> None:
        record: dict[str, Any] = {"type": "end", "planned": result.planned, "notAttempted": result.not_attempted}
        record.update({status: result.count(status) for status in STATUSES})
        record["stopped"] = None if result.stopped is None else result.stopped.reason.value
        self._emit([record])

    def _emit(self, records: list[dict[str, Any]]) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        text = "".join(
            json.dumps({"audit": AUDIT_VERSION, "runId": self.run_id, "time": now, **record}) + "\n"
            for record in records
        )
        try:
            self._out.write(text)
            self._out.flush()
            os.fsync(self._out.fileno())
            if self.mirror is not None:
                self.mirror.write("".join(MIRROR_PREFIX + line + "\n" for line in text.splitlines()))
                self.mirror.flush()
        except OSError as exc:
            raise AuditError(f"cannot write the audit log: {exc.strerror or exc}") from exc
        except ValueError as exc:  # the file was closed under us
            raise AuditError(f"cannot write the audit log: {exc}") from exc


def _teams_change(write: Write) -> dict[str, Any]:
    """The number or policy change a Teams write makes, as the JSON plan writes it (what `undo` reads back)."""
    if write.number is not None:
        return number_change_json(write.number)
    assert write.policy is not None
    return policy_change_json(write.policy)


def _request(write: Write) -> dict[str, Any]:
    method, url, body = write_request(write)
    return {"method": method, "url": url, "body": body}


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
