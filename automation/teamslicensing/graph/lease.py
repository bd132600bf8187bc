"""A lease on one blob, taken, kept renewed by a background thread, and released: what lets one run at a time
write to a tenant across machines (the blob is `locks/<tenant id>`; `app/lease.py` decides when).

Azure Storage's blob lease as the Lease Blob REST reference describes it (revision read 2026-08; the lease states
and actions as in the "Lease states and actions" include of the Blob developer guide, ms.date 2023-02-16): acquire
takes a lease of 15 to 60 seconds (or infinite) and answers 201 with its id; while it holds, another acquire gets
409 `LeaseAlreadyPresent` and a write to the blob without the id 412 `LeaseIdMissing`; renew restarts its clock;
release frees it at once; a lease nobody renews expires on its own, so a run that dies (a sandbox deleted, kill -9)
frees the tenant within a minute. Only an existing blob can be leased: a missing one is created first with
`If-None-Match: *` (409 `BlobAlreadyExists` when another run created it first).

Why 60 seconds, renewed every 15: the longest finite lease gives a renewal the most room to get through a Storage
hiccup, while a dead holder still frees the tenant in a minute, nothing against a 10-minute wait or an hourly
schedule (an infinite lease would stay behind a dead run until someone broke it). Each request is bounded by 10 s
timeouts and no SDK retries: the renewal loop is the retry. The lease is lost once no renewal was confirmed for 45 s,
15 s before Storage could give it to another run, so the writer stops first: `lost` says so from the time of the last
confirmed renewal whoever asks, not only when the renewal thread looks (a renewal stuck on its timeouts would have
it look at 58 s, two seconds before Storage's expiry).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from teamslicensing.graph.blob import BlobError, storage_message

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient

REQUEST_TIMEOUT = 10  # seconds, to connect and to read: one lease request never holds the renewal loop longer
# the lease's client: no SDK retries (the renewal loop retries on its own clock), short timeouts
LEASE_CLIENT_SETTINGS: dict[str, Any] = {
    "retry_total": 0,
    "connection_timeout": REQUEST_TIMEOUT,
    "read_timeout": REQUEST_TIMEOUT,
}
HOLDER_BYTES = 4096  # what a holder writes about itself; more is not read


@dataclass(frozen=True)
class LeaseTiming:
    """The lease's clock. `speedup` runs it faster against a fake Storage whose clock runs as fast (tests); the
    duration asked of Storage stays within its 15-60 s."""

    seconds: int = 60  # asked of Storage
    renew_every: float = 15.0  # lease seconds between renewals
    give_up_after: float = 45.0  # lease seconds without a confirmed renewal: lost (before Storage's expiry)
    retry_after: float = 3.0  # lease seconds between tries once a renewal failed
    speedup: float = 1.0

    def real(self, lease_seconds: float) -> float:
        return lease_seconds / self.speedup


class BlobLease:
    """The lease on `name` in the container. `take` it, `keep_renewed` while the run goes on, `release` at the end;
    `lost` says why, once it could not be kept (set by the renewal thread, read by the run's stop switch)."""

    def __init__(
        self, container: ContainerClient, name: str, timing: LeaseTiming, notice: Callable[[str], None] | None = None
    ) -> None:
        from azure.storage.blob import BlobLeaseClient

        self.name = name
        self.timing = timing
        self.notice = notice  # a renewal that failed and will be tried again is said (from the renewal thread)
        self._blob: BlobClient = container.get_blob_client(name)
        self._lease: BlobLeaseClient = BlobLeaseClient(self._blob)
        self._confirmed = 0.0  # time.monotonic() when the last acquire or renewal that Storage confirmed was sent
        self._held = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost: str | None = None  # why the lease could not be kept, once that happened
        self._problem = "no answer"  # what the last renewal that failed met
        self.renewals = 0

    @property
    def lost(self) -> str | None:
        """Why the lease could not be kept (Storage refused a renewal, or none was confirmed for `give_up_after`
        lease seconds), None while it holds; once lost, lost for good."""
        if self._lost is None and self._held and not self._stopping.is_set():
            unconfirmed = time.monotonic() - self._confirmed
            if unconfirmed >= self.timing.real(self.timing.give_up_after):
                self._lost = (
                    f"no renewal of the lease on {self.name} got through for {unconfirmed:.0f} s ({self._problem})"
                )
        return self._lost

    @property
    def url(self) -> str:
        return str(self._blob.url)

    def take(self, holder: dict[str, Any]) -> str | None:
        """Try once to take the lease: None when taken (`holder` then written into the blob, for a waiting run to
        name), else who holds it, as they wrote it. Raises BlobError when Storage refuses us."""
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

        try:
            for _ in range(2):  # a missing blob is created, then leased
                sent = time.monotonic()
                try:
                    self._lease.acquire(lease_duration=self.timing.seconds)
                except ResourceNotFoundError as exc:
                    if _code(exc) != "BlobNotFound":
                        raise
                    self._create()
                    continue
                self._confirmed, self._held = sent, True
                self._blob.upload_blob(json.dumps(holder).encode(), overwrite=True, lease=self._lease)
                return None
            raise BlobError(f"{self.name} could not be created to be leased")
        except HttpResponseError as exc:
            if exc.status_code == 409 and _code(exc) in ("LeaseAlreadyPresent", "LeaseIsBreakingAndCannotBeAcquired"):
                return self._holder()
            raise BlobError(f"cannot lease {self.url}: {storage_message(exc)}") from exc
        except AzureError as exc:
            raise BlobError(f"cannot lease {self.url}: {storage_message(exc)}") from exc

    def _create(self) -> None:
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        try:
            self._blob.upload_blob(b"", overwrite=False)  # If-None-Match: *
        except ResourceExistsError:
            pass  # another run created it first
        except HttpResponseError as exc:
            if exc.status_code != 412:  # it exists and is leased already: acquiring says by whom
                raise

    def _holder(self) -> str:
        """Who holds the lease, as they wrote it into the blob when they took it."""
        from azure.core.exceptions import AzureError

        try:
            text = self._blob.download_blob(offset=0, length=HOLDER_BYTES, max_concurrency=1).readall()
            record = json.loads(text)
        except (AzureError, ValueError):
            return "another run (it did not say who)"
        if not isinstance(record, dict):
            return "another run (it did not say who)"
        return (
            f"{record.get('command', 'a run')} as pid {record.get('pid', '?')} on {record.get('host', '?')} since "
            f"{record.get('started', '?')}"
        )

    def keep_renewed(self) -> None:
        """Renew the lease in a daemon thread until `release`."""
        assert self._held, "take the lease first"
        self._thread = threading.Thread(target=self._renew_loop, name=f"lease {self.name}", daemon=True)
        self._thread.start()

    def _renew_loop(self) -> None:
        from azure.core.exceptions import AzureError, HttpResponseError

        timing = self.timing
        failing = False
        next_try = self._confirmed + timing.real(timing.renew_every)
        while not self._stopping.wait(max(next_try - time.monotonic(), 0.0)):
            if self.lost is not None:  # no renewal confirmed in time (or the run's watch found so first)
                return
            sent = time.monotonic()
            try:
                self._lease.renew()
            except HttpResponseError as exc:
                if exc.status_code in (404, 409, 412):  # Storage says it is not ours any more
                    self._lost = f"Storage refused to renew the lease on {self.name}: {storage_message(exc)}"
                    return
                self._problem = storage_message(exc)
            except AzureError as exc:
                self._problem = storage_message(exc)
            else:
                if self._lost is None:  # a renewal confirmed after the loss was declared does not take it back
                    self._confirmed, self.renewals, failing = sent, self.renewals + 1, False
                next_try = sent + timing.real(timing.renew_every)
                continue
            give_up = self._confirmed + timing.real(timing.give_up_after)
            next_try = min(time.monotonic() + timing.real(timing.retry_after), give_up)
            if self.notice is not None and not failing:  # once per run of failures: the loss, if it comes, is said
                left = give_up - time.monotonic()
                self.notice(
                    f"A renewal of the lease on {self.name} failed ({self._problem}); trying again for {left:.0f} s"
                )
            failing = True

    def release(self) -> str | None:
        """Stop renewing and release the lease; None when released, else why not (it then expires by itself)."""
        from azure.core.exceptions import AzureError

        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * REQUEST_TIMEOUT + 5)
        if not self._held or self._lost is not None:
            return None
        self._held = False
        try:
            self._lease.release()
        except AzureError as exc:
            return f"the lease on {self.name} was not released ({storage_message(exc)}); it expires by itself"
        return None


def _code(exc: BaseException) -> str:
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")
