"""The audit log kept as a blob: uploaded whole, in 4 MiB blocks, so a long log never sits in memory at once (the
runbook has 400 MB), with the Storage token only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import STORAGE_TOKEN
from tests.support.fakestorage import FakeStorage

ROOT = Path(__file__).resolve().parent.parent
LOG_BYTES = 64 * 1024 * 1024

UPLOAD = """
import json, resource, sys
from teamslicensing import app
from teamslicensing.graph import blob  # what the upload needs, imported before the baseline is taken
import azure.storage.blob, azure.identity
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
url = app.store_audit(sys.argv[1], sys.argv[2], managed_identity_client_id=None, access_token=sys.argv[3])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"url": url, "grewKiB": after - before}))
"""


def test_a_long_audit_log_is_stored_whole_in_blocks_without_being_read_into_memory(
    storage: FakeStorage, tmp_path: Path
) -> None:
    log = tmp_path / "teams-licensing-audit-20260830T020000.000000Z.jsonl"
    with open(log, "wb") as out:
        for _ in range(LOG_BYTES // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "automation")}
    done = subprocess.run(
        [sys.executable, "-c", UPLOAD, str(log), storage.container_url(), STORAGE_TOKEN],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["url"] == f"{storage.container_url()}/{log.name}"
    assert storage.content(log.name) == log.read_bytes()
    blocks = [r for r in storage.requests if r.query.get("comp") == "block"]
    assert len(blocks) == LOG_BYTES // (4 * 1024 * 1024), "4 MiB blocks, then one Put Block List"
    assert [r.query.get("comp") for r in storage.requests][-1] == "blocklist"
    assert answer["grewKiB"] < 32 * 1024, f"the upload grew the process by {answer['grewKiB']} KiB for a 64 MiB log"


def test_a_redirect_is_not_followed_and_no_token_goes_elsewhere(
    storage: FakeStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from teamslicensing import app
    from teamslicensing.graph.blob import BlobError

    log = tmp_path / "teams-licensing-audit.jsonl"
    log.write_text('{"audit": 2}\n', encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    with FakeStorage(tmp_path / "elsewhere", "whatever") as elsewhere:
        bundle = tmp_path / "both-cas.pem"  # both certificates trusted: only the redirect decides
        bundle.write_text(storage.ca_path.read_text() + elsewhere.ca_path.read_text(), encoding="utf-8")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
        storage.redirect_to = elsewhere.url.rsplit("/", 1)[0]
        with pytest.raises(BlobError, match="Storage answered 307"):
            app.store_audit(log, storage.container_url(), managed_identity_client_id=None, access_token=STORAGE_TOKEN)
    assert storage.requests, "the container was asked"
    assert elsewhere.requests == [], "the redirect was not followed, so no token went elsewhere"
