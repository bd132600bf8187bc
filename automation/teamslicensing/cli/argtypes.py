"""The command line's value types and its parser class: what every command's options are read with.

Options are never guessed (`allow_abbrev=False`: `--out` is not `--output`), and a usage error exits 1, not
argparse's 2, which CI recipes read as "changes pending".
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from typing import NoReturn

from teamslicensing.exitcodes import EXIT_FAILURE

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_FAILURE, f"{self.prog}: error: {message}\n")


def duration(text: str) -> float:
    """`2h30m`, `90m`, `45s`, `1d` or plain seconds, as seconds."""
    value = text.strip().lower()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    match = _DURATION.match(value)
    if not value or match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: write e.g. 2h30m, 90m, 45s or 1d")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def day(text: str) -> date:
    """A calendar day, YYYY-MM-DD."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD") from None


def count(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 0")
    return number
