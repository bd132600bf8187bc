#!/usr/bin/env python3
"""Azure Automation runbook (Python 3.10 runtime): plan, or apply, Teams voice licenses as a configuration declares.

Signs in with the Automation account's managed identity (system-assigned, or the user-assigned one named by
`TeamsLicensing_ManagedIdentityClientId`); no other secret. Needs the `teams-licensing` package and its dependencies
uploaded to the runtime environment as Linux cp310 wheels.

Settings come from Automation variables when `automationassets` can be imported (inside Azure Automation), else, and
for any variable not defined, from environment variables of the same meaning, so the runbook runs anywhere:

    Automation variable                     environment variable                         meaning
    TeamsLicensing_Config                   TEAMS_LICENSING_CONFIG                       YAML text, a file or a blob URL
    TeamsLicensing_Mode                     TEAMS_LICENSING_MODE                         plan (default), apply or usage
    TeamsLicensing_UsageDays                TEAMS_LICENSING_USAGE_DAYS                   usage mode: days (default 90)
    TeamsLicensing_AuditContainer           TEAMS_LICENSING_AUDIT_CONTAINER              blob container: audit, lease
    TeamsLicensing_LeaseWait                TEAMS_LICENSING_LEASE_WAIT                   minutes (default 10)
    TeamsLicensing_History                  TEAMS_LICENSING_HISTORY                      run history blob (or off)
    TeamsLicensing_MaxChanges               TEAMS_LICENSING_MAX_CHANGES                  overrides policy.maxChanges
    TeamsLicensing_MaxRemovals              TEAMS_LICENSING_MAX_REMOVALS                 overrides policy.maxRemovals
    TeamsLicensing_TimeBudget               TEAMS_LICENSING_TIME_BUDGET                  minutes (default 150)
    TeamsLicensing_ManagedIdentityClientId  TEAMS_LICENSING_MANAGED_IDENTITY_CLIENT_ID   user-assigned identity
    TeamsLicensing_Cloud                    TEAMS_LICENSING_CLOUD                        global, usgov, usgovdod, china
    TeamsLicensing_GraphUrl                 TEAMS_LICENSING_GRAPH_URL                    Graph endpoint override
    TeamsLicensing_AccessToken              TEAMS_LICENSING_ACCESS_TOKEN                 bearer token (tests, emulators)
    TeamsLicensing_StorageToken             TEAMS_LICENSING_STORAGE_TOKEN                Storage token (tests)

With an audit container, apply mode also holds the tenant's lease there (`locks/<tenant id>`) from before the
tenant is read to the end: one job per tenant at a time, whatever sandbox each runs in. Every plan or apply job also
appends its summary to the run history there (`history.jsonl`, an append blob; `TeamsLicensing_History` names
another, or `off`), after showing the tenant's last runs in its output; `teams-licensing plan --history` reads a
downloaded copy.

Output: a human summary, then one JSON line (`{"teamsLicensing": 1, ...}`) with the result, also when a write
failed, the time budget ran out or the job was stopped (SIGTERM): what was applied, failed and not attempted. Its
`exitCode`: 0 when all is well; 1 on a bad setting or configuration, a Graph or Storage error, a plan over a limit,
any failed write, or the tenant's lease lost; 4 when the time budget (default 150 minutes, below Azure Automation's
3-hour fair share) left work for the next run, or another job held the tenant's lease for all of the lease wait
(`stopped.reason` "tenantLocked"); 3 when error-severity gaps remain (in every mode); 143 when stopped by SIGTERM.
The process exits with the same status, except 3, in every mode: error gaps are findings about users, reported in
the output and the JSON line (`exitCode` 3, `errorGaps`), not a failure of the run, so the job completes
(`job_status`), as `plan --detailed-exitcode`'s 3 and apply's 3 pass the CI recipes' steps. Any other non-zero
status fails the Automation job. Pending changes in plan mode are not a failure either.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from teamslicensing.job import JobSettings

RESULT_VERSION = 1
FAILED_BEFORE_START = 1  # teamslicensing.exitcodes.EXIT_FAILURE, spelled out: the package may be what is missing
MODES = ("plan", "apply", "usage")
CLOUDS = ("global", "usgov", "usgovdod", "china")  # teamslicensing.graph.CLOUDS
DEFAULT_TIME_BUDGET_MINUTES = 150  # Azure Automation stops a job after 3 hours (fair share): finish well before
DEFAULT_LEASE_WAIT_MINUTES = 10  # how long apply mode waits for another job's lease on the tenant
HISTORY_OFF = ("off", "none", "false", "no", "0", "disabled")
HISTORY_BLOB = "history.jsonl"  # each run's summary, appended in the audit container (`teams-licensing --history`)

# setting -> (Automation variable, environment variable)
SETTINGS: dict[str, tuple[str, str]] = {
    "config": ("TeamsLicensing_Config", "TEAMS_LICENSING_CONFIG"),
    "mode": ("TeamsLicensing_Mode", "TEAMS_LICENSING_MODE"),
    "max_changes": ("TeamsLicensing_MaxChanges", "TEAMS_LICENSING_MAX_CHANGES"),
    "max_removals": ("TeamsLicensing_MaxRemovals", "TEAMS_LICENSING_MAX_REMOVALS"),
    "time_budget": ("TeamsLicensing_TimeBudget", "TEAMS_LICENSING_TIME_BUDGET"),
    "usage_days": ("TeamsLicensing_UsageDays", "TEAMS_LICENSING_USAGE_DAYS"),
    "audit_container": ("TeamsLicensing_AuditContainer", "TEAMS_LICENSING_AUDIT_CONTAINER"),
    "lease_wait": ("TeamsLicensing_LeaseWait", "TEAMS_LICENSING_LEASE_WAIT"),
    "history": ("TeamsLicensing_History", "TEAMS_LICENSING_HISTORY"),
    "storage_token": ("TeamsLicensing_StorageToken", "TEAMS_LICENSING_STORAGE_TOKEN"),
    "managed_identity_client_id": (
        "TeamsLicensing_ManagedIdentityClientId",
        "TEAMS_LICENSING_MANAGED_IDENTITY_CLIENT_ID",
    ),
    "cloud": ("TeamsLicensing_Cloud", "TEAMS_LICENSING_CLOUD"),
    "graph_url": ("TeamsLicensing_GraphUrl", "TEAMS_LICENSING_GRAPH_URL"),
    "access_token": ("TeamsLicensing_AccessToken", "TEAMS_LICENSING_ACCESS_TOKEN"),
}


class SettingError(Exception):
    """A runbook setting is missing or malformed."""


def automation_variable_reader() -> Callable[[str], str | None] | None:
    """`automationassets.get_automation_variable` inside Azure Automation; None elsewhere (it is not on PyPI)."""
    try:
        assets: Any = importlib.import_module("automationassets")
    except ImportError:
        return None

    def read(name: str) -> str | None:
        try:
            value = assets.get_automation_variable(name)
        except Exception:  # an undefined variable raises; the environment may still have the setting
            return None
        return None if value is None else str(value)

    return read


def read_settings(
    variables: Callable[[str], str | None] | None, environ: dict[str, str] | os._Environ[str] | None = None
) -> JobSettings:
    """The job's settings: each from its Automation variable, else its environment variable; a bad one is a
    SettingError naming both."""
    from teamslicensing.job import JobSettings

    environ = os.environ if environ is None else environ
    raw: dict[str, str | None] = {}
    for key, (variable, env) in SETTINGS.items():
        value = variables(variable) if variables is not None else None
        if value is None or not value.strip():
            value = environ.get(env)
        raw[key] = value.strip() if value is not None and key != "config" else value
        if raw[key] == "":
            raw[key] = None
    config = raw["config"]
    if config is None or not config.strip():
        raise SettingError(
            f"no configuration: set the Automation variable {SETTINGS['config'][0]} or {SETTINGS['config'][1]}"
        )
    mode = (raw["mode"] or "plan").lower()
    if mode not in MODES:
        raise SettingError(f"{_names('mode')} is {raw['mode']!r}: use 'plan', 'apply' or 'usage'")
    max_changes = _whole_number(raw, "max_changes")
    max_removals = _whole_number(raw, "max_removals")
    budget = _whole_number(raw, "time_budget")
    time_budget = float(budget) if budget is not None else float(DEFAULT_TIME_BUDGET_MINUTES)
    cloud = (raw["cloud"] or "global").lower()
    if cloud not in CLOUDS:
        raise SettingError(f"{_names('cloud')} is {raw['cloud']!r}: use one of {', '.join(CLOUDS)}")
    usage_days = _whole_number(raw, "usage_days")
    lease_wait = _whole_number(raw, "lease_wait")
    if usage_days == 0:
        raise SettingError(f"{_names('usage_days')} is 0: use a whole number of days ≥ 1 (default 90)")
    container = raw["audit_container"]
    if container is not None:  # checked before any write: a typo must not lose the durable log of an apply
        from teamslicensing.graph.blob import BlobError, checked_container

        try:
            container = checked_container(container)
        except BlobError as exc:
            raise SettingError(f"{_names('audit_container')}: {exc}") from exc
    return JobSettings(
        config,
        mode,
        max_changes,
        max_removals,
        time_budget,
        raw["managed_identity_client_id"],
        cloud,
        raw["graph_url"],
        raw["access_token"],
        usage_days or 90,
        container,
        raw["storage_token"],
        float(DEFAULT_LEASE_WAIT_MINUTES if lease_wait is None else lease_wait),
        SETTINGS,
        history=_history(raw["history"], container),
    )


def _history(name: str | None, container: str | None) -> str | None:
    """The history blob's name: HISTORY_BLOB by default beside the audit logs, none with `off`. A name is a blob in
    the audit container ending in .jsonl: no URL, no `.`/`..` segment (the HTTP client would resolve it out of
    the container), nothing a URL would read otherwise."""
    if name is not None and name.lower() in HISTORY_OFF:
        return None
    if container is None:  # the default name (deploy sets it) means no history without a container; another, a slip
        if name is not None and name != HISTORY_BLOB:
            raise SettingError(f"{_names('history')} needs {_names('audit_container')}: the history is kept there")
        return None
    name = name or HISTORY_BLOB
    segments = name.split("/")
    if (
        len(name) > 1024
        or not name.endswith(".jsonl")
        or any(segment in ("", ".", "..") for segment in segments)
        or any(ord(c) < 0x20 or c in "\\?#%:" for c in name)
    ):
        raise SettingError(
            f"{_names('history')} is {name!r}: give the name of a blob in the audit container ending in .jsonl "
            f"(default {HISTORY_BLOB}), or off"
        )
    return name


def _whole_number(raw: dict[str, str | None], key: str) -> int | None:
    text = raw[key]
    if text is None:
        return None
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise SettingError(f"{_names(key)} is {text!r}: use a whole number ≥ 0")
    return number


def _names(key: str) -> str:
    variable, env = SETTINGS[key]
    return f"{variable} / {env}"


@contextlib.contextmanager
def config_file(config: str) -> Iterator[Path]:
    """The configuration as a file: the path given, or the YAML text in a temporary file named after the variable."""
    stripped = config.strip()
    if "\n" not in stripped and not stripped.startswith("{"):
        path = Path(stripped).expanduser()
        if path.is_file():
            yield path
            return
        if stripped.endswith((".yaml", ".yml")) or ":" not in stripped:
            raise SettingError(f"configuration file not found: {stripped}")
    with tempfile.TemporaryDirectory(prefix="teams-licensing-") as folder:
        path = Path(folder) / f"{SETTINGS['config'][0]}.yaml"
        path.write_text(config, encoding="utf-8")
        yield path


def main(out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the job; its exit code (also the JSON line's `exitCode`)."""
    out = out or sys.stdout
    err = err or sys.stderr
    document: dict[str, Any] = {"teamsLicensing": RESULT_VERSION, "mode": None}
    with _signals_stop():  # from the first thing: a job stopped while it starts still ends with its JSON line
        try:
            return _main(document, out, err)
        except KeyboardInterrupt as exc:  # a signal outside the writes (which stop on their own and report)
            code = int(getattr(exc, "exit_code", 130))  # _Stopped here, or app.signals.SignalStop from a read
            name = "SIGTERM" if code == 143 else "SIGINT"
            return _fail(out, err, document, f"{name} received outside the writes: nothing more was written", code)
        except SettingError as exc:
            return _fail(out, err, document, str(exc))
        except MemoryError:  # the sandbox's 400 MB: the job still ends with its summary line and the JSON line
            message = "out of memory (Azure Automation gives a job 400 MB): stopped; the audit records in this output "
            return _fail(out, err, document, message + "name every write that was sent")
        except OSError as exc:  # a file the system refused: a message, like the CLI's
            return _fail(out, err, document, f"{exc.filename or 'error'}: {exc.strerror or exc}")
        except Exception as exc:  # a bug: still one line and the JSON line, never a bare traceback in the job
            if _is_tool_error(exc):
                return _fail(out, err, document, str(exc))
            message = f"internal error: {type(exc).__name__}: {exc} (a bug in teams-licensing)"
            return _fail(out, err, document, message)


def _main(document: dict[str, Any], out: TextIO, err: TextIO) -> int:
    try:
        import teamslicensing.errors  # noqa: F401 -- the package is what may be missing
    except ImportError as exc:  # the package is not in the runtime environment
        return _fail(out, err, document, f"cannot import teamslicensing: {exc}; upload its wheels first")
    settings = read_settings(automation_variable_reader())
    document["mode"] = settings.mode
    from teamslicensing.graph.blobread import stored_text  # a blob URL deploy stored: its text
    from teamslicensing.job import run_job

    config = stored_text(settings.config, settings.managed_identity_client_id, settings.storage_token)
    with config_file(config) as path:
        return run_job(settings, path, document, out, err, _json_line)


def _is_tool_error(exc: Exception) -> bool:
    """A TeamsLicensingError: a message for the admin, not a bug (the package may not import, so looked up)."""
    errors = sys.modules.get("teamslicensing.errors")
    return errors is not None and isinstance(exc, errors.TeamsLicensingError)


def job_status(code: int) -> int:
    """The process's exit status for a result's `exitCode`: 3 (error gaps remain, everything else done) completes
    the job, in every mode; the JSON line still says 3."""
    return 0 if code == 3 else code


class _Stopped(KeyboardInterrupt):
    """SIGTERM (the job being stopped) or SIGINT outside the writing phase, which handles both itself. A
    KeyboardInterrupt because asyncio lets only that (and SystemExit) through a transport's callbacks: raised while
    a socket write was under way, anything else was swallowed as a "fatal write error" and the run went on."""

    def __init__(self, name: str, code: int) -> None:
        super().__init__(name)
        self.exit_code = code


@contextlib.contextmanager
def _signals_stop() -> Iterator[None]:
    """SIGTERM and SIGINT end the job with the summary and the JSON line, wherever it is (the writes and the reads
    answer them with handlers of their own for a while, and report them). The first one raises _Stopped; the job
    is ending from then on, and a later one is let go: raising again could cut that ending short."""
    import signal

    raised: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        if not raised:
            raised.append(signum)
            raise _Stopped(signal.Signals(signum).name, 128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _json_line(document: dict[str, Any], out: TextIO) -> None:
    """The JSON line, the job's last output, written whole: a signal that comes meanwhile is let go (the job ends
    as this line says, at once)."""
    import signal

    line = json.dumps(document, separators=(",", ":")) + "\n"
    held = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        out.write(line)
        out.flush()
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)


def _fail(out: TextIO, err: TextIO, document: dict[str, Any], message: str, code: int = FAILED_BEFORE_START) -> int:
    print(message, file=err)
    err.flush()
    document.update({"exitCode": code, "error": message, "stopped": _stopped(code, message)})
    _json_line(document, out)
    return code


def _stopped(code: int, message: str) -> dict[str, str] | None:
    reasons = {143: "terminated", 130: "interrupted"}  # teamslicensing.model.outcome.StopReason's values
    return {"reason": reasons[code], "message": message} if code in reasons else None


if __name__ == "__main__":
    sys.exit(job_status(main()))
