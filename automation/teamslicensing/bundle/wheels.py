"""Wheels as Azure Automation sees them: tags, size, metadata, and the dependency closure on the target runtime.

Azure Automation installs every uploaded package on its own, with no dependency resolution, on CPython 3.10 for
Linux x86-64. So a bundle is only right if, for every wheel in it, each requirement whose environment markers hold
*on that target* has a wheel at a matching version. Markers are evaluated here for the target, never for the
interpreter building the bundle: pip evaluates them for the builder (pypa/pip#6117, #11010), which is how a bundle
built on 3.11 once lacked `exceptiongroup` and `async-timeout` (needed only below 3.11).
"""

from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from teamslicensing.errors import BundleError

PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.10"
MAX_PACKAGE_BYTES = 100 * 1024 * 1024  # Azure Automation's limit per uploaded package

# PEP 508 marker values of Azure Automation's Python 3.10 sandbox. The patch level is the lowest 3.10 so that a
# backport needed "below 3.10.N" is kept rather than dropped: an extra wheel costs a few kB, a missing one every job.
TARGET_ENVIRONMENT: dict[str, str] = {
    "implementation_name": "cpython",
    "implementation_version": "3.10.0",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.10.0",
    "python_version": PYTHON_VERSION,
    "sys_platform": "linux",
}


@dataclass(frozen=True)
class Wheel:
    path: Path
    name: str  # canonical distribution name (PEP 503)
    version: str
    size: int

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


def parse_wheel(path: Path) -> tuple[str, str, list[str], list[str], list[str]]:
    """(name, version, python tags, abi tags, platform tags) from a wheel's file name (PEP 427)."""
    parts = path.name.removesuffix(".whl").split("-")
    if not path.name.endswith(".whl") or len(parts) not in (5, 6):
        raise BundleError(f"{path.name}: not a wheel file name")
    name, version = parts[0], parts[1]
    python, abi, platform = parts[-3], parts[-2], parts[-1]
    return str(canonicalize_name(name)), version, python.split("."), abi.split("."), platform.split(".")


def runs_on_automation(path: Path) -> bool:
    """True when the wheel installs on CPython 3.10, Linux x86-64 (Azure Automation's Python 3.10 sandbox)."""
    _, _, pythons, abis, platforms = parse_wheel(path)
    platform_ok = any(p == "any" or (p.startswith(("manylinux", "linux")) and p.endswith("x86_64")) for p in platforms)
    python_ok = False
    for python in pythons:
        if python in ("py3", "py310", "cp310") and any(abi in ("none", "cp310", "abi3") for abi in abis):
            python_ok = True
        match = re.fullmatch(r"cp3(\d+)", python)
        if match and int(match.group(1)) <= 10 and "abi3" in abis:
            python_ok = True
    return platform_ok and python_ok


def read_wheels(folder: Path) -> tuple[Wheel, ...]:
    wheels = []
    for path in sorted(folder.glob("*.whl")):
        name, version, *_ = parse_wheel(path)
        wheels.append(Wheel(path, name, version, path.stat().st_size))
    return tuple(wheels)


def metadata_of(path: Path) -> str:
    """The text of a wheel's `*.dist-info/METADATA`."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = next(
                (n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None
            )
            if name is None:
                raise BundleError(f"{path.name}: no METADATA inside")
            return archive.read(name).decode("utf-8", "replace")
    except zipfile.BadZipFile as exc:
        raise BundleError(f"{path.name}: not a readable wheel ({exc})") from exc


def requirements_of(path: Path) -> list[Requirement]:
    """Every `Requires-Dist` of a wheel, extras and markers included."""
    headers = HeaderParser().parsestr(metadata_of(path))
    requirements = []
    for text in headers.get_all("Requires-Dist") or []:
        try:
            requirements.append(Requirement(text))
        except InvalidRequirement as exc:
            raise BundleError(f"{path.name}: unreadable requirement {text!r} ({exc})") from exc
    return requirements


def holds_on_target(requirement: Requirement, extra: str = "") -> bool:
    marker: Marker | None = requirement.marker
    return marker is None or marker.evaluate({**TARGET_ENVIRONMENT, "extra": extra})


@dataclass(frozen=True)
class Unmet:
    """A requirement that holds on the target and that the bundle does not satisfy."""

    requirement: Requirement
    required_by: Wheel
    found: str | None  # the version in the bundle, when it is the wrong one

    @property
    def name(self) -> str:
        return str(canonicalize_name(self.requirement.name))

    def __str__(self) -> str:
        wanted = f"{self.name}{self.requirement.specifier}"
        by = self.required_by
        if self.found is None:
            return f"{self.name}: required by {by.name} but has no wheel ({by.label} asks for {wanted} on Python 3.10)"
        return f"{self.name} {self.found}: does not satisfy {by.name} ({by.label} asks for {wanted})"


def unmet_requirements(wheels: Sequence[Wheel], roots: Iterable[str] = ()) -> list[Unmet]:
    """Requirements of the bundle's wheels that hold on the target and have no matching wheel.

    Every wheel is checked with no extra and with each extra another wheel asks of it (`httpx[http2]` makes httpx's
    `extra == "http2"` requirements part of the closure). `roots` are distributions whose requirements come first
    in the answer (the project itself)."""
    by_name = {wheel.name: wheel for wheel in wheels}
    requirements = {wheel.name: requirements_of(wheel.path) for wheel in wheels}
    extras: dict[str, set[str]] = defaultdict(lambda: {""})
    for name in requirements:
        for requirement in requirements[name]:
            if holds_on_target(requirement):
                extras[str(canonicalize_name(requirement.name))].update(requirement.extras)
    order = [*(r for r in roots if r in by_name), *(n for n in sorted(by_name) if n not in roots)]
    unmet: list[Unmet] = []
    for name in order:
        wheel = by_name[name]
        for requirement in requirements[name]:
            if not any(holds_on_target(requirement, extra) for extra in sorted(extras[name])):
                continue
            found = by_name.get(str(canonicalize_name(requirement.name)))
            if found is None:
                unmet.append(Unmet(requirement, wheel, None))
            elif not _satisfies(found.version, requirement):
                unmet.append(Unmet(requirement, wheel, found.version))
    return unmet


def _satisfies(version: str, requirement: Requirement) -> bool:
    try:
        return requirement.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def check_wheels(folder: Path, project: str) -> tuple[Wheel, ...]:
    """Every wheel in `folder`, checked: installable on the sandbox, under the size limit, one version each, and the
    whole closure present for the target. Raises `BundleError` listing every problem."""
    problems: list[str] = []
    others = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".whl")
    problems += [f"{name}: not a wheel (a source distribution cannot be uploaded)" for name in others]
    wheels = read_wheels(folder)
    for wheel in wheels:
        if not runs_on_automation(wheel.path):
            problems.append(f"{wheel.path.name}: not a Linux x86-64 CPython 3.10 wheel")
        if wheel.size > MAX_PACKAGE_BYTES:
            problems.append(f"{wheel.path.name}: {wheel.size / 1024 / 1024:.1f} MB, over the 100 MB limit per package")
    names = [wheel.name for wheel in wheels]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    problems += [f"{name}: more than one wheel" for name in duplicated]
    if project not in names:
        problems.append(f"no {project} wheel in {folder}")
    problems += [str(unmet) for unmet in unmet_requirements(wheels, roots=[project])]
    if problems:
        raise BundleError(f"cannot bundle the wheels in {folder}:\n  " + "\n  ".join(problems))
    return wheels
