"""The use cases every front end runs (the CLI and the Azure Automation runbook): validate, plan, apply, export.

This layer owns `asyncio.run` and the lifetime of the Graph connection; the front ends own arguments, settings,
confirmation and how results are shown. Data flows one way: config -> tenant source -> plan -> apply -> report.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from teamslicensing.apply.executor import Progress, check_applicable, execute_with_audit
from teamslicensing.config import load_desired_state
from teamslicensing.errors import UsageError
from teamslicensing.graph import Connection, Graph
from teamslicensing.graph.writer import GraphWriter
from teamslicensing.model.desired import DesiredState
from teamslicensing.model.outcome import ApplyResult
from teamslicensing.model.plan import Plan
from teamslicensing.model.tenant import Tenant
from teamslicensing.plan import plan as make_plan
from teamslicensing.reference.availability import load_availability
from teamslicensing.tenant.live import export_snapshot, read_tenant
from teamslicensing.tenant.snapshot import load_snapshot
from teamslicensing.tenant.snapshotwriter import SnapshotWriter

__all__ = [
    "GraphAccess",
    "PlanRun",
    "TenantSource",
    "apply",
    "check_applicable",
    "export",
    "plan",
    "read",
    "validate",
]


@dataclass(frozen=True)
class GraphAccess:
    """How to reach Graph: where, and a bearer token when the caller already holds one (else the credential chain)."""

    connection: Connection
    access_token: str | None = field(default=None, repr=False)  # never in a log, even if this is printed

    def open(self) -> Graph:
        return Graph(self.connection, access_token=self.access_token)


@dataclass(frozen=True)
class TenantSource:
    """Where the tenant is read from and written to: a snapshot file, or Graph."""

    snapshot: Path | None = None
    graph: GraphAccess | None = None

    @property
    def where(self) -> str:
        if self.snapshot is not None:
            return f"snapshot {self.snapshot}"
        assert self.graph is not None, "a tenant source is a snapshot or Graph"
        return self.graph.connection.graph_url


@dataclass(frozen=True)
class PlanRun:
    """A plan and what it was made from: apply writes exactly this plan."""

    desired: DesiredState
    tenant: Tenant
    plan: Plan
    source: TenantSource


def validate(config: str | Path) -> DesiredState:
    return load_desired_state(config)


def plan(config: str | Path, source: TenantSource) -> PlanRun:
    """Load and check the configuration (every problem surfaces before the tenant is read), read the tenant, plan."""
    desired = load_desired_state(config)
    tenant = read(desired, source)
    return PlanRun(desired, tenant, make_plan(desired, tenant, load_availability()), source)


def read(desired: DesiredState, source: TenantSource) -> Tenant:
    if source.snapshot is not None:
        return load_snapshot(source.snapshot, desired.selected_attributes)
    assert source.graph is not None
    graph_access = source.graph

    async def read_live() -> Tenant:
        async with graph_access.open() as graph:
            return await read_tenant(graph, desired)

    return asyncio.run(read_live())


def apply(run: PlanRun, audit_path: str | Path, progress: Progress | None = None) -> ApplyResult:
    """Write the plan to where it was read from, appending every attempt to the audit log at `audit_path`."""
    if run.source.snapshot is not None:
        writer = SnapshotWriter(run.source.snapshot)
        try:
            return asyncio.run(execute_with_audit(run.plan, writer, run.tenant.users, audit_path, progress))
        finally:
            writer.save()
    assert run.source.graph is not None
    graph_access = run.source.graph

    async def write_live() -> ApplyResult:
        async with graph_access.open() as graph:
            return await execute_with_audit(run.plan, GraphWriter(graph), run.tenant.users, audit_path, progress)

    return asyncio.run(write_live())


def export(output: str | Path, graph_access: GraphAccess, config: str | Path | None = None) -> dict[str, int]:
    """Write a snapshot of the live tenant (all groups, or those `config` names); the file appears only when whole."""
    groups = load_desired_state(config).group_names if config else None
    temporary = f"{output}.partial"

    async def write_snapshot(out: TextIO) -> dict[str, int]:
        async with graph_access.open() as graph:
            return await export_snapshot(graph, out, groups)

    try:
        with open(temporary, "w", encoding="utf-8") as out:  # opened before Graph is asked anything
            counts = asyncio.run(write_snapshot(out))
        os.replace(temporary, output)
    except OSError as exc:  # an unwritable folder, a full disk: a message, and no half snapshot left
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(temporary).unlink(missing_ok=True)  # a half-written snapshot must never pass for a whole one
        raise
    return counts
