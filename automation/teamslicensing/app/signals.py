"""Signals while the tool talks to Graph: a read ends cleanly on SIGINT or SIGTERM (`run_stoppable`); the writes
turn them into a clean stop of their own (`app.writing.stop_signals`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
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
    left half-run) and end it with `SignalStop`. Raising from a plain signal handler instead could land inside a
    socket write, where asyncio reported it as a transport error and went on."""
    received: list[int] = []

    async def main() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def cancel(signum: int) -> None:
            received.append(signum)
            task.cancel()

        with handled(loop, SIGNALS, cancel):
            return await coroutine

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        if received:
            raise SignalStop(received[0]) from None
        raise


@contextlib.contextmanager
def handled(
    loop: asyncio.AbstractEventLoop, signals: tuple[signal.Signals, ...], handler: Callable[[int], None]
) -> Any:
    """`handler(signum)` answers `signals` on `loop` for the duration; the Python handlers before are put back
    (asyncio's `remove_signal_handler` would leave the default ones)."""
    installed: list[tuple[signal.Signals, Any]] = []
    for sig in signals:
        previous = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, handler, int(sig))
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or not a Unix loop
            continue
        installed.append((sig, previous))
    try:
        yield
    finally:
        for sig, previous in installed:
            loop.remove_signal_handler(sig)
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(sig, previous)
