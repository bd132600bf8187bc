"""Where a command's report goes: standard output (in colour only on a terminal) or the file `--output` names."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from teamslicensing.errors import UsageError


def write_output(text: str | Iterable[str], output: str | None, *, colour: bool = False) -> None:
    """`text` (or its pieces, written one after the other) to `output`, else standard output; `colour` (the text
    report) only on a terminal (NO_COLOR off)."""
    pieces = (text,) if isinstance(text, str) else text
    if output is None:
        from teamslicensing.report.colour import colourize, wants_colour

        paint = colour and wants_colour(sys.stdout)
        for piece in pieces:
            sys.stdout.write(colourize(piece) if paint else piece)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            for piece in pieces:
                handle.write(piece)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
