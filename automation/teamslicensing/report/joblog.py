"""The runbook's view of a plan: a short summary for the Automation job's output, and the plan's counts for the
one JSON line that ends it (README, *Azure Automation runbook*)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from teamslicensing.model.plan import Plan, Severity
from teamslicensing.model.planjson import refusal_json
from teamslicensing.model.words import counted
from teamslicensing.report.common import (
    beyond_voice,
    beyond_voice_heading,
    gap_subject,
    refusal_lines,
    removed_beyond_voice,
    summary_line,
)

MAX_CHANGE_LINES = 50  # the job log shows this many changed users, then a count
MAX_ERROR_GAPS = 50  # error-severity gaps in full, in the summary and in the JSON line
JOB_LIMITS_OVERRIDE = (
    "the Automation variables TeamsLicensing_MaxChanges and TeamsLicensing_MaxRemovals override the policy's limits"
)


def job_summary(plan: Plan, origin: str, mode: str, where: str) -> Iterator[str]:
    """What apply would refuse (or that it would go ahead), how many users lose licenses beyond voice, the changed
    users (up to 50), gap counts per code, error-severity gaps in full (up to 50), the summary."""
    yield f"teams-licensing {mode}: {origin} against {where}"
    yield from refusal_lines(plan, JOB_LIMITS_OVERRIDE)
    yield from _beyond_voice_lines(plan)
    for change in plan.changes[:MAX_CHANGE_LINES]:
        parts = [f"+{a.sku_part_number}" for a in change.add_licenses]
        parts += [f"-{r.sku_part_number}" for r in change.remove_licenses]
        if change.set_usage_location:
            parts.insert(0, f"usageLocation={change.set_usage_location}")
        marker = "!!" if change.destructive else "~"
        yield f"  {marker} {change.user_principal_name}: {' '.join(parts)}"
    if len(plan.changes) > MAX_CHANGE_LINES:
        yield f"  … and {counted(len(plan.changes) - MAX_CHANGE_LINES, 'more user')}"
    codes: dict[tuple[str, str], int] = {}
    for gap in plan.gaps:
        if gap.severity is not Severity.INFO:
            key = (gap.severity.value, gap.code.value)
            codes[key] = codes.get(key, 0) + 1
    for (severity, code), count in codes.items():
        yield f"  {severity}: {code}: {count}"
    errors = [gap for gap in plan.gaps if gap.severity is Severity.ERROR]
    for gap in errors[:MAX_ERROR_GAPS]:
        yield f"  ERROR {gap.code.value} {gap_subject(gap)}: {gap.message}"
    if len(errors) > MAX_ERROR_GAPS:
        yield f"  … and {counted(len(errors) - MAX_ERROR_GAPS, 'more error gap')}"
    yield summary_line(plan)


def _beyond_voice_lines(plan: Plan) -> Iterator[str]:
    """Users who lose licenses beyond voice (policy.pruneAlso), in a section of their own (up to 50, then a count)."""
    broad = beyond_voice(plan)
    if not broad:
        return
    yield f"Removals: {beyond_voice_heading(len(broad))}"
    for change in broad[:MAX_CHANGE_LINES]:
        yield f"  - {change.user_principal_name}: {removed_beyond_voice(change)}"
    if len(broad) > MAX_CHANGE_LINES:
        yield f"  … and {counted(len(broad) - MAX_CHANGE_LINES, 'more user')}"


def plan_counts_json(plan: Plan) -> dict[str, Any]:
    """`{"changes", "applyWouldRefuse", "destructive", "gaps": {severity: n}, "gapCodes": {code: n}, "errorGaps":
    [up to 50]}`; `changes` counts users and groups to change, as the plan's JSON `changes` lists them."""
    codes: dict[str, int] = {}
    for gap in plan.gaps:
        codes[gap.code.value] = codes.get(gap.code.value, 0) + 1
    return {
        "changes": len(plan.changes) + len(plan.group_changes),
        "applyWouldRefuse": [refusal_json(refusal) for refusal in plan.refusals],
        "destructive": sum(1 for change in plan.changes if change.destructive),
        "gaps": {severity.value: plan.gap_count(severity) for severity in Severity},
        "gapCodes": dict(sorted(codes.items())),
        "errorGaps": [
            {
                "code": gap.code.value,
                "userPrincipalName": gap.user_principal_name,
                "skuPartNumber": gap.sku_part_number,
                "message": gap.message,
            }
            for gap in plan.gaps
            if gap.severity is Severity.ERROR
        ][:MAX_ERROR_GAPS],
    }
