"""`bundle-runbook`: everything an Azure Automation Python 3.10 runtime environment needs, in one folder.

Azure Automation installs no dependencies itself: each package of the closure is uploaded as a Linux cp310 wheel of
at most 100 MB, and installed on its own. The project's wheel comes from a checkout or the installed distribution
(`project`); pip downloads its closure for the sandbox's platform; because pip evaluates environment markers for
the interpreter it runs on, the closure is then checked for the target (`wheels`) and whatever holds only there
(`exceptiongroup; python_version < "3.11"`) is downloaded too, round after round, until nothing is missing. The
folder gets `wheels/`, the runbook carried by the project wheel, `grant-permissions.sh`, `upload.sh` (which runs
`teams-licensing deploy automation` on the folder), a README naming the version, and `bundle.json` (`manifest`).
With `wheel_dir`, the wheels found there are checked and bundled as they are (offline, and how the tests run).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from teamslicensing.bundle.manifest import CARRIED, MANIFEST_NAME, manifest_text
from teamslicensing.bundle.project import (
    GRANT_SCRIPT_NAME,
    PROJECT,
    RUNBOOK_NAME,
    Runner,
    build_from_checkout,
    find_checkout,
    rebuild_installed,
    runbook_file,
)
from teamslicensing.bundle.templates import readme, upload_script
from teamslicensing.bundle.wheels import (
    PLATFORM,
    PYTHON_VERSION,
    Unmet,
    Wheel,
    check_wheels,
    read_wheels,
    unmet_requirements,
)
from teamslicensing.errors import BundleError

__all__ = ["Bundle", "BundleError", "Runner", "Wheel", "make_bundle"]

MAX_ROUNDS = 8  # rounds of "download what holds only on the target"; real closures settle in one or two
TARGET_FLAGS = (
    "--only-binary=:all:",
    "--platform",
    PLATFORM,
    "--python-version",
    PYTHON_VERSION,
    "--implementation",
    "cp",
)


@dataclass(frozen=True)
class Bundle:
    output: Path
    wheels: tuple[Wheel, ...]
    source: str  # where the project's wheel came from, for the summary

    @property
    def total_bytes(self) -> int:
        return sum(wheel.size for wheel in self.wheels)


def make_bundle(
    output: Path,
    wheel_dir: Path | None = None,
    runbook: Path | None = None,
    run: Runner | None = None,
    cwd: Path | None = None,
) -> Bundle:
    """Write the bundle to `output` (new or empty), or raise `BundleError` having written nothing."""
    run = run or _run
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise BundleError(f"{output} is not empty: choose a new folder")
    if runbook is not None and not runbook.is_file():
        raise BundleError(f"runbook not found: {runbook}")
    with tempfile.TemporaryDirectory(prefix="teams-licensing-wheels-") as scratch:
        if wheel_dir is None:
            wheel_dir = Path(scratch) / "wheels"
            wheel_dir.mkdir()
            source = collect(wheel_dir, run, Path.cwd() if cwd is None else cwd)
        else:
            source = f"the wheels in {wheel_dir}"
        wheels = check_wheels(wheel_dir, PROJECT)
        project_wheel = next(wheel for wheel in wheels if wheel.name == PROJECT)
        script = runbook.read_bytes() if runbook is not None else runbook_file(project_wheel.path, RUNBOOK_NAME)
        grant = runbook_file(project_wheel.path, GRANT_SCRIPT_NAME)
        return _write(output, wheels, script, grant, project_wheel.version, source)


def collect(destination: Path, run: Runner, cwd: Path) -> str:
    """The project's wheel and its whole closure for the sandbox in `destination` (a folder of its own in a scratch
    folder, which also takes the constraints file); says where the project's wheel came from."""
    checkout = find_checkout(cwd)
    if checkout is not None:
        project_wheel = build_from_checkout(checkout, destination, sys.executable, run)
        source = f"built from {checkout}"
    else:
        project_wheel = rebuild_installed(destination)
        source = f"rebuilt from the installed {PROJECT}"
    pip_download = [sys.executable, "-m", "pip", "download", *TARGET_FLAGS, "--dest", str(destination)]
    run([*pip_download, str(project_wheel)])
    for _ in range(MAX_ROUNDS):
        wheels = read_wheels(destination)
        missing = [unmet for unmet in unmet_requirements(wheels, roots=[PROJECT]) if unmet.found is None]
        if not missing:
            return source
        # pin what is already chosen so the extra round cannot pull a second version of anything
        constraints = destination.parent / "constraints.txt"  # beside the wheels, in the same scratch folder
        pins = sorted({f"{w.name}=={w.version}" for w in wheels if w.name != PROJECT})
        constraints.write_text("\n".join(pins) + "\n", encoding="utf-8")
        wanted = sorted({_without_marker(unmet) for unmet in missing})
        run([*pip_download, "--constraint", str(constraints), *wanted])
    raise BundleError(f"the closure for Python {PYTHON_VERSION} did not settle after {MAX_ROUNDS} download rounds")


def _without_marker(unmet: Unmet) -> str:
    requirement = unmet.requirement
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{unmet.name}{extras}{requirement.specifier}"


def _write(output: Path, wheels: Sequence[Wheel], runbook: bytes, grant: bytes, version: str, source: str) -> Bundle:
    """Fill a sibling folder, then rename it to `output`: a full disk leaves no half bundle behind."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        (partial / "wheels").mkdir()
        for wheel in wheels:
            shutil.copyfile(wheel.path, partial / "wheels" / wheel.path.name)
        (partial / RUNBOOK_NAME).write_bytes(runbook)
        for name, content in (("upload.sh", upload_script(version).encode()), (GRANT_SCRIPT_NAME, grant)):
            (partial / name).write_bytes(content)
            (partial / name).chmod(0o755)
        copied = tuple(Wheel(output / "wheels" / w.path.name, w.name, w.version, w.size) for w in wheels)
        (partial / "README.md").write_text(readme(version, copied), encoding="utf-8")
        carried = {name: (partial / name).read_bytes() for name in CARRIED}
        (partial / MANIFEST_NAME).write_text(manifest_text(version, runbook, carried, wheels), encoding="utf-8")
        partial.chmod(0o755)
        if output.exists():
            output.rmdir()  # checked empty before anything was collected
        partial.rename(output)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise BundleError(f"cannot write the bundle to {output}: {exc.strerror or exc}") from exc
    return Bundle(output, copied, source)


def _run(command: Sequence[str]) -> None:
    try:
        result = subprocess.run(list(command), check=False)
    except OSError as exc:
        raise BundleError(f"cannot run {command[0]}: {exc.strerror or exc}") from exc
    if result.returncode != 0:
        raise BundleError(f"pip {command[3]} failed (exit {result.returncode}); see pip's output above")
