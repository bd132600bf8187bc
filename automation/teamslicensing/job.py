"""The Azure Automation job once its settings are read: plan, apply or usage, each ending with the JSON line.

`runbooks/reconcile_licenses.py`, the file Azure Automation runs, keeps what must work even when this package does
not import (reading the settings, the signal guard from its first line, the JSON line of a failure) and calls
`run_job`. Apply mode holds the tenant's lock and lease, judges the plan with the job's own limits, writes it, stores
the audit log, and keeps what the writes did in the JSON line whatever comes after them.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from teamslicensing import app
from teamslicensing.apply.audit import default_audit_path
from teamslicensing.errors import TeamsLicensingError
from teamslicensing.exitcodes import EXIT_GAPS, EXIT_OK, for_writes
from teamslicensing.graph import Connection
from teamslicensing.model.outcome import ApplyResult
from teamslicensing.model.plan import Severity
from teamslicensing.model.words import counted
from teamslicensing.report import summary_line
from teamslicensing.report.joblog import job_summary, plan_counts_json
from teamslicensing.report.outcome import outcome_json, outcome_line
from teamslicensing.report.progress import ProgressLines

JsonLine = Callable[[dict[str, Any], TextIO], None]  # writes the JSON line, the job's last output


@dataclass(frozen=True)
class JobSettings:
    """A job's settings, as the runbook read them from Automation variables or the environment."""

    config: str
    mode: str  # plan, apply or usage
    max_changes: int | None  # overrides policy.maxChanges
    max_removals: int | None  # overrides policy.maxRemovals
    time_budget_minutes: float
    managed_identity_client_id: str | None
    cloud: str
    graph_url: str | None
    access_token: str | None = field(repr=False)  # never in a log, even if the settings are printed
    usage_days: int = 90
    audit_container: str | None = None  # https://ACCOUNT.blob.core.windows.net/CONTAINER
    storage_token: str | None = field(default=None, repr=False)  # a Storage token (emulators, tests), never logged
    lease_wait_minutes: float = 10.0
    # setting -> (Automation variable, environment variable): how the admin changes a limit the job refuses by
    names: Mapping[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    history: str | None = None  # the append blob in the audit container each run adds its summary to

    def name(self, key: str, *, variable_only: bool = False) -> str:
        variable, env = self.names.get(key, (key, key))
        return variable if variable_only else f"{variable} / {env}"


def run_job(
    settings: JobSettings, path: Path, document: dict[str, Any], out: TextIO, err: TextIO, line: JsonLine
) -> int:
    """Plan (and in apply mode write) the configuration at `path`, or report usage; the summary on `out`, then the
    JSON line (`document`, completed) through `line`. Returns the exit code."""
    started = time.monotonic()
    connection = Connection.from_options(settings.cloud, settings.graph_url, settings.managed_identity_client_id)
    source = app.TenantSource(
        graph=app.GraphAccess(connection, settings.access_token, lambda text: print(text, file=out))
    )
    if settings.mode == "usage":
        return _usage(settings, path, source, document, out, line)
    applied: app.Applied | None = None
    try:
        with _writer(settings, source, out) as source:
            run = app.plan(path, source)  # every configuration error surfaces before Graph is asked anything
            limits = (
                settings.name("max_changes", variable_only=True),
                settings.name("max_removals", variable_only=True),
            )
            run = app.with_limits(run, settings.max_changes, settings.max_removals, limits)  # this job's apply's
            summary = job_summary(run.plan, run.origin, settings.mode, connection.graph_url)
            out.writelines(f"{text}\n" for text in summary)
            out.flush()
            document.update(plan_counts_json(run.plan))
            if settings.mode == "apply":
                applied = _apply(settings, run, started, document, out, err)
    except app.LeaseWaitStopped as exc:  # another run kept the tenant, or the job was stopped while waiting
        print(outcome_line(exc.outcome), file=out)
        return _finish(document, exc.outcome, for_writes(exc.outcome, False), out, line)
    if run.plan.has_errors:
        print(f"Error-severity gaps remain: {summary_line(run.plan)}", file=err)
    _keep_history(settings, run, applied.outcome if applied is not None else None, document, out, err)
    if applied is None or applied.outcome is None:  # plan mode, or nothing to apply
        return _finish(document, None, EXIT_GAPS if run.plan.has_errors else EXIT_OK, out, line)
    return _finish(document, applied.outcome, applied.exit_code, out, line)


@contextlib.contextmanager
def _writer(settings: JobSettings, source: app.TenantSource, out: TextIO) -> Iterator[app.TenantSource]:
    """Apply mode holds, from before the tenant is read, the lock of one run per tenant on this machine and, with
    an audit container, the tenant's lease there: one run per tenant across jobs. Plan mode takes neither."""
    if settings.mode != "apply":
        yield source
        return
    lease = None
    if settings.audit_container is not None:
        lease = app.LeaseOptions(
            settings.audit_container,
            wait=settings.lease_wait_minutes * 60,
            managed_identity_client_id=settings.managed_identity_client_id,
            storage_token=settings.storage_token,
            command="the runbook",
            notice=lambda text: print(text, file=out, flush=True),
        )
    with app.writer_lock(source), app.tenant_lease(source, lease) as leased:
        yield leased


def _apply(
    settings: JobSettings, run: app.PlanRun, started: float, document: dict[str, Any], out: TextIO, err: TextIO
) -> app.Applied:
    """Write the plan (within the limits and the time budget), keep the audit log, say what happened."""
    audit = default_audit_path(tempfile.gettempdir())
    options = app.ApplyOptions(
        audit_path=audit,
        deadline=started + settings.time_budget_minutes * 60,
        progress=ProgressLines(out),  # progress: output, not errors
        # the sandbox's temp folder goes with the job; its output stays (about 30 days): the audit records go
        # there too, each before its write, and `teams-licensing undo OUTPUT_FILE` reads them from it
        audit_mirror=out,
    )
    applied = app.apply_plan(
        run,
        options,
        (settings.name("max_changes"), settings.name("max_removals")),
        before_writes=lambda plan: print(
            f"Applying {counted(len(plan.changes), 'change')}; audit log {audit}", file=out
        ),
        on_written=lambda outcome: document.update(outcome_json(outcome)),  # kept whatever comes next
        keep_audit=(lambda path: _store_audit(settings, path, document, out, err))
        if settings.audit_container
        else None,
    )
    if applied.refusal is not None:
        _keep_history(settings, run, None, document, out, err)  # a run refused by its limits is a run too
        raise applied.refusal  # the reasons the summary and the JSON line gave, into the runbook's main: exit 1
    out.writelines(f"{text}\n" for text in applied.lines())
    return applied


def _finish(document: dict[str, Any], outcome: ApplyResult | None, status: int, out: TextIO, line: JsonLine) -> int:
    """The apply result (all zero without one) and the exit status into the JSON line, written last."""
    document.update(outcome_json(outcome if outcome is not None else ApplyResult((), 0.0, 0)))
    document["exitCode"] = status
    document["error"] = None
    line(document, out)
    return status


def _store_audit(settings: JobSettings, audit: Path, document: dict[str, Any], out: TextIO, err: TextIO) -> str | None:
    """Copy the audit log into the blob container and say so in `document`; a failure is said (the records are in
    the job output too). Returns the name of a signal that stopped the copy (the job ends then), else None."""
    assert settings.audit_container is not None
    failure = f"The audit log was not stored in {settings.audit_container}"
    try:
        url = app.store_audit(
            audit,
            settings.audit_container,
            managed_identity_client_id=settings.managed_identity_client_id,
            access_token=settings.storage_token,
        )
    except (TeamsLicensingError, OSError) as exc:
        print(f"{failure}: {exc} (it is in this output)", file=err)
        document.update({"auditBlob": None, "auditBlobError": str(exc)})
        return None
    except KeyboardInterrupt as exc:  # the job was stopped as the log uploaded (the runbook's signal guard)
        name = "SIGTERM" if getattr(exc, "exit_code", 130) == 143 else "SIGINT"
        print(f"{failure}: stopped by {name} (it is in this output)", file=err)
        document.update({"auditBlob": None, "auditBlobError": f"stopped by {name}"})
        return name
    print(f"Audit log stored: {url}", file=out)
    document.update({"auditBlob": url, "auditBlobError": None})
    return None


def _keep_history(
    settings: JobSettings,
    run: app.PlanRun,
    outcome: ApplyResult | None,
    document: dict[str, Any],
    out: TextIO,
    err: TextIO,
) -> None:
    """This run's summary appended to the history blob, after the tenant's last runs are shown in the output. A
    history that cannot be read or added to is said, in the output and the JSON line; the run's outcome stands."""
    if settings.history is None or settings.audit_container is None:
        return
    from teamslicensing.app.history import append_blob_history, blob_history, run_record
    from teamslicensing.report.historyviews import history_text

    meta = app.report_meta(run, writes=settings.mode == "apply")
    record = run_record(run.plan, meta, settings.mode, outcome)
    where = {"managed_identity_client_id": settings.managed_identity_client_id, "token": settings.storage_token}
    try:
        past, notes, size = blob_history(settings.audit_container, settings.history, record.tenant, **where)
        url = append_blob_history(settings.audit_container, settings.history, record, at=size, **where)
    except KeyboardInterrupt as exc:  # the job was stopped meanwhile (the runbook's signal guard): said, then ended
        name = "SIGTERM" if getattr(exc, "exit_code", 130) == 143 else "SIGINT"
        document.update({"historyBlob": None, "historyError": f"stopped by {name}"})
        raise
    except Exception as exc:  # the history never decides the job's outcome: whatever went wrong is said
        message = str(exc) if isinstance(exc, (TeamsLicensingError, OSError)) else f"{type(exc).__name__}: {exc}"
        print(f"This run is not in the history: {message}", file=err)
        document.update({"historyBlob": None, "historyError": message})
        return
    out.writelines(f"{line}\n" for line in (*notes, *history_text([*past, record], settings.history)))
    document.update({"historyBlob": url, "historyError": None})


def _usage(
    settings: JobSettings, path: Path, source: app.TenantSource, document: dict[str, Any], out: TextIO, line: JsonLine
) -> int:
    """Usage mode: the usage report of the last `usage_days` days in the job output, its JSON in the JSON line."""
    from teamslicensing.app.usage import UsageWindow
    from teamslicensing.report.usage import render_usage, usage_to_json

    report = app.usage(path, source, UsageWindow(days=settings.usage_days))
    out.write(render_usage(report, "text", title=f"teams-licensing usage: the last {settings.usage_days} days"))
    status = EXIT_GAPS if any(g.severity is Severity.ERROR for g in report.gaps) else EXIT_OK
    document["usage"] = usage_to_json(report)
    document["exitCode"] = status
    document["error"] = None
    line(document, out)
    return status
