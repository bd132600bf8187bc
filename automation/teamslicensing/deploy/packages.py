"""The packages of the bundle's runtime environment (`environment`), one per wheel.

A package import is asynchronous and has no poller in the SDK: the PUT answers at once (`Creating`) and the
package's `provisioningState` is read until it is `Succeeded`, or `Failed`/`Canceled`, whose `error` is Azure's
own message. Imports are paced (Azure takes at most five every 30 seconds per account) and the wait is bounded
(`--timeout`). The environment is the bundle's own, so a package already `Succeeded` there is the bundle's wheel
and is left as it is; one that failed is imported again; packages the bundle does not have are removed, so the
environment holds exactly the bundle. Names are compared without regard to case (Azure may answer `pyyaml` for
`PyYAML`). When an import fails, the message says what still runs: the runbook is moved only after this succeeds.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from teamslicensing.bundle.manifest import BundleContents, BundledWheel
from teamslicensing.deploy.connect import Azure, step
from teamslicensing.deploy.report import Changes
from teamslicensing.deploy.storage import ReadLinks
from teamslicensing.errors import DeployError

TERMINAL = ("Succeeded", "Failed", "Canceled")
MAX_PAGES = 100  # 100 pages of packages is far beyond Automation's 100 MB per environment


def package_name(wheel: BundledWheel) -> str:
    """The name Automation lists the package under: the wheel file's distribution part (`teams_licensing`)."""
    return wheel.path.name.split("-", 1)[0]


def ensure_packages(
    azure: Azure, environment: str, bundle: BundleContents, links: ReadLinks, changes: Changes, running: str | None
) -> None:
    """Every wheel imported into `environment` and `Succeeded`, or `DeployError` naming each failure with Azure's
    message and saying that the runbook still runs on `running` (the environment it uses now, if any)."""
    deadline = time.monotonic() + azure.options.timeout
    existing = _listed(azure, environment)
    busy = [str(found.get("name")) for found in existing.values() if _state(found) not in TERMINAL]
    if busy:  # an import still running (an interrupted run): let it end before judging it
        changes.progress(f"waiting for imports already running: {', '.join(sorted(busy))}")
        ended = _wait(azure, environment, busy, deadline, changes, running)
        existing.update({name.lower(): document for name, document in ended.items()})
    wanted = {package_name(wheel).lower(): wheel for wheel in bundle.wheels}
    started: list[str] = []
    pacer = _Pacer(azure.pace.imports_per_window, azure.pace.window_seconds)
    for key, wheel in wanted.items():
        name = package_name(wheel)
        if _state(existing.get(key)) == "Succeeded":
            changes.same(f"package {name} {wheel.version} in {environment}")
            continue
        pacer.wait()
        changes.change(f"import package {name} {wheel.version} ({wheel.path.name}) into {environment}")
        _import(azure, environment, name, wheel, links.link(wheel.path.name))
        pacer.done()
        started.append(name)
    if started:
        changes.progress(f"waiting for package imports to reach Succeeded: {len(started)}")
        ended = _wait(azure, environment, started, deadline, changes, running)
        _judge(ended, environment, running, azure.options.runbook)
    for key in sorted(set(existing) - set(wanted)):
        name = str(existing[key].get("name"))
        changes.change(f"remove package {name} from {environment} (not in the bundle)")
        with step(f"remove package {name}"):
            azure.automation.package.delete(azure.group, azure.account, environment, name)


def _import(azure: Azure, environment: str, name: str, wheel: BundledWheel, link: str) -> None:
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
        azure.automation.package.create_or_update(azure.group, azure.account, environment, name, body)


def what_still_runs(running: str | None, environment: str, runbook: str) -> str:
    """What a stop during the imports leaves running, said plainly."""
    if running is None:
        return f"runbook {runbook} was not published"
    if running.lower() == environment.lower():
        return f"runbook {runbook} runs on {environment}, which does not hold every package of the bundle yet"
    return (
        f"runbook {runbook} still runs as it was published, on runtime environment {running}, untouched (its "
        "schedule too)"
    )


def _listed(azure: Azure, environment: str) -> dict[str, dict[str, Any]]:
    """The environment's packages by lower-case name."""
    found: dict[str, dict[str, Any]] = {}
    with step(f"list the packages of {environment}"):
        pages = azure.automation.package.list_by_runtime_environment(azure.group, azure.account, environment)
        for number, page in enumerate(pages.by_page()):
            if number >= MAX_PAGES:
                raise DeployError(f"more than {MAX_PAGES} pages of packages: not a runtime environment of this tool")
            for package in page:
                document = package.as_dict()
                found[str(document.get("name")).lower()] = document
    return found


def _state(document: dict[str, Any] | None) -> str:
    return str(((document or {}).get("properties") or {}).get("provisioningState") or "")


def _wait(
    azure: Azure,
    environment: str,
    names: list[str],
    deadline: float,
    changes: Changes,
    running: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Read each package until it ends (Succeeded, Failed, Canceled); DeployError if the deadline passes first."""
    ended: dict[str, dict[str, Any]] = {}
    last: dict[str, str] = {}
    pending = list(names)
    while True:
        for name in list(pending):
            with step(f"read package {name}"):
                document = azure.automation.package.get(azure.group, azure.account, environment, name).as_dict()
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
                + f"; {what_still_runs(running, environment, azure.options.runbook)}; run deploy again to go on"
            )
        time.sleep(azure.pace.poll_seconds)


def _judge(ended: dict[str, dict[str, Any]], environment: str, running: str | None, runbook: str) -> None:
    failed = {name: doc for name, doc in ended.items() if _state(doc) != "Succeeded"}
    if not failed:
        return
    lines = []
    for name, document in sorted(failed.items()):
        error = (document.get("properties") or {}).get("error") or {}
        lines.append(f"{name}: {_state(document)}: {error.get('code') or ''} {error.get('message') or ''}".rstrip())
    raise DeployError(
        f"Azure could not import every package into runtime environment {environment}; "
        f"{what_still_runs(running, environment, runbook)}:\n  "
        + "\n  ".join(lines)
        + f"\n{environment} is left for the next deploy, which imports again what failed"
    )


class _Pacer:
    """At most `count` starts in any `window` seconds. A start is counted from when Azure had answered it (`done`),
    never from before it was sent: the time a link or the request itself takes must not shorten the window."""

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

    def done(self) -> None:
        self.starts.append(time.monotonic())
