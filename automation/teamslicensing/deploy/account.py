"""The Automation account itself: where it is, and the managed identity the runbook signs in with.

The system-assigned identity is enabled when the account has no identity at all (the runbook needs one). An account
with only user-assigned identities is left so: their principal ids are printed, and the runbook must be told which
one to use (`TeamsLicensing_ManagedIdentityClientId`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from teamslicensing.deploy.connect import Azure, step
from teamslicensing.deploy.report import Changes


@dataclass(frozen=True)
class AccountFacts:
    location: str
    principal_id: str | None  # the system-assigned identity's object id
    user_assigned: tuple[tuple[str, str], ...]  # (resource id, principal id)


def read_account(azure: Azure, changes: Changes) -> AccountFacts:
    with step(f"read Automation account {azure.account}"):
        document = azure.automation.automation_account.get(azure.group, azure.account).as_dict()
    identity: dict[str, Any] = document.get("identity") or {}
    kind = str(identity.get("type") or "None")
    if kind == "None":
        changes.change(f"enable the system-assigned managed identity of {azure.account}")
        with step(f"enable the managed identity of {azure.account}"):
            document = azure.automation.automation_account.update(
                azure.group, azure.account, {"identity": {"type": "SystemAssigned"}}
            ).as_dict()
        identity = document.get("identity") or {}
    else:
        changes.same(f"managed identity of {azure.account} ({kind})")
    user_assigned = tuple(
        (str(resource), str((details or {}).get("principalId")))
        for resource, details in (identity.get("userAssignedIdentities") or {}).items()
    )
    principal = identity.get("principalId") if "SystemAssigned" in str(identity.get("type")) else None
    return AccountFacts(str(document.get("location") or ""), principal, user_assigned)
