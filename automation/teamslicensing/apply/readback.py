"""Writes without a trustworthy answer, settled by reading the users back (README, *Apply results*).

A write answered 5xx, left unanswered, or in a batch whose answer was lost may or may not have happened; a removal
refused with 400 may have been made by another run. Each is read back and judged (`verify.judge`). One that did not
happen is sent again, each time with a new intent record, within the backend's retry bounds (Graph's: the attempts
and backoff of any transient failure), and read back in turn, so a storm of 503s converges in one run. What a stop
or spent bounds leave is reported as the last read-back found it: not attempted when it had not happened by a
stop, failed when the bounds ran out, unknown when it could not be read back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from teamslicensing.apply.audit import AuditError
from teamslicensing.apply.run import WriteRun
from teamslicensing.apply.stop import bounded
from teamslicensing.apply.verify import PENDING, Observed, judge
from teamslicensing.errors import AuthenticationError, GraphError
from teamslicensing.model.outcome import FAILED, IN_SYNC, UNKNOWN, UserResult, Write, WriteAttempt, WriteKind
from teamslicensing.model.tenant import TenantUser
from teamslicensing.tenant.parse import ObjectError, parse_user

Send = Callable[[WriteRun, list[Write]], Awaitable[list[WriteAttempt | None]]]  # None: never left (a stop came)


def needs_read_back(write: Write, attempt: WriteAttempt) -> bool:
    """Whether an unsuccessful write is to be read back before it is judged."""
    if attempt.uncertain:
        return True
    # a removal refused because the license is gone: another run, or an earlier attempt of ours, may have done it
    return write.kind is WriteKind.LICENSES and attempt.status == 400 and bool(write.change.remove_licenses)


def fail(run: WriteRun, write: Write, attempt: WriteAttempt, why: str | None = None, status: str | None = None) -> None:
    """Settle the write's user as failed (or `status`): unknown when its last answer could not be trusted."""
    change = write.change
    what = "setting the usage location" if write.kind is WriteKind.USAGE_LOCATION else "assignLicense"
    reason = why or f"{what}: HTTP {attempt.status}: {attempt.error_message}"
    status = status or (UNKNOWN if attempt.uncertain and why is None else FAILED)
    run.results[change.user_id] = UserResult(change.user_id, change.user_principal_name, status, reason)


async def verify(run: WriteRun, writes: Sequence[Write], send: Send) -> None:
    """Read back every write of this phase without a trustworthy answer. Those that did not happen are sent again
    within the backend's retry bounds, and read back in turn, until each is settled; a stop or spent bounds leave
    the rest as the last read-back found them."""
    doubtful = [
        w
        for w in writes
        if (a := run.final.get((w.change.user_id, w.kind))) is not None
        and not a.ok
        and needs_read_back(w, a)
        and w.change.user_id in run.before
    ]
    tries = 1  # attempts so far of the writes being read back (each earlier one read back as not done)
    while doubtful:
        if run.switch.hard:
            for write in doubtful:
                fail(run, write, run.final[(write.change.user_id, write.kind)])
            return
        now = await _read_back(run, [w.change.user_id for w in doubtful])
        retry = [w for w in doubtful if _judge_read_back(run, w, now, tries)]
        if not retry:
            return
        delay = _resend_delay(run, tries)
        if delay is None:
            for write in retry:
                attempt = run.final[(write.change.user_id, write.kind)]
                why = f"{tries} attempts got no answer to rely on (last: {attempt.error_message})"
                # the retry bounds are spent; the last read-back found the user unchanged, but the last attempt
                # had no answer either, and Graph may still carry it out: unresolved, so unknown
                fail(run, write, attempt, f"{why}; unchanged when last read, but Graph may still apply it", UNKNOWN)
            return
        doubtful = await _resend(run, retry, delay, send)
        tries += 1


def _judge_read_back(run: WriteRun, write: Write, now: dict[str, TenantUser | None] | None, tries: int) -> bool:
    """Settle one doubtful write by what the read-back found; True when it did not happen and is to go again."""
    attempt = run.final[(write.change.user_id, write.kind)]
    if now is None:
        fail(run, write, attempt)
        return False
    current = now.get(write.change.user_id.lower())
    seen = judge(run.before[write.change.user_id], write, current)
    # cut off in flight: Graph may still be carrying it out, so "not yet" is all a read-back can tell
    pending = seen is Observed.NOT_DONE and (write.change.user_id, write.kind) in run.abandoned
    try:
        run.audit.verified(write, PENDING if pending else seen.value, current)
    except AuditError as exc:
        run.audit_failed(str(exc))
    if seen is Observed.DONE:
        run.final[(write.change.user_id, write.kind)] = _confirmed(attempt)
        if not attempt.uncertain and attempt.attempt == 1 and tries == 1:  # refused at once, yet so: another run
            change = write.change
            run.results[change.user_id] = UserResult(
                change.user_id, change.user_principal_name, IN_SYNC, "already in the planned state"
            )
    elif pending:
        fail(run, write, attempt, "cut off at the stop and not applied yet; Graph may still apply it", UNKNOWN)
    elif seen is Observed.NOT_DONE and attempt.uncertain and run.switch.keep_trying():
        return True
    elif seen is Observed.NOT_DONE and attempt.uncertain and run.switch.stop is not None:
        # abandoned at the stop before it took effect: left for the next run, like a batch never sent
        run.final.pop((write.change.user_id, write.kind), None)
    elif seen is Observed.NOT_DONE:
        fail(run, write, attempt, f"not applied: {attempt.error_message or 'no answer'}; the user is unchanged")
    elif seen is Observed.GONE:
        fail(run, write, attempt, "the user no longer exists")
    else:
        fail(run, write, attempt, "changed by someone else during the run: plan again to see the state now")
    return False


@runtime_checkable
class RetryBounds(Protocol):
    """A backend whose own retry policy also bounds sending again a write that was read back as not done."""

    def resend_delay(self, failures: int) -> float | None:
        """Seconds to wait before a write with `failures` untrustworthy answers goes again; None: no more."""
        ...


def _resend_delay(run: WriteRun, failures: int) -> float | None:
    if isinstance(run.backend, RetryBounds):
        return run.backend.resend_delay(failures)
    return 0.0 if failures < 2 else None  # a backend without retry bounds (a snapshot file): once


async def _resend(run: WriteRun, writes: Sequence[Write], delay: float, send: Send) -> list[Write]:
    """After `delay` (cut short by a stop), send `writes` again, each with a new intent record; the writes whose
    answer is again one to read back. Writes a stop leaves unsent are not attempted."""
    if delay > 0:
        await bounded(asyncio.ensure_future(asyncio.sleep(delay)), run.switch, 0.0, None)
    again: list[Write] = []
    for start in range(0, len(writes), run.backend.batch_size):
        chunk = list(writes[start : start + run.backend.batch_size])
        if not run.switch.may_start_batch():  # stopping: these did not happen, and are left for the next run
            for write in writes[start:]:
                run.final.pop((write.change.user_id, write.kind), None)
            break
        try:
            run.audit.intents(chunk)
        except AuditError as exc:
            run.audit_failed(str(exc))
            for write in writes[start:]:
                fail(run, write, run.final[(write.change.user_id, write.kind)])
            break
        for write, attempt in zip(chunk, await send(run, chunk), strict=True):
            if attempt is None:  # held back by a stop before it left: not done, left for the next run
                run.final.pop((write.change.user_id, write.kind), None)
                continue
            run.final[(write.change.user_id, write.kind)] = attempt
            if attempt.ok:
                continue
            if attempt.status == 429 and run.switch.stop is not None:  # throttled at the stop: not attempted
                run.final.pop((write.change.user_id, write.kind), None)
                continue
            if needs_read_back(write, attempt):
                again.append(write)
            else:
                fail(run, write, attempt)
    return again


async def _read_back(run: WriteRun, user_ids: Sequence[str]) -> dict[str, TenantUser | None] | None:
    """The users now, or None when they cannot be read (within the stop's bound, once a stop was asked for)."""
    reading = asyncio.ensure_future(run.backend.read_users(user_ids))
    # bounded by the stop whenever it comes: a Ctrl-C or the deadline during a read-back Graph no longer answers
    if not await bounded(reading, run.switch, run.switch.read_back_window, None, writes=False):
        return None
    try:
        raw = reading.result()
    except (GraphError, AuthenticationError):
        return None
    run.lost_batches = 0  # Graph answered: writes it left unanswered since then are no sign that it is down
    users: dict[str, TenantUser | None] = {}
    for user_id, obj in raw.items():
        try:
            users[user_id.lower()] = parse_user(obj)
        except ObjectError:
            users[user_id.lower()] = None
    return users


def _confirmed(attempt: WriteAttempt) -> WriteAttempt:
    return WriteAttempt(
        attempt.method, attempt.url, attempt.body, 200, None, attempt.request_id, attempt.attempt, None, True
    )
