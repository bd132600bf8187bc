"""One short function per command: arguments in, an `app` use case, a report out, an exit code back.

Heavy imports (msgraph, azure-identity) happen only when a command talks to a tenant, so `validate`, `schema` and
`skus` start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from teamslicensing.cli.lease import writing_leased
from teamslicensing.cli.output import write_output
from teamslicensing.errors import UsageError
from teamslicensing.exitcodes import EXIT_CHANGES, EXIT_FAILURE, EXIT_GAPS, EXIT_OK
from teamslicensing.model.words import counted

if TYPE_CHECKING:
    from teamslicensing.app import Applied, ApplyOptions, GraphAccess, PlanRun, TenantSource


def validate(args: argparse.Namespace) -> int:
    from teamslicensing import app

    desired = app.validate(args.config)
    licenses = ", ".join(ref.ref for ref in desired.managed_licenses) or "none"
    rules = len(desired.rules)
    print(f"{desired.source}: valid ({rules} rule{'s' if rules != 1 else ''}; managed licenses: {licenses})")
    return EXIT_OK


def plan(args: argparse.Namespace) -> int:
    from teamslicensing import app
    from teamslicensing.cli.ci import ci_outputs
    from teamslicensing.cli.runhistory import check_history_option
    from teamslicensing.report import render_chunks

    check_history_option(args)
    run = app.plan(args.config, tenant_source(args), args.read)
    if args.usage:
        run = app.with_usage(run, args.usage)
    title = f"teams-licensing plan: {run.origin} against {run.source.where}"
    shown = run.plan
    if args.user or args.rule:
        from teamslicensing.plan.explain import filter_plan

        shown = filter_plan(run.plan, run.tenant, args.user, args.rule)
        print(
            f"Showing {len(shown.changes)} of {len(run.plan.changes)} changed users (--user/--rule); seats, "
            "--out and the exit code are the whole plan's",
            file=sys.stderr,
        )
    meta = app.report_meta(run)
    from teamslicensing.cli.runhistory import keep, last_runs

    runs = last_runs(args, run.plan, meta, "plan")
    chunks = render_chunks(shown, args.format, title=title, meta=meta, history=runs)
    write_output(chunks, args.output, colour=args.format == "text")
    if args.out:
        app.save_plan(run, args.out)
        print(f"Plan saved to {args.out}: apply exactly it with `teams-licensing apply {args.out}`", file=sys.stderr)
    ci_outputs(run.plan, title, meta=meta)
    if runs:
        keep(args, runs[-1])
    if not args.detailed_exitcode:
        return EXIT_OK
    if run.plan.has_errors:
        return EXIT_GAPS
    return EXIT_CHANGES if not run.plan.is_empty else EXIT_OK


def apply(args: argparse.Namespace) -> int:
    from teamslicensing import app
    from teamslicensing.cli.runhistory import check_history_option

    check_history_option(args)
    source = tenant_source(args)
    saved = app.is_plan_file(args.config)
    if args.max_age is not None and not saved:
        raise UsageError("--max-age applies to a saved plan (apply PLANFILE), not to a configuration")
    if args.read is not None and saved:
        raise UsageError("--read applies to a configuration; a saved plan reads the users it changes")
    if args.reviewed_config is not None and not saved:
        raise UsageError("--config applies to a saved plan (apply PLANFILE --config FILE), not to a configuration")

    def leased(source: TenantSource) -> int:
        if saved:
            run = app.saved_plan(args.config, source, args.max_age, args.reviewed_config)
        else:
            run = app.plan(args.config, source, args.read)
        return _write_run(args, run, "apply")

    with app.writer_lock(source):
        return writing_leased(args, source, "apply", leased)


def undo(args: argparse.Namespace) -> int:
    from teamslicensing import app
    from teamslicensing.apply.guard import DEFAULT_MAX_REMOVALS
    from teamslicensing.cli.runhistory import check_history_option

    check_history_option(args)
    from teamslicensing.model.desired import DEFAULT_MAX_CHANGES

    def leased(source: TenantSource) -> int:
        run = app.undo(
            args.audit,
            source,
            args.user,
            allow_number_loss=args.allow_number_loss,
            max_changes=DEFAULT_MAX_CHANGES,
            max_removals=DEFAULT_MAX_REMOVALS,
        )
        return _write_run(args, run, "undo")

    source = tenant_source(args)
    with app.writer_lock(source):
        return writing_leased(args, source, "undo", leased)


def reprocess(args: argparse.Namespace) -> int:
    return writing_leased(args, tenant_source(args), "reprocess", lambda source: _reprocess(args, source))


def _reprocess(args: argparse.Namespace, source: TenantSource) -> int:
    from teamslicensing import app
    from teamslicensing.apply.audit import default_audit_path
    from teamslicensing.model.outcome import APPLIED

    targets, problems = app.reprocess_plan(source, args.config, args.group, args.user)
    for problem in problems:
        print(f"  NOT FOUND {problem}", file=sys.stderr)
    if not targets:
        print("Nothing to reprocess: no member of those groups has a group license error.", file=sys.stderr)
        return EXIT_GAPS if problems else EXIT_OK
    for target in targets:
        print(f"  ~ {target.user_principal_name}: {target.reason}")
    _confirm(args, f"Reprocess: {counted(len(targets), 'user')} for Entra to license again", "reprocess")
    audit = Path(args.audit_log) if args.audit_log else default_audit_path()
    print(f"Audit log: {audit}", file=sys.stderr)
    results = app.reprocess(source, targets, audit)
    failed = [r for r in results if r.status != APPLIED]
    for result in failed:
        print(f"  {result.status.upper()} {result.user_principal_name}: {result.reason}", file=sys.stderr)
    print(
        f"Reprocess: {len(results) - len(failed)} accepted, {len(failed)} failed, "
        f"{len(targets) - len(results)} not attempted; the next plan reads the results",
        file=sys.stderr,
    )
    return EXIT_FAILURE if failed or len(results) < len(targets) else EXIT_OK


def _write_run(args: argparse.Namespace, run: PlanRun, verb: str) -> int:
    """Show the plan, refuse what must not be written, confirm, write, and report: shared by apply and undo."""
    from teamslicensing import app
    from teamslicensing.report import plan_json_chunks, render, summary_line
    from teamslicensing.report.outcome import github_failures

    limit_names = ("--max-changes", "--max-removals")
    run = app.with_limits(run, args.max_changes, args.max_removals, limit_names)  # what every report says it refuses
    title = f"teams-licensing {verb}: {run.origin} against {run.source.where}"
    meta = app.report_meta(run, writes=True)
    for note in run.notes:
        print(note, file=sys.stderr)
    # a report to keep (a file, or HTML, Markdown, CSV) is written once the run ended, with what happened; a
    # terminal's text and a CI log's annotations show the plan first, before any question or write
    after = args.format in ("html", "markdown", "csv") or (args.format == "text" and args.output is not None)
    if args.format != "json" and not after:
        write_output(
            render(run.plan, args.format, title=title, meta=meta),
            args.output,
            colour=args.format == "text",
        )
    for stale in run.stale:
        print(f"  STALE {stale.user_principal_name}: {stale.reason}", file=sys.stderr)
    applied: Applied | None = None

    def finish_json(error: str | None = None) -> None:
        if args.format == "json":
            result = None if applied is None else applied.result_json()
            chunks = plan_json_chunks(run.plan, [("result", result), ("error", error)], meta=meta)
            write_output(chunks, args.output)

    try:
        options = _apply_options(args)
        applied = app.apply_plan(
            run,
            options,
            limit_names,
            before_writes=lambda plan: _confirm(args, summary_line(plan), verb),
            announce=lambda path: print(f"Audit log: {path}", file=sys.stderr),
        )
        if applied.refusal is not None:
            finish_json(str(applied.refusal))  # the report a script reads says it too, with applyWouldRefuse
            raise applied.refusal
        finish_json()
        for line in applied.lines():
            print(line, file=sys.stderr)
        if args.format == "github" and applied.outcome is not None:
            sys.stdout.write("".join(github_failures(applied.outcome)))
        return applied.exit_code
    finally:
        from teamslicensing.cli.afterrun import after_the_run

        after_the_run(args, run, (title, verb, after), meta, applied, sys.exc_info()[1])


def _apply_options(args: argparse.Namespace) -> ApplyOptions:
    from teamslicensing import app
    from teamslicensing.apply.audit import default_audit_path
    from teamslicensing.report.progress import ProgressLines

    return app.ApplyOptions(
        audit_path=Path(args.audit_log) if args.audit_log else default_audit_path(),
        append_audit=args.append_audit,
        deadline=args.started + args.time_budget if args.time_budget is not None else None,
        limit=args.limit,
        progress=ProgressLines(sys.stderr),
        wait=getattr(args, "wait", None),
    )


def export(args: argparse.Namespace) -> int:
    from teamslicensing import app

    if not args.output and not args.calls:
        raise UsageError("name what to export: --output FILE (a tenant snapshot), --calls FILE (call records) or both")
    if args.output:
        counts = app.export(args.output, _graph_access(args), args.config)
        users, skus, groups = counts["users"], counts["subscribedSkus"], counts["groups"]
        print(f"{args.output}: {users} users, {skus} subscriptions, {groups} groups")
    if args.calls:
        rows = app.export_calls(args.calls, _graph_access(args), args.days)
        print(f"{args.calls}: {rows} call rows of the last {args.days} days (PSTN and Direct Routing)")
    return EXIT_OK


def usage(args: argparse.Namespace) -> int:
    from teamslicensing import app
    from teamslicensing.app.usage import UsageWindow
    from teamslicensing.model.plan import Severity
    from teamslicensing.report.usage import render_usage

    window = UsageWindow(args.days, args.date_from, args.date_to)
    source = tenant_source(args)
    report = app.usage(args.config, source, window, args.calls)
    where = args.calls or source.where
    title = f"teams-licensing usage: {report.window_from} to {report.window_to} from {where}"
    write_output(render_usage(report, args.format, title=title), args.output)
    return EXIT_GAPS if any(g.severity is Severity.ERROR for g in report.gaps) else EXIT_OK


def bundle_runbook(args: argparse.Namespace) -> int:
    from teamslicensing.bundle import make_bundle

    bundle = make_bundle(
        Path(args.output),
        Path(args.wheel_dir) if args.wheel_dir else None,
        Path(args.runbook) if args.runbook else None,
    )
    for wheel in bundle.wheels:
        print(f"  {wheel.path.name}  {wheel.size / 1024 / 1024:.1f} MB")
    print(
        f"{bundle.output}: {len(bundle.wheels)} wheels ({bundle.total_bytes / 1024 / 1024:.1f} MB; teams-licensing "
        f"{bundle.source}), closure checked for CPython 3.10 on Linux x86-64; the runbook, grant-permissions.sh, "
        "upload.sh, README.md and bundle.json"
    )
    return EXIT_OK


def schema(args: argparse.Namespace) -> int:
    from teamslicensing.config import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def permissions(args: argparse.Namespace) -> int:
    from teamslicensing.report.permissions import permissions_json, permissions_text

    sys.stdout.write(permissions_json(args.mode) if args.format == "json" else permissions_text(args.mode))
    return EXIT_OK


# ---- shared by the commands ------------------------------------------------------------------------------------


def _graph_access(args: argparse.Namespace) -> GraphAccess:
    from teamslicensing.app import GraphAccess
    from teamslicensing.graph import GRAPH_URL_ENV, TOKEN_ENV, Connection

    url = args.graph_url or os.environ.get(GRAPH_URL_ENV)
    connection = Connection.from_options(args.cloud, url, args.managed_identity_client_id)
    return GraphAccess(connection, os.environ.get(TOKEN_ENV) or None, _notice)


def _notice(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def tenant_source(args: argparse.Namespace) -> TenantSource:
    from teamslicensing.app import TenantSource

    if args.snapshot:
        return TenantSource(snapshot=Path(args.snapshot))
    return TenantSource(graph=_graph_access(args))


def _confirm(args: argparse.Namespace, summary: str, verb: str) -> None:
    """Ask on the terminal itself, never on standard output, which may be a report being saved (`> plan.json`)."""
    if args.yes:
        return
    question = f"{summary}\n{verb.capitalize()} these changes? Only 'yes' is accepted: "
    with _terminal() as terminal:
        if terminal is None:
            raise UsageError(f"refusing to {verb} without confirmation: no terminal to ask on, so pass --yes")
        terminal.write(question)
        terminal.flush()
        answer = terminal.readline()
    if not answer:  # Ctrl-D, or the terminal went away
        raise UsageError(f"{verb} cancelled (no answer); nothing was written")
    if answer.strip() != "yes":
        raise UsageError(f"{verb} cancelled; nothing was written")


class Terminal(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> None: ...

    def readline(self) -> str: ...


@contextlib.contextmanager
def _terminal() -> Iterator[Terminal | None]:
    """The controlling terminal (/dev/tty) for the question and the answer; else standard error and standard
    input when input is a terminal (Windows); else None: there is nobody to ask."""
    try:
        tty = open("/dev/tty", "r+", encoding="utf-8")  # noqa: SIM115 -- closed below
    except OSError:
        if sys.stdin.isatty():
            yield _Prompt()
        else:
            yield None
        return
    with tty:
        yield tty


class _Prompt:
    """Question on standard error, answer from standard input."""

    def write(self, text: str) -> None:
        sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def readline(self) -> str:
        return sys.stdin.readline()
