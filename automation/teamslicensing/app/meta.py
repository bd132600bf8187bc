"""What every report says about where it comes from (the JSON `meta` object): the tool's version, when, the tenant
and the source. The plan is pure; the front end that ran it knows these."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from teamslicensing import __version__
from teamslicensing.app.core import PlanRun
from teamslicensing.model.planjson import ReportMeta


def generated_now(fixed_allowed: bool = True) -> datetime:
    """Now, or for a report of what would be done (`fixed_allowed`) the time SOURCE_DATE_EPOCH fixes (the
    reproducible-builds convention: the documentation's examples show the same report every time). A run that
    writes always says when it really ran; a value that is no time is not believed."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if fixed_allowed and fixed.isdigit():
        try:
            return datetime.fromtimestamp(int(fixed), timezone.utc)
        except (OverflowError, OSError, ValueError):
            pass
    return datetime.now(timezone.utc)


def report_meta(run: PlanRun, now: datetime | None = None, *, writes: bool = False) -> ReportMeta:
    source = run.source.where
    if run.desired is None:  # a saved plan or an audit log, checked against the tenant
        source = f"{run.origin} against {source}"
    return ReportMeta(
        tool_version=__version__,
        generated_at=now or generated_now(fixed_allowed=not writes),
        tenant_id=run.tenant.tenant_id,
        tenant_name=run.tenant.tenant_name,  # a snapshot's; a live read does not ask (another permission for a label)
        source=source,
    )
