"""`bundle-runbook`: wheels checked for the Automation sandbox, the runbook, an upload script and a README.

Nothing is downloaded: wheels are made here (a wheel is a zip with a METADATA file), and the pip step is driven
through a recording runner.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from teamslicensing import __version__, bundle
from teamslicensing.cli import main

ROOT = Path(__file__).resolve().parent.parent
PROJECT_WHEEL = f"teams_licensing-{__version__}-py3-none-any.whl"
DEPENDENCIES = [
    "PyYAML-6.0.2-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "pydantic-2.9.2-py3-none-any.whl",
    "pydantic_core-2.23.4-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "cryptography-43.0.1-cp39-abi3-manylinux_2_28_x86_64.whl",
]


def make_wheel(folder: Path, filename: str, requires: Sequence[str] = ()) -> Path:
    name, version = filename.split("-")[:2]
    path = folder / filename
    with zipfile.ZipFile(path, "w") as archive:
        metadata = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}"]
        metadata += [f"Requires-Dist: {requirement}" for requirement in requires]
        archive.writestr(f"{name}-{version}.dist-info/METADATA", "\n".join(metadata) + "\n")
    return path


def project_wheel(folder: Path) -> Path:
    requires = ["pyyaml>=6.0.1", "pydantic<3,>=2.7", 'pytest>=8.0; extra == "test"']
    return make_wheel(folder, PROJECT_WHEEL, requires)


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels-in"
    folder.mkdir()
    project_wheel(folder)
    for filename in DEPENDENCIES:
        make_wheel(folder, filename)
    return folder


def test_bundle_from_a_wheel_directory(wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bundle"
    assert main(["bundle-runbook", "--output", str(output), "--wheel-dir", str(wheels)]) == 0
    assert sorted(p.name for p in (output / "wheels").iterdir()) == sorted([PROJECT_WHEEL, *DEPENDENCIES])
    runbook = output / "reconcile_licenses.py"
    assert runbook.read_bytes() == (ROOT / "runbooks" / "reconcile_licenses.py").read_bytes()
    upload = output / "upload.sh"
    assert upload.stat().st_mode & 0o111
    bash = shutil.which("bash")
    if bash:
        subprocess.run([bash, "-n", str(upload)], check=True)
    script = upload.read_text(encoding="utf-8")
    for needle in (
        "runtimeEnvironments/",
        '"version": "3.10"',
        "/packages/",
        "draft/content",
        "/publish",
        "az storage",
    ):
        assert needle in script
    readme = (output / "README.md").read_text(encoding="utf-8")
    assert "Python 3.10" in readme
    assert all(f"`{name}`" in readme for name in DEPENDENCIES)
    assert "grant-permissions.sh" in readme
    assert "5 wheels" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("filename", "problem"),
    [
        ("PyYAML-6.0.2-cp311-cp311-manylinux2014_x86_64.whl", "not a Linux x86-64 CPython 3.10 wheel"),
        ("PyYAML-6.0.2-cp310-cp310-win_amd64.whl", "not a Linux x86-64 CPython 3.10 wheel"),
        ("PyYAML-6.0.2-cp310-cp310-manylinux2014_aarch64.whl", "not a Linux x86-64 CPython 3.10 wheel"),
    ],
)
def test_wheels_the_sandbox_cannot_install_are_refused(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], filename: str, problem: str
) -> None:
    (wheels / DEPENDENCIES[0]).unlink()
    make_wheel(wheels, filename)
    assert main(["bundle-runbook", "--output", str(tmp_path / "bundle"), "--wheel-dir", str(wheels)]) == 1
    assert f"{filename}: {problem}" in capsys.readouterr().err
    assert not (tmp_path / "bundle").exists()


def test_packages_over_the_size_limit_are_refused(
    wheels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    big = wheels / DEPENDENCIES[1]
    monkeypatch.setattr(bundle, "MAX_PACKAGE_BYTES", big.stat().st_size - 1)
    assert main(["bundle-runbook", "--output", str(tmp_path / "bundle"), "--wheel-dir", str(wheels)]) == 1
    assert f"{big.name}: 0.0 MB, over the 100 MB limit per package" in capsys.readouterr().err


def test_missing_dependencies_sdists_and_duplicates_are_all_reported(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (wheels / DEPENDENCIES[0]).unlink()
    (wheels / "tenacity-9.0.0.tar.gz").write_bytes(b"sdist")
    make_wheel(wheels, "pydantic-2.8.0-py3-none-any.whl")
    assert main(["bundle-runbook", "--output", str(tmp_path / "bundle"), "--wheel-dir", str(wheels)]) == 1
    err = capsys.readouterr().err
    assert "pyyaml: required by teams-licensing but has no wheel" in err
    assert "tenacity-9.0.0.tar.gz: not a wheel" in err
    assert "pydantic: more than one wheel" in err
    assert "pytest: required" not in err, "extras are not part of the closure"


def test_a_non_empty_output_folder_is_refused(wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bundle"
    output.mkdir()
    (output / "keep.txt").write_text("mine")
    assert main(["bundle-runbook", "--output", str(output), "--wheel-dir", str(wheels)]) == 1
    assert "is not empty" in capsys.readouterr().err


def test_without_a_wheel_directory_pip_builds_and_downloads_for_the_sandbox(tmp_path: Path) -> None:
    commands: list[list[str]] = []

    def runner(command: Sequence[str]) -> None:
        commands.append(list(command))
        if command[3] == "wheel":
            project_wheel(Path(command[command.index("--wheel-dir") + 1]))
        else:
            for filename in DEPENDENCIES:
                make_wheel(Path(command[command.index("--dest") + 1]), filename)

    result = bundle.make_bundle(tmp_path / "bundle", run=runner)
    assert len(result.wheels) == 1 + len(DEPENDENCIES)
    build, download = commands
    assert build[3:5] == ["wheel", "--no-deps"]
    assert build[-1] == str(ROOT)
    assert download[3:12] == [
        "download",
        "--only-binary=:all:",
        "--platform",
        "manylinux2014_x86_64",
        "--python-version",
        "3.10",
        "--implementation",
        "cp",
        "--dest",
    ]
    assert download[-1].endswith(PROJECT_WHEEL), "the freshly built wheel's closure"


@pytest.mark.parametrize(
    ("filename", "ok"),
    [
        ("a-1-py3-none-any.whl", True),
        ("a-1-py2.py3-none-any.whl", True),
        ("a-1-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),
        ("a-1-cp38-abi3-manylinux2014_x86_64.whl", True),
        ("a-1-cp311-abi3-manylinux2014_x86_64.whl", False),
        ("a-1-cp310-cp310-musllinux_1_1_x86_64.whl", False),
        ("a-1-cp310-cp310-macosx_11_0_arm64.whl", False),
    ],
)
def test_sandbox_compatibility_by_wheel_tags(filename: str, ok: bool) -> None:
    assert bundle.runs_on_automation(Path(filename)) is ok
