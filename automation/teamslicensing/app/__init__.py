"""The one application layer the CLI and the runbook both call: use cases over the functional core.

`core` holds plan, apply, undo, saved plans and export; `reprocess` and `usage` the use cases of group-based
licensing's retries and of PSTN usage sizing; `lease` the tenant lease that keeps writing runs on different
machines apart. Names are re-exported here: callers use `teamslicensing.app`.
"""

from __future__ import annotations

from teamslicensing.app.applying import Applied, apply_plan
from teamslicensing.app.core import (
    ApplyOptions,
    PlanRun,
    apply,
    export,
    plan,
    read,
    save_plan,
    saved_plan,
    undo,
    validate,
)
from teamslicensing.app.lease import LeaseOptions, LeaseWaitStopped, tenant_lease
from teamslicensing.app.limits import with_limits
from teamslicensing.app.meta import report_meta
from teamslicensing.app.reprocess import reprocess, reprocess_plan
from teamslicensing.app.source import GraphAccess, TenantSource
from teamslicensing.app.storage import store_audit
from teamslicensing.app.usage import export_calls, usage, with_usage
from teamslicensing.app.writing import writer_lock
from teamslicensing.apply.planfile import is_plan_file

__all__ = [
    "Applied",
    "ApplyOptions",
    "GraphAccess",
    "LeaseOptions",
    "LeaseWaitStopped",
    "PlanRun",
    "TenantSource",
    "apply",
    "apply_plan",
    "export",
    "export_calls",
    "is_plan_file",
    "plan",
    "read",
    "report_meta",
    "reprocess",
    "reprocess_plan",
    "save_plan",
    "saved_plan",
    "store_audit",
    "tenant_lease",
    "undo",
    "usage",
    "validate",
    "with_limits",
    "with_usage",
    "writer_lock",
]
