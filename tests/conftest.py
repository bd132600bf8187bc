"""Shared fixtures: paths to the shipped example configuration and demo tenant."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run inside GitHub Actions or Azure Pipelines must not write to the real step summary or log."""
    for variable in ("GITHUB_STEP_SUMMARY", "TF_BUILD", "GITHUB_ACTIONS"):
        monkeypatch.delenv(variable, raising=False)


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
