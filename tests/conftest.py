"""Shared fixtures: paths to the shipped example configuration and demo tenant, and the check that every request
the fake tenant serves is one Graph v1.0 has."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import respx

from tests.support.fakestorage import FakeStorage
from tests.support.graphmetadata import take_violations
from tests.support.rollout import CONFIG

GRAPH_TOKEN = "test-token-not-a-secret"
STORAGE_TOKEN = "storage-token-not-a-secret"  # never the Graph one: tests check which went where

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run inside GitHub Actions or Azure Pipelines must not write to the real step summary or log."""
    for variable in ("GITHUB_STEP_SUMMARY", "TF_BUILD", "GITHUB_ACTIONS"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(autouse=True)
def graph_as_microsoft_publishes_it() -> Iterator[None]:
    """Every request the fake tenant served during the test, and its answer, is Graph v1.0 as its CSDL and
    permissions reference describe it (tests/support/graphmetadata): one that is not fails the test, naming it,
    even when the tool swallowed the fake's complaint."""
    take_violations()
    yield
    found = take_violations()
    if found:
        pytest.fail("\n".join(["requests or answers Graph v1.0 does not have:", *found]), pytrace=False)


@pytest.fixture(autouse=True)
def own_lock_folder(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test takes apply locks in a folder of its own, so no test meets another's (or a real run's) lock."""
    monkeypatch.setenv("TEAMS_LICENSING_LOCK_DIR", str(tmp_path_factory.mktemp("locks")))


@pytest.fixture
def example_config() -> Path:
    return ROOT / "config" / "licensing.yaml"


@pytest.fixture
def demo_tenant() -> Path:
    return ROOT / "config" / "examples" / "contoso-tenant.json"


@pytest.fixture
def graph_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bearer token from the environment, as a CI step gives one, and Graph at its default URL."""
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", GRAPH_TOKEN)
    monkeypatch.delenv("TEAMS_LICENSING_GRAPH_URL", raising=False)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx in front of every httpx client; the fake tenant mounts itself on it."""
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStorage]:
    """A fake Storage account over HTTPS on loopback (its clock at wall speed), its certificate authority trusted
    the way requests-based clients trust one (REQUESTS_CA_BUNDLE), and its token in the environment."""
    with FakeStorage(tmp_path, STORAGE_TOKEN) as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_path))
        monkeypatch.setenv("TEAMS_LICENSING_STORAGE_TOKEN", STORAGE_TOKEN)
        yield fake


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The rollout configuration (tests/support/rollout.py) as a file."""
    path = tmp_path / "licensing.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path
