"""The runbook's view of a plan: a short summary for the Automation job's output, and the plan's counts for the
one JSON line that ends it (README, *Azure Automation runbook*)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from teamslicensing.model.plan import Plan, Severity
from teamslicensing.model.planjson import refusal_json
from teamslicensing.report.common import gap_subject, summary_line

MAX_CHANGE_LINES = 50  # the job log shows this many changed users, then a count
MAX_ERROR_GAPS = 50  # error-severity gaps in full, in the summary and in the JSON line


def job_summary(plan: Plan, origin: str, mode: str, where: str) -> Iterator[str]:
    """The changed users (up to 50), gap counts per code, error-severity gaps in full (up to 50), the summary."""
    yield f"teams-licensing {mode}: {origin} against {where}"
    for change in plan.changes[:MAX_CHANGE_LINES]:
        parts = [f"+{a.sku_part_number}" for a in change.add_licenses]
        parts += [f"-{r.sku_part_number}" for r in change.remove_licenses]
        if change.set_usage_location:
            parts.insert(0, f"usageLocation={change.set_usage_location}")
        marker = "!!" if change.destructive else "~"
        yield f"  {marker} {change.user_principal_name}: {' '.join(parts)}"
    if len(plan.changes) > MAX_CHANGE_LINES:
        yield f"  … and {len(plan.changes) - MAX_CHANGE_LINES} more user(s)"
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
        yield f"  … and {len(errors) - MAX_ERROR_GAPS} more error gap(s)"
    yield summary_line(plan)


def plan_counts_json(plan: Plan) -> dict[str, Any]:
    """`{"changes", "applyWouldRefuse", "destructive", "gaps": {severity: n}, "gapCodes": {code: n}, "errorGaps":
    [up to 50]}`."""
    codes: dict[str, int] = {}
    for gap in plan.gaps:
        codes[gap.code.value] = codes.get(gap.code.value, 0) + 1
    return {
        "changes": len(plan.changes),
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
