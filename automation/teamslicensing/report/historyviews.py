"""The last runs (`--history FILE`) in the HTML and Markdown reports: users changed and errors per run as a small
bar chart, and a table with the seats in use and the monthly cost."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from html import escape

from teamslicensing.model.history import RunRecord
from teamslicensing.report.common import md_cell

HEADER = ("run", "command", "users changed", "errors", "warnings", "seats used", "cost per month", "applied")


def _cells(record: RunRecord) -> tuple[str, ...]:
    cost = "; ".join(f"{c} +{a:,.2f} / -{s:,.2f}" for c, a, s, _ in record.cost) or "-"
    applied = "-" if record.applied is None else f"{record.applied:,} ({record.failed or 0:,} failed)"
    return (
        f"{record.generated_at:%Y-%m-%d %H:%M}",
        record.command,
        f"{record.changes:,}",
        f"{record.errors:,}",
        f"{record.warnings:,}",
        f"{record.seats_used:,}",
        cost,
        applied,
    )


def history_text(records: Sequence[RunRecord], where: str) -> list[str]:
    """The last runs as an aligned table, for the runbook's job output (this run last)."""
    rows = [HEADER, *(_cells(record) for record in records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = [f"Last runs of this tenant ({where}):"]
    lines += [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return lines


def history_markdown(records: Sequence[RunRecord]) -> list[str]:
    if len(records) < 2:
        return []
    lines = ["### Last runs", "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(md_cell(cell) for cell in _cells(record)) + " |" for record in records]
    return [*lines, ""]


def history_html(records: Sequence[RunRecord]) -> Iterator[str]:
    """Nothing for a first run: a trend needs two."""
    if len(records) < 2:
        return
    yield "<h2>Last runs</h2>\n"
    yield from _chart(records)
    yield "<table><tr>" + "".join(f"<th>{h}</th>" for h in HEADER) + "</tr>"
    for record in records:
        yield "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in _cells(record)) + "</tr>"
    yield "</table>\n"


def _chart(records: Sequence[RunRecord]) -> Iterator[str]:
    """Two bars per run, users changed (blue) and errors (red), on one scale; the run's date below."""
    top = max(max(r.changes for r in records), max(r.errors for r in records), 1)
    step, height = 64, 90
    width = step * len(records)
    yield f"<svg width='{width}' height='{height + 30}' role='img' aria-label='users changed and errors per run'>"
    for index, record in enumerate(records):
        x = index * step + 8
        for offset, value, colour in ((0, record.changes, "#0969da"), (22, record.errors, "#cf222e")):
            bar = round(value / top * height, 1)
            yield f"<rect x='{x + offset}' y='{height - bar}' width='20' height='{bar}' fill='{colour}'/>"
        yield f"<text x='{x}' y='{height + 14}' font-size='10'>{record.generated_at:%m-%d}</text>"
    yield "</svg>\n<p class='legend'>blue: users changed; red: error gaps; one pair per run, oldest first</p>\n"
