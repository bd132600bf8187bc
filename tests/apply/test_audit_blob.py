"""The audit log kept as a blob: uploaded whole, in 4 MiB blocks, so a long log never sits in memory at once (the
runbook has 400 MB), with the Storage token only: never one for another resource, whatever Storage's endpoint
answers."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo

from teamslicensing.graph.blob import STORAGE_SCOPE
from tests.conftest import STORAGE_TOKEN
from tests.support.fakestorage import FakeStorage, SeenRequest
from tests.support.fakestorage.store import Reply

ROOT = Path(__file__).resolve().parents[2]
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


class ManagedIdentity:
    """A managed identity as azure-storage-blob sees it: a token for whatever scope it is asked, recorded."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        token = STORAGE_TOKEN if scopes == (STORAGE_SCOPE,) else f"a token for {' '.join(scopes)}"
        return AccessToken(token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        token = self.get_token(*scopes)
        return AccessTokenInfo(token.token, token.expires_on)

    def close(self) -> None:
        return None


GRAPH_CHALLENGE = (
    "Bearer authorization_uri=https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/oauth2/authorize "
    "resource_id=https://graph.microsoft.com"
)


@pytest.mark.parametrize("challenged", ["once", "always"])
def test_a_storage_challenge_naming_graph_gets_no_graph_token_fetched_or_sent(
    storage: FakeStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, challenged: str
) -> None:
    """Whatever answers at the Storage endpoint (a TLS-inspecting proxy, anything on loopback) may answer 401 with a
    challenge naming another resource; azure-storage-blob would ask the identity for a token for that resource and
    send it back there. The identity is asked for Storage's token only, only that token reaches the endpoint, and
    a challenge that keeps coming fails the upload with the reason, not with a Graph token sent."""
    from teamslicensing.graph import blob

    original, answered = storage.answer, [0]

    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[Reply, str]:
        answered[0] += 1
        if challenged == "always" or answered[0] == 1:
            storage.requests.append(SeenRequest(method, "", "", {}, headers, 401))
            return Reply(401, {"WWW-Authenticate": GRAPH_CHALLENGE, "x-ms-error-code": "InvalidAuthenticationInfo"}), ""
        return original(method, path, headers, body)

    monkeypatch.setattr(storage, "answer", answer)
    identity = ManagedIdentity()
    monkeypatch.setattr(blob, "storage_credential", lambda *_, **__: identity)
    # the SDK's own retries (15 s apart) are not what this is about
    quick: dict[str, Any] = {"retry_total": 1, "initial_backoff": 0.01, "increment_base": 0, "random_jitter_range": 0}
    monkeypatch.setattr(blob, "container_client", functools.partial(blob.container_client, **quick))
    log = tmp_path / "teams-licensing-audit.jsonl"
    log.write_text('{"audit": 2}\n', encoding="utf-8")
    if challenged == "always":
        with pytest.raises(blob.BlobError, match=re.escape(f"only a token for {STORAGE_SCOPE} is sent")):
            blob.upload_file(log, storage.container_url(), managed_identity_client_id="mi")
    else:
        blob.upload_file(log, storage.container_url(), managed_identity_client_id="mi")
        assert storage.content(log.name) == log.read_bytes(), "stored once Storage itself answered"
    assert identity.scopes, "the identity was asked for a token"
    assert set(identity.scopes) == {(STORAGE_SCOPE,)}, "for Storage's scope and nothing else"
    assert {r.headers.get("authorization") for r in storage.requests} == {f"Bearer {STORAGE_TOKEN}"}


@pytest.mark.parametrize("method", ["get_token", "get_token_info"])
def test_a_storage_credential_serves_storages_scope_and_refuses_every_other(method: str) -> None:
    """Every credential a Storage client is given serves https://storage.azure.com/.default (the scope the SDK asks
    in every cloud, national ones included, since no audience is given) and refuses Graph's, Resource Manager's,
    a US Government or China Storage account's own, or several scopes at once."""
    from azure.core.exceptions import ClientAuthenticationError

    from teamslicensing.graph.blob import GivenToken, StorageOnly

    for inner in (ManagedIdentity(), GivenToken(STORAGE_TOKEN)):
        credential = StorageOnly(inner)
        assert getattr(credential, method)(STORAGE_SCOPE).token == STORAGE_TOKEN
        for scopes in (
            ("https://graph.microsoft.com/.default",),
            ("https://management.azure.com/.default",),
            ("https://stlicensing.blob.core.usgovcloudapi.net/.default",),
            ("https://stlicensing.blob.core.chinacloudapi.cn/.default",),
            (STORAGE_SCOPE, "https://graph.microsoft.com/.default"),
            (),
        ):
            with pytest.raises(ClientAuthenticationError, match="refused"):
                getattr(credential, method)(*scopes)
        if isinstance(inner, ManagedIdentity):
            assert set(inner.scopes) == {(STORAGE_SCOPE,)}, "the identity was never asked for another scope"
