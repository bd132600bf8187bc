"""The bundle's README and its `upload.sh` (a thin wrapper over `teams-licensing deploy automation`), as text."""

from __future__ import annotations

from collections.abc import Sequence

from teamslicensing.bundle.wheels import Wheel


def upload_script(version: str) -> str:
    return UPLOAD_SCRIPT.format(version=version)


def readme(version: str, wheels: Sequence[Wheel]) -> str:
    rows = "\n".join(f"| `{w.path.name}` | {w.size / 1024 / 1024:.1f} MB |" for w in wheels)
    total = sum(w.size for w in wheels) / 1024 / 1024
    return README_TEMPLATE.format(version=version, count=len(wheels), total=total, rows=rows)


README_TEMPLATE = """# teams-licensing {version}: Azure Automation bundle

{count} wheels ({total:.1f} MB) for an Azure Automation **Python 3.10** runtime environment (Linux, CPython 3.10,
x86-64), each under the 100 MB limit per package, plus the runbook `reconcile_licenses.py`, `grant-permissions.sh`,
`upload.sh` and `bundle.json`. Every requirement that holds on CPython 3.10 / Linux x86-64 has its wheel here
(checked when the bundle was made): Azure Automation installs each package on its own and resolves nothing.

The project's CI installs a bundle like this one into Python 3.10.13 with `pip install --no-index --no-deps
wheels/*.whl`, runs `pip check`, and runs the runbook in plan and apply mode against a fake tenant. To re-check this
bundle, from a checkout of the project with its test extra installed:
`python -m tests.support.runbook_on_target --python PATH-TO-PYTHON3.10 --bundle THIS-FOLDER`.

## Deploy

Built from **teams-licensing {version}** (also recorded in `bundle.json`, with every file's SHA-256; `deploy` checks
them before anything is sent). Deploy it with the same release and its deploy extra, signed in to Azure as an
account that may change the Automation account ("Automation Contributor") and write blobs to the storage account
("Storage Blob Data Contributor"):

```sh
pip install 'teams-licensing[deploy]=={version}'
./upload.sh --subscription SUBSCRIPTION-ID --resource-group GROUP --account AUTOMATION-ACCOUNT \
  --storage-account STORAGE-ACCOUNT --config licensing.yaml --schedule daily@06:00
```

`upload.sh` runs `teams-licensing deploy automation --bundle <this folder>` with the options given
(`teams-licensing deploy automation --help` lists them; the project's documentation explains each step in its
*Azure Automation* tutorial, `docs/tutorials/azure-automation.md` in its repository). It creates a Python 3.10
runtime environment for this bundle, uploads every wheel to the storage account and registers it as a package there,
waits until each package has been imported (`Succeeded`), then moves the runbook to it and publishes it (a failed
import leaves the runbook that runs untouched), removes the environments of earlier bundles, stores the
configuration and the settings, links a daily schedule, and prints the managed identity's principal id with the
commands that grant its Graph roles (`./grant-permissions.sh`) and its storage role. Run again, it changes nothing
and says so.

## Wheels

| wheel | size |
|---|---:|
{rows}
"""

UPLOAD_SCRIPT = r"""#!/usr/bin/env bash
# Deploy this bundle to Azure Automation: `teams-licensing deploy automation --bundle <this folder>` with the
# options given (the README.md beside this script). Needs the release this bundle was built from, with its deploy
# extra:
#   pip install 'teams-licensing[deploy]=={version}'
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec teams-licensing deploy automation --bundle "$here" "$@"
"""
