"""The runbook reads a configuration `deploy automation` stored as a blob (too large for an Automation variable):
the variable holds the blob's URL, read with the Storage token only, before Graph is asked anything."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import respx

import teamslicensing.deploy
from teamslicensing import __version__
from teamslicensing.cli import main
from teamslicensing.deploy.options import Pace
from teamslicensing.graph.blobread import blob_location, blob_url
from tests.support.fakearm import ARM_TOKEN, fake_azure
from tests.support.fakearm.bundles import make_test_bundle
from tests.support.fakegraph import FakeGraph
from tests.support.fakestorage import CONTAINER, FakeStorage

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://graph.microsoft.com/v1.0"
STORED = "https://stlicensing.blob.core.windows.net/teams-licensing-config/licensing.yaml"
STORAGE_TOKEN = "storage-token-not-a-secret"


def load_runbook() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("reconcile_licenses", ROOT / "runbooks" / "reconcile_licenses.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", "graph-token-not-a-secret")
    monkeypatch.setenv("TEAMS_LICENSING_STORAGE_TOKEN", "storage-token-not-a-secret")
    monkeypatch.setenv("TEAMS_LICENSING_GRAPH_URL", BASE)
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", STORED)
    monkeypatch.delenv("TEAMS_LICENSING_MODE", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.delitem(sys.modules, "automationassets", raising=False)


@pytest.fixture(name="fake")
def fake_fixture(router: respx.MockRouter) -> FakeGraph:
    return fake(router)


def fake(router: respx.MockRouter) -> FakeGraph:
    document = json.loads((ROOT / "config" / "examples" / "contoso-tenant.json").read_text(encoding="utf-8"))
    graph = FakeGraph(copy.deepcopy(document), base_url=BASE)
    graph.mount(router)
    return graph


def run() -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    status = load_runbook().main(out, err)
    return status, json.loads(out.getvalue().splitlines()[-1]), err.getvalue()


def test_a_configuration_stored_as_a_blob_is_read_with_the_storage_token(
    fake: FakeGraph, storage: FakeStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.store.put(CONTAINER, "licensing.yaml", (ROOT / "config" / "licensing.yaml").read_bytes())
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", f"{storage.container_url()}/licensing.yaml")
    status, result, _ = run()
    assert (status, result["exitCode"], result["error"]) == (3, 3, None), "planned as from a file: its gaps"
    assert result["changes"] > 0
    reads = [r for r in storage.requests if r.blob == "licensing.yaml"]
    assert reads, "read from the container"
    assert all(r.headers["authorization"] == f"Bearer {STORAGE_TOKEN}" for r in reads), "never the Graph token"


def test_a_blob_the_identity_may_not_read_fails_the_job_before_graph_is_asked(
    fake: FakeGraph, storage: FakeStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", f"{storage.container_url()}/licensing.yaml")
    monkeypatch.setenv("TEAMS_LICENSING_STORAGE_TOKEN", "another-identity-token")
    status, result, _ = run()
    assert status == 1
    assert "Storage answered 401 InvalidAuthenticationInfo" in result["error"]
    assert fake.requests == [], "nothing read from Graph"


@pytest.mark.parametrize(
    ("value", "url"),
    [
        (STORED, STORED),
        ("https://stlicensing.blob.core.usgovcloudapi.net/cfg/licensing.yaml", "same"),
        ("https://127.0.0.1:10000/devstoreaccount1/cfg/licensing.yaml", "same"),
        ("http://127.0.0.1:10000/devstoreaccount1/cfg/licensing.yaml", None),
        ("config/licensing.yaml", None),
        ("version: 1\nrules: []\n", None),
        ("https://example.com/c/licensing.yaml", None),
        ("https://stlicensing.blob.core.windows.net/c/licensing.yaml?sv=2024&sig=x", None),
        ("https://stlicensing.blob.core.windows.net/licensing.yaml", None),
    ],
)
def test_only_a_blob_url_is_read_as_one(value: str, url: str | None) -> None:
    assert blob_url(value) == (value if url == "same" else url)


@pytest.mark.parametrize(
    ("url", "container", "name"),
    [
        (STORED, "https://stlicensing.blob.core.windows.net/teams-licensing-config", "licensing.yaml"),
        (
            "https://stlicensing.blob.core.windows.net/teams-licensing-config/config/licensing.yaml",
            "https://stlicensing.blob.core.windows.net/teams-licensing-config",
            "config/licensing.yaml",
        ),
        (
            "https://stlicensing.blob.core.chinacloudapi.cn/teams-licensing-config/numbers/voice%20numbers.csv",
            "https://stlicensing.blob.core.chinacloudapi.cn/teams-licensing-config",
            "numbers/voice numbers.csv",
        ),
        (
            "https://127.0.0.1:10000/devstoreaccount1/teams-licensing-config/config/licensing.yaml",
            "https://127.0.0.1:10000/devstoreaccount1/teams-licensing-config",
            "config/licensing.yaml",
        ),
        (  # decoded once: a name that itself holds "%20" keeps it
            "https://stlicensing.blob.core.windows.net/c0nfig/config/100%2520off.yaml",
            "https://stlicensing.blob.core.windows.net/c0nfig",
            "config/100%20off.yaml",
        ),
    ],
)
def test_a_blob_url_names_its_container_by_the_first_segment_and_the_blob_by_the_rest(
    url: str, container: str, name: str
) -> None:
    """The URL `deploy automation` stores for a large setting is `<blob endpoint>/teams-licensing-config/<setting>/
    <file name>`: the container is the path's first segment (after the account on an emulator's loopback URL),
    and everything after it, slashes included, is the blob's name, percent-decoded exactly once."""
    assert blob_location(url) == (container, name)
    assert blob_url(url) == url


def test_a_large_configuration_deploy_stored_as_a_blob_is_what_the_runbook_plans_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`deploy automation` stores a configuration over an Automation variable's limit as a blob under `config/` in
    `teams-licensing-config`, and the variable holds the blob's URL (its name percent-encoded: a space is `%20`). The
    runbook given that variable reads that very blob with the Storage token and plans from it."""
    monkeypatch.setattr(teamslicensing.deploy, "DEFAULT_PACE", Pace(poll_seconds=0.01, window_seconds=1.0))
    monkeypatch.setenv("TEAMS_LICENSING_ARM_TOKEN", ARM_TOKEN)
    big = tmp_path / "teams licensing.yaml"
    padding = "".join(f"# {'x' * 100}\n" for _ in range(11_000))  # 1.1 MB of comments: too large for a variable
    big.write_text((ROOT / "config" / "licensing.yaml").read_text(encoding="utf-8") + padding, encoding="utf-8")
    bundle = make_test_bundle(tmp_path / "made", __version__)
    (tmp_path / "azure").mkdir()
    with fake_azure(tmp_path / "azure") as azure:
        command = ["deploy", "automation", *azure.cli_args(), "--bundle", str(bundle), "--config", str(big)]
        assert main(command) == 0, capsys.readouterr().err
        stored = json.loads(azure.arm.variables["TeamsLicensing_Config"]["value"])
        assert stored == f"{azure.blob_url}/teams-licensing-config/config/teams%20licensing.yaml"
        monkeypatch.setenv("TEAMS_LICENSING_CONFIG", stored)
        before = len(azure.storage.requests)
        with respx.mock(assert_all_called=False) as router:  # Graph only once deploy is done: it speaks httpx too
            fake(router)
            status, result, err = run()
        reads = [(r.method, r.container, r.blob) for r in azure.storage.requests[before:] if r.status < 300]
    assert (status, result["exitCode"], result["error"]) == (3, 3, None), err[-500:]
    assert result["changes"] > 0, "planned from the stored configuration"
    assert ("GET", "teams-licensing-config", "config/teams licensing.yaml") in reads
