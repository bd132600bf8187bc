"""The runbook's settings as Automation variables: the configuration, the numbers CSV, the mode and the audit
container.

A file's text goes into an encrypted variable when it fits (a variable's value holds at most 1,048,576 characters,
counted on the JSON-encoded string Automation stores); a larger one is stored as a blob in the container
`teams-licensing-config` and the variable holds that blob's URL, which the runbook reads with its managed identity
(Storage Blob Data Reader on that container). An encrypted value cannot be read back, so the variable's description
records the SHA-256 of what was stored (the text, and for a blob its URL too) and a second run compares that. A
variable's encryption cannot be changed once it exists: it is deleted and created again when it must.

`TeamsLicensing_Mode` is created as `plan` when it is not there, and otherwise changed only by `--mode`, so an admin
who has moved it to `apply` is not moved back; one an admin stored encrypted cannot be read, and is left as it is.
`TeamsLicensing_AuditContainer` names the container `deploy` creates for apply-mode audit logs, and
`TeamsLicensing_History` the run history kept there (`history.jsonl`), created when it is not there and otherwise
left as the admin set it (another name, or `off`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from teamslicensing.deploy.connect import Azure, found_or_none, step
from teamslicensing.deploy.options import AUDIT_CONTAINER, CONFIG_CONTAINER
from teamslicensing.deploy.report import Changes
from teamslicensing.deploy.storage import ensure_container, store_text

VARIABLE_LIMIT = 1_048_576
CONFIG_VARIABLE = "TeamsLicensing_Config"
NUMBERS_VARIABLE = "TeamsLicensing_Numbers"
MODE_VARIABLE = "TeamsLicensing_Mode"
AUDIT_VARIABLE = "TeamsLicensing_AuditContainer"
HISTORY_VARIABLE = "TeamsLicensing_History"
HISTORY_BLOB = "history.jsonl"  # the runbook's default too (runbooks/reconcile_licenses.py)


@dataclass(frozen=True)
class SettingFile:
    name: str  # the file's name, kept as the blob's when it is stored as one
    text: str


@dataclass(frozen=True)
class Stored:
    variable: str
    blob_container: str | None  # set when the text went to a blob, for the identity's read role


def store_file(azure: Azure, variable: str, file: SettingFile, changes: Changes) -> Stored:
    text = file.text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    value = json.dumps(text, ensure_ascii=False)
    description = f"teams-licensing deploy: {file.name}, sha256 {digest}"
    if len(value) <= VARIABLE_LIMIT:
        ensure_variable(azure, variable, value, description, changes, encrypted=True)
        return Stored(variable, None)
    changes.progress(f"{file.name}: {len(value):,} characters, over a variable's {VARIABLE_LIMIT:,}: stored as a blob")
    blob = (
        f"{variable.removeprefix('TeamsLicensing_').lower()}/{file.name}"  # the numbers' never overwrite the config's
    )
    url = store_text(azure, CONFIG_CONTAINER, blob, text, digest, changes)
    # the value (the URL) cannot be read back either: the description records it too, so a moved endpoint is seen
    where = hashlib.sha256(url.encode("utf-8")).hexdigest()
    ensure_variable(
        azure, variable, json.dumps(url), f"{description} (in a blob, URL sha256 {where})", changes, encrypted=True
    )
    return Stored(variable, CONFIG_CONTAINER)


def is_set(azure: Azure, variable: str) -> bool:
    return _get(azure, variable) is not None


def ensure_mode(azure: Azure, wanted: str | None, changes: Changes) -> str | None:
    """The mode the runbook will run in: `wanted`, or the variable's value, or `plan` when it is not there; None
    when the variable is encrypted (its value cannot be read, and it is left as it is)."""
    existing = _get(azure, MODE_VARIABLE)
    if wanted is None and existing is not None and existing.get("isEncrypted"):
        changes.same(f"variable {MODE_VARIABLE} (encrypted)")
        changes.progress(
            f"{MODE_VARIABLE} is encrypted, so deploy cannot read it: left as it is (--mode MODE sets it, in clear)"
        )
        return None
    current = _plain_value(existing)
    if wanted is None and current is not None:
        changes.same(f"variable {MODE_VARIABLE} ({current})")
        return current
    mode = wanted or "plan"
    ensure_variable(azure, MODE_VARIABLE, json.dumps(mode), "plan, apply or usage", changes, encrypted=False)
    return mode


def ensure_audit_container(azure: Azure, changes: Changes) -> str:
    ensure_container(azure, AUDIT_CONTAINER, changes)
    url = f"{azure.options.blob}/{AUDIT_CONTAINER}"
    description = "where the runbook stores apply-mode audit logs"
    ensure_variable(azure, AUDIT_VARIABLE, json.dumps(url), description, changes, encrypted=False)
    if is_set(azure, HISTORY_VARIABLE):  # an admin's own name for it, or off, is theirs to keep
        changes.same(f"variable {HISTORY_VARIABLE}")
    else:
        history = "the append blob in the audit container where every plan or apply job adds its summary (off: none)"
        ensure_variable(azure, HISTORY_VARIABLE, json.dumps(HISTORY_BLOB), history, changes, encrypted=False)
    return url


def ensure_variable(
    azure: Azure, name: str, value: str, description: str, changes: Changes, *, encrypted: bool
) -> None:
    """`value` is the JSON text Automation stores (a string is sent JSON-encoded, as the specification's example)."""
    existing = _get(azure, name)
    if existing is not None:
        same_kind = bool(existing.get("isEncrypted")) == encrypted and existing.get("description") == description
        if same_kind and (encrypted or existing.get("value") == value):
            changes.same(f"variable {name}")
            return
        if bool(existing.get("isEncrypted")) != encrypted:
            changes.change(f"remove variable {name} to store it {'encrypted' if encrypted else 'in clear'}")
            with step(f"remove variable {name}"):
                azure.automation.variable.delete(azure.group, azure.account, name)
    shown = "(encrypted)" if encrypted else value
    changes.change(f"{'set' if existing is not None else 'create'} variable {name} = {shown}")
    with step(f"store variable {name}"):
        azure.automation.variable.create_or_update(
            azure.group,
            azure.account,
            name,
            {"name": name, "properties": {"value": value, "description": description, "isEncrypted": encrypted}},
        )


def _get(azure: Azure, name: str) -> dict[str, Any] | None:
    with step(f"read variable {name}"):
        found = found_or_none(lambda: azure.automation.variable.get(azure.group, azure.account, name))
    if found is None:
        return None
    properties: dict[str, Any] = found.as_dict().get("properties") or {}
    return properties


def _plain_value(properties: dict[str, Any] | None) -> str | None:
    if properties is None or properties.get("value") is None:
        return None
    try:
        value = json.loads(str(properties["value"]))
    except ValueError:
        return str(properties["value"])
    return str(value)
