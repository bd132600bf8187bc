"""The Python 3.10 runtime environment and its packages, one per wheel of the bundle.

A package import is asynchronous and has no poller in the SDK: the PUT answers at once (`Creating`) and the
package's `provisioningState` is read until it is `Succeeded`, or `Failed`/`Canceled`, whose `error` is Azure's
own message. Imports are paced (Azure takes at most five every 30 seconds per account) and the wait is bounded
(`--timeout`). A package already `Succeeded` with the same content (its `contentHash`, or its version where Azure
does not echo the hash) is left as it is; packages the bundle no longer has are removed, so the environment holds
exactly the bundle.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from teamslicensing.bundle.manifest import BundleContents, BundledWheel
from teamslicensing.deploy.connect import Azure, found_or_none, step
from teamslicensing.deploy.report import Changes
from teamslicensing.deploy.storage import ReadLinks
from teamslicensing.errors import DeployError

PYTHON = {"language": "Python", "version": "3.10"}
TERMINAL = ("Succeeded", "Failed", "Canceled")
MAX_PAGES = 100  # 100 pages of packages is far beyond Automation's 100 MB per environment


def ensure_environment(azure: Azure, location: str, version: str, changes: Changes) -> None:
    name = azure.options.runtime_environment
    with step(f"runtime environment {name}"):
        existing = found_or_none(lambda: azure.automation.runtime_environments.get(azure.group, azure.account, name))
        if existing is not None:
            runtime = existing.as_dict().get("properties", {}).get("runtime", {})
            if {k: runtime.get(k) for k in PYTHON} != PYTHON:
                raise DeployError(
                    f"runtime environment {name} runs {runtime.get('language')} {runtime.get('version')}, and a "
                    "runtime cannot be changed: name another with --runtime-environment"
                )
            changes.same(f"runtime environment {name}")
            return
        changes.change(f"create runtime environment {name} (Python 3.10) in {location}")
        from azure.mgmt.automation import models

        properties = models.RuntimeEnvironmentProperties(
            runtime=models.RuntimeProperties(language="Python", version="3.10"),
            default_packages={},
            description=f"teams-licensing {version}: the runbook's Python 3.10 packages",
        )
        environment = models.RuntimeEnvironment(location=location, properties=properties)
        azure.automation.runtime_environments.create(azure.group, azure.account, name, environment)


def package_name(wheel: BundledWheel) -> str:
    """The name Automation lists the package under: the wheel file's distribution part (`teams_licensing`)."""
    return wheel.path.name.split("-", 1)[0]


def ensure_packages(azure: Azure, bundle: BundleContents, links: ReadLinks, changes: Changes) -> None:
    """Every wheel imported and `Succeeded`, or `DeployError` naming each failure with Azure's message."""
    deadline = time.monotonic() + azure.options.timeout
    existing = _listed(azure)
    busy = [name for name, found in existing.items() if _state(found) not in TERMINAL]
    if busy:  # an import still running (an interrupted run): let it end before judging it
        changes.progress(f"waiting for imports already running: {', '.join(sorted(busy))}")
        existing.update(_wait(azure, busy, deadline, changes))
    wanted = {package_name(wheel): wheel for wheel in bundle.wheels}
    started: list[str] = []
    pacer = _Pacer(azure.pace.imports_per_window, azure.pace.window_seconds)
    for name, wheel in wanted.items():
        if _same(existing.get(name), wheel):
            changes.same(f"package {name} {wheel.version}")
            continue
        pacer.wait()
        changes.change(f"import package {name} {wheel.version} ({wheel.path.name})")
        link = links.link(wheel.path.name)
        body: Any = {
            "properties": {
                "contentLink": {
                    "uri": link,
                    "contentHash": {"algorithm": "SHA256", "value": wheel.sha256.upper()},
                    "version": wheel.version,
                }
            }
        }
        with step(f"import package {name}"):
            azure.automation.package.create_or_update(
                azure.group, azure.account, azure.options.runtime_environment, name, body
            )
        started.append(name)
    if started:
        changes.progress(f"waiting for {len(started)} package import(s) to reach Succeeded")
        _judge(_wait(azure, started, deadline, changes))
    for name in sorted(set(existing) - set(wanted)):
        changes.change(f"remove package {name} (not in the bundle)")
        with step(f"remove package {name}"):
            azure.automation.package.delete(azure.group, azure.account, azure.options.runtime_environment, name)


def _listed(azure: Azure) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with step(f"list the packages of {azure.options.runtime_environment}"):
        pages = azure.automation.package.list_by_runtime_environment(
            azure.group, azure.account, azure.options.runtime_environment
        ).by_page()
        for number, page in enumerate(pages):
            if number >= MAX_PAGES:
                raise DeployError(f"more than {MAX_PAGES} pages of packages: not a runtime environment of this tool")
            for package in page:
                document = package.as_dict()
                found[str(document.get("name"))] = document
    return found


def _state(document: dict[str, Any] | None) -> str:
    return str(((document or {}).get("properties") or {}).get("provisioningState") or "")


def _same(document: dict[str, Any] | None, wheel: BundledWheel) -> bool:
    if document is None or _state(document) != "Succeeded":
        return False
    properties = document.get("properties") or {}
    echoed = ((properties.get("contentLink") or {}).get("contentHash") or {}).get("value")
    if echoed:
        return str(echoed).upper() == wheel.sha256.upper()
    return properties.get("version") == wheel.version


def _wait(azure: Azure, names: list[str], deadline: float, changes: Changes) -> dict[str, dict[str, Any]]:
    """Read each package until it ends (Succeeded, Failed, Canceled); DeployError if the deadline passes first."""
    ended: dict[str, dict[str, Any]] = {}
    last: dict[str, str] = {}
    pending = list(names)
    while True:
        for name in list(pending):
            with step(f"read package {name}"):
                document = azure.automation.package.get(
                    azure.group, azure.account, azure.options.runtime_environment, name
                ).as_dict()
            last[name] = _state(document)
            if _state(document) in TERMINAL:
                ended[name] = document
                pending.remove(name)
                changes.progress(f"{name}: {_state(document)}")
        if not pending:
            return ended
        if time.monotonic() >= deadline:
            raise DeployError(
                f"package imports did not finish within {azure.options.timeout / 60:.0f} minutes (--timeout): "
                + ", ".join(f"{name} still {last.get(name) or 'unread'}" for name in pending)
                + "; nothing was published"
            )
        time.sleep(azure.pace.poll_seconds)


def _judge(ended: dict[str, dict[str, Any]]) -> None:
    failed = {name: doc for name, doc in ended.items() if _state(doc) != "Succeeded"}
    if not failed:
        return
    lines = []
    for name, document in sorted(failed.items()):
        error = (document.get("properties") or {}).get("error") or {}
        lines.append(f"{name}: {_state(document)}: {error.get('code') or ''} {error.get('message') or ''}".rstrip())
    raise DeployError(
        "Azure could not import every package, so the runbook was not published:\n  " + "\n  ".join(lines)
    )


class _Pacer:
    """At most `count` starts in any `window` seconds."""

    def __init__(self, count: int, window: float) -> None:
        self.count, self.window = count, window
        self.starts: deque[float] = deque()

    def wait(self) -> None:
        now = time.monotonic()
        while self.starts and now - self.starts[0] >= self.window:
            self.starts.popleft()
        if len(self.starts) >= self.count:
            time.sleep(self.window - (now - self.starts[0]))
            self.starts.popleft()
        self.starts.append(time.monotonic())
