"""What every report says about where it comes from (the JSON `meta` object): the tool's version, when, the tenant
and the source. The plan is pure; the front end that ran it knows these."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from teamslicensing import __version__
from teamslicensing.app.core import PlanRun
from teamslicensing.model.planjson import ReportMeta


def generated_now() -> datetime:
    """Now, or the time SOURCE_DATE_EPOCH fixes (the reproducible-builds convention): the documentation's examples
    show the same report every time they are run."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if fixed.isdigit():
        return datetime.fromtimestamp(int(fixed), timezone.utc)
    return datetime.now(timezone.utc)


def report_meta(run: PlanRun, now: datetime | None = None) -> ReportMeta:
    source = run.source.where
    if run.desired is None:  # a saved plan or an audit log, checked against the tenant
        source = f"{run.origin} against {source}"
    return ReportMeta(
        tool_version=__version__,
        generated_at=now or generated_now(),
        tenant_id=run.tenant.tenant_id,
        tenant_name=run.tenant.tenant_name,  # a snapshot's; a live read does not ask (another permission for a label)
        source=source,
    )
