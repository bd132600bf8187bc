"""Small bundles for deployment tests: a teams-licensing wheel carrying the runbook and a few dependency wheels,
made here (a wheel is a zip with METADATA) and put together by `bundle-runbook`'s own code, `bundle.json`
included."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEPENDENCIES = (
    "PyYAML-6.0.2-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "pydantic-2.9.2-py3-none-any.whl",
    "pydantic_core-2.23.4-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
)


def wheel(folder: Path, filename: str, requires: Sequence[str] = (), files: dict[str, bytes] | None = None) -> Path:
    name, version = filename.split("-")[:2]
    path = folder / filename
    lines = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}"]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    entries = {f"{name}-{version}.dist-info/METADATA": ("\n".join(lines) + "\n").encode(), **(files or {})}
    with zipfile.ZipFile(path, "w") as archive:
        for inner, content in entries.items():  # a fixed date: the same wheel made twice is the same bytes
            archive.writestr(zipfile.ZipInfo(inner, date_time=(2026, 1, 1, 0, 0, 0)), content)
    return path


def make_test_bundle(
    folder: Path,
    version: str,
    runbook: bytes | None = None,
    extra: Sequence[str] = (),
    rebuilt: Sequence[str] = (),
) -> Path:
    """A bundle in `folder/bundle` of teams-licensing `version` and DEPENDENCIES (plus `extra` wheels); the wheels
    named in `rebuilt` carry one more file: other bytes under the same name and version (a rebuilt wheel)."""
    from teamslicensing.bundle import make_bundle

    wheels = folder / "wheels-in"
    wheels.mkdir(parents=True)
    runbooks = ROOT / "runbooks"
    files = {
        "teamslicensing/runbooks/reconcile_licenses.py": runbook or (runbooks / "reconcile_licenses.py").read_bytes(),
        "teamslicensing/runbooks/grant-permissions.sh": (runbooks / "grant-permissions.sh").read_bytes(),
    }
    wheel(wheels, f"teams_licensing-{version}-py3-none-any.whl", ["pyyaml>=6.0.1", "pydantic<3,>=2.7"], files)
    for filename in (*DEPENDENCIES, *extra):
        wheel(wheels, filename, files={"REBUILT": b"rebuilt"} if filename in rebuilt else None)
    return make_bundle(folder / "bundle", wheels).output
