"""The deploy tests' common ground: Azure's pace scaled down and the tokens the fakes accept (`fast_and_signed_in`,
which each module that deploys asks for), a test bundle, and the fake Azure Resource Manager and Storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import teamslicensing.deploy
from teamslicensing import __version__
from teamslicensing.deploy.options import Pace
from tests.support.fakearm import ARM_TOKEN, STORAGE_TOKEN, FakeAzure, fake_azure
from tests.support.fakearm.bundles import make_test_bundle


@pytest.fixture
def fast_and_signed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Azure's pace scaled down (5 imports a second instead of every 30 s), and the tokens the fakes accept."""
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
