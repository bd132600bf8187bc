"""Prove the Azure Automation bundle on its target runtime: Python 3.10, every wheel installed on its own.

    python -m tests.support.runbook_on_target --python /path/to/python3.10 [--bundle DIR]

Without `--bundle` it runs `teams-licensing bundle-runbook` first (pip downloads the closure from the index). Then,
as Azure Automation does, it installs every wheel of the bundle into a fresh Python 3.10 environment with
`pip install --no-index --no-deps` (no resolution), runs `pip check`, and runs the bundled runbook from that
environment against the stateful fake tenant (the Contoso demo) served over loopback HTTP: plan, apply (holding
the tenant's lease in a fake Storage account over HTTPS, where the audit log is stored too), and plan again, which
must find nothing left to do. Exit 0 when all of it holds, 1 with the first thing that did not.
`.ci/run` runs this after the tests; run it by hand the same way to re-check a bundle.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.fakegraph import FakeGraph
from tests.support.fakestorage import FakeStorage
from tests.support.loopback import serving
from tests.support.shipped_demo import demo_fake_document
from tests.support.tokens import entra_token

ROOT = Path(__file__).resolve().parents[2]
DEMO_TENANT = ROOT / "config" / "examples" / "contoso-tenant.json"
DEMO_CONFIG = ROOT / "config" / "licensing.yaml"
RUNBOOK = "reconcile_licenses.py"
RUNBOOK_TIMEOUT = 600.0  # seconds; the demo takes about two
DEMO_TENANT_ID = "c0ffee00-0000-4000-8000-00000000beef"  # as the Graph token names it
STORAGE_TOKEN = "runbook-on-target-storage-not-a-secret"


class CheckFailed(Exception):
    """One step of the check did not hold; the message says which and why."""


@dataclass(frozen=True)
class RunbookRun:
    status: int
    result: dict[str, Any]
    output: str
    seconds: float


def run(command: Sequence[str], what: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(list(command), capture_output=True, text=True, check=False, **kwargs)
    if completed.returncode != 0:
        raise CheckFailed(f"{what} failed (exit {completed.returncode}):\n{completed.stdout}{completed.stderr}")
    return completed


def build_bundle(folder: Path) -> Path:
    bundle = folder / "bundle"
    run([sys.executable, "-m", "teamslicensing", "bundle-runbook", "--output", str(bundle)], "bundle-runbook", cwd=ROOT)
    return bundle


def install_bundle(python: str, bundle: Path, environment: Path) -> Path:
    """A Python 3.10 environment holding exactly the bundle's wheels, installed without dependency resolution."""
    run([python, "-m", "venv", str(environment)], "creating the Python 3.10 environment")
    target = environment / "bin" / "python"
    version = run([str(target), "-c", "import sys; print(*sys.version_info[:2], sep='.')"], "python --version")
    if version.stdout.strip() != "3.10":
        raise CheckFailed(f"{python} is Python {version.stdout.strip()}, not 3.10")
    wheels = sorted(str(p) for p in (bundle / "wheels").glob("*.whl"))
    if not wheels:
        raise CheckFailed(f"{bundle}/wheels holds no wheel")
    pip = [str(target), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "--quiet", "--no-index", "--no-deps", *wheels], "pip install --no-index --no-deps")
    run([*pip, "check"], "pip check")
    return target


def runbook_environment(
    graph_url: str, mode: str, config: Path, scratch: Path, storage: FakeStorage | None = None
) -> dict[str, str]:
    """The runbook's settings as Automation would hand them over, minus anything that could leak the checkout in;
    with `storage`, its container holds the audit log and the tenant's lease."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEAMS_LICENSING_", "PYTHON", "REQUESTS_"))}
    env.update(
        TEAMS_LICENSING_CONFIG=str(config),
        TEAMS_LICENSING_MODE=mode,
        TEAMS_LICENSING_GRAPH_URL=graph_url,
        TEAMS_LICENSING_ACCESS_TOKEN=entra_token(DEMO_TENANT_ID),
        TMPDIR=str(scratch),  # the apply-mode audit log
    )
    if storage is not None:
        env.update(
            TEAMS_LICENSING_AUDIT_CONTAINER=storage.container_url(),
            TEAMS_LICENSING_STORAGE_TOKEN=STORAGE_TOKEN,
            REQUESTS_CA_BUNDLE=str(storage.ca_path),
        )
    return env


def run_runbook(python: Path, bundle: Path, env: dict[str, str], cwd: Path, prefix: Sequence[str] = ()) -> RunbookRun:
    started = time.monotonic()
    completed = subprocess.run(
        [*prefix, str(python), str(bundle / RUNBOOK)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=RUNBOOK_TIMEOUT,
        check=False,
    )
    seconds = time.monotonic() - started
    lines = completed.stdout.splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise CheckFailed(
            f"the runbook printed no result line (exit {completed.returncode}):\n{completed.stdout}{completed.stderr}"
        ) from None
    if "Traceback" in completed.stderr or "Traceback" in completed.stdout:
        raise CheckFailed(f"the runbook printed a traceback:\n{completed.stderr}")
    expected = 0 if result.get("exitCode") == 3 else result.get("exitCode")  # error gaps complete the job
    if completed.returncode != expected:
        raise CheckFailed(f"exit {completed.returncode}, but the result line says {result.get('exitCode')}")
    return RunbookRun(completed.returncode, result, completed.stdout + completed.stderr, seconds)


def expect(condition: bool, message: str, attempt: RunbookRun) -> None:
    if not condition:
        raise CheckFailed(f"{message}; the runbook said:\n{attempt.output}")


def check(python: str, bundle: Path | None) -> list[str]:
    report = []
    with tempfile.TemporaryDirectory(prefix="runbook-on-target-") as folder:
        scratch = Path(folder)
        if bundle is None:
            bundle = build_bundle(scratch)
            report.append(f"bundle built: {bundle}")
        target = install_bundle(python, bundle, scratch / "py310")
        count = len(list((bundle / "wheels").glob("*.whl")))
        report.append(f"{count} wheels installed into Python 3.10 with --no-index --no-deps; pip check: no problems")
        where = run([str(target), "-c", "import teamslicensing; print(teamslicensing.__file__)"], "import", cwd=scratch)
        if not where.stdout.strip().startswith(str(scratch / "py310")):
            raise CheckFailed(f"teamslicensing was imported from {where.stdout.strip()}, not from the bundle")
        document = demo_fake_document()

        def fake(url: str) -> FakeGraph:
            return FakeGraph(copy.deepcopy(document), base_url=url)

        with serving(fake) as graph, FakeStorage(scratch, STORAGE_TOKEN) as storage:
            plan = run_runbook(target, bundle, runbook_environment(graph.url, "plan", DEMO_CONFIG, scratch), scratch)
            changes = plan.result.get("changes", 0)
            expect(plan.result.get("error") is None and plan.status in (0, 3), "plan mode failed", plan)
            expect(changes > 0 and not graph.fake.writes, "plan mode found nothing to do, or wrote", plan)
            report.append(f"plan: exit {plan.status}, {changes} changes, {plan.seconds:.1f} s")
            settings = runbook_environment(graph.url, "apply", DEMO_CONFIG, scratch, storage)
            apply = run_runbook(target, bundle, settings, scratch)
            applied, failed = apply.result.get("applied"), apply.result.get("failed")
            expect(apply.result.get("error") is None and apply.status in (0, 3), "apply mode failed", apply)
            expect(applied == changes and failed == 0, f"apply: {applied} applied, {failed} failed", apply)
            leased = storage.lease_actions(f"locks/{DEMO_TENANT_ID}")
            expect(leased == ["acquire 404", "acquire 201", "release 200"], f"the tenant's lease: {leased}", apply)
            expect(bool(apply.result.get("auditBlob")), "the audit log was not stored in the container", apply)
            report.append(f"apply: exit {apply.status}, {applied} applied, {failed} failed, {apply.seconds:.1f} s")
            report.append("apply held the tenant's lease in the fake Storage account and stored its audit log there")
            again = run_runbook(target, bundle, runbook_environment(graph.url, "plan", DEMO_CONFIG, scratch), scratch)
            expect(again.result.get("changes") == 0, "plan after apply still has changes", again)
            report.append(f"plan again: exit {again.status}, 0 changes")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", required=True, help="a Python 3.10 interpreter")
    parser.add_argument("--bundle", type=Path, help="an existing bundle folder (default: build one now)")
    args = parser.parse_args(argv)
    try:
        for line in check(args.python, args.bundle):
            print(f"runbook on target: {line}", flush=True)
    except (CheckFailed, subprocess.TimeoutExpired, OSError) as exc:
        print(f"runbook on target: FAILED: {exc}", file=sys.stderr)
        return 1
    print("runbook on target: the bundle installs and runs on Python 3.10")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
