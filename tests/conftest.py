"""Shared fixtures: paths to the shipped example configuration and demo tenant."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def example_config() -> Path:
    return ROOT / "config" / "licensing.yaml"


@pytest.fixture
def demo_tenant() -> Path:
    return ROOT / "config" / "examples" / "contoso-tenant.json"
