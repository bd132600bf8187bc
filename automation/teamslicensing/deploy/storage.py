"""The storage account's part: the wheels staged for Azure Automation to fetch, read-only links to them, and
the configuration when it is too large for an Automation variable.

Azure Automation imports a package from a URL it can fetch. Every wheel of the bundle, `teams-licensing`'s and its
dependencies', is uploaded to the container `teams-licensing-wheels` and linked with a user delegation SAS: read
only, for that one blob, valid one day (the import takes minutes; a delegation key may live seven days), signed with
a key the deployer's own Entra sign-in obtains, so no account key is used. Public PyPI wheels could be linked
directly, but then the bytes Azure imports would not be the ones the bundle checked, a private index or an offline
mirror would not work, and there would be two ways for one thing. The SHA-256 recorded in the bundle goes with each
link (`contentHash`) and in the blob's metadata, so a second run uploads nothing already there.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import quote

from azure.core.exceptions import ResourceExistsError

from teamslicensing.bundle.manifest import BundledWheel
from teamslicensing.deploy.connect import Azure, found_or_none, step
from teamslicensing.deploy.report import Changes

if TYPE_CHECKING:
    from azure.storage.blob import UserDelegationKey

LINK_LIFETIME = timedelta(days=1)
CLOCK_SKEW = timedelta(minutes=5)


def ensure_container(azure: Azure, name: str, changes: Changes) -> None:
    container = azure.blobs.get_container_client(name)
    with step(f"container {name} in storage account {azure.options.storage_account}"):
        if found_or_none(container.get_container_properties) is not None:
            changes.same(f"container {name}")
            return
        changes.change(f"create container {name} in storage account {azure.options.storage_account}")
        with contextlib.suppress(ResourceExistsError):  # made meanwhile by another run: what was wanted
            container.create_container()


def upload_wheels(azure: Azure, container: str, wheels: tuple[BundledWheel, ...], changes: Changes) -> None:
    """Each wheel not already in the container with the same SHA-256, uploaded with its digest as metadata."""
    for wheel in wheels:
        blob = azure.blobs.get_blob_client(container, wheel.path.name)
        with step(f"upload {wheel.path.name}"):
            properties = found_or_none(blob.get_blob_properties)
            if properties is not None and (properties.metadata or {}).get("sha256") == wheel.sha256:
                changes.same(f"blob {container}/{wheel.path.name}")
                continue
            changes.change(f"upload {wheel.path.name} ({wheel.size / 1024 / 1024:.1f} MB) to {container}")
            with wheel.path.open("rb") as data:
                blob.upload_blob(data, overwrite=True, metadata={"sha256": wheel.sha256})


def store_text(azure: Azure, container: str, name: str, text: str, digest: str, changes: Changes) -> str:
    """`text` as the blob `name` (kept when its digest matches); its URL, for a setting that names it."""
    ensure_container(azure, container, changes)
    blob = azure.blobs.get_blob_client(container, name)
    with step(f"store {name} in {container}"):
        properties = found_or_none(blob.get_blob_properties)
        if properties is not None and (properties.metadata or {}).get("sha256") == digest:
            changes.same(f"blob {container}/{name}")
        else:
            changes.change(f"store {name} ({len(text.encode())} bytes) in {container}")
            blob.upload_blob(text.encode("utf-8"), overwrite=True, metadata={"sha256": digest})
    return f"{azure.options.blob}/{container}/{quote(name, safe='/')}"


class ReadLinks:
    """Read-only SAS links to blobs, signed with one user delegation key fetched on first use."""

    def __init__(self, azure: Azure, container: str) -> None:
        self.azure = azure
        self.container = container
        self._key: UserDelegationKey | None = None
        self._expiry = datetime.now(timezone.utc) + LINK_LIFETIME

    def link(self, blob: str) -> str:
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        if self._key is None:
            start = datetime.now(timezone.utc) - CLOCK_SKEW
            with step(f"get a user delegation key from storage account {self.azure.options.storage_account}"):
                self._key = self.azure.blobs.get_user_delegation_key(start, self._expiry)
        token = generate_blob_sas(
            account_name=self.azure.options.storage_account,
            container_name=self.container,
            blob_name=blob,
            user_delegation_key=self._key,
            permission=BlobSasPermissions(read=True),
            expiry=self._expiry,
        )
        return f"{self.azure.options.blob}/{self.container}/{quote(blob)}?{token}"
