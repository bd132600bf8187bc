"""`bundle.json`: what a bundle holds, so a folder handed to `deploy` is checked before it is believed.

It records the `teams-licensing` version the bundle was built from (the released version the runbook and the
packages in Azure then are), the SHA-256 of every file the bundle carries (the runbook; `grant-permissions.sh`,
which an admin runs next with directory rights; `upload.sh`; the README) and every wheel's name, version, size and
SHA-256. Reading a bundle checks each of those against the files, that `wheels/` holds nothing unlisted, and the
wheels again as the sandbox needs them (`check_wheels`); every problem is reported at once. Format 1 (0.2.0's)
hashed the runbook and the wheels only, so it is refused with what to do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teamslicensing.bundle.project import GRANT_SCRIPT_NAME, PROJECT, RUNBOOK_NAME
from teamslicensing.bundle.wheels import PLATFORM, PYTHON_VERSION, Wheel, check_wheels
from teamslicensing.errors import BundleError

MANIFEST_NAME = "bundle.json"
MANIFEST_VERSION = 2
CARRIED = (GRANT_SCRIPT_NAME, "upload.sh", "README.md")  # besides the runbook and the wheels


@dataclass(frozen=True)
class BundledWheel:
    path: Path
    name: str  # canonical distribution name
    version: str
    size: int
    sha256: str  # hex, lower case


@dataclass(frozen=True)
class BundleContents:
    folder: Path
    version: str  # the teams-licensing version the bundle was built from
    runbook: bytes
    wheels: tuple[BundledWheel, ...]

    @property
    def grant_script(self) -> Path:
        return self.folder / GRANT_SCRIPT_NAME


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_text(version: str, runbook: bytes, carried: dict[str, bytes], wheels: Sequence[Wheel]) -> str:
    """`carried`: the content of each of CARRIED, by name."""
    document: dict[str, Any] = {
        "bundle": MANIFEST_VERSION,
        "teamsLicensing": version,
        "python": PYTHON_VERSION,
        "platform": PLATFORM,
        "runbook": {"file": RUNBOOK_NAME, "sha256": hashlib.sha256(runbook).hexdigest()},
        "files": [{"file": name, "sha256": hashlib.sha256(carried[name]).hexdigest()} for name in CARRIED],
        "wheels": [
            {"file": w.path.name, "name": w.name, "version": w.version, "size": w.size, "sha256": sha256_of(w.path)}
            for w in wheels
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def read_bundle(folder: Path) -> BundleContents:
    """The bundle in `folder`, every file checked against its `bundle.json`; `BundleError` lists what is wrong."""
    document = _manifest(folder)
    problems: list[str] = []
    runbook_path = folder / RUNBOOK_NAME
    runbook = runbook_path.read_bytes() if runbook_path.is_file() else b""
    if not runbook_path.is_file():
        problems.append(f"{RUNBOOK_NAME}: missing")
    elif hashlib.sha256(runbook).hexdigest() != document["runbook"].get("sha256"):
        problems.append(f"{RUNBOOK_NAME}: changed since the bundle was made (its SHA-256 differs)")
    problems += _carried_problems(folder, document["files"])
    listed: list[BundledWheel] = []
    for entry in document["wheels"]:
        path = folder / "wheels" / str(entry.get("file", ""))
        if not path.is_file():
            problems.append(f"wheels/{path.name}: listed in {MANIFEST_NAME} but missing")
            continue
        digest = sha256_of(path)
        if digest != entry.get("sha256") or path.stat().st_size != entry.get("size"):
            problems.append(f"wheels/{path.name}: changed since the bundle was made (its SHA-256 differs)")
        name, version = str(entry.get("name", "")), str(entry.get("version", ""))
        listed.append(BundledWheel(path, name, version, path.stat().st_size, digest))
    names = {w.path.name for w in listed}
    wheel_folder = folder / "wheels"
    extra = sorted(p.name for p in wheel_folder.glob("*.whl") if p.name not in names) if wheel_folder.is_dir() else []
    problems += [f"wheels/{name}: not listed in {MANIFEST_NAME}" for name in extra]
    if problems:
        raise BundleError(f"the bundle in {folder} cannot be deployed:\n  " + "\n  ".join(problems))
    check_wheels(wheel_folder, PROJECT)
    return BundleContents(folder, str(document["teamsLicensing"]), runbook, tuple(listed))


def _carried_problems(folder: Path, entries: list[dict[str, Any]]) -> list[str]:
    digests = {str(entry.get("file")): entry.get("sha256") for entry in entries}
    problems = [f"{name}: not listed in {MANIFEST_NAME}" for name in CARRIED if name not in digests]
    for name, digest in digests.items():
        path = folder / name
        if name not in CARRIED or path.name != name:
            problems.append(f"{name}: not a file a bundle carries")
        elif not path.is_file():
            problems.append(f"{name}: listed in {MANIFEST_NAME} but missing")
        elif sha256_of(path) != digest:
            problems.append(f"{name}: changed since the bundle was made (its SHA-256 differs)")
    return problems


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_NAME
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(
            f"{folder} holds no {MANIFEST_NAME}: not a bundle made by `teams-licensing bundle-runbook` "
            "(or made by a version before 0.2.0: make it again)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{path}: unreadable ({exc})") from exc
    if isinstance(document, dict) and document.get("bundle") == 1:
        raise BundleError(
            f"{path} (format 1, teams-licensing 0.2.0) does not record the SHA-256 of {', '.join(CARRIED[:-1])} and "
            f"{CARRIED[-1]}, so they cannot be checked: make the bundle again with teams-licensing bundle-runbook"
        )
    valid = (
        isinstance(document, dict)
        and document.get("bundle") == MANIFEST_VERSION
        and isinstance(document.get("teamsLicensing"), str)
        and isinstance(document.get("runbook"), dict)
        and all(isinstance(document.get(key), list) for key in ("files", "wheels"))
        and all(isinstance(entry, dict) for entry in (*document["files"], *document["wheels"]))
    )
    if not valid:
        raise BundleError(f"{path}: not a bundle manifest this version reads (bundle {MANIFEST_VERSION})")
    checked: dict[str, Any] = document
    return checked
