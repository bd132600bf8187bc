"""The use cases every front end runs (the CLI and the Azure Automation runbook): validate, plan, apply a plan made
now or saved earlier, undo an audited run, export.

This layer owns `asyncio.run`, the Graph connection's lifetime, the apply lock and the signal handlers that turn
Ctrl-C and SIGTERM into a clean stop; the front ends own arguments, settings, confirmation and how results are
shown. Data flows one way: config -> tenant source -> plan -> apply -> report.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TextIO, TypeVar

from teamslicensing.app.files import config_digest, written_whole
from teamslicensing.app.signals import run_stoppable
from teamslicensing.app.source import GraphAccess, TenantSource, duration_text
from teamslicensing.app.writing import (
    lock_for,
    opened_audit,
    signalled_late,
    stop_signals,
    watch_lease,
    write_with,
)
from teamslicensing.apply.audit import TeamsBefore
from teamslicensing.apply.executor import execute
from teamslicensing.apply.journal import read_journal
from teamslicensing.apply.planbasis import stale_groups, stale_users
from teamslicensing.apply.planfile import SavedPlan, basis_read, plan_key, read_plan_file, write_plan_file
from teamslicensing.apply.run import Progress, WriteBackend
from teamslicensing.apply.stop import GRACE_SECONDS, StopSwitch
from teamslicensing.config import load_desired_state
from teamslicensing.errors import UsageError
from teamslicensing.model.desired import DesiredState, ReadMode
from teamslicensing.model.outcome import STALE, ApplyResult, UserResult
from teamslicensing.model.plan import Plan
from teamslicensing.model.tenant import Tenant, sku_for
from teamslicensing.plan import plan as make_plan
from teamslicensing.plan.acknowledge import acknowledge
from teamslicensing.plan.judgement import Safety, apply_refusals, judge, safety_of
from teamslicensing.plan.undo import plan_undo
from teamslicensing.reference.availability import load_availability
from teamslicensing.tenant.live import export_snapshot, read_tenant
from teamslicensing.tenant.need import TenantNeed
from teamslicensing.tenant.snapshot import load_snapshot

T = TypeVar("T")


@dataclass(frozen=True)
class PlanRun:
    """A plan and what it was made from: apply writes exactly this plan."""

    plan: Plan
    tenant: Tenant
    source: TenantSource
    origin: str  # the configuration, saved plan or audit log the plan came from, as named
    max_changes: int
    max_removals: int
    desired: DesiredState | None = None  # None for saved plans and undo: no configuration is read
    config_digest: str | None = None
    stale: tuple[UserResult, ...] = ()  # users of a saved plan or undo whose state changed: not written
    mode: str = "apply"  # or "undo", in the audit log
    notes: tuple[str, ...] = ()  # what the front end should say before the plan (how a saved plan was judged)


@dataclass(frozen=True)
class ApplyOptions:
    audit_path: Path
    append_audit: bool = False
    deadline: float | None = None  # time.monotonic() by which the last batch must have finished
    limit: int | None = None  # apply the first N changed users only
    progress: Progress | None = None
    grace: float = GRACE_SECONDS  # seconds batches in flight may take after a stop
    audit_mirror: TextIO | None = None  # also every audit record here, prefixed (the runbook: its job output)
    wait: float | None = None  # seconds to wait for Entra to process group license writes (apply --wait)


def validate(config: str | Path) -> DesiredState:
    return load_desired_state(config)


def plan(config: str | Path, source: TenantSource, read_mode: ReadMode | None = None) -> PlanRun:
    """Load and check the configuration (every problem surfaces before the tenant is read), read the tenant, plan.
    `read_mode` overrides policy.read."""
    desired = load_desired_state(config)
    if read_mode is not None:
        desired = dataclasses.replace(desired, policy=dataclasses.replace(desired.policy, read=read_mode))
    tenant = read(source, TenantNeed.to_plan(desired))
    _check_tenant(desired.tenant_id, tenant, f"{config} is for tenant {desired.tenant_id} (tenantId)")
    planned = make_plan(desired, tenant, load_availability())
    return PlanRun(
        acknowledge(planned, desired.policy.acknowledge, utc_today(), user_principal_names(tenant)),
        tenant,
        source,
        desired.source,
        desired.policy.max_changes,
        desired.policy.max_removals,
        desired,
        config_digest(config),
    )


def read(source: TenantSource, need: TenantNeed) -> Tenant:
    """The tenant as `need` says, from a snapshot (always whole) or Graph (after the tenant's lease, when the source
    holds one, is taken)."""
    if source.snapshot is not None:
        return load_snapshot(source.snapshot, need.attributes)
    assert source.graph is not None, "a tenant source is a snapshot or Graph"
    graph_access = source.graph
    if source.lease is not None:
        source.lease.hold()

    async def read_live() -> Tenant:
        async with graph_access.open() as graph:
            return await read_tenant(graph, need)

    return run_stoppable(read_live())


def save_plan(run: PlanRun, path: str | Path) -> None:
    """Write `run` as a saved plan (`apply PLANFILE` applies exactly it), signed when TEAMS_LICENSING_PLAN_KEY is
    set."""
    assert run.desired is not None, "a saved plan is made from a configuration"
    write_plan_file(
        path,
        run.plan,
        run.tenant,
        config=run.origin,
        config_digest=run.config_digest,
        policy=run.desired.policy,
        managed=managed_skus(run.desired, run.tenant),
        attributes=tuple(sorted(run.desired.selected_attributes)),
        key=plan_key(os.environ),
    )


def managed_skus(desired: DesiredState, tenant: Tenant) -> frozenset[str]:
    """The tenant's sku ids of the licenses a configuration assigns."""
    return frozenset(sku.sku_id for ref in desired.managed_licenses if (sku := sku_for(ref, tenant.skus)))


def saved_plan(
    path: str | Path, source: TenantSource, max_age: float | None = None, config: str | Path | None = None
) -> PlanRun:
    """A saved plan against the tenant as it is now: checked whole (digest, and signature when the key is set),
    each user's recorded state compared (else STALE), then every change that still holds passed through the same
    judgement a fresh plan meets, with the configuration's policy: `config`'s when given (it must be the file the
    plan was made from), else the policy the plan recorded. A change it would withhold now is STALE, never sent."""
    saved = read_plan_file(path, plan_key(os.environ))
    if max_age is not None:
        age = (datetime.now(timezone.utc) - saved.created).total_seconds()
        if age > max_age:
            raise UsageError(
                f"{path} was made {duration_text(age)} ago, more than --max-age {duration_text(max_age)}: plan again; "
                "nothing was written"
            )
    desired, notes = _judging_configuration(path, saved, config)
    tenant = read(source, basis_read(saved))
    if saved.tenant_id != tenant.tenant_id:
        raise UsageError(
            f"{path} was made for tenant {saved.tenant_id or 'unknown'}, but {source.where} is tenant "
            f"{tenant.tenant_id or 'unknown'}: refusing to apply it; nothing was written"
        )
    fresh, stale = stale_users(saved.plan.changes, saved.basis, tenant)
    fresh_groups, stale_group_results = stale_groups(saved.plan.group_changes, saved.group_basis, tenant)
    policy = desired.policy if desired is not None else saved.policy
    managed = managed_skus(desired, tenant) if desired is not None else saved.managed
    judged = judge(fresh, tenant, safety_of(policy, tenant, managed), fresh_groups)
    rejudged_groups = tuple(
        UserResult(change.group_id, change.group_name, STALE, f"a plan made now would hold it back: {gap.message}")
        for change, gap in judged.groups_withheld
    )
    rejudged = tuple(
        UserResult(
            change.user_id, change.user_principal_name, STALE, f"a plan made now would hold it back: {gap.message}"
        )
        for change, gap in judged.withheld
    )
    plan = dataclasses.replace(saved.plan, changes=judged.changes, group_changes=judged.group_changes)
    plan = dataclasses.replace(plan, refusals=apply_refusals(plan, policy.max_changes, policy.max_removals))
    return PlanRun(
        plan,
        tenant,
        source,
        str(path),
        policy.max_changes,
        policy.max_removals,
        config_digest=saved.config_digest,
        stale=stale + rejudged + stale_group_results + rejudged_groups,  # groups reported like users (exit 4)
        notes=notes,
    )


def _judging_configuration(
    path: str | Path, saved: SavedPlan, config: str | Path | None
) -> tuple[DesiredState | None, tuple[str, ...]]:
    """The configuration a saved plan's changes are judged with (None: what the plan recorded of it), and what to
    tell the reader about it."""
    notes = []
    if saved.signed and plan_key(os.environ) is None:
        notes.append(f"{path} is signed, but TEAMS_LICENSING_PLAN_KEY is not set here: its signature was not checked")
    if config is None:
        notes.append(f"judged with the policy {path} recorded (no --config given)")
        return None, tuple(notes)
    digest = config_digest(config)
    if digest is None or digest != saved.config_digest:
        raise UsageError(
            f"{config} is not the configuration {path} was made from (its digest differs): refusing to apply it; "
            "nothing was written. Plan again from the reviewed configuration"
        )
    notes.append(f"judged with the policy of {config} (the configuration it was made from)")
    return load_desired_state(config), tuple(notes)


def undo(
    audit_log: str | Path,
    source: TenantSource,
    users: Collection[str] = (),
    *,
    allow_number_loss: bool = False,
    max_changes: int,
    max_removals: int,
) -> PlanRun:
    """Plan restoring each user the audit log records (or only `users`, by UPN or id) to their state before."""
    journal = read_journal(audit_log)
    recorded = journal.users
    if users:
        wanted = {name.strip().lower() for name in users}
        known = {r.user_id for r in recorded} | {r.user_principal_name.lower() for r in recorded}
        unknown = sorted(wanted - known)
        if unknown:
            raise UsageError(f"{audit_log} records no applied write for: {', '.join(unknown)}")
        recorded = [r for r in recorded if r.user_id in wanted or r.user_principal_name.lower() in wanted]
    policies = any(entry.voice is not None and entry.voice.policies for entry in recorded)
    need = TenantNeed.users((entry.user_id for entry in recorded), user_configurations=policies)
    tenant = read(source, need)  # only they are restored
    others = {t for t in journal.tenant_ids if t} - {tenant.tenant_id}  # a run whose tenant was unknown differs not
    if others:
        logged = ", ".join(sorted(others))
        raise UsageError(
            f"{audit_log} records runs against tenant {logged}, but {source.where} is tenant "
            f"{tenant.tenant_id or 'unknown'}: refusing to undo it there; nothing was written"
        )
    safety = Safety(max_changes, max_removals, allow_number_loss=allow_number_loss, restores=True)
    restore, stale = plan_undo(recorded, tenant, safety)
    return PlanRun(restore, tenant, source, str(audit_log), max_changes, max_removals, stale=stale, mode="undo")


def apply(run: PlanRun, options: ApplyOptions) -> ApplyResult:
    """Write the plan to where it was read from, one apply per tenant at a time; every write is in the audit log
    at `options.audit_path` before it is sent. A signal, the time budget or a failing log stops the run cleanly."""
    changes = run.plan.changes if options.limit is None else run.plan.changes[: max(options.limit, 0)]
    planned = len(run.plan.changes)
    changed = {change.user_id for change in run.plan.changes}
    before = {user.id: user for user in run.tenant.users if user.id in changed}
    with lock_for(run.source, run.tenant.tenant_id):
        audit = opened_audit(
            options.audit_path,
            before,
            append=options.append_audit,
            mirror=options.audit_mirror,
            tenant_id=run.tenant.tenant_id,
            config_digest=run.config_digest,
            source=run.source.where,
            mode=run.mode,
            planned=planned,
        )
        audit.teams = TeamsBefore.of(run.tenant)  # what undo needs of the Teams writes: holders, policies before
        switch = StopSwitch(options.deadline, options.grace)
        watch_lease(run.source, switch)

        groups = run.plan.group_changes if options.limit is None else ()  # a wave (--limit) is users only

        async def write(backend: WriteBackend) -> ApplyResult:
            with stop_signals(switch):
                done = await execute(
                    changes,
                    backend,
                    audit,
                    before,
                    switch=switch,
                    progress=options.progress,
                    planned=planned,
                    groups=groups,
                    groups_planned=len(run.plan.group_changes),  # a wave leaves them to a later run: exit 4
                    wait=options.wait,
                    settled=run.stale,  # counted in the end record too
                )
            return signalled_late(done, switch)

        try:
            result = write_with(run.source, write)
        finally:
            audit.close()
    return result


def export(output: str | Path, graph_access: GraphAccess, config: str | Path | None = None) -> dict[str, int]:
    """Write a snapshot of the live tenant (all groups, or those `config` names); the file appears only when whole."""
    desired = load_desired_state(config) if config else None
    groups = desired.group_names if desired else None
    licensed = desired.licensed_group_names if desired else ()

    async def write_snapshot(out: TextIO) -> dict[str, int]:
        async with graph_access.open() as graph:
            return await export_snapshot(graph, out, groups, licensed)

    return written_whole(output, write_snapshot)


# ---- helpers -------------------------------------------------------------------------------------------------


def _check_tenant(expected: str | None, tenant: Tenant, what: str) -> None:
    if expected is None or tenant.tenant_id == expected:
        return
    reached = tenant.tenant_id or "a tenant that could not be identified (no tid claim, no subscription accountId)"
    raise UsageError(f"{what}, but the connection reached {reached}: refusing to go on; nothing was changed")


def utc_today() -> date:
    """The UTC day, for policy.acknowledge's dates (a CI runner's local zone must not decide)."""
    return datetime.now(timezone.utc).date()


def user_principal_names(tenant: Tenant) -> dict[str, str]:
    """User id -> userPrincipalName, for policy.acknowledge's entries naming users."""
    return {user.id: user.user_principal_name for user in tenant.users}
