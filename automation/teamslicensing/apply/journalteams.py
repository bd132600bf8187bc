"""The Teams writes an audit log records, read back for `undo`: per user, the numbers a run gave and freed and the
policies it assigned or took back, with the policy the user had directly before.

A number write is done when its `operation` record says succeeded, refused when Graph refused it (a 4xx result) or
its operation failed, and unknown when it was accepted and its operation never seen to end (or no answer came): an
unknown write is undone too, if the tenant shows it happened. A policy write is done on a 2xx result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teamslicensing.model.outcome import RecordedPolicy, RecordedVoice, WriteKind

TEAMS_KINDS = frozenset(kind.value for kind in WriteKind if kind.is_voice)


@dataclass
class _TeamsWrite:
    kind: str
    subject: str  # the number, or the policy type
    number_type: str | None = None
    policy_after: str | None = None  # the name assigned (None: taken back)
    policy_before: str | None = None  # the user's direct policy of the type before (None: none direct)
    outcome: str = "unknown"  # "done", "refused" or "unknown"


@dataclass
class TeamsJournal:
    """The Teams writes of a log, as its records come."""

    users: dict[str, tuple[str, list[_TeamsWrite]]] = field(default_factory=dict)  # user id -> (upn, writes)
    _by_seq: dict[tuple[str, int], _TeamsWrite] = field(default_factory=dict)

    def take(self, record: dict[str, Any], user_id: str, seq: int) -> None:
        key = (str(record.get("runId")), seq)
        if record.get("type") == "intent":
            written = _intent(record)
            if written is not None:
                self._by_seq[key] = written
                self.users.setdefault(user_id, (str(record.get("userPrincipalName")), []))[1].append(written)
        elif key in self._by_seq:
            self._by_seq[key].outcome = _outcome(record, self._by_seq[key])

    def recorded(self) -> dict[str, tuple[str, RecordedVoice]]:
        """User id -> (UPN, what the log's Teams writes did to them), for users with a write not refused."""
        found: dict[str, tuple[str, RecordedVoice]] = {}
        for user_id, (upn, writes) in self.users.items():
            kept = [w for w in writes if w.outcome != "refused"]
            if not kept:
                continue
            policies: dict[str, RecordedPolicy] = {}
            for w in kept:
                if w.kind in (WriteKind.POLICY_ASSIGN.value, WriteKind.POLICY_UNASSIGN.value):
                    first = policies.get(w.subject.lower())
                    before = first.before if first is not None else w.policy_before  # before the first write
                    policies[w.subject.lower()] = RecordedPolicy(w.subject, before, w.policy_after)
            both = _round_trips(kept)
            voice = RecordedVoice(
                assigned=tuple(n for n in _numbers(kept, WriteKind.NUMBER_ASSIGN) if n[0] not in both),
                freed=tuple(n for n in _numbers(kept, WriteKind.NUMBER_UNASSIGN) if n[0] not in both),
                policies=tuple(policies.values()),
            )
            found[user_id] = (upn, voice)
        return found


def _round_trips(writes: list[_TeamsWrite]) -> set[str]:
    """Numbers the run both freed and assigned to the user, every such write done: a replaced number given back
    when its replacement failed. The user holds it as before; undo has nothing to do with it."""
    kinds = (WriteKind.NUMBER_ASSIGN.value, WriteKind.NUMBER_UNASSIGN.value)
    touched: dict[str, set[tuple[str, str]]] = {}
    for w in writes:
        if w.kind in kinds:
            touched.setdefault(w.subject, set()).add((w.kind, w.outcome))
    return {number for number, seen in touched.items() if seen == {(kinds[0], "done"), (kinds[1], "done")}}


def _numbers(writes: list[_TeamsWrite], kind: WriteKind) -> tuple[tuple[str, str], ...]:
    return tuple(dict.fromkeys((w.subject, w.number_type or "") for w in writes if w.kind == kind.value))


def _intent(record: dict[str, Any]) -> _TeamsWrite | None:
    kind = str(record.get("kind"))
    raw_before = record.get("before")
    before: dict[str, Any] = raw_before if isinstance(raw_before, dict) else {}
    raw_teams = record.get("teams")
    teams: dict[str, Any] = raw_teams if isinstance(raw_teams, dict) else {}
    if kind in (WriteKind.POLICY_ASSIGN.value, WriteKind.POLICY_UNASSIGN.value):
        policy_type = teams.get("policyType") or before.get("policyType")
        if not policy_type:
            return None
        direct = before.get("policyName") if before.get("assignmentType") == "direct" else None
        after = teams.get("policyName") if kind == WriteKind.POLICY_ASSIGN.value else None
        return _TeamsWrite(kind, str(policy_type), None, _text(after), _text(direct))
    number = teams.get("telephoneNumber") or before.get("telephoneNumber")
    if not number:
        return None
    return _TeamsWrite(kind, str(number), _text(teams.get("numberType") or before.get("numberType")))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _outcome(record: dict[str, Any], written: _TeamsWrite) -> str:
    kind = record.get("type")
    if kind == "operation":
        status = record.get("status")
        return "done" if status == "succeeded" else "refused" if status == "failed" else "unknown"
    if kind != "result":
        return written.outcome
    try:
        status = int(record.get("status") or 0)
    except (TypeError, ValueError):
        status = 0
    trusted = bool(record.get("trustworthy", True))
    if trusted and 400 <= status < 500:
        return "refused"  # a 429 too: Graph did nothing with it; a later attempt may say otherwise
    number_write = written.kind in (WriteKind.NUMBER_ASSIGN.value, WriteKind.NUMBER_UNASSIGN.value)
    if trusted and 200 <= status < 300 and not number_write:
        return "done"
    return "unknown"  # accepted (its operation says more, when it ended), or no answer to rely on
