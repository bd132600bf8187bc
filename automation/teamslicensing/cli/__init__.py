"""The command line: argparse (`parser`), one short function per command calling `app` (`commands`), CI outputs
(`ci`), and here the one place errors become messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from teamslicensing.errors import TeamsLicensingError
from teamslicensing.exitcodes import EXIT_FAILURE, EXIT_INTERRUPTED

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    from teamslicensing.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except TeamsLicensingError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILURE
