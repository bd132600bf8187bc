"""`teams-licensing deploy automation`: the runbook bundle deployed to an Azure Automation account through Azure's
own management SDK (the `deploy` extra: azure-mgmt-automation for API 2024-10-23, azure-storage-blob,
azure-identity), idempotently: run again, it changes nothing and says so.

Order, and why: everything given is checked first (names, files, the configuration, the bundle against its
`bundle.json`), so bad input changes nothing. Then the account (its location and managed identity), the storage
containers and the wheels (`storage`), the bundle's own Python 3.10 runtime environment (`environment`: one per
bundle, so the runbook that runs keeps its packages while the new ones are imported) and one package per wheel,
waited for until every one is `Succeeded` (`packages`) — only then the runbook is moved to that environment and
published (`runbook`), since a runbook published on missing packages fails every job, and only after that are the
environments of earlier bundles removed. Then the settings (`settings`), the daily schedule and its link
(`schedule`), and last what a person must do: grant the identity its Graph roles and its storage role, which need
directory and role-assignment rights a deployment should not hold.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from teamslicensing import __version__
from teamslicensing.deploy.options import DailyAt, DeployOptions, Pace, check_options, parse_schedule
from teamslicensing.errors import UsageError

if TYPE_CHECKING:
    from teamslicensing.bundle.manifest import BundleContents
    from teamslicensing.deploy.account import AccountFacts
    from teamslicensing.deploy.connect import Azure
    from teamslicensing.deploy.report import Changes
    from teamslicensing.deploy.settings import SettingFile

__all__ = ["DailyAt", "DeployOptions", "DeployResult", "Pace", "deploy_automation", "parse_schedule", "require_extra"]

DEFAULT_PACE = Pace()


@dataclass(frozen=True)
class DeployResult:
    changes: tuple[str, ...]
    principal_id: str | None
    mode: str | None  # None: TeamsLicensing_Mode is encrypted, and was not read
    version: str


def require_extra() -> None:
    """The deploy extra's packages, or a UsageError saying how to install them (before anything else is done)."""
    missing = [name for name in ("azure.mgmt.automation", "azure.storage.blob") if not _importable(name)]
    if missing:
        raise UsageError(
            f"deploy needs the deploy extra ({', '.join(missing)} missing): "
            f"pip install 'teams-licensing[deploy]=={__version__}'"
        )


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def deploy_automation(options: DeployOptions, out: TextIO, pace: Pace | None = None) -> DeployResult:
    from teamslicensing.bundle.manifest import read_bundle
    from teamslicensing.config import load_desired_state
    from teamslicensing.deploy.connect import connect
    from teamslicensing.deploy.nextsteps import print_next_steps
    from teamslicensing.deploy.report import Changes
    from teamslicensing.errors import TeamsLicensingError

    check_options(options)
    if options.config is not None:
        load_desired_state(options.config)  # an invalid configuration stops here, with file:line:column
    files = _setting_files(options)
    with _bundle_folder(options.bundle) as folder:
        bundle = read_bundle(folder)
        print(f"Deploying teams-licensing {bundle.version} from {folder} to {options.account}", file=out, flush=True)
        if bundle.version != __version__:
            print(f"  note: this is teams-licensing {__version__}; the bundle is {bundle.version}", file=out)
        changes = Changes(out)
        try:
            with connect(options, pace or DEFAULT_PACE) as azure:
                outcome = _deploy(azure, bundle, files, changes)
        except (TeamsLicensingError, KeyboardInterrupt):
            print(changes.stopped(), file=out, flush=True)
            raise
        print(changes.summary(), file=out)
        grant = bundle.grant_script if options.bundle is not None else _installed_grant_script()
        print_next_steps(out, options, outcome.facts, outcome.mode, grant, outcome.readers, outcome.config_missing)
    return DeployResult(tuple(changes.made), outcome.facts.principal_id, outcome.mode, bundle.version)


@dataclass(frozen=True)
class _Outcome:
    facts: AccountFacts
    mode: str | None
    readers: list[str]  # containers the identity must read (settings stored as blobs)
    config_missing: bool


def _deploy(azure: Azure, bundle: BundleContents, files: dict[str, SettingFile], changes: Changes) -> _Outcome:
    """The steps, in the order the module docstring explains."""
    from teamslicensing.deploy import account, environment, packages, runbook, schedule, settings, storage
    from teamslicensing.deploy.options import WHEEL_CONTAINER

    options = azure.options
    facts = account.read_account(azure, changes)
    location = options.location or facts.location
    storage.ensure_container(azure, WHEEL_CONTAINER, changes)
    storage.upload_wheels(azure, WHEEL_CONTAINER, bundle.wheels, changes)
    running = runbook.current_environment(azure)
    target = environment.ensure_environment(azure, location, bundle, changes)
    links = storage.ReadLinks(azure, WHEEL_CONTAINER)
    packages.ensure_packages(azure, target, bundle, links, changes, running)
    runbook.ensure_runbook(azure, bundle, target, location, changes)
    environment.remove_replaced(azure, target, changes)
    stored = [settings.store_file(azure, variable, file, changes) for variable, file in files.items()]
    config_missing = settings.CONFIG_VARIABLE not in files and not settings.is_set(azure, settings.CONFIG_VARIABLE)
    mode = settings.ensure_mode(azure, options.mode, changes)
    settings.ensure_audit_container(azure, changes)
    if options.schedule is not None:
        schedule.ensure_schedule(azure, options.schedule, changes)
    readers = sorted({s.blob_container for s in stored if s.blob_container})
    return _Outcome(facts, mode, readers, config_missing)


def _setting_files(options: DeployOptions) -> dict[str, SettingFile]:
    """The files to store as settings, read (and found to be UTF-8 text) before anything is sent."""
    from teamslicensing.deploy.settings import CONFIG_VARIABLE, NUMBERS_VARIABLE, SettingFile

    files: dict[str, SettingFile] = {}
    for variable, path in ((CONFIG_VARIABLE, options.config), (NUMBERS_VARIABLE, options.numbers)):
        if path is None:
            continue
        try:
            files[variable] = SettingFile(path.name, path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); nothing was sent") from None
    return files


@contextlib.contextmanager
def _bundle_folder(given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    from teamslicensing.bundle import make_bundle

    with tempfile.TemporaryDirectory(prefix="teams-licensing-deploy-") as scratch:
        built = make_bundle(Path(scratch) / "bundle")
        yield built.output


def _installed_grant_script() -> Path:
    return Path(str(importlib.resources.files("teamslicensing.runbooks") / "grant-permissions.sh"))
