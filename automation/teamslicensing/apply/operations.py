"""Following number writes to their end. assignNumber and unassignNumber answer 202 Accepted with the `Location` of
a telephoneNumberLongRunningOperation, whose status goes notStarted -> running -> succeeded or failed (Graph v1.0;
the docs page of 2025-07-23 documents no polling interval, Retry-After or retention): the run reads each one again,
20 to a `$batch`, first soon and then every few seconds, until it ends.

Bounded like every wait of a run: OPERATION_WAIT seconds in all, cut short by a stop (a signal, the time budget, a
lost lease, the run's waiting for Graph spent), after which the operations still open are read once more, within
the stop's read-back window, and then left: Graph may still carry them out, so they are unknown, not failed. Each
ending (or giving up) is an `operation` record in the audit log, what `undo` believes of the write.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from teamslicensing.apply.audit import AuditError
from teamslicensing.apply.run import WriteRun
from teamslicensing.apply.stop import bounded
from teamslicensing.errors import AuthenticationError, GraphError, RetryableError
from teamslicensing.model.outcome import UNREADABLE, OperationState, Write

POLL_DELAYS = (0.3, 0.7, 1.5, 3.0, 5.0)  # seconds before each look at the open operations; the last one repeats
OPERATION_WAIT = 900.0  # seconds a run follows its operations before it leaves the open ones unknown
FAILED_LOOKS = 3  # looks in a row that Graph answered with nothing usable: it is not answering, give up


@dataclass
class OperationFeed:
    """Operations handed to `follow` as their writes are accepted, while later writes are still being sent: the
    first ones are read while the quota paces the rest."""

    arrivals: list[tuple[Write, str]] = field(default_factory=list)
    closed: bool = False  # nothing more will come
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, write: Write, location: str) -> None:
        self.arrivals.append((write, location))
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()


@dataclass
class _Open:
    write: Write
    location: str
    due: float  # monotonic time of its next look
    looks: int = 0


async def follow(run: WriteRun, feed: OperationFeed) -> list[tuple[Write, OperationState]]:
    """Each fed write's operation (by its `Location`) as it ended, or as it was left: still open when the wait ran
    out or the run stopped (its last status, not ended), or UNREADABLE. Each is read POLL_DELAYS after it was
    accepted and after each look; the ones due are read together."""
    opened: list[_Open] = []
    settled: list[tuple[Write, OperationState]] = []
    last: dict[int, OperationState] = {}
    started, failures = time.monotonic(), 0
    while True:
        now = time.monotonic()
        opened += [_Open(w, loc, now + POLL_DELAYS[0]) for w, loc in feed.arrivals]
        feed.arrivals.clear()
        if not opened and feed.closed:
            break
        stopping = run.switch.stop is not None
        due = opened if stopping else [o for o in opened if o.due <= now]
        if not due:  # nothing to read yet: wait for the first one due, a new arrival or a stop
            wait = min(o.due for o in opened) - now if opened else POLL_DELAYS[-1]
            feed.wake.clear()
            waiting = asyncio.ensure_future(asyncio.wait_for(feed.wake.wait(), timeout=wait))
            await bounded(waiting, run.switch, 0.0, None, writes=False)
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                waiting.result()
            continue
        states = await _look(run, [o.location for o in due])
        failures = failures + 1 if states is None else 0
        ended = _take_ended(due, states, last)
        _record(run, [(o.write, o.location, state) for o, state in ended])
        settled += [(o.write, state) for o, state in ended]
        gone = {id(o) for o, _ in ended}
        opened = [o for o in opened if id(o) not in gone]
        spent = time.monotonic() - started > OPERATION_WAIT
        if stopping or run.switch.stop is not None or spent or failures >= FAILED_LOOKS:
            break
    while not feed.closed:  # the sending ends soon after a stop; what it still hands over is never looked at
        feed.wake.clear()
        await feed.wake.wait()
    opened += [_Open(w, loc, 0.0) for w, loc in feed.arrivals]
    given_up = [(o.write, o.location, _left_open(last.get(id(o.write)), run, failures)) for o in opened]
    _record(run, given_up)
    return settled + [(write, state) for write, _, state in given_up]


def _take_ended(
    due: list[_Open], states: list[OperationState] | None, last: dict[int, OperationState]
) -> list[tuple[_Open, OperationState]]:
    """The operations `states` shows ended; the others get their next look scheduled (and their last state kept)."""
    ended = []
    now = time.monotonic()
    for index, item in enumerate(due):
        state = states[index] if states is not None else None
        if state is not None and state.ended:
            ended.append((item, state))
            continue
        if state is not None:
            last[id(item.write)] = state
        item.looks += 1
        item.due = now + POLL_DELAYS[min(item.looks, len(POLL_DELAYS) - 1)]
    return ended


async def _look(run: WriteRun, locations: list[str]) -> list[OperationState] | None:
    """The operations now, or None when Graph gave nothing usable (or the stop's window closed on the look)."""
    looking = asyncio.ensure_future(run.backend.operations(locations, lambda: not run.switch.hard))
    if not await bounded(looking, run.switch, run.switch.read_back_window, None, writes=False):
        return None
    try:
        return looking.result()
    except (GraphError, RetryableError, AuthenticationError):
        return None


def _left_open(state: OperationState | None, run: WriteRun, failures: int) -> OperationState:
    status = state.status if state is not None and state.status != "notRead" else "unknown"
    if failures >= FAILED_LOOKS:
        why = "Graph gave no usable answer about it"
    elif run.switch.stop is not None:
        why = "the run stopped before it ended"
    else:
        why = f"it had not ended after {OPERATION_WAIT:.0f} s"
    return OperationState(UNREADABLE if status == "unknown" else status, f"{why}; Graph may still carry it out")


def _record(run: WriteRun, ended: list[tuple[Write, str, OperationState]]) -> None:
    try:
        run.audit.operations(ended)
    except AuditError as exc:
        run.audit_failed(str(exc))
