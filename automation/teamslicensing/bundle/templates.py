"""`bundle-runbook`: everything an Azure Automation Python 3.10 runtime environment needs, in one folder.

Azure Automation installs no dependencies itself: each package of the closure is uploaded as a Linux cp310 wheel of
at most 100 MB. We let pip resolve the closure for that platform (`pip download --only-binary=:all: --platform
manylinux2014_x86_64 --python-version 3.10 --implementation cp`), check every wheel, and write the runbook, an upload
script (Azure CLI) and a README next to the wheels. With `wheel_dir` the download is skipped and the wheels found
there are checked and bundled as they are (offline, and how the tests run).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from teamslicensing import __version__
from teamslicensing.errors import TeamsLicensingError

PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.10"
MAX_PACKAGE_BYTES = 100 * 1024 * 1024  # Azure Automation's limit per uploaded package
PROJECT = "teams-licensing"
RUNBOOK_NAME = "reconcile_licenses.py"
_SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent  # the checkout, when running from source

Runner = Callable[[Sequence[str]], None]


class BundleError(TeamsLicensingError):
    """The bundle cannot be made: the message says which wheel or step is at fault."""


@dataclass(frozen=True)
class Wheel:
    path: Path
    name: str  # normalized distribution name (PEP 503)
    version: str
    size: int


@dataclass(frozen=True)
class Bundle:
    output: Path
    wheels: tuple[Wheel, ...]

    @property
    def total_bytes(self) -> int:
        return sum(wheel.size for wheel in self.wheels)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_wheel(path: Path) -> tuple[str, str, list[str], list[str], list[str]]:
    """(name, version, python tags, abi tags, platform tags) from a wheel's file name (PEP 427)."""
    parts = path.name.removesuffix(".whl").split("-")
    if not path.name.endswith(".whl") or len(parts) not in (5, 6):
        raise BundleError(f"{path.name}: not a wheel file name")
    name, version = parts[0], parts[1]
    python, abi, platform = parts[-3], parts[-2], parts[-1]
    return normalize(name), version, python.split("."), abi.split("."), platform.split(".")


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


def requirements_of(path: Path) -> list[str]:
    """Names of the distributions a wheel requires outside extras (markers other than extras are kept)."""
    with zipfile.ZipFile(path) as archive:
        metadata = next((n for n in archive.namelist() if n.endswith(".dist-info/METADATA")), None)
        if metadata is None:
            raise BundleError(f"{path.name}: no METADATA inside")
        headers = HeaderParser().parsestr(archive.read(metadata).decode("utf-8", "replace"))
    names = []
    for requirement in headers.get_all("Requires-Dist") or []:
        if re.search(r"\bextra\s*==", requirement):
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if match:
            names.append(normalize(match.group(1)))
    return names


def check_wheels(folder: Path) -> tuple[Wheel, ...]:
    """Every wheel in `folder`, checked: installable on the sandbox, under the size limit, one version each, and the
    project's own requirements all present. Raises `BundleError` listing every problem."""
    paths = sorted(folder.glob("*.whl"))
    problems: list[str] = []
    others = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".whl")
    problems += [f"{name}: not a wheel (a source distribution cannot be uploaded)" for name in others]
    wheels: list[Wheel] = []
    for path in paths:
        name, version, *_ = parse_wheel(path)
        size = path.stat().st_size
        if not runs_on_automation(path):
            problems.append(f"{path.name}: not a Linux x86-64 CPython 3.10 wheel")
        if size > MAX_PACKAGE_BYTES:
            problems.append(f"{path.name}: {size / 1024 / 1024:.1f} MB, over the 100 MB limit per package")
        wheels.append(Wheel(path, name, version, size))
    names = [wheel.name for wheel in wheels]
    problems += [f"{name}: more than one wheel" for name in sorted({n for n in names if names.count(n) > 1})]
    project = next((wheel for wheel in wheels if wheel.name == PROJECT), None)
    if project is None:
        problems.append(f"no {PROJECT} wheel in {folder}")
    else:
        missing = sorted(set(requirements_of(project.path)) - set(names))
        problems += [f"{name}: required by {PROJECT} but has no wheel" for name in missing]
    if problems:
        raise BundleError(f"cannot bundle the wheels in {folder}:\n  " + "\n  ".join(problems))
    return tuple(wheels)


def download(destination: Path, project: Path | None, run: Runner) -> None:
    """The project's wheel (built from a source checkout, else the installed version from the index) and its whole
    dependency closure as wheels for the Automation sandbox."""
    pip = [sys.executable, "-m", "pip"]
    requirement = f"{PROJECT}=={__version__}"
    if project is not None:
        run([*pip, "wheel", "--no-deps", "--wheel-dir", str(destination), str(project)])
        built = sorted(destination.glob("teams_licensing-*.whl"))
        if not built:
            raise BundleError(f"pip wheel built no teams_licensing wheel from {project}")
        requirement = str(built[-1])
    run(
        [
            *pip,
            "download",
            "--only-binary=:all:",
            "--platform",
            PLATFORM,
            "--python-version",
            PYTHON_VERSION,
            "--implementation",
            "cp",
            "--dest",
            str(destination),
            requirement,
        ]
    )


def _run(command: Sequence[str]) -> None:
    result = subprocess.run(list(command), check=False)
    if result.returncode != 0:
        raise BundleError(f"{' '.join(command[2:4])} failed (exit {result.returncode}); see pip's output above")


def source_checkout() -> Path | None:
    return _SOURCE_ROOT if (_SOURCE_ROOT / "pyproject.toml").is_file() else None


def make_bundle(
    output: Path,
    wheel_dir: Path | None = None,
    runbook: Path | None = None,
    run: Runner = _run,
) -> Bundle:
    root = source_checkout()
    runbook = runbook or (root / "runbooks" / RUNBOOK_NAME if root else None)
    if runbook is None or not runbook.is_file():
        raise BundleError(f"runbook not found: pass --runbook (runbooks/{RUNBOOK_NAME} in the source checkout)")
    if output.exists() and any(output.iterdir()):
        raise BundleError(f"{output} is not empty: choose a new folder")
    with tempfile.TemporaryDirectory(prefix="teams-licensing-wheels-") as scratch:
        if wheel_dir is None:
            wheel_dir = Path(scratch)
            download(wheel_dir, root, run)
        wheels = check_wheels(wheel_dir)
        (output / "wheels").mkdir(parents=True, exist_ok=True)
        copied = []
        for wheel in wheels:
            target = output / "wheels" / wheel.path.name
            shutil.copyfile(wheel.path, target)
            copied.append(Wheel(target, wheel.name, wheel.version, wheel.size))
    shutil.copyfile(runbook, output / RUNBOOK_NAME)
    upload = output / "upload.sh"
    upload.write_text(UPLOAD_SCRIPT, encoding="utf-8")
    upload.chmod(0o755)
    bundle = Bundle(output, tuple(copied))
    (output / "README.md").write_text(readme(bundle), encoding="utf-8")
    return bundle


def readme(bundle: Bundle) -> str:
    rows = "\n".join(f"| `{w.path.name}` | {w.size / 1024 / 1024:.1f} MB |" for w in bundle.wheels)
    return README_TEMPLATE.format(
        version=__version__, count=len(bundle.wheels), total=bundle.total_bytes / 1024 / 1024, rows=rows
    )


README_TEMPLATE = """# teams-licensing {version}: Azure Automation bundle

{count} wheels ({total:.1f} MB) for an Azure Automation **Python 3.10** runtime environment (Linux, CPython 3.10,
x86-64), each under the 100 MB limit per package, plus the runbook `reconcile_licenses.py` and `upload.sh`.

## Deploy

1. Sign in: `az login` (an account that may change the Automation account and write to the storage account).
2. Run `./upload.sh` with these environment variables:

   | variable | meaning |
   |---|---|
   | `SUBSCRIPTION_ID`, `RESOURCE_GROUP`, `AUTOMATION_ACCOUNT`, `LOCATION` | the Automation account |
   | `STORAGE_ACCOUNT` | a storage account the wheels are staged in (Automation fetches packages from a URL) |
   | `RUNTIME_ENVIRONMENT` | name of the runtime environment to create (default `teams-licensing-py310`) |
   | `RUNBOOK_NAME` | default `Reconcile-TeamsLicenses` |
   | `SCHEDULE_START` | optional ISO time of the first run, e.g. `2026-12-01T06:00:00+00:00`; then daily |

   It creates the runtime environment (Python 3.10), uploads every wheel to a blob container and registers it as a
   package of the environment (read through a SAS link valid for one day), imports and publishes the runbook on that
   environment, creates the `TeamsLicensing_Mode` variable (`plan`) and, with `SCHEDULE_START`, a daily schedule
   linked to the runbook.
3. Create the `TeamsLicensing_Config` variable with your configuration's YAML text (portal, or `az rest`), and set
   `TeamsLicensing_Mode` to `apply` once the plans look right. Other variables: see the project README (*Azure
   Automation runbook*).
4. Enable the Automation account's managed identity and grant it the Graph application roles:
   `runbooks/grant-permissions.sh <principal id>` from the project (add `--read-only` for plan-only runs).
   The principal id: `az automation account show -n ACCOUNT -g GROUP --query identity.principalId -o tsv`.
5. Start the runbook once by hand and read its output: a summary, then one JSON line with the result.

## Wheels

| wheel | size |
|---|---:|
{rows}
"""

UPLOAD_SCRIPT = r"""#!/usr/bin/env bash
# Upload this bundle to Azure Automation with the Azure CLI: runtime environment, packages, runbook, schedule.
# See README.md for the variables. Safe to run again: every resource is created or replaced.
set -euo pipefail
cd "$(dirname "$0")"

: "${SUBSCRIPTION_ID:?set SUBSCRIPTION_ID}" "${RESOURCE_GROUP:?set RESOURCE_GROUP}"
: "${AUTOMATION_ACCOUNT:?set AUTOMATION_ACCOUNT}" "${LOCATION:?set LOCATION}" "${STORAGE_ACCOUNT:?set STORAGE_ACCOUNT}"
RUNTIME_ENVIRONMENT=${RUNTIME_ENVIRONMENT:-teams-licensing-py310}
RUNBOOK_NAME=${RUNBOOK_NAME:-Reconcile-TeamsLicenses}
CONTAINER=${CONTAINER:-teams-licensing-wheels}
ACCOUNT="https://management.azure.com/subscriptions/$SUBSCRIPTION_ID/resourceGroups/$RESOURCE_GROUP/providers/Microsoft.Automation/automationAccounts/$AUTOMATION_ACCOUNT"
PREVIEW=api-version=2023-05-15-preview
STABLE=api-version=2023-11-01

echo "runtime environment $RUNTIME_ENVIRONMENT (Python 3.10)"
body='{"location": "'"$LOCATION"'", "properties": {"runtime": {"language": "Python", "version": "3.10"},'
body+=' "defaultPackages": {}}}'
az rest --method put --url "$ACCOUNT/runtimeEnvironments/$RUNTIME_ENVIRONMENT?$PREVIEW" --output none --body "$body"

echo "staging wheels in $STORAGE_ACCOUNT/$CONTAINER"
az storage container create --account-name "$STORAGE_ACCOUNT" --name "$CONTAINER" --auth-mode login --output none
az storage blob upload-batch --account-name "$STORAGE_ACCOUNT" --destination "$CONTAINER" --source wheels \
  --auth-mode login --overwrite --output none
expiry=$(date -u -d '+1 day' '+%Y-%m-%dT%H:%MZ' 2>/dev/null || date -u -v+1d '+%Y-%m-%dT%H:%MZ')

for wheel in wheels/*.whl; do
  file=$(basename "$wheel")
  package=${file%%-*}
  url=$(az storage blob generate-sas --account-name "$STORAGE_ACCOUNT" --container-name "$CONTAINER" --name "$file" \
    --permissions r --expiry "$expiry" --auth-mode login --as-user --full-uri --output tsv)
  echo "package $package ($file)"
  az rest --method put --url "$ACCOUNT/runtimeEnvironments/$RUNTIME_ENVIRONMENT/packages/$package?$PREVIEW" \
    --output none --body "{\"properties\": {\"contentLink\": {\"uri\": \"$url\"}}}"
done

echo "runbook $RUNBOOK_NAME"
body='{"location": "'"$LOCATION"'", "properties": {"runbookType": "Python",'
body+=' "runtimeEnvironment": "'"$RUNTIME_ENVIRONMENT"'", "logProgress": false, "logVerbose": false}}'
az rest --method put --url "$ACCOUNT/runbooks/$RUNBOOK_NAME?$PREVIEW" --output none --body "$body"
az rest --method put --url "$ACCOUNT/runbooks/$RUNBOOK_NAME/draft/content?$PREVIEW" \
  --headers "Content-Type=text/x-python" --body @reconcile_licenses.py --output none
az rest --method post --url "$ACCOUNT/runbooks/$RUNBOOK_NAME/publish?$PREVIEW" --output none

echo "variable TeamsLicensing_Mode = plan (set it to apply when the plans look right)"
az rest --method put --url "$ACCOUNT/variables/TeamsLicensing_Mode?$STABLE" --output none \
  --body '{"name": "TeamsLicensing_Mode", "properties": {"value": "\"plan\"", "isEncrypted": false}}'

if [ -n "${SCHEDULE_START:-}" ]; then
  echo "daily schedule from $SCHEDULE_START"
  body='{"name": "teams-licensing-daily", "properties": {"startTime": "'"$SCHEDULE_START"'",'
  body+=' "frequency": "Day", "interval": 1, "timeZone": "UTC"}}'
  az rest --method put --url "$ACCOUNT/schedules/teams-licensing-daily?$STABLE" --output none --body "$body"
  job_schedule=$(python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, '$ACCOUNT/$RUNBOOK_NAME/daily'))")
  if ! az rest --method get --url "$ACCOUNT/jobSchedules/$job_schedule?$STABLE" --output none 2>/dev/null; then
    body='{"properties": {"schedule": {"name": "teams-licensing-daily"}, "runbook": {"name": "'"$RUNBOOK_NAME"'"}}}'
    az rest --method put --url "$ACCOUNT/jobSchedules/$job_schedule?$STABLE" --output none --body "$body"
  fi
fi
echo "done: create TeamsLicensing_Config, grant the identity its Graph roles (runbooks/grant-permissions.sh)"
"""
