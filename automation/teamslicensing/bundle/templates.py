"""The bundle's README and its `upload.sh` (Azure CLI against ARM), as text."""

from __future__ import annotations

from collections.abc import Sequence

from teamslicensing.bundle.wheels import Wheel


def readme(version: str, wheels: Sequence[Wheel]) -> str:
    rows = "\n".join(f"| `{w.path.name}` | {w.size / 1024 / 1024:.1f} MB |" for w in wheels)
    total = sum(w.size for w in wheels) / 1024 / 1024
    return README_TEMPLATE.format(version=version, count=len(wheels), total=total, rows=rows)


README_TEMPLATE = """# teams-licensing {version}: Azure Automation bundle

{count} wheels ({total:.1f} MB) for an Azure Automation **Python 3.10** runtime environment (Linux, CPython 3.10,
x86-64), each under the 100 MB limit per package, plus the runbook `reconcile_licenses.py`, `grant-permissions.sh`
and `upload.sh`. Every requirement that holds on CPython 3.10 / Linux x86-64 has its wheel here (checked when the
bundle was made): Azure Automation installs each package on its own and resolves nothing.

The project's CI installs a bundle like this one into Python 3.10.13 with `pip install --no-index --no-deps
wheels/*.whl`, runs `pip check`, and runs the runbook in plan and apply mode against a fake tenant. To re-check this
bundle, from a checkout of the project with its test extra installed:
`python -m tests.support.runbook_on_target --python PATH-TO-PYTHON3.10 --bundle THIS-FOLDER`.

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
   `./grant-permissions.sh --mode apply <principal id>` (`--mode plan` for plan-only runs; add
   `--mode inventory` for the Teams number inventory, `--mode usage` for call records; `teams-licensing
   permissions --mode MODE` says what each role is for).
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
echo "done: create TeamsLicensing_Config, grant the identity its Graph roles (./grant-permissions.sh in this folder)"
"""
