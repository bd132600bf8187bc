"""Keeping a finished audit log where it outlives the job: an Azure Storage blob (the runbook's
`TeamsLicensing_AuditContainer`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from teamslicensing.graph.blob import put_blob


def store_audit(
    path: str | Path, container_url: str, *, managed_identity_client_id: str | None, access_token: str | None
) -> str:
    """Upload the audit log at `path` as a blob of the same name; the blob's URL. Raises BlobError."""
    log = Path(path)
    return asyncio.run(
        put_blob(
            container_url,
            log.name,
            log.read_bytes(),
            managed_identity_client_id=managed_identity_client_id,
            access_token=access_token,
        )
    )
