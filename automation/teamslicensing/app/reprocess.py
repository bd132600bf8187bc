"""`reprocess`: whom to ask Entra to license again (members in group license error, users by name), and the
audited calls."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from pathlib import Path

from teamslicensing.app.core import read
from teamslicensing.app.source import TenantSource
from teamslicensing.app.writing import opened_audit, stop_signals, watch_lease, write_with, writer_lock
from teamslicensing.apply.audit import AuditError
from teamslicensing.apply.reprocess import reprocess_users
from teamslicensing.apply.run import WriteBackend
from teamslicensing.apply.stop import StopSwitch
from teamslicensing.config import load_desired_state
from teamslicensing.errors import UsageError
from teamslicensing.model.desired import DesiredGroupLicense, DesiredPolicy, DesiredState
from teamslicensing.model.outcome import ApplyResult, UserResult
from teamslicensing.plan.reprocess import ReprocessTarget, reprocess_targets
from teamslicensing.tenant.need import TenantNeed


def reprocess_plan(
    source: TenantSource, config: str | Path | None, groups: Collection[str], users: Collection[str]
) -> tuple[list[ReprocessTarget], list[str]]:
    """Whom to reprocess: members of `groups` (else the config's groupLicenses) with a group license error, and
    `users` by name. Reads only those groups' members and those users, whatever the tenant's size."""
    wanted = list(groups)
    if not wanted and not users and config is not None:
        wanted = list(load_desired_state(config).licensed_group_names)
    if not wanted and not users:
        raise UsageError("name --group or --user (or give a configuration with groupLicenses)")
    # a scoped read of just these: the groups as groupLicenses entries (their direct members and states), the
    # users as names the file lists (protected, so nothing would ever be planned for them); a snapshot is read whole
    scope = DesiredState(
        source="reprocess",
        default_usage_location=None,
        policy=DesiredPolicy(protected_users=frozenset(u.strip().lower() for u in users)),
        rules=(),
        availability={},
        group_licenses=tuple(DesiredGroupLicense(group, (), {}) for group in wanted),
    )
    tenant = read(source, TenantNeed.to_plan(scope, "scoped"))
    return reprocess_targets(tenant, wanted, users)


def reprocess(source: TenantSource, targets: Sequence[ReprocessTarget], audit_path: Path) -> list[UserResult]:
    """Ask Entra to process `targets` again; every call is in the audit log before it is sent."""
    with writer_lock(source):
        audit = opened_audit(
            audit_path, {}, tenant_id=None, config_digest=None, source=source.where, mode="reprocess", planned=0
        )
        try:
            switch = StopSwitch()
            watch_lease(source, switch)

            async def write(backend: WriteBackend) -> ApplyResult:
                with stop_signals(switch):
                    done = await reprocess_users(targets, backend, audit, switch)
                outcome = ApplyResult(tuple(done), 0.0, len(targets), stopped=switch.stop)
                try:
                    audit.end(outcome)  # as every run's log ends: what was done, and why it stopped
                except AuditError as exc:
                    return dataclasses.replace(outcome, audit_error=str(exc))
                return outcome

            result = write_with(source, write)
        finally:
            audit.close()
    return list(result.results)
