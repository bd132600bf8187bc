"""What applying a plan did: each write as the executor hands it to a backend, each attempt's answer, and every
planned user's result. Read by the audit log and the reports; produced by `apply`."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from teamslicensing.model.plan import UserChange

APPLIED, FAILED = "applied", "failed"  # a UserResult's status (JSON contract)


class WriteKind(str, enum.Enum):
    LICENSES = "licenses"  # one assignLicense with the user's adds and removals together
    USAGE_LOCATION = "usageLocation"  # one PATCH of the user's usage location


@dataclass(frozen=True)
class Write:
    """One write of one planned change; the backend decides how it travels (a $batch item, a snapshot edit)."""

    kind: WriteKind
    change: UserChange


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

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class UserResult:
    user_id: str
    user_principal_name: str
    status: str  # APPLIED or FAILED
    reason: str | None = None


@dataclass(frozen=True)
class ApplyResult:
    results: tuple[UserResult, ...]  # in plan order, one per planned user that was tried
    seconds: float
    planned: int  # users the plan changes; those without a result were not tried

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def not_tried(self) -> int:
        return self.planned - len(self.results)

    @property
    def failed(self) -> tuple[UserResult, ...]:
        return tuple(result for result in self.results if result.status == FAILED)
