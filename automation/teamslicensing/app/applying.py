"""One apply, whichever front end asks: the plan refused for exactly what it states it would be refused for,
confirmed, written within the options, its audit log kept, and the exit code. The command line and the runbook
differ only in how they ask (a prompt, or none) and where they say what happened (the terminal and a report file,
or the job output and its JSON line).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teamslicensing.app.core import ApplyOptions, PlanRun, apply
from teamslicensing.apply.guard import check_applicable
from teamslicensing.errors import ApplyRefusedError
from teamslicensing.exitcodes import EXIT_FAILURE, EXIT_GAPS, EXIT_OK, for_writes
from teamslicensing.model.outcome import ApplyResult, Stop, StopReason
from teamslicensing.model.plan import Plan
from teamslicensing.report.outcome import failure_lines, outcome_json, outcome_line

NOTHING_TO_APPLY = "Nothing to apply."


@dataclass(frozen=True)
class Applied:
    """What one apply did. `outcome` is None when nothing was written: nothing to apply, or refused."""

    run: PlanRun
    outcome: ApplyResult | None
    exit_code: int
    refusal: ApplyRefusedError | None = None  # why apply refused, before any write

    def result_json(self) -> dict[str, Any] | None:
        """The apply result as every JSON contract carries it (`result`), None when nothing was written."""
        return None if self.outcome is None else outcome_json(self.outcome)

    def lines(self) -> list[str]:
        """What happened, in a line (and one per user that failed or whose outcome is unknown)."""
        if self.refusal is not None:
            return [str(self.refusal)]
        if self.outcome is None:
            return [NOTHING_TO_APPLY]
        return [outcome_line(self.outcome), *failure_lines(self.outcome)]


def apply_plan(
    run: PlanRun,
    options: ApplyOptions,
    limit_names: tuple[str, str],
    *,
    before_writes: Callable[[Plan], None] | None = None,
    announce: Callable[[Path], None] | None = None,
    on_written: Callable[[ApplyResult], None] | None = None,
    keep_audit: Callable[[Path], str | None] | None = None,
) -> Applied:
    """Apply `run`, already judged with the limits this apply uses (`with_limits`); `limit_names` say where an
    admin raises them. `before_writes` hears an applicable plan before its first write (a prompt may abort there);
    `announce` hears where the audit log goes whenever one is written (a plan of stale users only writes one too);
    `on_written` hears the result as soon as the writes end, before anything else can interrupt; `keep_audit`
    stores the audit log wherever the writes ended, and returns the name of a signal that came meanwhile (the
    writes stand, and the run ends stopped by it)."""
    plan = run.plan
    if plan.is_empty and not run.stale:
        return Applied(run, None, EXIT_GAPS if plan.has_errors else EXIT_OK)
    try:
        check_applicable(plan, *limit_names)
    except ApplyRefusedError as refusal:
        return Applied(run, None, EXIT_FAILURE, refusal)
    if before_writes is not None and not plan.is_empty:
        before_writes(plan)
    if announce is not None:
        announce(options.audit_path)
    signal_name: str | None = None
    try:
        outcome = apply(run, options)
        if on_written is not None:
            on_written(outcome)
    finally:
        if keep_audit is not None:  # whatever happened, the log that exists is kept
            signal_name = keep_audit(options.audit_path)
    if signal_name is not None:
        outcome = stopped_after_writes(outcome, signal_name, "while the audit log was stored")
    return Applied(run, outcome, for_writes(outcome, plan.has_errors))


def stopped_after_writes(outcome: ApplyResult, name: str, when: str) -> ApplyResult:
    """`outcome`, stopped by the signal `name` that came after the writes: every write stands and is counted."""
    reason = StopReason.TERMINATED if name == "SIGTERM" else StopReason.INTERRUPTED
    message = f"{name} received {when}, after the writes"
    if outcome.stopped is not None:
        message += f" (they had stopped: {outcome.stopped.message})"
    return dataclasses.replace(outcome, stopped=Stop(reason, message))
