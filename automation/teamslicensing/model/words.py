"""Counts in words, the same everywhere: `1 user`, `2 users`, `100,000 users`, `3 policies`."""

from __future__ import annotations


def counted(count: int, noun: str) -> str:
    """`1 user`, `100,000 users`, `2 policies`: thousands separated, as the HTML tiles show them."""
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {plural(noun)}"


def plural(noun: str) -> str:
    """The noun's plural (the last word's): `policy` -> `policies`, `call leg` -> `call legs`."""
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"
