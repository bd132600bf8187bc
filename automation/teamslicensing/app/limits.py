"""The limits an apply uses: the policy's, unless the command's options (`--max-changes`, `--max-removals`) or the
runbook's settings override them. A plan is judged again with them before anything shows it, so what every report
says apply would refuse is exactly what `check_applicable` then refuses."""

from __future__ import annotations

import dataclasses

from teamslicensing.app.core import PlanRun
from teamslicensing.plan.judgement import apply_refusals


def with_limits(
    run: PlanRun, max_changes: int | None, max_removals: int | None, names: tuple[str, str] = ("", "")
) -> PlanRun:
    """`run` judged with the limits its apply uses: `max_changes` and `max_removals` (named `names`, e.g. the
    options that gave them) where given, else the policy's. Its refusals are then what every report of it states
    and exactly what `check_applicable` refuses it for."""
    changes = run.max_changes if max_changes is None else max_changes
    removals = run.max_removals if max_removals is None else max_removals
    set_by = {
        "maxChanges": names[0] if max_changes is not None else None,
        "maxRemovals": names[1] if max_removals is not None else None,
    }
    refusals = tuple(
        dataclasses.replace(refusal, set_by=set_by.get(refusal.reason) or None)
        for refusal in apply_refusals(run.plan, changes, removals)
    )
    plan = dataclasses.replace(run.plan, refusals=refusals)
    return dataclasses.replace(run, plan=plan, max_changes=changes, max_removals=removals)
