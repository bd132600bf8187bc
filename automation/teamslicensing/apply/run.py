"""One run of writes as the executor, the read-back and the group writes share it: where writes go (`WriteBackend`:
Graph's $batch, or a snapshot file), the audit log, the stop switch, and what has been settled so far."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from teamslicensing.apply.audit import AuditError, AuditLog
from teamslicensing.apply.stop import StopSwitch
from teamslicensing.model.outcome import OperationState, StopReason, UserResult, Write, WriteAttempt, WriteKind
from teamslicensing.model.plan import GroupChange
from teamslicensing.model.tenant import PolicyLookup, TenantUser

Progress = Callable[[int, int], None]  # (writes settled, writes planned)
Answers = Callable[[list[tuple[Write, WriteAttempt]]], None]  # every round of answers, as they come


class WriteBackend(Protocol):
    batch_size: int  # writes per call of `write`
    concurrency: int  # calls of `write` in flight at once

    async def write(
        self,
        writes: Sequence[Write],
        on_answers: Answers,
        keep_trying: Callable[[], bool],
        on_sent: Callable[[Sequence[Write]], None],
    ) -> list[WriteAttempt]:
        """Send `writes`; tell `on_sent` the writes of every round just before it leaves and `on_answers` every
        round of answers; stop retrying once `keep_trying()` is False. Returns the last attempt of each write."""
        ...

    async def read_users(self, user_ids: Sequence[str]) -> dict[str, Any]:
        """The users as Graph's JSON objects now, by lower-case id (absent: not found)."""
        ...

    async def write_groups(self, changes: Sequence[GroupChange], keep_trying: Callable[[], bool]) -> list[WriteAttempt]:
        """Send up to `batch_size` group license writes at once; the last attempt of each, in order."""
        ...

    async def reprocess(self, user_ids: Sequence[str], keep_trying: Callable[[], bool]) -> list[WriteAttempt]:
        """Ask Entra to process the users' group licenses again (up to `batch_size` at once)."""
        ...

    async def group_states(self, group_ids: Sequence[str]) -> dict[str, str | None]:
        """Each group's licenseProcessingState now (None when it cannot be read)."""
        ...

    async def policy_ids(self, wanted: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], PolicyLookup]:
        """getPolicyId for each (policy type, name), once each: the answers by `policy_key`. Raises GraphError
        when Graph refuses (a missing permission) or answers what cannot be read."""
        ...

    async def operations(self, locations: Sequence[str], keep_trying: Callable[[], bool]) -> list[OperationState]:
        """Each number operation (by the `Location` its write was answered with) as it is now, in order."""
        ...

    async def teams_features(self, user_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        """The Teams features each user has now (their configuration's featureTypes, lower case), by lower-case
        id; a user whose configuration could not be read is absent."""
        ...


@dataclass
class WriteRun:
    backend: WriteBackend
    audit: AuditLog
    switch: StopSwitch
    before: Mapping[str, TenantUser]
    progress: Progress | None
    total: int
    done: int = 0
    final: dict[tuple[str, WriteKind], WriteAttempt] = field(default_factory=dict)
    results: dict[str, UserResult] = field(default_factory=dict)  # settled users: failures, in-sync, unknown
    audit_error: str | None = None
    lost_batches: int = 0  # batches in a row that got no usable answer at all
    answered: dict[tuple[str, WriteKind], WriteAttempt] = field(default_factory=dict)  # last answer per write
    at_graph: set[tuple[str, WriteKind]] = field(default_factory=set)  # sent, and its answer not yet in
    abandoned: set[tuple[str, WriteKind]] = field(default_factory=set)  # cut off at a stop while at Graph
    voice_sent: set[str] = field(default_factory=set)  # users with a Teams write sent
    voice_left: dict[str, int] = field(default_factory=dict)  # user -> their Teams writes not yet confirmed

    def note(self, count: int) -> None:
        self.done += count
        if self.progress:
            self.progress(self.done, self.total)

    def on_sent(self, writes: Sequence[Write]) -> None:
        self.at_graph.update((write.change.user_id, write.kind) for write in writes)

    def on_answers(self, answers: list[tuple[Write, WriteAttempt]]) -> None:
        for write, attempt in answers:
            self.answered[(write.change.user_id, write.kind)] = attempt
            self.at_graph.discard((write.change.user_id, write.kind))
        try:
            self.audit.results(answers)
        except AuditError as exc:
            self.audit_failed(str(exc))

    def audit_failed(self, message: str) -> None:
        self.audit_error = self.audit_error or message
        self.switch.request(StopReason.AUDIT_FAILED, message)
