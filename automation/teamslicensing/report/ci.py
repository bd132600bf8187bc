"""Gaps as CI logging commands: GitHub Actions workflow commands and Azure Pipelines `##vso` lines."""

from __future__ import annotations

from collections.abc import Iterator

from teamslicensing.model.plan import Gap, Plan, Severity
from teamslicensing.model.words import counted
from teamslicensing.report.common import LIMITS_OVERRIDE, gap_subject, limited, refusal_text

_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def github_annotations(plan: Plan) -> Iterator[str]:
    """GitHub Actions workflow commands, one line per gap: `::error title=CODE::subject: message`.

    Repeated codes are bounded like the text report: GitHub shows only a few annotations per step anyway. What apply
    would refuse comes first.
    """
    for refusal in plan.refusals:
        text = f"apply would refuse this plan: {refusal_text(refusal)} ({LIMITS_OVERRIDE})"
        yield f"::error title=applyWouldRefuse::{github_data(text)}\n"
    for gap, more in limited(plan.gaps):
        command = _GITHUB_COMMAND[gap.severity]
        title = _github_property(gap.code.value)
        text = f"{counted(more, 'more ' + gap.code.value + ' gap')}: see the JSON report" if more else _gap_text(gap)
        yield f"::{command} title={title}::{github_data(text)}\n"


def azure_logissues(plan: Plan) -> Iterator[str]:
    """Azure Pipelines logging commands for error and warning gaps (the agent knows no other issue type), after what
    apply would refuse."""
    for refusal in plan.refusals:
        text = azure_escape(f"apply would refuse this plan: {refusal_text(refusal)} ({LIMITS_OVERRIDE})")
        yield f"##vso[task.logissue type=error;code=applyWouldRefuse]{text}\n"
    for gap, more in limited([g for g in plan.gaps if g.severity is not Severity.INFO]):
        text = f"{counted(more, 'more ' + gap.code.value + ' gap')}: see the JSON report" if more else _gap_text(gap)
        kind = "error" if gap.severity is Severity.ERROR else "warning"
        yield f"##vso[task.logissue type={kind};code={azure_escape(gap.code.value)}]{azure_escape(text)}\n"


def _gap_text(gap: Gap) -> str:
    return f"{gap_subject(gap)}: {gap.message}"


def github_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def azure_escape(text: str) -> str:
    return text.replace("%", "%AZP25").replace(";", "%3B").replace("\r", "%0D").replace("\n", "%0A").replace("]", "%5D")
