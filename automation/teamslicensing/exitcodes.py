"""Exit codes, one definition for every front end (the documentation's exit-code page is generated from `MEANINGS`;
the runbook's table too)."""

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

# what each code means, for the documentation's exit-code table (generated from this)
MEANINGS: dict[int, str] = {
    EXIT_OK: "success (`plan` without `--detailed-exitcode`: whatever the plan holds; with it: in sync and no "
    "error-severity gap; `apply`/`undo`: every change applied, no error-severity gap)",
    EXIT_FAILURE: "failure: invalid configuration, snapshot, plan file or options (a usage error too), an unreadable "
    "or unwritable file, sign-in, Graph or Storage errors, a plan refused by a limit or a blocking gap; for "
    "`apply`/`undo`, any failed write (or one whose outcome is unknown, an audit log that could not be written, or "
    "the tenant's lease lost mid-run)",
    EXIT_CHANGES: "`plan --detailed-exitcode` only: changes are pending",
    EXIT_GAPS: "error-severity gaps remain: findings about users, not a failed run (`plan --detailed-exitcode`, "
    "`apply`/`undo` once everything was applied, `usage`, and the runbook's `exitCode` in every mode, whose job "
    "still completes; `reprocess`: a group or user it names was not found); wins over 2",
    EXIT_PARTIAL: "`apply`/`undo`/`reprocess`: partial: `--limit` or `--time-budget` left users not attempted (run "
    "again), users of a saved plan or an undo were `STALE` (plan again for them), or another run held the tenant's "
    "lease for all of `--lease-wait` (nothing was read or written; `stopped.reason`: `tenantLocked`)",
    EXIT_INTERRUPTED: "stopped by Ctrl-C (SIGINT); during a write, after the batches in flight finished and the "
    "summary was printed; while waiting for a lease, at once, with the summary",
    EXIT_TERMINATED: "stopped by SIGTERM (a job being cancelled); the same clean stop",
}


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
