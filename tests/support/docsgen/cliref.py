"""The CLI reference: the help of every command, as `teams-licensing COMMAND --help` prints it (the argparse parser
itself, at a fixed width so the page does not depend on the terminal)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

from teamslicensing.cli.parser import build_parser

WIDTH = "100"


@contextmanager
def _columns() -> Iterator[None]:
    """argparse wraps help to $COLUMNS: fixed here, put back after."""
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        yield
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(command words, help text) for the parser and every command under it, depth first."""
    yield " ".join(words), parser.format_help()
    for name, sub in _subcommands(parser).items():
        yield from commands(sub, (*words, name))


def cli_page() -> str:
    with _columns():
        found = list(commands(build_parser()))
    lines = [
        "# Command-line reference",
        "",
        "The help of every command, as `teams-licensing COMMAND --help` prints it. Options are never abbreviated "
        "(`--out` is not `--output`), and a usage error exits 1 ([Exit codes](exit-codes.md)). "
        "`python -m teamslicensing` works like `teams-licensing`.",
        "",
    ]
    for words, text in found:
        title = f"teams-licensing {words}" if words else "teams-licensing"
        lines += [f"## `{title}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(lines)
