"""Keeping a finished audit log where it outlives the job: an Azure Storage blob (the runbook's
`TeamsLicensing_AuditContainer`)."""

from __future__ import annotations

from pathlib import Path

from teamslicensing.graph.blob import upload_file


def store_audit(
    path: str | Path, container_url: str, *, managed_identity_client_id: str | None, access_token: str | None
) -> str:
    """Upload the audit log at `path` as a blob of the same name; the blob's URL. Raises BlobError."""
    return upload_file(
        path, container_url, managed_identity_client_id=managed_identity_client_id, access_token=access_token
    )
