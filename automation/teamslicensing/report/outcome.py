"""Views of an apply outcome: the one-line summary, the JSON result (a contract shared by the CLI and the runbook),
Markdown for step summaries, and failed writes as CI logging commands."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from teamslicensing.model.outcome import APPLIED, FAILED, ApplyResult
from teamslicensing.report.ci import azure_escape, github_data
from teamslicensing.report.common import md_cell


def outcome_line(outcome: ApplyResult) -> str:
    return (
        f"Apply: {outcome.count(APPLIED)} applied, {outcome.count(FAILED)} failed, "
        f"{outcome.not_tried} skipped in {outcome.seconds:.1f} s"
    )


def outcome_json(outcome: ApplyResult) -> dict[str, Any]:
    """`{"applied", "failed", "skipped", "seconds", "users": [{"userId", "userPrincipalName", "status", "reason"}]}`"""
    return {
        "applied": outcome.count(APPLIED),
        "failed": outcome.count(FAILED),
        "skipped": outcome.not_tried,
        "seconds": round(outcome.seconds, 3),
        "users": [
            {"userId": r.user_id, "userPrincipalName": r.user_principal_name, "status": r.status, "reason": r.reason}
            for r in outcome.results
        ],
    }


def outcome_markdown(outcome: ApplyResult) -> str:
    lines = ["### Apply", "", f"**{outcome_line(outcome)}**", ""]
    if outcome.failed:
        lines += ["| Failed user | Reason |", "|---|---|"]
        lines += [f"| {md_cell(f.user_principal_name)} | {md_cell(f.reason or '')} |" for f in outcome.failed]
        lines.append("")
    return "\n".join(lines) + "\n"


def failure_lines(outcome: ApplyResult) -> Iterator[str]:
    """`  FAILED upn: reason` for each failed write, for a terminal or a job log."""
    for failure in outcome.failed:
        yield f"  FAILED {failure.user_principal_name}: {failure.reason}"


def github_failures(outcome: ApplyResult) -> Iterator[str]:
    for failure in outcome.failed:
        yield f"::error title=WRITE_FAILED::{github_data(f'{failure.user_principal_name}: {failure.reason}')}\n"


def azure_failures(outcome: ApplyResult) -> Iterator[str]:
    for failure in outcome.failed:
        text = azure_escape(f"{failure.user_principal_name}: {failure.reason}")
        yield f"##vso[task.logissue type=error;code=WRITE_FAILED]{text}\n"
