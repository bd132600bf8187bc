"""Where the project's own wheel comes from: a source checkout, or the installed distribution.

Looked for in this order, so the bundle works from any install:
1. the current directory or one of its parents holding a `pyproject.toml` that names `teams-licensing` (an admin
   running the command in a clone, whatever was installed from it);
2. the checkout the imported package lives in (an editable install, run from anywhere);
3. the installed distribution itself: its files, as listed in its RECORD, are zipped back into a wheel.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from teamslicensing.errors import BundleError

PROJECT = "teams-licensing"
RUNBOOK_NAME = "reconcile_licenses.py"
GRANT_SCRIPT_NAME = "grant-permissions.sh"
RUNBOOKS_IN_WHEEL = "teamslicensing/runbooks"  # package data (pyproject maps runbooks/ there)
_PACKAGE_ROOT = Path(__file__).resolve().parents[3]  # automation/teamslicensing/bundle -> the checkout, from source
_RECORD_SKIP = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}  # written by the installer, not the build

Runner = Callable[[Sequence[str]], None]


def names_this_project(pyproject: Path) -> bool:
    """True when `pyproject` declares `name = "teams-licensing"` in its [project] table (no TOML parser on 3.10)."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    table = ""
    for line in text.splitlines():
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            table = header.group(1).strip()
        elif table == "project" and re.match(rf"""\s*name\s*=\s*["']{PROJECT}["']\s*(#.*)?$""", line):
            return True
    return False


def find_checkout(cwd: Path) -> Path | None:
    for folder in (cwd, *cwd.parents):
        if names_this_project(folder / "pyproject.toml"):
            return folder
    return _PACKAGE_ROOT if names_this_project(_PACKAGE_ROOT / "pyproject.toml") else None


def build_from_checkout(checkout: Path, destination: Path, python: str, run: Runner) -> Path:
    run([python, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(destination), str(checkout)])
    built = sorted(destination.glob("teams_licensing-*.whl"))
    if not built:
        raise BundleError(f"pip wheel built no teams_licensing wheel from {checkout}")
    return built[-1]


def rebuild_installed(destination: Path) -> Path:
    """A wheel of the installed `teams-licensing`, zipped from its installed files and checked against its RECORD.

    Scripts outside site-packages (the console script) are left out: the installer writes them anew from
    entry_points.txt. A file missing or changed since installation is refused, since the wheel would not be the
    version it claims to be."""
    try:
        dist = importlib.metadata.distribution(PROJECT)
    except importlib.metadata.PackageNotFoundError as exc:
        raise BundleError(f"{PROJECT} is not installed and no checkout was found: {_WHAT_TO_PASS}") from exc
    direct_url = dist.read_text("direct_url.json")
    if direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"):
        raise BundleError(f"{PROJECT} is installed in editable mode from a checkout that is gone: {_WHAT_TO_PASS}")
    wheel_text = dist.read_text("WHEEL") or ""
    tag = next((line.split(":", 1)[1].strip() for line in wheel_text.splitlines() if line.startswith("Tag:")), "")
    if not tag or dist.files is None:
        raise BundleError(f"the installed {PROJECT} has no WHEEL tag or RECORD: {_WHAT_TO_PASS}")
    version = dist.version
    dist_info = next((f.parts[0] for f in dist.files if f.parts[0].endswith(".dist-info")), "")
    problems: list[str] = []
    entries: list[tuple[str, bytes]] = []
    for file in dist.files:
        name = file.as_posix()
        if name.startswith("..") or "__pycache__" in file.parts or name.endswith(".pyc"):
            continue
        if file.parts[0].endswith(".dist-info") and file.name in _RECORD_SKIP:
            continue
        path = Path(str(file.locate()))
        try:
            content = path.read_bytes()
        except OSError:
            problems.append(f"{name}: missing")
            continue
        if file.hash is not None and file.hash.mode == "sha256" and _digest(content) != file.hash.value:
            problems.append(f"{name}: changed since it was installed")
        entries.append((name, content))
    if problems:
        listing = "\n  ".join(problems)
        raise BundleError(f"the installed {PROJECT} {version} differs from its RECORD: {_WHAT_TO_PASS}\n  {listing}")
    target = destination / f"teams_licensing-{version}-{tag}.whl"
    record = [f"{name},sha256={_digest(content)},{len(content)}" for name, content in entries]
    record.append(f"{dist_info}/RECORD,,")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return target


def runbook_file(wheel: Path, name: str) -> bytes:
    """A file of `runbooks/` as the project wheel carries it, so what is uploaded beside the package (the runbook,
    grant-permissions.sh) always matches the uploaded package."""
    inner = f"{RUNBOOKS_IN_WHEEL}/{name}"
    with zipfile.ZipFile(wheel) as archive:
        try:
            return archive.read(inner)
        except KeyError:
            hint = ": pass --runbook FILE" if name == RUNBOOK_NAME else ""
            raise BundleError(f"{wheel.name} carries no {inner}{hint}") from None


def _digest(content: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode("ascii")


_WHAT_TO_PASS = (
    "run the command inside a clone of the project, or pass --wheel-dir DIR holding a teams_licensing wheel and "
    "its dependencies"
)
