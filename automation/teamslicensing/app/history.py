"""`--history FILE`: every run appends one record (JSON Lines); the HTML and Markdown reports show the last ones for
the same tenant. The file is read from its end, bounded, and every line is checked before it is shown."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from teamslicensing.errors import UsageError
from teamslicensing.model.history import RunRecord, record_from_json, record_json, tenant_key
from teamslicensing.model.outcome import ApplyResult
from teamslicensing.model.plan import Plan, Severity
from teamslicensing.model.planjson import ReportMeta

READ_BYTES = 1 << 20  # the end of the file: about 2,000 runs, more than any report shows
SHOWN = 12  # runs a report shows, this one included
MAX_RECORD_BYTES = 64 * 1024


def run_record(plan: Plan, meta: ReportMeta, command: str, outcome: ApplyResult | None = None) -> RunRecord:
    assert meta.generated_at is not None
    return RunRecord(
        generated_at=meta.generated_at,
        command=command,
        tenant=tenant_key(meta),
        changes=len(plan.changes),
        errors=plan.gap_count(Severity.ERROR),
        warnings=plan.gap_count(Severity.WARNING),
        seats=tuple((s.sku_part_number, s.consumed, s.enabled) for s in plan.seats),
        cost=tuple(
            (c.currency, float(c.monthly_added), float(c.monthly_saved), float(c.unused_monthly)) for c in plan.cost
        ),
        applied=(None if command == "plan" else 0) if outcome is None else outcome.applied,  # nothing written: 0
        failed=(None if command == "plan" else 0) if outcome is None else len(outcome.failed),
    )


def read_history(path: str | Path, tenant: str | None) -> tuple[list[RunRecord], list[str]]:
    """The last runs for `tenant` (oldest first; None: any tenant), and what was left out and why. A file not there
    yet: none."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(size - READ_BYTES, 0))
            tail = handle.read()
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise UsageError(f"cannot read the history {path}: {exc.strerror or exc}") from exc
    return records_in(tail, size, tenant, str(path))


def records_in(tail: bytes, size: int, tenant: str | None, path: str) -> tuple[list[RunRecord], list[str]]:
    """The run records of a history's last READ_BYTES (`tail`, of `size` in all), each checked, for `tenant`."""
    lines = tail.split(b"\n")
    if size > READ_BYTES:
        lines = lines[1:]  # cut mid-line: the first is a part
    records: list[RunRecord] = []
    notes: list[str] = []
    others = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            if len(raw) > MAX_RECORD_BYTES:  # a record is a few hundred bytes; a line this long was never ours
                raise ValueError(f"{len(raw):,} bytes long")
            record = record_from_json(json.loads(raw))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # nesting too deep: RecursionError
            where = f"line {number} of its last {READ_BYTES // 1024} KB" if size > READ_BYTES else f"line {number}"
            notes.append(f"history {path}, {where}: not a run record ({exc}): left out")
            continue
        if tenant is not None and record.tenant != tenant:
            others += 1
            continue
        records.append(record)
    if others:
        notes.append(f"history {path}: {others} {'run' if others == 1 else 'runs'} of another tenant left out")
    return records[-(SHOWN - 1) :], notes[:5]


def blob_history(
    container: str, name: str, tenant: str | None, *, managed_identity_client_id: str | None, token: str | None
) -> tuple[list[RunRecord], list[str], int | None]:
    """The last runs for `tenant` kept in the append blob `name` of `container` (the runbook's history), what was
    left out, and the blob's size (None: not there yet). Raises BlobError (unreadable, or a blob of another kind)."""
    from teamslicensing.graph.blobhistory import read_tail

    found = read_tail(
        container, name, READ_BYTES, managed_identity_client_id=managed_identity_client_id, access_token=token
    )
    if found is None:
        return [], [], None
    return (*records_in(*found, tenant, f"{container}/{name}"), found[1])


def append_blob_history(
    container: str,
    name: str,
    record: RunRecord,
    *,
    at: int | None,
    managed_identity_client_id: str | None,
    token: str | None,
) -> str:
    """This run's record appended to the history blob, in one Append Block at `at` (its size when read), once; the
    blob's URL. Raises BlobError."""
    from teamslicensing.graph.blobhistory import append_line

    line = (json.dumps(record_json(record), separators=(",", ":")) + "\n").encode("utf-8")
    where = {"managed_identity_client_id": managed_identity_client_id, "access_token": token}
    return append_line(container, name, line, at=at, **where)


def check_history(path: str | Path) -> None:
    """Before anything is read or written: `path` can take a record (its folder exists, it is no folder itself)
    and, if it holds anything, is a history (some line a run record): never a configuration given by mistake."""
    file = Path(path)
    if file.is_dir():
        raise UsageError(f"--history {path} is a folder: give a file (it is made on the first run)")
    if not file.parent.is_dir():
        raise UsageError(f"--history {path}: the folder {file.parent} does not exist")
    if not file.exists() or file.stat().st_size == 0:
        return
    if not read_history(path, None)[0] and not _begins_like_ours(file):
        raise UsageError(f"--history {path} is not a teams-licensing history (no line is a run record): not touched")


def _begins_like_ours(file: Path) -> bool:
    """A history of one record cut short by a killed run is still ours: it begins as every record does."""
    with file.open("rb") as handle:
        return re.match(rb'\{"version":\s*1\b', handle.read(64)) is not None


def append_history(path: str | Path, record: RunRecord) -> None:
    """One line more, on disk before the command ends; after a line a killed run cut short, on a line of its own."""
    try:
        with open(path, "a+b") as handle:
            end = handle.seek(0, os.SEEK_END)
            if end:
                handle.seek(end - 1)
                if handle.read(1) != b"\n":
                    handle.write(b"\n")
            handle.write((json.dumps(record_json(record), separators=(",", ":")) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise UsageError(f"cannot append to the history {path}: {exc.strerror or exc}") from exc
