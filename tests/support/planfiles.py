"""Saved plan files as tests read and (re)write them: the records, and a file sealed again after an edit the way
someone with write access to an unsigned artifact could (the digest recomputed; the HMAC only with the key)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any


def records(path: Path) -> list[dict[str, Any]]:
    """Every record of the file but its end record."""
    lines = path.read_bytes().splitlines()
    return [json.loads(line) for line in lines[:-1]]


def header(path: Path) -> dict[str, Any]:
    return records(path)[0]


def changes(path: Path) -> list[dict[str, Any]]:
    return [r["change"] for r in records(path) if "change" in r]


def end(path: Path) -> dict[str, Any]:
    end_record: dict[str, Any] = json.loads(path.read_bytes().splitlines()[-1])["end"]
    return end_record


def reseal(path: Path, edited: list[dict[str, Any]], key: str | None = None) -> None:
    """Write `edited` records with a fresh end record: its digest matches, and with `key`, its signature too."""
    body = b"".join((json.dumps(r, separators=(",", ":")) + "\n").encode() for r in edited)
    signature = f"hmac-sha256:{hmac.new(key.encode(), body, hashlib.sha256).hexdigest()}" if key else None
    end_record = {
        "records": len(edited),
        "digest": f"sha256:{hashlib.sha256(body).hexdigest()}",
        "signature": signature,
    }
    path.write_bytes(body + (json.dumps({"end": end_record}) + "\n").encode())
