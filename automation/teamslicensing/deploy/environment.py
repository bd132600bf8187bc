"""One Python 3.10 runtime environment per bundle, and the removal of those earlier bundles had.

Why one per bundle: a runbook runs on whatever its runtime environment holds at the moment a job starts. Importing a
new bundle's packages over the ones a published runbook uses would leave it, and every scheduled job, on a
half-replaced environment while the imports run, and on a `Failed` package when one fails. So each bundle gets an
environment of its own, named after `--runtime-environment` (the prefix), the bundle's version and the first twelve
hex digits of its digest (the SHA-256 over every wheel's name and SHA-256), e.g.
`teams-licensing-py310-0_2_0-3f2a9c1b7e4d`. The runbook is moved there only once every package is `Succeeded`
(`packages`, `runbook`); until then the deployment that runs is not touched. A wheel rebuilt under the same
version changes the digest, so it is imported too, although Azure never says what a package was imported from.

The environments deploy makes carry tags (a runtime environment is a tracked resource; a package's create body has
no tags): `teams-licensing-deploy` (the prefix), `teams-licensing-bundle` (the full digest) and
`teams-licensing-version`. After the runbook is published on the new one, the environments with the same
`teams-licensing-deploy` tag are removed, and the one teams-licensing 0.2.0 made (named exactly the prefix, with
the description 0.2.0 wrote); never an environment without them, never one a runbook of the account still names,
and never one a job that has not ended still runs on (a job started just before the switch; the account's job list
says which environment each runs on). Such an environment is kept, said, and removed by a later deploy. Tag names
are compared without regard to case, as Resource Manager treats them.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from teamslicensing.bundle.manifest import BundleContents
from teamslicensing.deploy.connect import Azure, found_or_none, step
from teamslicensing.deploy.report import Changes
from teamslicensing.errors import DeployError

PYTHON = {"language": "Python", "version": "3.10"}
OWNER_TAG = "teams-licensing-deploy"
BUNDLE_TAG = "teams-licensing-bundle"
VERSION_TAG = "teams-licensing-version"
JOB_ENDED = ("Completed", "Failed", "Stopped")
LEGACY_DESCRIPTION = re.compile(r"teams-licensing \S+: the runbook's Python 3\.10 packages")  # what 0.2.0 wrote
MAX_PAGES = 100


def bundle_digest(bundle: BundleContents) -> str:
    """SHA-256 over every wheel's file name and SHA-256, in name order: what the environment holds."""
    lines = sorted(f"{wheel.path.name} {wheel.sha256.lower()}" for wheel in bundle.wheels)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def environment_name(prefix: str, bundle: BundleContents) -> str:
    """`PREFIX-VERSION-DIGEST12`, within the specification's `^[a-zA-Z][a-zA-Z-_0-9]*$`."""
    version = re.sub(r"[^A-Za-z0-9]", "_", bundle.version)
    return f"{prefix}-{version}-{bundle_digest(bundle)[:12]}"


def tag(document: dict[str, Any], name: str) -> str | None:
    tags = document.get("tags") or {}
    return next((str(value) for key, value in tags.items() if str(key).lower() == name.lower()), None)


def ensure_environment(azure: Azure, location: str, bundle: BundleContents, changes: Changes) -> str:
    """The bundle's runtime environment, made when it is not there; its name."""
    prefix = azure.options.runtime_environment
    name = environment_name(prefix, bundle)
    with step(f"runtime environment {name}"):
        existing = found_or_none(lambda: azure.automation.runtime_environments.get(azure.group, azure.account, name))
        if existing is not None:
            document = existing.as_dict()
            runtime = (document.get("properties") or {}).get("runtime") or {}
            if {k: runtime.get(k) for k in PYTHON} != PYTHON:
                raise DeployError(
                    f"runtime environment {name} runs {runtime.get('language')} {runtime.get('version')}, and a "
                    "runtime cannot be changed: name another prefix with --runtime-environment"
                )
            if tag(document, BUNDLE_TAG) != bundle_digest(bundle):
                raise DeployError(
                    f"runtime environment {name} exists but was not made by deploy for this bundle (its tag "
                    f"{BUNDLE_TAG} differs): name another prefix with --runtime-environment"
                )
            changes.same(f"runtime environment {name}")
            return name
        changes.change(
            f"create runtime environment {name} (Python 3.10, teams-licensing {bundle.version}) in {location}"
        )
        from azure.mgmt.automation import models

        properties = models.RuntimeEnvironmentProperties(
            runtime=models.RuntimeProperties(language="Python", version="3.10"),
            default_packages={},
            description=f"teams-licensing {bundle.version}: the runbook's Python 3.10 packages, one bundle's",
        )
        tags = {OWNER_TAG: prefix, BUNDLE_TAG: bundle_digest(bundle), VERSION_TAG: bundle.version}
        environment = models.RuntimeEnvironment(location=location, tags=tags, properties=properties)
        azure.automation.runtime_environments.create(azure.group, azure.account, name, environment)
    return name


def remove_replaced(azure: Azure, current: str, changes: Changes) -> None:
    """The environments deploy made for other bundles under this prefix, unless a runbook still names one."""
    prefix = azure.options.runtime_environment
    replaced = [
        document
        for document in _listed_environments(azure)
        if str(document.get("name") or "").lower() != current.lower() and _made_by_deploy(document, prefix)
    ]
    if not replaced:
        return
    in_use, jobs = _environments_in_use(azure), _jobs_not_ended(azure)
    for document in replaced:
        name = str(document.get("name") or "")
        users = in_use.get(name.lower())
        if users:
            changes.progress(f"runtime environment {name} is kept: runbook {', '.join(sorted(users))} uses it")
            continue
        if jobs is None or jobs.get(name.lower()):
            running = "jobs could not all be read" if jobs is None else _still_running(jobs[name.lower()])
            changes.progress(f"runtime environment {name} is kept: {running}; a later deploy removes it")
            continue
        changes.change(f"remove runtime environment {name} (made by deploy for another bundle; no runbook uses it)")
        with step(f"remove runtime environment {name}"):
            azure.automation.runtime_environments.delete(azure.group, azure.account, name)


def _made_by_deploy(document: dict[str, Any], prefix: str) -> bool:
    owner = tag(document, OWNER_TAG)
    if owner is not None:
        return owner.lower() == prefix.lower()
    properties = document.get("properties") or {}
    runtime = properties.get("runtime") or {}
    return (
        str(document.get("name") or "").lower() == prefix.lower()
        and {k: runtime.get(k) for k in PYTHON} == PYTHON
        and LEGACY_DESCRIPTION.fullmatch(str(properties.get("description") or "")) is not None
    )


def _listed_environments(azure: Azure) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with step("list the runtime environments"):
        pages = azure.automation.runtime_environments.list_by_automation_account(azure.group, azure.account).by_page()
        for number, page in enumerate(pages):
            if number >= MAX_PAGES:
                raise DeployError(f"more than {MAX_PAGES} pages of runtime environments; stopped reading")
            found += [environment.as_dict() for environment in page]
    return found


def _environments_in_use(azure: Azure) -> dict[str, set[str]]:
    """Runtime environment (lower case) -> the runbooks that name it."""
    users: dict[str, set[str]] = {}
    with step("list the runbooks"):
        pages = azure.automation.runbook.list_by_automation_account(azure.group, azure.account).by_page()
        for number, page in enumerate(pages):
            if number >= MAX_PAGES:
                raise DeployError(f"more than {MAX_PAGES} pages of runbooks; stopped reading")
            for runbook in page:
                document = runbook.as_dict()
                environment = str((document.get("properties") or {}).get("runtimeEnvironment") or "")
                if environment:
                    users.setdefault(environment.lower(), set()).add(str(document.get("name")))
    return users


def _jobs_not_ended(azure: Azure) -> dict[str, int] | None:
    """Runtime environment (lower case) -> how many jobs that have not ended run on it; None when the list is longer
    than MAX_PAGES (the environments are then kept)."""
    running: dict[str, int] = {}
    with step("list the jobs"):
        pages = azure.automation.job.list_by_automation_account(azure.group, azure.account).by_page()
        for number, page in enumerate(pages):
            if number >= MAX_PAGES:
                return None
            for job in page:
                properties = job.as_dict().get("properties") or {}
                environment = str((properties.get("jobRuntimeEnvironment") or {}).get("runtimeEnvironmentName") or "")
                if environment and properties.get("status") not in JOB_ENDED:
                    running[environment.lower()] = running.get(environment.lower(), 0) + 1
    return running


def _still_running(count: int) -> str:
    return "1 job still runs on it" if count == 1 else f"{count} jobs still run on it"
