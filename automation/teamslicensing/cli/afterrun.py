"""What `apply` and `undo` leave once the run ended, however it ended: the report kept with what happened, the CI
summary, and the history's record."""

from __future__ import annotations

import argparse

from teamslicensing.app import Applied, PlanRun
from teamslicensing.cli.output import write_output
from teamslicensing.model.planjson import ReportMeta


def after_the_run(
    args: argparse.Namespace,
    run: PlanRun,
    how: tuple[str, str, bool],
    meta: ReportMeta,
    applied: Applied | None,
    error: BaseException | None,
) -> None:
    """The reports of a run that ended, however it ended: the CI summary, the history's record (a history failing
    now changes nothing of the run), then the kept report with what happened (or why nothing was written)."""
    from teamslicensing.cli.ci import ci_outputs
    from teamslicensing.cli.runhistory import keep, last_runs
    from teamslicensing.report import render

    title, verb, after = how
    outcome = None if applied is None else applied.outcome
    runs = last_runs(args, run.plan, meta, verb, outcome)
    # the CI summary and the history first: a report that cannot be written must not cost them
    ci_outputs(run.plan, title, outcome, meta=meta, verb=verb)
    if runs:
        keep(args, runs[-1])
    if after:
        done = (outcome, verb, None if outcome is not None else _nothing_written(applied, error))
        write_output(render(run.plan, args.format, title=title, meta=meta, done=done, history=runs), args.output)


def _nothing_written(applied: Applied | None, error: BaseException | None) -> str:
    if applied is not None:
        return "; ".join(applied.lines())
    if isinstance(error, KeyboardInterrupt):
        return "interrupted before any write"
    return str(error) if error is not None and str(error) else "the run ended before any write"
