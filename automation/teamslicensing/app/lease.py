"""One writing run per tenant across machines. The file lock (`apply/lock.py`) sees runs on one machine only, and
Azure Automation gives every job a sandbox of its own: two jobs of an overlapping schedule, or a manual start,
would both write, and the second's audit would claim "applied" for what the first wrote.

When a Storage container is named (the runbook's `TeamsLicensing_AuditContainer`, the CLI's `--lease-url`), a run
that writes (apply, undo, reprocess; never plan) holds a lease on the blob `locks/<tenant id>` there: armed by the
front end, taken when the tenant is first read (so a bad configuration never waits for it), renewed while the run
goes on, released at the end. A run that finds it held waits, polling at a growing pace, up to its lease wait, then
stops (`tenantLocked`, exit 4) having read nothing; SIGINT or SIGTERM during the wait end it at once, cleanly. A
lease that cannot be renewed stops the writes like a signal does (`leaseLost`), so two runs never write together.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from teamslicensing.app.signals import SIGNALS, recorded_signals
from teamslicensing.app.source import GraphAccess, TenantSource, duration_text
from teamslicensing.errors import TeamsLicensingError, UsageError
from teamslicensing.graph.blob import BlobError, checked_container, container_client, storage_credential
from teamslicensing.graph.lease import LEASE_CLIENT_SETTINGS, BlobLease, LeaseTiming
from teamslicensing.model.outcome import ApplyResult, Stop, StopReason
from teamslicensing.tenant.live import reached_tenant

DEFAULT_LEASE_WAIT = 600.0  # seconds a run waits for another run's lease before it stops (exit 4)
FIRST_PAUSE = 2.0  # seconds between the first tries; each pause then grows by half, up to MAX_PAUSE, with jitter
MAX_PAUSE = 20.0  # a third of a lease: a dead holder's expiry is noticed within seconds of it
SAY_EVERY = 60.0  # seconds between "still waiting" lines
_TENANT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class LeaseOptions:
    """Where the lease is kept and how a run signs in there and waits for it."""

    container_url: str
    wait: float = DEFAULT_LEASE_WAIT
    managed_identity_client_id: str | None = None
    storage_token: str | None = field(default=None, repr=False)  # a Storage token, never the Graph one
    chain_authority: str | None = None  # sign in with the credential chain there (the CLI), else managed identity
    command: str = "apply"  # what the holder says it is running, for a waiting run's message
    notice: Callable[[str], None] | None = field(default=None, compare=False)  # waiting lines, a failed release
    timing: LeaseTiming = field(default_factory=LeaseTiming)


class LeaseWaitStopped(TeamsLicensingError):
    """The run ended before it held the tenant's lease (another run kept it, or a signal came): nothing was read or
    written. `outcome` is the apply result that says so."""

    def __init__(self, stop: Stop, seconds: float) -> None:
        super().__init__(stop.message)
        self.outcome = ApplyResult((), seconds, 0, stopped=stop)


class TenantLease:
    """A writing run's claim on its tenant: `hold` takes it (waiting as needed) and keeps it renewed; `lost` says
    why once it could not be kept; `close` releases it."""

    def __init__(self, options: LeaseOptions, graph: GraphAccess) -> None:
        self.options = options
        self.graph = graph
        self.tenant: str | None = None
        self._blob: BlobLease | None = None
        self._resources = contextlib.ExitStack()

    def hold(self) -> None:
        """Hold the lease (at once if this run already does), or raise LeaseWaitStopped."""
        if self._blob is not None:
            return
        started = time.monotonic()
        self.tenant = self._reached_tenant()
        options = self.options
        credential = storage_credential(
            options.managed_identity_client_id, options.storage_token, chain_authority=options.chain_authority
        )
        self._resources.callback(getattr(credential, "close", lambda: None))
        container = self._resources.enter_context(
            container_client(options.container_url, credential, **LEASE_CLIENT_SETTINGS)
        )
        blob = BlobLease(container, f"locks/{self.tenant}", options.timing, self._say)
        try:
            self._wait_for(blob, started)
        except BaseException:  # a stop that came as Storage gave the lease: given back at once, not left to expire
            problem = blob.release()
            if problem:
                self._say(problem)
            raise
        blob.keep_renewed()
        self._blob = blob
        self._say(f"Holding the lease on tenant {self.tenant} ({blob.url}) until this run ends")

    @property
    def lost(self) -> str | None:
        """Why the lease could not be kept (renewals refused, or none got through in time); None while held."""
        return None if self._blob is None else self._blob.lost

    def close(self) -> None:
        """Release the lease (a failure is said: the lease then expires within a minute)."""
        try:
            if self._blob is not None:
                problem = self._blob.release()
                if problem:
                    self._say(problem)
        finally:
            self._blob = None
            self._resources.close()

    def _reached_tenant(self) -> str:
        graph_access = self.graph

        async def ask() -> str | None:
            async with graph_access.open() as graph:
                return await reached_tenant(graph)

        tenant = (asyncio.run(ask()) or "").strip().lower()
        if not _TENANT_ID.fullmatch(tenant):
            raise UsageError(
                f"cannot tell which tenant {graph_access.connection.graph_url} is (no tid claim in the token, no "
                "single accountId in subscribedSkus), so it cannot be leased; nothing was read or written"
            )
        return tenant

    def _wait_for(self, blob: BlobLease, started: float) -> None:
        """Take the lease, trying again at a growing pace until the wait is over; a signal ends the wait."""
        options = self.options
        pause, said = FIRST_PAUSE, -SAY_EVERY
        with _signals_during_wait() as signalled:
            while True:
                holder = blob.take(self._holder())
                if signalled.is_set():  # came while Storage answered: the run stops, lease taken or not
                    raise signalled.stop(f"waiting for tenant {self.tenant}", time.monotonic() - started)
                if holder is None:
                    return
                waited = time.monotonic() - started
                left = options.wait - waited
                if left <= 0:
                    message = f"another run holds tenant {self.tenant}: {holder}; waited {duration_text(waited)}"
                    raise LeaseWaitStopped(Stop(StopReason.TENANT_LOCKED, message), waited)
                if waited - said >= SAY_EVERY:
                    said = waited
                    self._say(f"Tenant {self.tenant} is held by {holder}: waiting {duration_text(left)} more for it")
                if signalled.wait(min(pause * random.uniform(0.8, 1.2), left)):
                    raise signalled.stop(f"waiting for tenant {self.tenant}", time.monotonic() - started)
                pause = min(pause * 1.5, MAX_PAUSE)

    def _holder(self) -> dict[str, Any]:
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return {"command": self.options.command, "pid": os.getpid(), "host": socket.gethostname(), "started": started}

    def _say(self, line: str) -> None:
        if self.options.notice is not None:
            self.options.notice(line)


@contextlib.contextmanager
def tenant_lease(source: TenantSource, options: LeaseOptions | None) -> Iterator[TenantSource]:
    """`source` with the tenant's lease armed (taken at its first read, released when the block ends); `source`
    as it is without `options`."""
    if options is None:
        yield source
        return
    if source.graph is None:
        raise UsageError("a lease is for a live tenant; a snapshot file is locked on this machine already")
    try:
        checked_container(options.container_url)  # before Graph is asked anything
    except BlobError as exc:
        raise UsageError(str(exc)) from exc
    lease = TenantLease(options, source.graph)
    try:
        yield replace(source, lease=lease)
    finally:
        lease.close()


class _Signalled(threading.Event):
    """Set by SIGINT or SIGTERM during the wait; `stop` ends the wait for it."""

    signum: int = int(signal.SIGINT)
    answered = False  # the wait ended for the signal: nothing to hand on

    def stop(self, what: str, seconds: float) -> LeaseWaitStopped:
        self.answered = True
        sig = signal.Signals(self.signum)
        reason = StopReason.INTERRUPTED if sig is signal.SIGINT else StopReason.TERMINATED
        message = f"{sig.name} received while {what}; nothing was read or written"
        return LeaseWaitStopped(Stop(reason, message), seconds)


@contextlib.contextmanager
def _signals_during_wait() -> Iterator[_Signalled]:
    """While waiting for the lease, SIGINT and SIGTERM end the wait (main thread only; elsewhere they act as
    before). One the wait did not end for (it came as the wait ended otherwise) is raised again once the handlers
    before are back, for them to answer."""
    signalled = _Signalled()

    def handler(signum: int, frame: Any) -> None:
        signalled.signum = signum
        signalled.set()

    try:
        with recorded_signals(SIGNALS, handler):
            yield signalled
    finally:
        if signalled.is_set() and not signalled.answered:
            signal.raise_signal(signalled.signum)
