"""`bundle-runbook`: wheels checked for the Automation sandbox, the runbook, an upload script and a README.

Nothing is downloaded: wheels are made here (a wheel is a zip with a METADATA file), and the pip step is driven
through a recording runner.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from teamslicensing import __version__, bundle
from teamslicensing.bundle import project
from teamslicensing.bundle import wheels as bundle_wheels
from teamslicensing.cli import main

ROOT = Path(__file__).resolve().parents[2]
PROJECT_WHEEL = f"teams_licensing-{__version__}-py3-none-any.whl"
DEPENDENCIES = [
    "PyYAML-6.0.2-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "pydantic-2.9.2-py3-none-any.whl",
    "pydantic_core-2.23.4-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "cryptography-43.0.1-cp39-abi3-manylinux_2_28_x86_64.whl",
]


RUNBOOK = ROOT / "runbooks" / "reconcile_licenses.py"
GRANT = ROOT / "runbooks" / "grant-permissions.sh"


def make_wheel(
    folder: Path, filename: str, requires: Sequence[str] = (), files: dict[str, bytes] | None = None
) -> Path:
    name, version = filename.split("-")[:2]
    path = folder / filename
    with zipfile.ZipFile(path, "w") as archive:
        metadata = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}"]
        metadata += [f"Requires-Dist: {requirement}" for requirement in requires]
        archive.writestr(f"{name}-{version}.dist-info/METADATA", "\n".join(metadata) + "\n")
        for inner, content in (files or {}).items():
            archive.writestr(inner, content)
    return path


def project_wheel(folder: Path, requires: Sequence[str] = ()) -> Path:
    requires = ["pyyaml>=6.0.1", "pydantic<3,>=2.7", 'pytest>=8.0; extra == "test"', *requires]
    runbook = {
        "teamslicensing/runbooks/reconcile_licenses.py": RUNBOOK.read_bytes(),
        "teamslicensing/runbooks/grant-permissions.sh": GRANT.read_bytes(),
    }
    return make_wheel(folder, PROJECT_WHEEL, requires, runbook)


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
    grant = output / "grant-permissions.sh"
    assert grant.read_bytes() == (ROOT / "runbooks" / "grant-permissions.sh").read_bytes()
    assert grant.stat().st_mode & 0o111
    upload = output / "upload.sh"
    assert upload.stat().st_mode & 0o111
    assert_upload_runs_deploy(upload, tmp_path)
    readme = (output / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# teams-licensing {__version__}: ")
    assert f"pip install 'teams-licensing[deploy]=={__version__}'" in readme, "the release it was built from"
    assert "Python 3.10" in readme
    assert all(f"`{name}`" in readme for name in DEPENDENCIES)
    assert "grant-permissions.sh" in readme
    assert "5 wheels" in capsys.readouterr().out


def assert_upload_runs_deploy(upload: Path, tmp_path: Path) -> None:
    """upload.sh is a thin wrapper: it runs `teams-licensing deploy automation --bundle <its folder>` with the
    arguments given (a stand-in teams-licensing on PATH records them)."""
    bash = shutil.which("bash")
    assert bash is not None
    stand_in = tmp_path / "bin" / "teams-licensing"
    stand_in.parent.mkdir()
    stand_in.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n', encoding="utf-8")
    stand_in.chmod(0o755)
    env = {"PATH": f"{stand_in.parent}:/usr/bin:/bin"}
    ran = subprocess.run(
        [bash, str(upload), "--account", "aa-x", "--schedule", "daily@06:00"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    folder = str(upload.parent.resolve())
    assert ran.stdout.splitlines() == [
        "deploy",
        "automation",
        "--bundle",
        folder,
        "--account",
        "aa-x",
        "--schedule",
        "daily@06:00",
    ]


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
    monkeypatch.setattr(bundle_wheels, "MAX_PACKAGE_BYTES", big.stat().st_size - 1)
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


def recording_runner(commands: list[list[str]], rounds: Sequence[Sequence[str]] = (DEPENDENCIES,)) -> bundle.Runner:
    """Plays pip: `wheel` writes the project wheel, each `download` writes the next round of wheels."""
    downloads = iter(rounds)

    def runner(command: Sequence[str]) -> None:
        commands.append(list(command))
        if command[3] == "wheel":
            project_wheel(Path(command[command.index("--wheel-dir") + 1]))
        else:
            for filename in next(downloads):
                make_wheel(Path(command[command.index("--dest") + 1]), filename)

    return runner


def test_without_a_wheel_directory_pip_builds_and_downloads_for_the_sandbox(tmp_path: Path) -> None:
    commands: list[list[str]] = []
    result = bundle.make_bundle(tmp_path / "bundle", run=recording_runner(commands), cwd=ROOT)
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


ANYIO = "anyio-4.6.0-py3-none-any.whl"
ANYIO_NEEDS = ['exceptiongroup>=1.0.2; python_version < "3.11"', "idna>=2.8", 'pywin32; sys_platform == "win32"']


def test_requirements_that_hold_only_on_python_3_10_are_fetched_in_another_round(tmp_path: Path) -> None:
    """pip evaluates markers for the interpreter it runs on (3.11 here): what only 3.10 needs comes in round two."""
    commands: list[list[str]] = []
    pinned: list[str] = []

    def runner(command: Sequence[str]) -> None:
        commands.append(list(command))
        if "--constraint" in command:
            pinned.extend(Path(command[command.index("--constraint") + 1]).read_text().split())
        dest = Path(command[command.index("--dest") + 1]) if "--dest" in command else None
        if command[3] == "wheel":
            project_wheel(Path(command[command.index("--wheel-dir") + 1]), ["anyio>=4"])
        elif len(commands) == 2:  # pip's closure as a 3.11 interpreter sees it
            assert dest is not None
            for filename in DEPENDENCIES:
                make_wheel(dest, filename)
            make_wheel(dest, ANYIO, ANYIO_NEEDS)
            make_wheel(dest, "idna-3.10-py3-none-any.whl")
        else:
            assert dest is not None
            make_wheel(dest, "exceptiongroup-1.2.2-py3-none-any.whl")

    result = bundle.make_bundle(tmp_path / "bundle", run=runner, cwd=ROOT)
    names = sorted(wheel.name for wheel in result.wheels)
    assert "exceptiongroup" in names
    assert "pywin32" not in names, "a Windows-only requirement is not part of a Linux closure"
    _, _, extra_round = commands
    assert extra_round[-1] == "exceptiongroup>=1.0.2", "asked for without its marker, which pip would judge for 3.11"
    assert "anyio==4.6.0" in pinned, "what round one chose is pinned, so round two cannot bring a second version"
    assert not any(p.startswith("teams-licensing") for p in pinned)


def test_a_bundle_missing_what_python_3_10_needs_is_refused(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (wheels / PROJECT_WHEEL).unlink()
    project_wheel(wheels, ["anyio>=4", "httpx[http2]>=0.27"])
    make_wheel(wheels, ANYIO, ANYIO_NEEDS)
    make_wheel(wheels, "idna-3.10-py3-none-any.whl")
    make_wheel(wheels, "httpx-0.28.1-py3-none-any.whl", ['h2<5,>=3; extra == "http2"', 'brotli; extra == "brotli"'])
    make_wheel(wheels, "aiohttp-3.10.0-cp310-cp310-manylinux2014_x86_64.whl", ['async-timeout; python_version<"3.11"'])
    assert main(["bundle-runbook", "--output", str(tmp_path / "bundle"), "--wheel-dir", str(wheels)]) == 1
    err = capsys.readouterr().err
    assert "exceptiongroup: required by anyio but has no wheel (anyio 4.6.0 asks for exceptiongroup>=1.0.2" in err
    assert "async-timeout: required by aiohttp but has no wheel" in err
    assert "h2: required by httpx but has no wheel" in err, "httpx[http2] makes the http2 extra part of the closure"
    assert "brotli" not in err, "an extra nobody asks for is not"
    assert "pywin32" not in err
    assert not (tmp_path / "bundle").exists()


def test_a_wheel_at_a_version_its_dependents_exclude_is_refused(
    wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (wheels / PROJECT_WHEEL).unlink()
    project_wheel(wheels, ["idna>=3.7"])
    make_wheel(wheels, "idna-3.6-py3-none-any.whl")
    assert main(["bundle-runbook", "--output", str(tmp_path / "bundle"), "--wheel-dir", str(wheels)]) == 1
    assert f"idna 3.6: does not satisfy teams-licensing (teams-licensing {__version__} asks for idna>=3.7)" in (
        capsys.readouterr().err
    )


def test_the_project_is_found_from_the_current_directory_and_its_parents(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    (clone / "config").mkdir(parents=True)
    (clone / "pyproject.toml").write_text('[build-system]\nrequires = []\n\n[project]\nname = "teams-licensing"\n')
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text('[project]\nname = "something-else"\n\n[tool.x]\nname = "teams-licensing"\n')
    for cwd in (clone, clone / "config"):
        commands: list[list[str]] = []
        result = bundle.make_bundle(tmp_path / f"bundle-{cwd.name}", run=recording_runner(commands), cwd=cwd)
        assert commands[0][-1] == str(clone)
        assert result.source == f"built from {clone}"
    assert project.find_checkout(other) == ROOT, "another project's pyproject is not ours: the package's checkout is"


def test_outside_any_checkout_the_installed_distribution_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"
    installed = install_fake_distribution(site)
    monkeypatch.setattr(project, "_PACKAGE_ROOT", tmp_path / "nowhere")
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: installed)
    commands: list[list[str]] = []
    result = bundle.make_bundle(tmp_path / "bundle", run=recording_runner(commands), cwd=tmp_path)
    assert result.source == "rebuilt from the installed teams-licensing"
    assert [c[3] for c in commands] == ["download"], "nothing to build: the wheel is zipped from the installed files"
    wheel = next(w.path for w in result.wheels if w.name == "teams-licensing")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        record = archive.read("teams_licensing-0.1.0.dist-info/RECORD").decode()
        assert archive.read("teamslicensing/runbooks/reconcile_licenses.py") == RUNBOOK.read_bytes()
    assert "teamslicensing/__init__.py" in names
    assert not any("__pycache__" in n or n.endswith(("INSTALLER", "direct_url.json")) for n in names)
    assert not any(n.startswith("..") for n in names), "the console script is the installer's to write"
    assert "teamslicensing/__init__.py,sha256=" in record
    assert (tmp_path / "bundle" / "reconcile_licenses.py").read_bytes() == RUNBOOK.read_bytes()


def test_an_installed_distribution_changed_since_installation_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = install_fake_distribution(tmp_path / "site-packages")
    (tmp_path / "site-packages" / "teamslicensing" / "__init__.py").write_text("edited = True\n")
    monkeypatch.setattr(project, "_PACKAGE_ROOT", tmp_path / "nowhere")
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: installed)
    with pytest.raises(bundle.BundleError, match=r"teamslicensing/__init__.py: changed since it was installed"):
        bundle.make_bundle(tmp_path / "bundle", run=recording_runner([]), cwd=tmp_path)
    assert not (tmp_path / "bundle").exists()


def install_fake_distribution(site: Path) -> importlib.metadata.Distribution:
    """A site-packages folder as pip leaves it after installing a teams-licensing wheel."""
    files = {
        "teamslicensing/__init__.py": b'__version__ = "0.1.0"\n',
        "teamslicensing/__pycache__/__init__.cpython-311.pyc": b"compiled",
        "teamslicensing/runbooks/reconcile_licenses.py": RUNBOOK.read_bytes(),
        "teamslicensing/runbooks/grant-permissions.sh": GRANT.read_bytes(),
        "teams_licensing-0.1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: teams-licensing\nVersion: 0.1.0\n"
        b"Requires-Dist: pyyaml>=6.0.1\n",
        "teams_licensing-0.1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "teams_licensing-0.1.0.dist-info/INSTALLER": b"pip\n",
        "teams_licensing-0.1.0.dist-info/direct_url.json": b'{"url": "file:///src", "dir_info": {}}',
    }
    record = []
    for name, content in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(content)
        record.append(f"{name},sha256={project._digest(content)},{len(content)}")
    record += ["../../../bin/teams-licensing,sha256=abc,10", "teams_licensing-0.1.0.dist-info/RECORD,,"]
    (site / "teams_licensing-0.1.0.dist-info" / "RECORD").write_text("\n".join(record) + "\n")
    return importlib.metadata.PathDistribution(site / "teams_licensing-0.1.0.dist-info")


def test_an_editable_install_whose_checkout_is_gone_says_what_to_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = install_fake_distribution(tmp_path / "site-packages")
    direct_url = tmp_path / "site-packages" / "teams_licensing-0.1.0.dist-info" / "direct_url.json"
    direct_url.write_text('{"url": "file:///gone", "dir_info": {"editable": true}}')
    monkeypatch.setattr(project, "_PACKAGE_ROOT", tmp_path / "nowhere")
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: installed)
    with pytest.raises(bundle.BundleError, match=r"editable mode.*pass --wheel-dir DIR"):
        bundle.make_bundle(tmp_path / "bundle", run=recording_runner([]), cwd=tmp_path)


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
    assert bundle_wheels.runs_on_automation(Path(filename)) is ok


def test_the_runbook_files_come_from_the_bundled_wheel_not_from_this_install(tmp_path: Path) -> None:
    folder = tmp_path / "wheels-in"
    folder.mkdir()
    other = {
        "teamslicensing/runbooks/reconcile_licenses.py": b"# the runbook of the version being bundled\n",
        "teamslicensing/runbooks/grant-permissions.sh": b"#!/bin/sh\n# its grant script\n",
    }
    make_wheel(folder, PROJECT_WHEEL, ["pyyaml>=6.0.1"], other)
    make_wheel(folder, DEPENDENCIES[0])
    result = bundle.make_bundle(tmp_path / "bundle", wheel_dir=folder)
    assert (result.output / "reconcile_licenses.py").read_bytes() == other[
        "teamslicensing/runbooks/reconcile_licenses.py"
    ]
    assert (result.output / "grant-permissions.sh").read_bytes() == other[
        "teamslicensing/runbooks/grant-permissions.sh"
    ]
