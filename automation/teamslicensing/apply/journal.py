"""Read an audit log back (`undo`): per user, the direct licenses before the run and after its applied writes, and
what its Teams writes did (`journalteams`).

Reads both record schemas: version 2 (`"audit": 2`: intent, result, verified records) and version 1 (one record
per attempt with `before` and `status`). A line cut short by a crash or a full disk (the last one, or one
right before the header of a run appended later) is ignored; any other line that is not a record is an error
naming `FILE:LINE`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from teamslicensing.apply.audit import MIRROR_PREFIX
from teamslicensing.apply.journalteams import TEAMS_KINDS, TeamsJournal
from teamslicensing.errors import UsageError
from teamslicensing.model.outcome import RecordedUser

Direct = Mapping[str, frozenset[str]]
Effect = tuple[tuple[str, ...], tuple[tuple[str, frozenset[str]], ...]]  # (SKUs removed, (SKU, plans off) added)
NO_EFFECT: Effect = ((), ())


class _Shared:
    """One object for each value that repeats: a log of 100,000 writes names a handful of SKUs, plan sets, license
    states and requests, and holding each once per user was most of what reading it took."""

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}

    def text(self, value: str) -> str:
        found: str = self._values.setdefault(value, value)
        return found

    def plans(self, names: Any) -> frozenset[str]:
        value = frozenset(self.text(str(p).lower()) for p in names or [])
        found: frozenset[str] = self._values.setdefault(value, value)
        return found

    def state(self, direct: Mapping[str, frozenset[str]]) -> Direct:
        """A read-only license state, shared by every user in it."""
        key = ("state", frozenset(direct.items()))
        found: Direct = self._values.setdefault(key, MappingProxyType(dict(direct)))
        return found

    def effect(self, body: Any) -> Effect:
        if not isinstance(body, dict):
            return NO_EFFECT
        removes = tuple(self.text(str(sku).lower()) for sku in body.get("removeLicenses") or [])
        adds = tuple(
            (self.text(str(add["skuId"]).lower()), self.plans(add.get("disabledPlans")))
            for add in body.get("addLicenses") or []
            if isinstance(add, dict) and add.get("skuId")
        )
        found: Effect = self._values.setdefault((removes, adds), (removes, adds))
        return found


@dataclass(frozen=True)
class Journal:
    """What an audit log records: its users' license states, and the tenants its runs' headers name."""

    users: list[RecordedUser]
    tenant_ids: frozenset[str | None]  # None: a run whose tenant was not known, or a log without headers


@dataclass
class _Written:
    """One license write the log records: who, the state before it, what it asked, and what became of it."""

    user_id: str
    upn: str
    before: Direct
    effect: Effect
    outcome: str = "unknown"  # "done", "refused" (surely not applied) or "unknown" (sent, never answered)


def read_journal(path: str | Path) -> Journal:
    """Every user with a write the log shows applied, or sent and never answered, in first-seen order (users with
    Teams writes only after those with license writes).

    A user's `before` is the state before the first such write (a write refused before it is not the tool's doing);
    `after` applies the writes confirmed; `possible_after` also those never answered (None when there are none)."""
    writes: list[_Written] = []
    teams = TeamsJournal()
    intents: dict[tuple[str, int], _Written] = {}  # (run id, seq) -> the write its intent record announced
    tenants: set[str | None] = set()
    shared = _Shared()
    for record in _records(path):
        if record.get("type") == "header":
            tenant = record.get("tenantId")
            tenants.add(str(tenant).lower() if tenant else None)
        user_id = str(record.get("userId", "")).lower()
        if not user_id:
            continue
        raw_request = record.get("request")
        request: dict[str, Any] = raw_request if isinstance(raw_request, dict) else {}
        if "audit" not in record:  # version 1: one record per attempt, after its answer
            if str(request.get("url", "")).endswith("/assignLicense"):
                done = 200 <= _status(record) < 300
                writes.append(
                    _Written(
                        user_id,
                        str(record.get("userPrincipalName")),
                        _direct(record, shared),
                        shared.effect(request.get("body")),
                        "done" if done else "refused",
                    )
                )
            continue
        if record.get("kind") in TEAMS_KINDS:
            teams.take(record, user_id, _status(record, "seq"))
            continue
        if record.get("kind") != "licenses":
            continue
        key = (str(record.get("runId")), _status(record, "seq"))
        kind = record.get("type")
        if kind == "intent":
            upn = str(record.get("userPrincipalName"))
            written = _Written(user_id, upn, _direct(record, shared), shared.effect(request.get("body")))
            intents[key] = written
            writes.append(written)
        elif key in intents:
            intents[key].outcome = _outcome(record)
            if intents[key].outcome == "done":  # settled for good: no later record changes it
                del intents[key]
    return Journal(_with_teams(_recorded(writes, shared), teams), frozenset(tenants or {None}))


def _with_teams(recorded: list[RecordedUser], teams: TeamsJournal) -> list[RecordedUser]:
    voice = teams.recorded()
    users = [dataclasses.replace(r, voice=voice.pop(r.user_id)[1]) if r.user_id in voice else r for r in recorded]
    empty: Direct = MappingProxyType({})
    for user_id, (upn, done) in voice.items():
        users.append(RecordedUser(user_id, upn, empty, empty, voice=done, wrote_licenses=False))
    return users


def _outcome(record: dict[str, Any]) -> str:
    """What a result or verified record says of its write."""
    if record.get("type") == "verified":
        state = record.get("state")
        return "done" if state == "done" else "refused" if state == "notDone" else "unknown"
    status = _status(record)
    if record.get("trustworthy", True) and 200 <= status < 300:
        return "done"
    if record.get("trustworthy", True) and 400 <= status < 500:
        return "refused"  # refused (a 429 included: not applied); a later attempt may still say done
    return "unknown"


def _recorded(writes: list[_Written], shared: _Shared) -> list[RecordedUser]:
    by_user: dict[str, list[_Written]] = {}
    for written in writes:
        if written.outcome != "refused":
            by_user.setdefault(written.user_id, []).append(written)
    writes.clear()
    recorded = []
    for user_id, mine in by_user.items():
        before = mine[0].before
        after, possible = dict(before), dict(before)
        for written in mine:
            if written.outcome == "done":
                _apply(after, written.effect)
            _apply(possible, written.effect)
        unknown = any(w.outcome == "unknown" for w in mine)
        recorded.append(
            RecordedUser(user_id, mine[0].upn, before, shared.state(after), shared.state(possible) if unknown else None)
        )
    return recorded


def _status(record: dict[str, Any], key: str = "status") -> int:
    try:
        return int(record.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def _mirrored(path: str | Path) -> bool:
    """Whether `path` is a job's output with the audit records mirrored into it (the runbook's), not a log. A log
    starts with a record, so its first line decides at once (a long log is not read twice); anything else is
    searched for a mirrored line."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            if line.startswith(MIRROR_PREFIX):
                return True
            if line.lstrip().startswith("{"):
                return False
            return any(line.startswith(MIRROR_PREFIX) for line in lines)
    return False


def _records(path: str | Path) -> Iterator[dict[str, Any]]:
    """The log's records, line by line (a long log is never held whole). A line that is not JSON is forgiven only
    when it is the last one, or the next one is the header of a run appended later: a write cut short by a crash.
    A job's output (the runbook's) is read too: its prefixed lines are the records, the rest is the job's talk."""
    try:
        mirrored = _mirrored(path)
        with open(path, encoding="utf-8") as lines:
            cut: tuple[int, Exception] | None = None  # a line that did not parse, judged by what follows it
            for number, line in enumerate(lines, start=1):
                if mirrored:
                    if not line.startswith(MIRROR_PREFIX):
                        continue
                    line = line[len(MIRROR_PREFIX) :]
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError) as exc:
                    if cut is not None:
                        raise UsageError(f"{path}:{cut[0]}: not an audit record ({cut[1]})") from cut[1]
                    cut = (number, exc)
                    continue
                if not isinstance(record, dict):
                    raise UsageError(f"{path}:{number}: not an audit record (expected a JSON object)")
                if cut is not None and record.get("type") != "header":
                    raise UsageError(f"{path}:{cut[0]}: not an audit record ({cut[1]})") from cut[1]
                cut = None
                yield record
    except OSError as exc:
        raise UsageError(f"cannot read the audit log {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not an audit log: it is not UTF-8 text") from exc


def _direct(record: dict[str, Any], shared: _Shared) -> Direct:
    before = record.get("before") or {}
    licenses = before.get("licenses") if isinstance(before, dict) else None
    return shared.state(
        {
            shared.text(str(lic["skuId"]).lower()): shared.plans(lic.get("disabledPlans"))
            for lic in licenses or []
            if isinstance(lic, dict) and lic.get("skuId") and not lic.get("assignedByGroup")
        }
    )


def _apply(state: dict[str, frozenset[str]], effect: Effect) -> None:
    """`state` once the assignLicense with this effect took effect."""
    removes, adds = effect
    for sku in removes:
        state.pop(sku, None)
    state.update(adds)
