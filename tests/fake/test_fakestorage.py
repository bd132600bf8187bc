"""The fake Storage account answers as the Blob REST reference says (tests/support/fakestorage/store.py and
delegation.py name the pages): driven through azure-storage-blob, the client the product uses, so what the client
sends is what is met."""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobClient, BlobLeaseClient, BlobServiceClient, generate_blob_sas

from teamslicensing.graph.blob import GivenToken, container_client
from tests.conftest import STORAGE_TOKEN
from tests.support.fakestorage import FakeStorage

SPEEDUP = 30.0  # a 15-second lease lasts half a second


@pytest.fixture
def fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStorage]:
    with FakeStorage(tmp_path, STORAGE_TOKEN, speedup=SPEEDUP) as storage:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(storage.ca_path))
        yield storage


@pytest.fixture
def blob(fast: FakeStorage) -> Iterator[BlobClient]:
    with container_client(fast.container_url(), GivenToken(STORAGE_TOKEN), retry_total=0) as container:
        client = container.get_blob_client("locks/tenant")
        client.upload_blob(b"", overwrite=False)
        yield client


def refused(action: object, status: int, code: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        action()  # type: ignore[operator]
    assert (caught.value.status_code, getattr(caught.value, "error_code", None)) == (status, code)


def test_a_write_to_a_leased_blob_needs_the_lease_id(blob: BlobClient) -> None:
    lease = BlobLeaseClient(blob)
    lease.acquire(lease_duration=60)
    refused(lambda: blob.upload_blob(b"mine", overwrite=True), 412, "LeaseIdMissing")
    stranger = BlobLeaseClient(blob)
    refused(lambda: blob.upload_blob(b"mine", overwrite=True, lease=stranger), 412, "LeaseIdMismatchWithBlobOperation")
    blob.upload_blob(b"holder", overwrite=True, lease=lease)
    assert blob.download_blob().readall() == b"holder", "reading needs no lease"
    assert blob.get_blob_properties().lease.state == "leased", "a write with the id keeps the lease"


def test_one_lease_at_a_time_and_only_its_holder_renews_or_releases_it(blob: BlobClient) -> None:
    first, second = BlobLeaseClient(blob), BlobLeaseClient(blob)
    first.acquire(lease_duration=15)
    refused(lambda: second.acquire(lease_duration=15), 409, "LeaseAlreadyPresent")
    refused(second.renew, 409, "LeaseIdMismatchWithLeaseOperation")
    refused(second.release, 409, "LeaseIdMismatchWithLeaseOperation")
    first.acquire(lease_duration=15)  # its own id again: taken again, not refused
    first.renew()
    released = BlobLeaseClient(blob, lease_id=first.id)
    first.release()
    second.acquire(lease_duration=15)  # free at once after a release
    refused(released.renew, 409, "LeaseIdMismatchWithLeaseOperation")


@pytest.mark.parametrize("seconds", [14, 61, 0])
def test_a_lease_lasts_15_to_60_seconds_or_forever(blob: BlobClient, seconds: int) -> None:
    refused(lambda: BlobLeaseClient(blob).acquire(lease_duration=seconds), 400, "InvalidHeaderValue")
    BlobLeaseClient(blob).acquire(lease_duration=-1)


def test_an_expired_lease_frees_the_blob_and_its_holder_may_renew_it_until_someone_else_acts(
    blob: BlobClient,
) -> None:
    holder, other = BlobLeaseClient(blob), BlobLeaseClient(blob)
    holder.acquire(lease_duration=15)
    time.sleep(16 / SPEEDUP)
    assert blob.get_blob_properties().lease.state == "expired"
    holder.renew()  # nobody wrote or leased it meanwhile
    time.sleep(16 / SPEEDUP)
    other.acquire(lease_duration=15)  # expired: anyone may take it
    refused(holder.renew, 409, "LeaseIdMismatchWithLeaseOperation")
    time.sleep(16 / SPEEDUP)
    blob.upload_blob(b"", overwrite=True)  # an expired lease does not hold writes back, and is forgotten by them
    refused(other.renew, 409, "LeaseIdMismatchWithLeaseOperation")


def test_a_broken_lease_cannot_be_renewed(blob: BlobClient) -> None:
    lease = BlobLeaseClient(blob)
    lease.acquire(lease_duration=60)
    assert lease.break_lease(lease_break_period=0) == 0
    refused(lease.renew, 409, "LeaseIsBrokenAndCannotBeRenewed")
    BlobLeaseClient(blob).acquire(lease_duration=15)


def test_blobs_are_created_only_if_absent_and_leased_only_if_present(fast: FakeStorage, blob: BlobClient) -> None:
    with pytest.raises(ResourceExistsError):
        blob.upload_blob(b"", overwrite=False)  # If-None-Match: *
    with container_client(fast.container_url(), GivenToken(STORAGE_TOKEN), retry_total=0) as container:
        missing = container.get_blob_client("locks/nobody")
        refused(lambda: BlobLeaseClient(missing).acquire(lease_duration=15), 404, "BlobNotFound")


def test_only_the_accounts_token_gets_in_and_errors_come_as_storage_sends_them(fast: FakeStorage) -> None:
    wrong = GivenToken("the-graph-token")
    with (
        container_client(fast.container_url(), wrong, retry_total=0) as container,
        pytest.raises(ClientAuthenticationError),
    ):
        container.get_blob_client("x").upload_blob(b"", overwrite=True)
    headers = {"Authorization": f"Bearer {STORAGE_TOKEN}", "x-ms-version": "2021-08-06"}
    request = urllib.request.Request(f"{fast.container_url()}/absent", headers=headers)
    trusting = ssl.create_default_context(cafile=str(fast.ca_path))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10, context=trusting)
    assert caught.value.code == 404
    assert caught.value.headers["x-ms-error-code"] == "BlobNotFound"
    body = caught.value.read().decode()
    assert "<Code>BlobNotFound</Code><Message>The specified blob does not exist.\nRequestId:" in body
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):  # a CA only the test trusts
        urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context())


def test_containers_are_made_once_and_blobs_keep_their_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeStorage(tmp_path, STORAGE_TOKEN, containers=()) as storage:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(storage.ca_path))
        with container_client(f"{storage.url}/wheels", GivenToken(STORAGE_TOKEN), retry_total=0) as container:
            refused(container.get_container_properties, 404, "ContainerNotFound")
            container.create_container()
            refused(container.create_container, 409, "ContainerAlreadyExists")
            blob = container.get_blob_client("a-1.0-py3-none-any.whl")
            blob.upload_blob(b"wheel", overwrite=True, metadata={"sha256": "ab12"})
            assert blob.get_blob_properties().metadata == {"sha256": "ab12"}
            blob.upload_blob(b"other", overwrite=True)
            assert blob.get_blob_properties().metadata == {}, "a write replaces the metadata"


def test_a_sas_reads_one_blob_only_when_signed_with_a_key_the_account_issued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Azure Automation does with a package's content link: a GET with a user delegation SAS and nothing else
    (no token, no x-ms-version). A forged key, a write, or the service level are refused."""
    with FakeStorage(tmp_path, STORAGE_TOKEN, containers=("c",)) as storage:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(storage.ca_path))
        service = BlobServiceClient(storage.url, credential=GivenToken(STORAGE_TOKEN), retry_total=0)
        with service:
            service.get_blob_client("c", "b").upload_blob(b"x", overwrite=True)
            now = datetime.now(timezone.utc)
            key = service.get_user_delegation_key(now - timedelta(minutes=5), now + timedelta(hours=1))
            refused(
                lambda: service.get_user_delegation_key(now, now + timedelta(days=8)), 400, "InvalidQueryParameterValue"
            )
        sas = generate_blob_sas(
            "devstoreaccount1", "c", "b", user_delegation_key=key, permission="r", expiry=now + timedelta(hours=1)
        )
        trusting = ssl.create_default_context(cafile=str(storage.ca_path))

        def status(url: str, method: str = "GET") -> int:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10, context=trusting):
                    return 200
            except urllib.error.HTTPError as refusal:
                return refusal.code

        assert status(f"{storage.url}/c/b?{sas}") == 200
        assert storage.requests[-1].auth == "sas"
        forged = sas.replace("skoid=", "skoid=0")
        assert status(f"{storage.url}/c/b?{forged}") == 403
        assert status(f"{storage.url}/c/b?{sas}", "PUT") == 403, "read only"
        assert status(f"{storage.url}/c?restype=container&{sas}") == 403, "one blob, not its container"
        assert status(f"{storage.url}/c/b") == 401, "no token, no SAS"
