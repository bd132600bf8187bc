"""`--history FILE` for plan, apply and undo: the last runs for the report, then this run's record appended."""

from __future__ import annotations

import argparse
import sys

from teamslicensing.app.history import append_history, check_history, read_history, run_record
from teamslicensing.errors import UsageError
from teamslicensing.model.history import RunRecord
from teamslicensing.model.outcome import ApplyResult
from teamslicensing.model.plan import Plan
from teamslicensing.model.planjson import ReportMeta


def last_runs(
    args: argparse.Namespace, plan: Plan, meta: ReportMeta, command: str, outcome: ApplyResult | None = None
) -> tuple[RunRecord, ...]:
    """--history: the last runs for this tenant and this one, last; () without it."""
    if not args.history:
        return ()
    record = run_record(plan, meta, command, outcome)
    try:
        past, notes = read_history(args.history, record.tenant)
    except UsageError as exc:  # it was readable when the run began
        past, notes = [], [f"{exc}: the last runs are not shown"]
    for note in notes:
        print(note, file=sys.stderr)
    return (*past, record)


def check_history_option(args: argparse.Namespace) -> None:
    """A --history that cannot take this run's record refuses the run before anything is read or written."""
    if getattr(args, "history", None):
        check_history(args.history)


def keep(args: argparse.Namespace, record: RunRecord) -> None:
    """This run's record appended; a history that fails now is said, and changes nothing of the run's outcome."""
    try:
        append_history(args.history, record)
    except UsageError as exc:
        print(f"teams-licensing: warning: {exc}; this run is not in the history", file=sys.stderr)
