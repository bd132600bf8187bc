"""JSON documents written a piece at a time, formatted exactly as `json.dumps(document, indent=2)` formats them.

A migration plan at 100,000 members has 70,000 changes and 180,000 gaps: built as one dict and dumped as one
string, `--format json` took 767 MB where the text report took 264 MB. Here each array element is encoded on its
own, and only the pieces are ever held.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def json_chunks(fields: Iterable[tuple[str, Any]]) -> Iterator[str]:
    """`{...}` plus a newline, the top-level `fields` in order; a field whose value is an iterator is written as an
    array, one element at a time."""
    yield "{"
    for index, (key, value) in enumerate(fields):
        yield ("," if index else "") + "\n  " + json.dumps(key) + ": "
        if isinstance(value, Iterator):
            empty = True
            for item in value:
                yield ("[" if empty else ",") + "\n" + _indent(json.dumps(item, indent=2), "    ", first=True)
                empty = False
            yield "[]" if empty else "\n  ]"
        else:
            yield _indent(json.dumps(value, indent=2), "  ", first=False)
    yield "\n}\n"


def _indent(text: str, prefix: str, *, first: bool) -> str:
    lines = text.split("\n")
    head = prefix + lines[0] if first else lines[0]
    return "\n".join([head, *(prefix + line for line in lines[1:])])
