"""The command line: argparse (`parser`), one short function per command calling `app` (`commands`), CI outputs
(`ci`), and here the one place errors become messages and exit codes: nothing a user can cause or meet ends in a
traceback; an unexpected bug shows one only with `--debug`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

from teamslicensing.errors import TeamsLicensingError
from teamslicensing.exitcodes import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_TERMINATED

__all__ = ["main"]


class Terminated(KeyboardInterrupt):
    """SIGTERM outside the writing phase (which stops cleanly on its own): end like Ctrl-C does. A KeyboardInterrupt
    because asyncio lets only that (and SystemExit) through a transport's callbacks: any other exception raised by
    the handler while a socket write was under way was swallowed as a "fatal write error", and the run went on."""


def main(argv: Sequence[str] | None = None) -> int:
    from teamslicensing.cli.parser import build_parser

    started = time.monotonic()
    args = build_parser().parse_args(argv)
    args.started = started
    command: Callable[[argparse.Namespace], int] = args.command
    with _sigterm_raises():
        try:
            return command(args)
        except TeamsLicensingError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_FAILURE
        except Terminated:
            print("terminated (SIGTERM) outside the writes: nothing more was written", file=sys.stderr)
            return EXIT_TERMINATED
        except KeyboardInterrupt as exc:  # the writes stop on their own and say what they wrote: this is outside
            code = getattr(exc, "exit_code", EXIT_INTERRUPTED)  # a read ended by SIGTERM says so (app.signals)
            what = "terminated (SIGTERM)" if code == EXIT_TERMINATED else "interrupted (Ctrl-C)"
            print(f"{what} outside the writes: nothing more was written", file=sys.stderr)
            return int(code)
        except BrokenPipeError:
            return EXIT_FAILURE
        except OSError as exc:  # a file or device the user named or the system refused
            where = f" {exc.filename}" if exc.filename else ""
            print(f"error:{where}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_FAILURE
        except MemoryError:  # a bound to respect, not a bug: say what the user can do, never a traceback
            print(
                "out of memory: stopped; the audit log (when writing) records every write that was sent. Run where "
                "more memory is available, or split the work (--limit, or fewer users per rule)",
                file=sys.stderr,
            )
            return EXIT_FAILURE
        except Exception as exc:
            if args.debug:
                raise
            print(
                f"internal error: {type(exc).__name__}: {exc}\nThis is a bug in teams-licensing; run the same "
                "command with --debug for the traceback, and report it.",
                file=sys.stderr,
            )
            return EXIT_FAILURE


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    def terminate(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
