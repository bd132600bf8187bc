"""Signals while the tool talks to Graph: a read ends cleanly on SIGINT or SIGTERM (`run_stoppable`); the writes
turn them into a clean stop of their own (`app.writing.stop_signals`). Every handler installed for a while only
records the signal (`recorded_signals`), and whoever installed it reports a recorded signal after putting the one
before back: a signal that came as the work finished still stops the run."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalStop(KeyboardInterrupt):
    """A SIGINT or SIGTERM ended a read: nothing was written. A KeyboardInterrupt, so that whatever lets Ctrl-C
    through (asyncio's transports, `except Exception`) lets this through too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # 130 for SIGINT, 143 for SIGTERM


def run_stoppable(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coroutine)`, where SIGINT and SIGTERM cancel the coroutine (its connections closed, nothing
    left half-run) and end it with `SignalStop`, also when the signal came as the coroutine was finishing and its
    result is ready: the run was asked to stop, and a result must not hide that. The handler only records the
    signal and asks the loop to cancel: raising from it could land inside a socket write, where asyncio reported
    it as a transport error and went on."""
    received: list[int] = []

    async def main() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def record(signum: int, frame: Any) -> None:
            received.append(signum)
            loop.call_soon_threadsafe(task.cancel)

        with recorded_signals(SIGNALS, record):
            return await coroutine

    try:
        result = asyncio.run(main())
    except asyncio.CancelledError:
        if received:
            raise SignalStop(received[0]) from None
        raise
    if received:
        raise SignalStop(received[0])
    return result


@contextlib.contextmanager
def recorded_signals(signals: tuple[signal.Signals, ...], handler: Callable[[int, Any], None]) -> Iterator[None]:
    """`handler` answers `signals` for the duration (main thread only; elsewhere they act as before); the handlers
    before are put back after."""
    installed: list[tuple[signal.Signals, Any]] = []
    for sig in signals:
        try:
            installed.append((sig, signal.signal(sig, handler)))
        except ValueError:  # not the main thread
            break
    try:
        yield
    finally:
        for sig, previous in installed:
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(sig, previous)
