"""How a run writes, whatever it writes (a plan, an undo, reprocess calls): one writer per tenant on this machine,
the audit log opened with its header before anything is sent, the write backend for the source (Graph or a
snapshot file), and SIGINT/SIGTERM, or a tenant lease lost (`app/lease.py`), turned into a clean stop while it
runs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from collections.abc import Callable, Coroutine, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from teamslicensing.app.signals import SIGNALS, recorded_signals
from teamslicensing.app.source import TenantSource
from teamslicensing.apply.audit import AuditLog
from teamslicensing.apply.lock import tenant_lock
from teamslicensing.apply.run import WriteBackend
from teamslicensing.apply.stop import StopSwitch
from teamslicensing.errors import UsageError
from teamslicensing.graph.writer import GraphWriter
from teamslicensing.model.outcome import ApplyResult, Stop, StopReason
from teamslicensing.model.tenant import TenantUser
from teamslicensing.tenant.snapshotwriter import SnapshotWriter


def writer_lock(source: TenantSource) -> contextlib.AbstractContextManager[Path]:
    """Held by `apply` and `undo` from before the tenant is read until the last write: a second run on this
    machine is refused before it plans, so it never writes from a plan made while the first was writing."""
    if source.snapshot is not None:
        return tenant_lock(f"writer:snapshot:{source.snapshot.resolve()}", source.where)
    return tenant_lock(f"writer:{source.where}", source.where)


def lock_for(source: TenantSource, tenant_id: str | None) -> contextlib.AbstractContextManager[Path]:
    """Held by `apply` while it writes: one per tenant (or snapshot file) on this machine."""
    if source.snapshot is not None:
        key = f"snapshot:{source.snapshot.resolve()}"
    else:
        key = f"tenant:{tenant_id or source.where}"
    return tenant_lock(key, tenant_id or source.where)


def opened_audit(
    path: str | Path,
    before: Mapping[str, TenantUser],
    *,
    append: bool = False,
    mirror: TextIO | None = None,
    **header: Any,
) -> AuditLog:
    """The audit log at `path`, its header written: a log that cannot even take its header is a usage error, before
    anything is sent."""
    audit = AuditLog.open(path, before, append=append, mirror=mirror)
    try:
        audit.header(**header)
    except Exception as exc:
        audit.close()
        raise UsageError(f"{exc} ({path}); nothing was written") from exc
    return audit


def write_with(source: TenantSource, write: Callable[[WriteBackend], Coroutine[Any, Any, ApplyResult]]) -> ApplyResult:
    """Run `write` against the source's write backend (a snapshot file is saved whatever happens)."""
    if source.snapshot is not None:
        writer = SnapshotWriter(source.snapshot)
        try:
            result: ApplyResult = asyncio.run(write(writer))
        finally:
            writer.save()
        return result
    assert source.graph is not None
    graph_access = source.graph

    async def write_live() -> ApplyResult:
        async with graph_access.open() as graph:
            live: ApplyResult = await write(GraphWriter(graph))
            return live

    return asyncio.run(write_live())


def watch_lease(source: TenantSource, switch: StopSwitch) -> None:
    """A tenant lease that could not be kept stops the writes as a signal does: from then on another run may hold
    the tenant. One lost before the writes began stops them before the first batch."""
    lease = source.lease
    if lease is not None:
        switch.watch(lambda: None if lease.lost is None else Stop(StopReason.LEASE_LOST, lease.lost))


@contextlib.contextmanager
def stop_signals(switch: StopSwitch) -> Iterator[None]:
    """While writing, SIGINT and SIGTERM ask for a clean stop (a second one abandons batches in flight). The
    handler only flips the switch, which the executor reads before every batch."""

    def stop(signum: int, frame: Any) -> None:
        switch.request(_SIGNAL_STOPS[signum], f"{signal.Signals(signum).name} received")

    with recorded_signals(SIGNALS, stop):
        yield


_SIGNAL_STOPS = {int(signal.SIGINT): StopReason.INTERRUPTED, int(signal.SIGTERM): StopReason.TERMINATED}


def signalled_late(result: ApplyResult, switch: StopSwitch) -> ApplyResult:
    """`result`, saying it was stopped by the signal that came after its last write was settled but while
    `stop_signals` still held it: the run was asked to stop, and its summary must say so (nothing was lost)."""
    stop = switch.stop
    if result.stopped is not None or stop is None or stop.reason not in _SIGNAL_STOPS.values():
        return result
    return dataclasses.replace(result, stopped=Stop(stop.reason, f"{stop.message} as the last writes finished"))
