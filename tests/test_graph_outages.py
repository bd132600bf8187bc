"""Apply through Graph's bad days, against the stateful fake: a token revoked before its expiry (renewed once, with
the claims of a challenge when Graph sent one; a given token said to be unrenewable)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import httpx
import pytest
import respx

from teamslicensing.cli import main
from tests.support.fakegraph.outages import REVOCATION_CLAIMS
from tests.support.faults import BASE, audit_records, fake_for
from tests.support.rollout import holders, rollout_document

WRITE_URL = re.compile(r"^/users/([^/?]+)(/assignLicense)?$")


class Credential:
    """An azure-identity credential as the tool uses it, caching as azure-identity does (1.27): the token an instance
    fetched is handed back until it nears expiry, unless `claims` are asked for."""

    fetched: ClassVar[list[str | None]] = []  # the claims of every token fetched, across instances

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.cached: Any = None

    async def get_token(self, scope: str, *, claims: str | None = None) -> Any:
        if self.cached is not None and claims is None and self.cached.expires_on - 300 > time.time():
            return self.cached
        Credential.fetched.append(claims)
        self.cached = SimpleNamespace(token=f"token-{len(Credential.fetched)}", expires_on=time.time() + 3600)
        return self.cached

    async def close(self) -> None:
        return None


@pytest.fixture
def signed_in(monkeypatch: pytest.MonkeyPatch) -> type[Credential]:
    """No given token: the tool signs in through the credential chain (here `Credential`)."""
    import azure.identity.aio

    Credential.fetched = []
    monkeypatch.delenv("TEAMS_LICENSING_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("TEAMS_LICENSING_GRAPH_URL", raising=False)
    monkeypatch.setattr(azure.identity.aio, "DefaultAzureCredential", Credential)
    monkeypatch.setattr(azure.identity.aio, "ManagedIdentityCredential", Credential)
    return Credential


def apply(config: Path, log: Path) -> tuple[int, str]:
    status = main(["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(log)])
    return status, log.read_text(encoding="utf-8")


def summary(err: str) -> str:
    return next((line for line in err.splitlines() if line.startswith("Apply: ")), err)


@pytest.mark.parametrize(
    ("revoked", "challenge", "in_items"),
    [(False, False, False), (True, False, False), (True, True, False), (True, False, True), (True, True, True)],
)
def test_a_token_revoked_midway_is_replaced_once_and_the_run_completes(
    revoked: bool,
    challenge: bool,
    in_items: bool,
    signed_in: type[Credential],
    router: respx.MockRouter,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The 40th request meets a revoked token: the whole $batch refused, or each item in it; with a claims
    challenge, the claims go to the credential. Reading and writing sign in once each; the revocation costs one
    fetch more, however many batches in flight met it."""
    fake = fake_for(rollout_document(1210), router)
    if revoked:
        fake.revoke_token(40, challenge=challenge, in_items=in_items)
    status, _ = apply(config, tmp_path / "a.jsonl")
    err = capsys.readouterr().err
    assert status == 0, err
    assert "Apply: 1210 applied, 0 failed, 0 not attempted" in summary(err)
    assert holders(fake.document()) == {f"00000000-0000-4000-8000-{n:012d}" for n in range(1210)}
    assert (fake.token_refusals > 0) == revoked
    renewal = [REVOCATION_CLAIMS if challenge else None] if revoked else []
    assert signed_in.fetched == [None, None, *renewal]
    log = audit_records(tmp_path / "a.jsonl")
    refused = [r for r in log if r["type"] == "result" and r["status"] == 401]
    assert len(refused) == (fake.token_refusals if in_items else 0), "items refused for the token are recorded"
    assert log[-1]["type"] == "end"
    assert log[-1]["applied"] == 1210


def test_a_token_refused_again_after_a_fresh_one_stops_the_run(
    signed_in: type[Credential],
    router: respx.MockRouter,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_for(rollout_document(200), router)
    original = fake.handle
    batches = 0

    def refusing_from_the_third_batch(request: Any) -> Any:
        nonlocal batches
        if request.url.path.endswith("/$batch") and b'"POST"' in request.content:
            batches += 1
            if batches >= 3:  # whatever the token: the app lost its access
                body = {"error": {"code": "InvalidAuthenticationToken", "message": "Access token validation failure."}}
                return httpx.Response(401, json=body)
        return original(request)

    fake.handle = refusing_from_the_third_batch  # type: ignore[method-assign]
    status, _ = apply(config, tmp_path / "a.jsonl")
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Graph refused" in summary(err)
    assert "refused again with a token fetched just now" in err
    assert len(signed_in.fetched) == 3, "reading, writing, and one fresh token for the refusal (not one a batch)"
    assert audit_records(tmp_path / "a.jsonl")[-1]["type"] == "end"


@pytest.mark.usefixtures("graph_token")
@pytest.mark.parametrize("in_items", [False, True])
def test_a_given_token_refused_is_said_to_be_unrenewable(
    in_items: bool, router: respx.MockRouter, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_for(rollout_document(200), router)
    fake.revoke_token(9, in_items=in_items)  # the third write batch
    status, _ = apply(config, tmp_path / "a.jsonl")
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Graph refused" in summary(err)
    assert "not attempted" in summary(err)
    assert "a given access token cannot be refreshed here: pass a fresh one in TEAMS_LICENSING_ACCESS_TOKEN" in err
