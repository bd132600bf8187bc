"""Writes that are not a user's licenses (group license writes, reprocess calls), sent batch by batch the one way:
intents on disk before a batch leaves, the batch bounded by the stop, results on disk after, every outcome said.

The user writes have their own executor (ordering, read-backs); these need none of that, but the same answers to
the same faults: a batch Graph refused as a whole (401/403 also stop the run) is refused for each of its writes, a
batch that got no answer leaves each write unknown (it may have landed; the next run reads it), a stop that comes
while Graph retries sends nothing more (a write it held back, or left throttled, is not attempted), and a batch
still in flight is abandoned after the grace period, at once on a second Ctrl-C or a lost lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from teamslicensing.apply.audit import AuditError
from teamslicensing.apply.stop import StopSwitch, bounded
from teamslicensing.errors import AuthenticationError, GraphError, RetryableError
from teamslicensing.model.outcome import APPLIED, FAILED, UNKNOWN, StopReason, WriteAttempt

Item = TypeVar("Item")
Request = tuple[str, str, object]  # (method, URL, body) of one write

BATCH = 20  # writes per $batch


async def send_audited(
    items: Sequence[Item],
    request: Callable[[Item], Request],
    record_intents: Callable[[Sequence[Item]], None],
    send: Callable[[Sequence[Item], Callable[[], bool]], Awaitable[list[WriteAttempt]]],
    record_results: Callable[[Iterable[tuple[Item, WriteAttempt]]], None],
    switch: StopSwitch,
) -> list[tuple[Item, WriteAttempt]]:
    """Send `items` in batches; (item, last attempt) for each one sent. Those never sent (a stop, a failing audit
    log) are absent: not attempted."""
    sent: list[tuple[Item, WriteAttempt]] = []
    for start in range(0, len(items), BATCH):
        if not switch.may_start_batch():
            break
        chunk = items[start : start + BATCH]
        try:
            record_intents(chunk)
        except AuditError as exc:  # not sent
            switch.request(StopReason.AUDIT_FAILED, str(exc))
            break
        attempts = await _answers(chunk, request, send, switch)
        switch.check_deadline()  # a stop the batch met (the lease lost, the waiting spent) is known before it settles
        answered = [(item, attempt) for item, attempt in zip(chunk, attempts, strict=True) if _sent(attempt, switch)]
        try:
            record_results(answered)
        except AuditError as exc:
            switch.request(StopReason.AUDIT_FAILED, str(exc))
        sent += answered
    return sent


def _sent(attempt: WriteAttempt, switch: StopSwitch) -> bool:
    """Whether a write counts as attempted: not when a stop held it back before it left (attempt 0), nor when it was
    throttled (Graph did nothing with it) and not sent again because the run was stopping. Those are absent from
    the results, like the batches after them: the next run does them."""
    return attempt.attempt > 0 and not (attempt.status == 429 and switch.stop is not None)


def status_of(attempt: WriteAttempt) -> str:
    """APPLIED (Graph accepted it), UNKNOWN (it may have landed) or FAILED (Graph refused it)."""
    return APPLIED if attempt.ok else UNKNOWN if attempt.uncertain else FAILED


async def _answers(
    chunk: Sequence[Item],
    request: Callable[[Item], Request],
    send: Callable[[Sequence[Item], Callable[[], bool]], Awaitable[list[WriteAttempt]]],
    switch: StopSwitch,
) -> list[WriteAttempt]:
    def each(status: int, message: str, request_id: str | None = None, *, trustworthy: bool) -> list[WriteAttempt]:
        attempts = []
        for item in chunk:
            method, url, body = request(item)
            payload = body if isinstance(body, dict) else None
            attempts.append(WriteAttempt(method, url, payload, status, message, request_id, trustworthy=trustworthy))
        return attempts

    sending = asyncio.ensure_future(send(chunk, switch.keep_trying))
    if not await bounded(sending, switch, switch.grace, min(switch.grace, 30.0)):
        return each(0, "abandoned after the stop: no answer came", trustworthy=False)
    try:
        return sending.result()
    except RetryableError as exc:  # no usable answer after every retry: each write may have landed
        return each(exc.status, f"no answer ({exc})", exc.request_id, trustworthy=False)
    except GraphError as exc:  # refused as a whole (400, 401, 403): nothing in it was done
        if exc.status in (401, 403):
            switch.request(StopReason.GRAPH_ERROR, str(exc))
        return each(exc.status, exc.message, exc.request_id, trustworthy=True)
    except AuthenticationError as exc:  # no token: nothing was sent
        switch.request(StopReason.GRAPH_ERROR, str(exc))
        return each(401, str(exc), trustworthy=True)
