"""What every report says about where it comes from (the JSON `meta` object): the tool's version, when, the tenant
and the source. The plan is pure; the front end that ran it knows these."""

from __future__ import annotations

from datetime import datetime, timezone

from teamslicensing import __version__
from teamslicensing.app.core import PlanRun
from teamslicensing.model.planjson import ReportMeta


def report_meta(run: PlanRun, now: datetime | None = None) -> ReportMeta:
    source = run.source.where
    if run.desired is None:  # a saved plan or an audit log, checked against the tenant
        source = f"{run.origin} against {source}"
    return ReportMeta(
        tool_version=__version__,
        generated_at=now or datetime.now(timezone.utc),
        tenant_id=run.tenant.tenant_id,
        tenant_name=None,  # not read: it would take another Graph permission for a label
        source=source,
    )
