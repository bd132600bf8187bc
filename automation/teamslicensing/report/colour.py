"""Colour for the text report on a terminal: adds green, removals and errors red, warnings yellow, destructive
lines bold red. Only where a person reads it: standard output a terminal, `NO_COLOR` unset (no-color.org),
`TERM` not "dumb"; files, pipes and CI logs get the plain text."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

RESET = "\033[0m"
STYLES = {
    "add": "\033[32m",  # green
    "remove": "\033[31m",  # red
    "error": "\033[1;31m",  # bold red
    "warning": "\033[33m",  # yellow
    "heading": "\033[1m",  # bold
}


def wants_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def colourize(text: str) -> str:
    """The text report with colour; every line's words unchanged."""
    lines = []
    section = ""
    for line in text.split("\n"):
        stripped = line.lstrip()
        style = None
        if line.startswith("!!!"):
            style = "error"
        elif line.startswith(("Errors (", "Warnings (", "Info (", "Changes:", "Seats:", "Group license changes:")):
            section = line.split(" ", 1)[0].rstrip(":")
            style = {"Errors": "error", "Warnings": "warning"}.get(section, "heading")
        elif stripped.startswith("+ "):
            style = "add"
        elif stripped.startswith("- ") and section in ("Changes", "Group"):
            style = "remove"
        elif stripped.startswith("!! "):
            style = "error"
        elif line.startswith("  ") and section in ("Errors", "Warnings"):
            style = "error" if section == "Errors" else "warning"
        elif not line:
            section = section if section in ("Changes", "Group") else ""
        lines.append(f"{STYLES[style]}{line}{RESET}" if style and line else line)
    return "\n".join(lines)
