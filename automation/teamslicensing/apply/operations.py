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
import time
from collections.abc import Sequence

from teamslicensing.apply.audit import AuditError
from teamslicensing.apply.run import WriteRun
from teamslicensing.apply.stop import bounded
from teamslicensing.errors import AuthenticationError, GraphError, RetryableError
from teamslicensing.model.outcome import UNREADABLE, OperationState, Write

POLL_DELAYS = (0.3, 0.7, 1.5, 3.0, 5.0)  # seconds before each look at the open operations; the last one repeats
OPERATION_WAIT = 900.0  # seconds a run follows its operations before it leaves the open ones unknown
FAILED_LOOKS = 3  # looks in a row that Graph answered with nothing usable: it is not answering, give up


async def follow(run: WriteRun, pending: Sequence[tuple[Write, str]]) -> list[tuple[Write, OperationState]]:
    """Each write's operation (by its `Location`) as it ended, or as it was left: still open when the wait ran out
    or the run stopped (its last status, not ended), or UNREADABLE."""
    left = list(pending)
    settled: list[tuple[Write, OperationState]] = []
    last: dict[int, OperationState] = {}
    started, looks, failures = time.monotonic(), 0, 0
    while left:
        if run.switch.stop is None:  # a stop already asked for: one last look at once
            delay = POLL_DELAYS[min(looks, len(POLL_DELAYS) - 1)]
            await bounded(asyncio.ensure_future(asyncio.sleep(delay)), run.switch, 0.0, None, writes=False)
        states = await _look(run, [location for _, location in left])
        looks += 1
        failures = failures + 1 if states is None else 0
        still: list[tuple[Write, str]] = []
        ended: list[tuple[Write, str, OperationState]] = []
        for index, (write, location) in enumerate(left):
            state = states[index] if states is not None else None
            if state is not None and state.ended:
                ended.append((write, location, state))
            else:
                if state is not None:
                    last[id(write)] = state
                still.append((write, location))
        _record(run, ended)
        settled += [(write, state) for write, _, state in ended]
        left = still
        spent = time.monotonic() - started > OPERATION_WAIT
        if run.switch.stop is not None or spent or failures >= FAILED_LOOKS:
            break
    given_up = [(w, loc, _left_open(last.get(id(w)), run, failures)) for w, loc in left]
    _record(run, given_up)
    return settled + [(write, state) for write, _, state in given_up]


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
