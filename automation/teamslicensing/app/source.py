"""Where a run reads and writes the tenant: Graph (and how to reach it) or a snapshot file, and the tenant lease a
writing run holds. Apart from `core` so that the lease, the writing phase and the front ends name a source
without importing the flows that use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from teamslicensing.graph import Connection, Graph


class HeldLease(Protocol):
    """The tenant's lease as a source holds it (app.lease.TenantLease): taken before the first read, watched while
    writing."""

    @property
    def lost(self) -> str | None:
        """Why the lease could not be kept, once it could not; None while it holds."""
        ...

    def hold(self) -> None:
        """Take the lease (waiting for another run to let go), or raise."""
        ...


@dataclass(frozen=True)
class GraphAccess:
    """How to reach Graph: where, and a bearer token when the caller already holds one (else the credential chain)."""

    connection: Connection
    access_token: str | None = field(default=None, repr=False)  # never in a log, even if this is printed
    notice: Callable[[str], None] | None = field(default=None, compare=False)  # slow answers, long waits

    def open(self) -> Graph:
        return Graph(self.connection, access_token=self.access_token, notice=self.notice)


@dataclass(frozen=True)
class TenantSource:
    """Where the tenant is read from and written to: a snapshot file, or Graph; with `lease` (a writing run that
    names a Storage container), the tenant's lease is taken before the first read."""

    snapshot: Path | None = None
    graph: GraphAccess | None = None
    lease: HeldLease | None = field(default=None, compare=False)

    @property
    def where(self) -> str:
        if self.snapshot is not None:
            return f"snapshot {self.snapshot}"
        assert self.graph is not None, "a tenant source is a snapshot or Graph"
        return self.graph.connection.graph_url


def duration_text(seconds: float) -> str:
    """`1h05m`, or `4m30s` under an hour."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
