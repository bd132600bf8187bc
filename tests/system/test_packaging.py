"""What the wheel ships: every subpackage, the data files, and the runbook files as `teamslicensing.runbooks`."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_subpackage_is_listed_for_setuptools() -> None:
    """pyproject lists packages by hand (runbooks/ is mapped in); a package left off would be missing from the wheel
    while an editable install still finds it."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the list is the same on 3.10
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    source = ROOT / "automation"
    found = {
        ".".join(init.parent.relative_to(source).parts) for init in (source / "teamslicensing").rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == found | {"teamslicensing.runbooks"}
    assert setuptools["package-dir"]["teamslicensing.runbooks"] == "runbooks"


def test_the_runbook_files_are_package_data() -> None:
    shipped = importlib.resources.files("teamslicensing.runbooks")
    for name in ("reconcile_licenses.py", "grant-permissions.sh"):
        assert shipped.joinpath(name).read_bytes() == (ROOT / "runbooks" / name).read_bytes()
