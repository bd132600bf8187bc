"""Which application permissions Microsoft's permissions reference says grant a request (the extract in this
folder): the fake answers 403 to a request none of the app's roles grants, as Graph does."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from tests.support.graphmetadata.model import Target

EXTRACT = Path(__file__).resolve().parent / "permissions-extract.json"
DENIED = (403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


class Unlisted(Exception):
    """The permissions extract does not list the request's path: nobody can say what grants it."""


@functools.lru_cache(maxsize=1)
def _paths() -> dict[str, dict[str, list[dict[str, Any]]]]:
    paths: dict[str, dict[str, list[dict[str, Any]]]] = json.loads(EXTRACT.read_text(encoding="utf-8"))["paths"]
    return paths


def granting(method: str, target: Target) -> list[dict[str, Any]]:
    """Microsoft's entries (permission, least, alsoRequires) for `method` on `target`'s path."""
    for path in target.permission_paths():
        listed = _paths().get(path, {}).get(method.upper())
        if listed:
            return listed
    raise Unlisted(
        f"permissions-extract.json lists no Application permission for {method} {target.permission_paths()[-1]} "
        "(add the path to PERMISSION_PATHS in tests/support/graphmetadata/extract.py)"
    )


def refusal(method: str, target: Target, roles: frozenset[str]) -> tuple[int, str, str] | None:
    """Graph's 403 when no role in `roles` grants the request (with what it also requires), else None."""
    for entry in granting(method, target):
        also = entry.get("alsoRequires")
        if entry["permission"] in roles and (not also or roles & set(also)):
            return None
    return DENIED
