"""What a person does after `deploy`: grant the managed identity its Graph application roles (a directory role's
work) and its storage roles (a role assignment's), printed as commands with the ids filled in."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from teamslicensing.deploy.account import AccountFacts
from teamslicensing.deploy.options import AUDIT_CONTAINER, DeployOptions

GRAPH_MODES = {"plan": "plan", "apply": "apply", "usage": "usage"}  # runbook mode -> `permissions --mode`


def container_scope(options: DeployOptions, container: str) -> str:
    return (
        f"/subscriptions/{options.subscription}/resourceGroups/{options.storage_group}/providers/"
        f"Microsoft.Storage/storageAccounts/{options.storage_account}/blobServices/default/containers/{container}"
    )


def role_command(principal: str, role: str, scope: str) -> str:
    return (
        f"az role assignment create --assignee-object-id {principal} --assignee-principal-type ServicePrincipal \\\n"
        f'      --role "{role}" --scope {scope}'
    )


def print_next_steps(
    out: TextIO,
    options: DeployOptions,
    facts: AccountFacts,
    mode: str | None,
    grant_script: Path,
    read_containers: list[str],
    config_missing: bool,
) -> None:
    principals = [facts.principal_id] if facts.principal_id else [p for _, p in facts.user_assigned]
    if facts.principal_id:
        print(
            f"\nThe runbook signs in as {options.account}'s system-assigned identity, "
            f"principal id {facts.principal_id}.",
            file=out,
        )
    else:
        listed = ", ".join(f"{p} ({resource.rsplit('/', 1)[-1]})" for resource, p in facts.user_assigned)
        print(
            f"\n{options.account} has user-assigned identities only ({listed}): set "
            "TeamsLicensing_ManagedIdentityClientId to the client id of the one the runbook should use.",
            file=out,
        )
    graph_mode = GRAPH_MODES.get(mode, "apply") if mode is not None else "MODE"
    which = f"mode {mode}" if mode is not None else "the mode TeamsLicensing_Mode holds (MODE: plan, apply or usage)"
    for principal in principals:
        print(
            f"Grant its Microsoft Graph roles for {which} (as a Privileged Role Administrator, after az login):",
            file=out,
        )
        print(f"  {grant_script} --mode {graph_mode} {principal}", file=out)
        print("Grant its storage roles (as an Owner or User Access Administrator of the storage account):", file=out)
        print(
            f"  {role_command(principal, 'Storage Blob Data Contributor', container_scope(options, AUDIT_CONTAINER))}",
            file=out,
        )
        for container in read_containers:
            print(
                f"  {role_command(principal, 'Storage Blob Data Reader', container_scope(options, container))}",
                file=out,
            )
    if config_missing:
        print(
            "TeamsLicensing_Config is not set: deploy again with --config FILE, or the runbook has nothing to do.",
            file=out,
        )
    said = mode if mode is not None else "encrypted, so deploy could not read it"
    print(
        f"Then start {options.runbook} once by hand and read its output (TeamsLicensing_Mode is {said}; "
        "`teams-licensing permissions --mode MODE` says what each role is for).",
        file=out,
    )
