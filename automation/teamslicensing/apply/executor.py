"""The executor: turn planned changes into writes, in a safe order, and account for every user.

Order per run: (0) the phone numbers changes take away are freed (`voice`); (1) assignLicense for users who only
lose licenses, which frees seats first; (2) usage-location PATCHes; (3) assignLicense for users who gain licenses,
carrying their removals too (a calling-plan swap must be one call); (4) Teams policies, then the numbers given
(`voice`). Each user gets at most one license write. A user whose write fails does not stop the others; one whose
number could not be freed, or whose usage location could not be set, gets no license write (an unanswered PATCH is
read back first, not guessed), and one whose license write failed no Teams write. Writes without a trustworthy
answer are read back, and sent again if they did not happen, by `readback`.

Writes go to a `WriteBackend` (Graph's $batch, or a snapshot file) in groups of its batch size, a few groups in
flight. Before a group is sent its `intent` records are on disk; after each answer its `result` records are.
`StopSwitch` is how a run ends early and still explains itself: a signal, the time budget, a failing audit log, the
tenant's lease lost or the run's waiting for Graph spent flips it, no new group starts, nothing is sent again and no
wait goes on, groups in flight finish (bounded by `grace` seconds; abandoned at once on a second signal or a lost
lease) and the result says what was applied, what failed and what was not attempted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from teamslicensing.apply.audit import AuditError, AuditLog
from teamslicensing.apply.groups import wait_for_groups, write_groups
from teamslicensing.apply.readback import fail, needs_read_back, verify
from teamslicensing.apply.run import Progress, WriteBackend, WriteRun
from teamslicensing.apply.stop import StopSwitch, bounded, watch_waiting
from teamslicensing.apply.voice import TeamsWrites, teams_writes
from teamslicensing.errors import AuthenticationError, GraphError, RetryableError
from teamslicensing.graph.requests import write_request
from teamslicensing.model.outcome import (
    APPLIED,
    NOT_ATTEMPTED,
    ApplyResult,
    StopReason,
    UserResult,
    Write,
    WriteAttempt,
    WriteKind,
)
from teamslicensing.model.plan import GroupChange, UserChange
from teamslicensing.model.tenant import TenantUser


async def execute(
    changes: Sequence[UserChange],
    backend: WriteBackend,
    audit: AuditLog,
    before: Mapping[str, TenantUser],
    *,
    switch: StopSwitch | None = None,
    progress: Progress | None = None,
    planned: int | None = None,
    groups: Sequence[GroupChange] = (),
    groups_planned: int | None = None,
    wait: float | None = None,
    settled: Sequence[UserResult] = (),
) -> ApplyResult:
    """Apply `changes`, then `groups` (the header record is the caller's, written before this). `planned` and
    `groups_planned`: users and groups the whole plan changes, when this run does only a part of it (`--limit`).
    `settled`: users of the plan decided before any write (a saved plan's or an undo's STALE users), counted in the
    result and the audit log's end record like the rest."""
    started = time.monotonic()
    run = WriteRun(backend, audit, switch or StopSwitch(), before, progress, _count_writes(changes))
    watch_waiting(run.switch, backend)
    sent = await _user_writes(run, changes)
    written = await write_groups(groups, backend, audit, run.switch) if groups else ()
    processing: tuple[str, ...] | None = None
    accepted = [r.user_id for r in written if r.status == APPLIED]
    if wait is not None and accepted:
        states = await wait_for_groups(backend, accepted, wait, run.switch)
        names = {r.user_id: r.user_principal_name for r in written}
        processing = tuple(names[g] for g, state in states.items() if state != "ProcessingComplete")
    results, applied = _user_results(run, changes, sent, settled)
    result = ApplyResult(
        results,
        time.monotonic() - started,
        (planned if planned is not None else len(changes)) + len(settled),
        stopped=run.switch.stop,
        left_by_limit=(planned - len(changes)) if planned is not None else 0,
        audit_error=run.audit_error,
        groups=written,
        groups_planned=len(groups) if groups_planned is None else groups_planned,
        groups_processing=processing,
        applied=applied,
    )
    if run.audit_error is None:
        try:
            audit.end(result)
        except AuditError as exc:
            result = dataclasses.replace(result, audit_error=str(exc))
    return result


async def _user_writes(run: WriteRun, changes: Sequence[UserChange]) -> set[str]:
    """Every user's writes, in the order the module docstring gives. Returns the users with a write sent."""
    sent: set[str] = set()
    teams = TeamsWrites.of(run, changes)
    await teams.free_numbers()
    phases = (
        ([c for c in changes if c.remove_licenses and not c.add_licenses], WriteKind.LICENSES),
        ([c for c in changes if c.set_usage_location], WriteKind.USAGE_LOCATION),
        ([c for c in changes if c.add_licenses], WriteKind.LICENSES),
    )
    for phase_changes, kind in phases:
        for change in phase_changes:
            if change.user_id in run.results:  # a number not freed, a usage location not set: Graph would refuse
                run.note(1)
        sent |= await _phase(run, [Write(kind, c) for c in phase_changes if c.user_id not in run.results])
    await teams.write_rest()
    return sent | run.voice_sent


def _user_results(
    run: WriteRun, changes: Sequence[UserChange], sent: set[str], settled: Sequence[UserResult]
) -> tuple[tuple[UserResult, ...], int]:
    """Every planned user's result but the applied ones, which are counted, not listed (the audit log names each)."""
    results = list(settled)
    applied = 0
    for change in changes:
        if change.user_id in run.results:
            results.append(run.results[change.user_id])
        elif change.user_id in sent and _all_written(run, change):
            applied += 1
        else:
            why = "the run stopped before its writes were all sent: the next run does them"
            results.append(UserResult(change.user_id, change.user_principal_name, NOT_ATTEMPTED, why))
    return tuple(results), applied


def _count_writes(changes: Sequence[UserChange]) -> int:
    licenses = sum(1 for c in changes if c.set_usage_location) + sum(1 for c in changes if c.changes_licenses)
    return licenses + sum(teams_writes(c) for c in changes)


def _all_written(run: WriteRun, change: UserChange) -> bool:
    kinds = [WriteKind.USAGE_LOCATION] if change.set_usage_location else []
    if change.changes_licenses:
        kinds.append(WriteKind.LICENSES)
    written = all((change.user_id, kind) in run.final and run.final[(change.user_id, kind)].ok for kind in kinds)
    return written and run.voice_left.get(change.user_id, 0) == 0


async def _phase(run: WriteRun, writes: list[Write]) -> set[str]:
    """Send `writes` batch by batch; settle each; read back the uncertain ones. Returns the users sent."""
    size = run.backend.batch_size
    queue = [writes[i : i + size] for i in range(0, len(writes), size)]
    queue.reverse()  # popped from the end, in plan order
    sent: set[str] = set()
    in_flight: dict[int, list[Write]] = {}

    async def worker() -> None:
        while queue and run.switch.may_start_batch():
            chunk = queue.pop()
            try:
                run.audit.intents(chunk)
            except AuditError as exc:  # not sent: its users stay "not attempted"
                run.audit_failed(str(exc))
                return
            sent.update(w.change.user_id for w in chunk)
            in_flight[id(chunk)] = chunk
            began = time.monotonic()
            attempts = await _send(run, chunk)
            run.switch.longest_batch = max(run.switch.longest_batch, time.monotonic() - began)
            del in_flight[id(chunk)]
            _settle(run, chunk, attempts)

    workers: asyncio.Future[Any] = asyncio.gather(*(worker() for _ in range(max(run.backend.concurrency, 1))))
    if await bounded(workers, run.switch, run.switch.grace, min(run.switch.grace, 30.0)):
        workers.result()
    for chunk in in_flight.values():  # abandoned after the grace period: what was answered counts as answered
        _settle(run, chunk, [_last_answer(run, w) for w in chunk])
    await verify(run, writes, _send)
    return sent


def _last_answer(run: WriteRun, write: Write) -> WriteAttempt | None:
    """A write whose batch was abandoned at a stop: no answer if Graph had it when the run gave up (to be read
    back, and Graph may yet carry it out), else its last answer; None if it never left (held by the pacing)."""
    key = (write.change.user_id, write.kind)
    if key in run.at_graph:
        run.abandoned.add(key)
        return _no_answer(write, "cut off at the stop before Graph answered")
    return run.answered.get(key)


LOST_BATCHES_BEFORE_STOP = 3  # one dropped connection is read back; three in a row mean Graph is down


async def _send(run: WriteRun, chunk: list[Write]) -> list[WriteAttempt | None]:
    """Send `chunk`; the last attempt of each write, None for a write that never left (the backend was stopped
    before `on_sent` saw it: not attempted, whatever else the backend says of it)."""
    left: set[tuple[str, WriteKind]] = set()

    def on_sent(writes: Sequence[Write]) -> None:
        run.on_sent(writes)
        left.update((write.change.user_id, write.kind) for write in writes)

    attempts = await _write(run, chunk, on_sent)
    # a stop the batch met (the lease lost, the run's waiting spent) is asked for before its answers are settled:
    # what it held back because of it is then not attempted, not failed
    run.switch.check_deadline()
    return [a if (w.change.user_id, w.kind) in left else None for w, a in zip(chunk, attempts, strict=True)]


async def _write(run: WriteRun, chunk: list[Write], on_sent: Callable[[Sequence[Write]], None]) -> list[WriteAttempt]:
    try:
        attempts = await run.backend.write(chunk, run.on_answers, run.switch.keep_trying, on_sent)
    except RetryableError as exc:  # the $batch itself got no answer after every retry: it may have been applied
        attempts = [_no_answer(w, str(exc), exc.status) for w in chunk]
        run.on_answers(list(zip(chunk, attempts, strict=True)))
    except GraphError as exc:  # the $batch itself was refused (401, 403, 400): nothing in it was done
        if exc.status in (401, 403):
            run.switch.request(StopReason.GRAPH_ERROR, str(exc))
        attempts = [_refused(w, exc) for w in chunk]
        run.on_answers(list(zip(chunk, attempts, strict=True)))
        return attempts
    except AuthenticationError as exc:  # no token: nothing was sent
        run.switch.request(StopReason.GRAPH_ERROR, str(exc))
        attempts = [_refused(w, GraphError(401, "NoToken", str(exc))) for w in chunk]
        run.on_answers(list(zip(chunk, attempts, strict=True)))
        return attempts
    except Exception as exc:  # anything else (a bug, an unforeseen transport error): stop, explain, lose nothing
        run.switch.request(StopReason.GRAPH_ERROR, f"unexpected {type(exc).__name__}: {exc}")
        attempts = [_no_answer(w, f"unexpected {type(exc).__name__}: {exc}") for w in chunk]
        run.on_answers(list(zip(chunk, attempts, strict=True)))
        return attempts
    refused = next((a for a in attempts if a.status == 401), None)
    if refused is not None:  # items refused for the token even after a fresh one (or one that cannot be renewed)
        run.switch.request(StopReason.GRAPH_ERROR, f"Graph refused the token: {refused.error_message}")
    answered = [a for a in attempts if a.attempt > 0]  # an item the backend never sent tells nothing of Graph
    lost = bool(answered) and all(a.status == 0 or not a.trustworthy for a in answered)
    run.lost_batches = run.lost_batches + 1 if lost else 0
    if run.lost_batches >= LOST_BATCHES_BEFORE_STOP:  # one dropped connection is read back; several mean an outage
        run.switch.request(StopReason.GRAPH_ERROR, "Graph gave no usable answer to several batches in a row")
    return attempts


def _no_answer(write: Write, message: str, status: int = 0) -> WriteAttempt:
    """Sent (or perhaps sent), and no answer to rely on: for the read-back to decide."""
    return _attempt_without_answer(write, status, message, None, trustworthy=False)


def _refused(write: Write, exc: GraphError) -> WriteAttempt:
    """Refused as a whole batch before any item was done: a failure of this write, surely not applied."""
    return _attempt_without_answer(write, exc.status, exc.message, exc.request_id, trustworthy=True)


def _attempt_without_answer(
    write: Write, status: int, message: str, request_id: str | None, *, trustworthy: bool
) -> WriteAttempt:
    method, url, body = write_request(write)
    return WriteAttempt(method, url, body, status, message, request_id, trustworthy=trustworthy)


def _settle(run: WriteRun, chunk: Sequence[Write], attempts: Sequence[WriteAttempt | None]) -> None:
    for write, attempt in zip(chunk, attempts, strict=True):
        if attempt is None:
            continue  # never left for Graph: not attempted
        key = (write.change.user_id, write.kind)
        run.answered.pop(key, None)  # settled: what a stop may still need is in `final`
        # an accepted write needs no more than that it was accepted: its body and Graph's answer, kept for every
        # user, were much of what a 100,000-user apply held
        run.final[key] = dataclasses.replace(attempt, body=None, assigned_licenses=None) if attempt.ok else attempt
        if attempt.status == 429 and run.switch.stop is not None:
            continue  # throttled, and not retried because the run is stopping: not applied, so not attempted
        if not attempt.ok and not needs_read_back(write, attempt):
            fail(run, write, attempt)
    run.note(len(chunk))
