"""Exit codes, one definition for every front end (README, *Exit codes*; the runbook's table too)."""

from __future__ import annotations

from teamslicensing.model.outcome import ApplyResult, StopReason

EXIT_OK = 0  # success (plan --detailed-exitcode: in sync, no error-severity gap)
EXIT_FAILURE = 1  # invalid input or options, any error, a failed write
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes are pending
EXIT_GAPS = 3  # error-severity gaps remain (wins over 2)
EXIT_PARTIAL = 4  # a writing command stopped with work left (time budget, --limit, stale users, a tenant another
# run held for all of the lease wait): run again
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2
EXIT_TERMINATED = 143  # SIGTERM: 128 + 15


def for_writes(outcome: ApplyResult, gaps_remain: bool) -> int:
    """The exit code of `apply` and `undo`: a signal's own code; else 1 if anything failed (or the audit log did, or
    the lease was lost); else 4 if work remains or another run held the tenant; else 3 if error-severity gaps
    remain, else 0."""
    reason = outcome.stopped.reason if outcome.stopped is not None else None
    if reason is StopReason.INTERRUPTED:
        return EXIT_INTERRUPTED
    if reason is StopReason.TERMINATED:
        return EXIT_TERMINATED
    if outcome.failed or outcome.audit_error or reason not in (None, StopReason.TIME_BUDGET, StopReason.TENANT_LOCKED):
        return EXIT_FAILURE
    if reason is StopReason.TENANT_LOCKED or outcome.work_remains:
        return EXIT_PARTIAL
    return EXIT_GAPS if gaps_remain else EXIT_OK
