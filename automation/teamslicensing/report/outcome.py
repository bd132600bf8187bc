"""Views of an apply outcome: the summary line, the JSON result (a contract shared by the CLI and the runbook),
Markdown for step summaries, and failed writes as CI logging commands."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from teamslicensing.model.outcome import (
    APPLIED,
    FAILED,
    IN_SYNC,
    NOT_ATTEMPTED,
    STALE,
    UNKNOWN,
    ApplyResult,
    UserResult,
)
from teamslicensing.model.words import counted
from teamslicensing.report.ci import azure_escape, github_data
from teamslicensing.report.common import md_cell

OUTCOME_ROWS = 200  # users not applied as planned, listed in a step summary
REASON_CHARS = 300  # of each one's reason there (Graph's messages are unbounded): at most about 70 kB in all
# users the run never reached, listed in the JSON result: the outcome counts them all, the audit log and the next plan
# name every one, and a list of 100,000 made a 21 MB JSON line
NOT_ATTEMPTED_LISTED = 100
_FIRST = {FAILED: 0, UNKNOWN: 1, STALE: 2, IN_SYNC: 3}  # what needs a person first
_STOPPED = {
    "interrupted": "stopped by Ctrl-C (SIGINT)",
    "terminated": "stopped by SIGTERM",
    "timeBudget": "stopped: the time budget ran out",
    "auditFailed": "stopped: the audit log could not be written",
    "graphError": "stopped: Graph refused or did not answer",
    "tenantLocked": "not started",
    "leaseLost": "stopped: the tenant's lease was lost",
}


def outcome_line(outcome: ApplyResult, verb: str = "apply") -> str:
    """`Apply: 12 applied, 1 failed, 30 not attempted in 4.2 s` (+ in sync, stale, unknown, and why it stopped)."""
    parts = [f"{outcome.count(APPLIED)} applied", f"{outcome.count(FAILED)} failed"]
    for status, label in ((IN_SYNC, "already in sync"), (STALE, "stale"), (UNKNOWN, "unknown")):
        if outcome.count(status):
            parts.append(f"{outcome.count(status)} {label}")
    parts.append(f"{outcome.not_attempted} not attempted")
    line = f"{verb.capitalize()}: {', '.join(parts)} in {outcome.seconds:.1f} s"
    if outcome.groups:
        accepted = sum(1 for g in outcome.groups if g.status == APPLIED)
        line += (
            f"; groups: {accepted} of {counted(outcome.groups_planned, 'license write')} accepted "
            "(Entra licenses their members asynchronously: the next run reads the result)"
        )
        if outcome.groups_processing:
            line += f"; still processing when --wait ran out: {', '.join(outcome.groups_processing)}"
        elif outcome.groups_processing is not None:
            line += "; Entra finished processing them"
    elif outcome.groups_planned:
        line += f"; groups: {counted(outcome.groups_planned, 'license write')} not attempted"
    if outcome.stopped is not None:
        line += f"; {_STOPPED[outcome.stopped.reason.value]}: {outcome.stopped.message}"
    if outcome.left_by_limit:
        line += f"; {outcome.left_by_limit} left for a later run by --limit"
    if outcome.audit_error:
        line += f"; AUDIT LOG INCOMPLETE: {outcome.audit_error}"
    return line


def outcome_json(outcome: ApplyResult) -> dict[str, Any]:
    """`{"applied", "failed", "inSync", "stale", "unknown", "notAttempted", "skipped", "seconds", "stopped",
    "leftByLimit", "auditError", "users": [{"userId", "userPrincipalName", "status", "reason"}],
    "notAttemptedOmitted", "groups": [{"groupId", "groupName", "status", "reason"}], "groupsNotAttempted"}`;
    `skipped` is `notAttempted` under its version-1 name. `users` lists every user not applied as planned, failed
    and unknown first, except that of the users not attempted only the first 100 are listed: `notAttemptedOmitted`
    counts the others (the audit log and the next plan name them)."""
    listed, omitted = listed_results(outcome)
    return {
        "applied": outcome.count(APPLIED),
        "failed": outcome.count(FAILED),
        "inSync": outcome.count(IN_SYNC),
        "stale": outcome.count(STALE),
        "unknown": outcome.count(UNKNOWN),
        "notAttempted": outcome.not_attempted,
        "skipped": outcome.not_attempted,
        "seconds": round(outcome.seconds, 3),
        "stopped": None
        if outcome.stopped is None
        else {"reason": outcome.stopped.reason.value, "message": outcome.stopped.message},
        "leftByLimit": outcome.left_by_limit,
        "auditError": outcome.audit_error,
        "users": [
            {"userId": r.user_id, "userPrincipalName": r.user_principal_name, "status": r.status, "reason": r.reason}
            for r in listed
        ],
        "notAttemptedOmitted": omitted,
        "groups": [
            {"groupId": r.user_id, "groupName": r.user_principal_name, "status": r.status, "reason": r.reason}
            for r in outcome.groups
        ],
        "groupsNotAttempted": outcome.groups_planned - len(outcome.groups),
    }


def listed_results(outcome: ApplyResult) -> tuple[list[UserResult], int]:
    """The users the JSON result lists (failed and unknown first, then stale and in sync, then up to 100 not
    attempted, each kind in plan order), and how many not attempted are left out."""
    listed = noted_results(outcome.results)
    not_attempted = [r for r in outcome.results if r.status == NOT_ATTEMPTED]
    listed += not_attempted[:NOT_ATTEMPTED_LISTED]
    return listed, max(len(not_attempted) - NOT_ATTEMPTED_LISTED, 0)


def noted_results(results: tuple[UserResult, ...]) -> list[UserResult]:
    """Results that need reading (not applied, and not merely not attempted), what needs a person first."""
    noted = (r for r in results if r.status not in (APPLIED, NOT_ATTEMPTED))
    return sorted(noted, key=lambda r: _FIRST.get(r.status, len(_FIRST)))


def outcome_markdown(outcome: ApplyResult, verb: str = "apply") -> str:
    """The outcome line (it counts the users not attempted), then each user and group not applied as planned,
    failed and unknown first (up to 200)."""
    lines = [f"### {verb.capitalize()}", "", f"**{md_cell(outcome_line(outcome, verb))}**", ""]
    noted = [("", r) for r in noted_results(outcome.results)]
    noted += [("group ", r) for r in noted_results(outcome.groups)]
    if noted:
        lines += ["| User | Result | Reason |", "|---|---|---|"]
        listed = noted[:OUTCOME_ROWS]  # the step summary holds the plan too: 1 MiB in all
        lines += [
            f"| {md_cell(kind + r.user_principal_name)} | {r.status} | {md_cell(_shortened(r.reason or ''))} |"
            for kind, r in listed
        ]
        if len(noted) > OUTCOME_ROWS:
            lines.append(f"| … and {len(noted) - OUTCOME_ROWS} more | | the JSON result lists every one |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _shortened(reason: str) -> str:
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"


def failure_lines(outcome: ApplyResult) -> Iterator[str]:
    """`  FAILED upn: reason` for each user and group not applied as planned, failed and unknown first, for a
    terminal or a job log. Users not attempted are not listed: the outcome line counts them, and the audit log and
    the next plan name them."""
    for result in noted_results(outcome.results):
        yield f"  {result.status.upper()} {result.user_principal_name}: {result.reason}"
    for result in noted_results(outcome.groups):
        yield f"  {result.status.upper()} group '{result.user_principal_name}': {result.reason}"


def github_failures(outcome: ApplyResult) -> Iterator[str]:
    for failure in outcome.failed:
        yield f"::error title=WRITE_FAILED::{github_data(f'{failure.user_principal_name}: {failure.reason}')}\n"


def azure_failures(outcome: ApplyResult) -> Iterator[str]:
    for failure in outcome.failed:
        text = azure_escape(f"{failure.user_principal_name}: {failure.reason}")
        yield f"##vso[task.logissue type=error;code=WRITE_FAILED]{text}\n"
