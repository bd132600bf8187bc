"""`--history FILE` for plan, apply and undo: the last runs for the report, then this run's record appended."""

from __future__ import annotations

import argparse
import sys

from teamslicensing.app.history import append_history, read_history, run_record
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
    past, notes = read_history(args.history, record.tenant)
    for note in notes:
        print(note, file=sys.stderr)
    return (*past, record)


def keep(args: argparse.Namespace, record: RunRecord) -> None:
    append_history(args.history, record)
