"""What applying a plan did: each write as the executor hands it to a backend, each attempt's answer, every planned
user's result, and why a run stopped early. Read by the audit log and the reports; produced by `apply`."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from teamslicensing.model.plan import UserChange
from teamslicensing.model.voicechange import NumberChange, PolicyChange

# A UserResult's status (JSON contract: docs/reference/json-contracts.md, *The apply result*)
APPLIED = "applied"  # written, and Graph (or a read-back) confirms it
FAILED = "failed"  # Graph refused it, or the user was changed by someone else while we wrote
IN_SYNC = "inSync"  # not written by this run: the user was already in the planned state (another run did it)
STALE = "stale"  # saved plan or undo: the user's state differs from the one the plan rested on; not written
UNKNOWN = "unknown"  # sent, no answer came, and a read-back could not settle it: run `plan` to see the state
STATUSES = (APPLIED, FAILED, IN_SYNC, STALE, UNKNOWN)
NOT_ATTEMPTED = "notAttempted"  # a result entry only: the run stopped before the user's writes were all sent


class WriteKind(str, enum.Enum):
    LICENSES = "licenses"  # one assignLicense with the user's adds and removals together
    USAGE_LOCATION = "usageLocation"  # one PATCH of the user's usage location
    POLICY_ASSIGN = "policyAssign"  # one userAssignments/assign: one policy type for one user
    POLICY_UNASSIGN = "policyUnassign"  # one userAssignments/unassign (undo: the user had no direct policy)
    NUMBER_UNASSIGN = "numberUnassign"  # one unassignNumber, followed to the end of its operation
    NUMBER_ASSIGN = "numberAssign"  # one assignNumber, followed to the end of its operation
    NUMBER_UPDATE = "numberUpdate"  # one updateNumber (the number's emergency location)

    @property
    def is_voice(self) -> bool:
        """A Teams write (a number or a policy): several per user, each its own request."""
        return self not in (WriteKind.LICENSES, WriteKind.USAGE_LOCATION)

    @property
    def is_operation(self) -> bool:
        """Answered 202 with the operation to follow in `Location`."""
        return self in (WriteKind.NUMBER_ASSIGN, WriteKind.NUMBER_UNASSIGN)


class StopReason(str, enum.Enum):
    """Why an apply took no more batches before the plan was done (JSON contract)."""

    INTERRUPTED = "interrupted"  # SIGINT (Ctrl-C)
    TERMINATED = "terminated"  # SIGTERM (a job being stopped)
    TIME_BUDGET = "timeBudget"  # --time-budget would have been exceeded
    AUDIT_FAILED = "auditFailed"  # the audit log could not be written
    GRAPH_ERROR = "graphError"  # Graph refused the run itself (401, 403) or stayed unreachable
    TENANT_LOCKED = "tenantLocked"  # another run held the tenant's lease for all of the lease wait: nothing read
    LEASE_LOST = "leaseLost"  # the tenant's lease could not be renewed: another run may write from now on


@dataclass(frozen=True)
class Write:
    """One write of one planned change; the backend decides how it travels (a $batch item, a snapshot edit). A
    Teams write names the number or policy it is about; a policy assignment carries the id getPolicyId gave."""

    kind: WriteKind
    change: UserChange
    number: NumberChange | None = None
    policy: PolicyChange | None = None
    policy_id: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """(user id, kind, what it is about): unique in a run, as the audit log pairs records by it."""
        about = self.number.number if self.number else self.policy.policy_type.lower() if self.policy else ""
        return self.change.user_id, self.kind.value, about


@dataclass(frozen=True)
class WriteAttempt:
    """One attempt at a write, as the backend saw it: what was sent, and what came back."""

    method: str
    url: str  # relative to the Graph version root
    body: dict[str, Any] | None
    status: int  # HTTP status; 0 when no answer came
    error_message: str | None  # Graph's message when the attempt failed
    request_id: str | None
    attempt: int = 1
    assigned_licenses: list[Any] | None = None  # the user's assignedLicenses in Graph's answer, when it sent them
    trustworthy: bool = True  # False when the answer cannot be relied on (an item missing, an id answered twice)
    location: str | None = None  # a 202's Location: the operation that carries the write out

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def uncertain(self) -> bool:
        """The write may or may not have happened: no answer, a server error, or an answer we cannot trust."""
        return not self.trustworthy or self.status == 0 or self.status >= 500


OPERATION_ENDS = ("succeeded", "failed")  # longRunningOperationStatus members that end an operation (v1.0 CSDL)
UNREADABLE = "unreadable"  # ours: the operation cannot be followed (another origin, gone, refused)


@dataclass(frozen=True)
class OperationState:
    """A number operation as last read: Graph's status (`notStarted`, `running`, `succeeded`, `failed`,
    `unknownFutureValue`) or UNREADABLE, with the number's statusDetail (or why it cannot be read)."""

    status: str
    detail: str | None = None

    @property
    def ended(self) -> bool:
        return self.status in OPERATION_ENDS or self.status == UNREADABLE


@dataclass(frozen=True)
class UserResult:
    user_id: str
    user_principal_name: str
    status: str  # one of STATUSES
    reason: str | None = None


@dataclass(frozen=True)
class Stop:
    reason: StopReason
    message: str


@dataclass(frozen=True, repr=False)
class ApplyResult:
    """What a run did. Applied users are counted, not listed (the audit log names every one: at 100,000 users a
    list was tens of megabytes where the runbook has 400); every other planned user has an entry in `results`."""

    results: tuple[UserResult, ...]  # in plan order: users not applied (failed, stale, inSync, unknown, notAttempted)
    seconds: float
    planned: int  # users the plan changes: applied + the entries of `results` + those `--limit` left
    stopped: Stop | None = None  # why the run took no more batches, when it stopped early
    left_by_limit: int = 0  # users `--limit` left for a later run (counted in `not_attempted` too)
    audit_error: str | None = None  # the audit log failed: the run stopped, and the log may lack records
    groups: tuple[UserResult, ...] = ()  # group license writes tried (user_id: the group id; upn: its name)
    groups_planned: int = 0
    groups_processing: tuple[str, ...] | None = None  # --wait: groups Entra had not finished when it ran out
    applied: int = 0  # users whose every write is confirmed (a caller listing them in `results` counts there too)

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run formats the repr of its main task, result included, when it restores the
        # SIGINT handler (seen on CPython 3.11); a full repr of a 100,000-user tenant was a 95 MB string.
        return f"ApplyResult({self.applied} of {self.planned} users applied, {len(self.groups)} groups)"

    def count(self, status: str) -> int:
        listed = sum(1 for result in self.results if result.status == status)
        return listed + (self.applied if status == APPLIED else 0)

    @property
    def not_attempted(self) -> int:
        """Planned users with no write of theirs sent in full: those listed as such, and those `--limit` left."""
        return self.planned - self.applied - sum(1 for result in self.results if result.status != NOT_ATTEMPTED)

    @property
    def failed(self) -> tuple[UserResult, ...]:
        return tuple(result for result in self.results + self.groups if result.status in (FAILED, UNKNOWN))

    @property
    def work_remains(self) -> bool:
        """A later run has something to do: users not attempted, or skipped as stale."""
        return self.not_attempted > 0 or self.count(STALE) > 0 or len(self.groups) < self.groups_planned


@dataclass(frozen=True)
class RecordedUser:
    """A user as an audit log saw them: direct licenses (sku -> disabled plans) before the first write it records,
    and after the last write it records as applied. `undo` restores `before` when the user is still at `after`."""

    user_id: str
    user_principal_name: str
    before: Mapping[str, frozenset[str]]
    after: Mapping[str, frozenset[str]]
    possible_after: Mapping[str, frozenset[str]] | None = None  # also with the writes sent and never answered
    voice: RecordedVoice | None = None  # the Teams writes the log shows done, or sent and never settled
    wrote_licenses: bool = True  # False: the log records only Teams writes for the user (before/after are empty)


@dataclass(frozen=True)
class RecordedPolicy:
    """A policy an audited run assigned (or took back), and the one the user had directly before it."""

    policy_type: str
    before: str | None  # the name of the user's direct policy of that type before the run; None: none direct
    after: str | None  # the name the run assigned; None: the run took the direct one back


@dataclass(frozen=True)
class RecordedVoice:
    """What an audited run did to a user's Teams numbers and policies (writes done, or sent and never settled)."""

    assigned: tuple[tuple[str, str], ...] = ()  # (number, numberType) the run gave the user
    freed: tuple[tuple[str, str], ...] = ()  # (number, numberType) the run took from the user
    policies: tuple[RecordedPolicy, ...] = ()
