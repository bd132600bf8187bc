"""What an apply or undo did, as a section of its HTML and CSV reports (Markdown: `outcome.outcome_markdown`):
the outcome first, then each user and group not applied as planned, failed and unknown first."""

from __future__ import annotations

from collections.abc import Iterator
from html import escape

from teamslicensing.model.outcome import APPLIED, FAILED, IN_SYNC, STALE, UNKNOWN, ApplyResult
from teamslicensing.report.outcome import OUTCOME_ROWS, noted_results, outcome_line

COUNTS = ((APPLIED, "applied", "ok"), (FAILED, "failed", "bad"), (UNKNOWN, "unknown", "bad"), (STALE, "stale", "warn"))


def outcome_html(outcome: ApplyResult, verb: str) -> Iterator[str]:
    """Tiles of what happened and a table of who was not applied as planned: above the plan, what a reader of an
    apply's report asks first."""
    yield f"<h2>{escape(verb.capitalize())}: what happened</h2>\n"
    yield f"<p class='sub'>{escape(outcome_line(outcome, verb))}</p>\n"
    yield "<div class='tiles'>"
    for status, label, kind in COUNTS:
        count = outcome.applied if status == APPLIED else outcome.count(status)
        yield f"<div class='tile {kind if count and kind != 'ok' else 'ok'}'><b>{count:,}</b>{label}</div>"
    waiting = outcome.not_attempted
    yield f"<div class='tile {'warn' if waiting else 'ok'}'><b>{waiting:,}</b>not attempted</div>"
    if outcome.count(IN_SYNC):
        yield f"<div class='tile ok'><b>{outcome.count(IN_SYNC):,}</b>already in sync</div>"
    yield "</div>\n"
    noted = [("", r) for r in noted_results(outcome.results)] + [("group ", r) for r in noted_results(outcome.groups)]
    if noted:
        yield "<table><tr><th>User</th><th>Result</th><th>Reason</th></tr>"
        for kind, result in noted[:OUTCOME_ROWS]:
            style = " class='error'" if result.status in (FAILED, UNKNOWN) else ""
            yield (
                f"<tr{style}><td>{escape(kind + result.user_principal_name)}</td><td>{escape(result.status)}</td>"
                f"<td>{escape(result.reason or '')}</td></tr>"
            )
        if len(noted) > OUTCOME_ROWS:
            yield f"<tr><td colspan='3'>… and {len(noted) - OUTCOME_ROWS:,} more (the JSON result lists them)</td></tr>"
        yield "</table>\n"


def nothing_written_html(verb: str, why: str | None) -> Iterator[str]:
    if why:
        yield f"<h2>{escape(verb.capitalize())}: what happened</h2>\n"
        yield f"<p class='refuse'>Nothing was written: {escape(why)}</p>\n"


def outcome_rows(outcome: ApplyResult, verb: str = "apply") -> Iterator[tuple[str, str, str, str]]:
    """(kind, user, status, reason) rows for the CSV report: the outcome line, then each user and group not
    applied as planned."""
    yield ("outcome", "", "", outcome_line(outcome, verb))
    for result in noted_results(outcome.results):
        yield ("result", result.user_principal_name, result.status, result.reason or "")
    for result in noted_results(outcome.groups):
        yield ("groupResult", result.user_principal_name, result.status, result.reason or "")
