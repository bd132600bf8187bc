"""The runbook: created or updated as a Python runbook on the bundle's runtime environment, its draft replaced and
published, each an asynchronous operation the SDK polls (bounded by `--timeout`). Only called once every package
of that environment has been imported: moving the runbook to it is what switches the deployment over. A runbook
already published with the bundle's script, type and environment is left alone.
"""

from __future__ import annotations

from typing import Any

from teamslicensing.bundle.manifest import BundleContents
from teamslicensing.deploy.connect import Azure, found_or_none, step
from teamslicensing.deploy.report import Changes
from teamslicensing.errors import DeployError


def current_environment(azure: Azure) -> str | None:
    """The runtime environment the runbook runs on now, or None when there is no runbook yet."""
    name = azure.options.runbook
    with step(f"read runbook {name}"):
        existing = found_or_none(lambda: azure.automation.runbook.get(azure.group, azure.account, name))
    if existing is None:
        return None
    environment = (existing.as_dict().get("properties") or {}).get("runtimeEnvironment")
    return str(environment) if environment else None


def ensure_runbook(azure: Azure, bundle: BundleContents, environment: str, location: str, changes: Changes) -> None:
    name = azure.options.runbook
    script = bundle.runbook.decode("utf-8")
    with step(f"read runbook {name}"):
        existing = found_or_none(lambda: azure.automation.runbook.get(azure.group, azure.account, name))
        properties: dict[str, Any] = existing.as_dict().get("properties", {}) if existing is not None else {}
        published = None
        if properties.get("state") in ("Published", "Edit"):
            published = found_or_none(lambda: azure.automation.runbook.get_content(azure.group, azure.account, name))
    if (
        properties.get("runbookType") == "Python"
        and str(properties.get("runtimeEnvironment") or "").lower() == environment.lower()
        and properties.get("state") == "Published"
        and published is not None
        and _text(published) == _text(script)
    ):
        changes.same(f"runbook {name}")
        return
    verb = "update" if existing is not None else "create"
    changes.change(f"{verb} runbook {name} (Python, runtime environment {environment})")
    with step(f"{verb} runbook {name}"):
        azure.automation.runbook.create_or_update(
            azure.group,
            azure.account,
            name,
            {
                "location": location,
                "properties": {
                    "runbookType": "Python",
                    "runtimeEnvironment": environment,
                    "logProgress": False,
                    "logVerbose": False,
                    "description": f"teams-licensing {bundle.version}: plan or apply Teams voice licenses",
                },
            },
        )
    changes.change(
        f"replace the draft of {name} with the bundle's reconcile_licenses.py (teams-licensing {bundle.version})"
    )
    with step(f"replace the draft of runbook {name}"):
        poller = azure.automation.runbook_draft.begin_replace_content(
            azure.group, azure.account, name, script, content_type="text/powershell"
        )
        _finish(poller, f"replacing the draft of {name}", azure.options.timeout)
    changes.change(f"publish runbook {name}")
    with step(f"publish runbook {name}"):
        _finish(
            azure.automation.runbook.begin_publish(azure.group, azure.account, name),
            f"publishing {name}",
            azure.options.timeout,
        )


def _finish(poller: Any, what: str, timeout: float) -> None:
    """Wait for a long-running operation, at most `timeout` seconds; its failure raises from `result`."""
    poller.result(timeout=timeout)
    if not poller.done():
        raise DeployError(f"{what} did not finish within {timeout / 60:.0f} minutes (--timeout); Azure is still at it")


def _text(script: str) -> str:
    return script.replace("\r\n", "\n").rstrip("\n")
