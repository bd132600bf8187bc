"""What `deploy automation` is asked to do, checked before anything is sent: names as Azure's specification
patterns them, the clouds' endpoints, the schedule, and how long to wait for what.

An endpoint given with `--arm-url`/`--blob-url` is taken off this machine only with its token variable set: without
it DefaultAzureCredential signs in, and a real Azure token must never go to whatever https host was typed.

Schedules are in UTC. The specification leaves `timeZone` an untyped string with only "UTC" in its examples, and a
time in UTC has no daylight-saving gap or repeat; an admin in another zone converts once (06:00 in Berlin is 05:00
UTC in winter). A schedule must start at least five minutes after it is created (the service's rule): the first run
is the next `HH:MM` at least ten minutes ahead, the extra five for clock skew and the time the request takes.
"""

from __future__ import annotations

import ipaddress
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from teamslicensing.errors import UsageError

# used as the bearer token for Azure Resource Manager, as it is (and required for an --arm-url off this machine)
ARM_TOKEN_ENV = "TEAMS_LICENSING_ARM_TOKEN"
STORAGE_TOKEN_ENV = "TEAMS_LICENSING_STORAGE_TOKEN"  # ... and for Blob Storage (and --blob-url)

DEFAULT_RUNTIME_ENVIRONMENT = "teams-licensing-py310"
DEFAULT_RUNBOOK = "Reconcile-TeamsLicenses"
SCHEDULE_NAME = "teams-licensing-daily"
WHEEL_CONTAINER = "teams-licensing-wheels"
CONFIG_CONTAINER = "teams-licensing-config"
AUDIT_CONTAINER = "teams-licensing-audit"
SCHEDULE_LEAD = timedelta(minutes=10)  # the service wants 5; see the docstring


@dataclass(frozen=True)
class Cloud:
    arm_url: str
    blob_suffix: str
    authority_host: str

    @property
    def arm_scope(self) -> str:
        return f"{self.arm_url}/.default"


# Azure Government's DoD regions are managed through the same Resource Manager endpoint as its other regions
CLOUDS: dict[str, Cloud] = {
    "global": Cloud("https://management.azure.com", "blob.core.windows.net", "login.microsoftonline.com"),
    "usgov": Cloud("https://management.usgovcloudapi.net", "blob.core.usgovcloudapi.net", "login.microsoftonline.us"),
    "usgovdod": Cloud(
        "https://management.usgovcloudapi.net", "blob.core.usgovcloudapi.net", "login.microsoftonline.us"
    ),
    "china": Cloud("https://management.chinacloudapi.cn", "blob.core.chinacloudapi.cn", "login.chinacloudapi.cn"),
}


@dataclass(frozen=True)
class DailyAt:
    """`daily@HH:MM`, UTC."""

    at: time

    def next_start(self, now: datetime) -> datetime:
        """The first run: the next HH:MM (UTC) that is at least SCHEDULE_LEAD after `now` (an aware datetime)."""
        start = now.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)
        while start < now + SCHEDULE_LEAD:
            start += timedelta(days=1)
        return start

    def __str__(self) -> str:
        return f"daily at {self.at.strftime('%H:%M')} UTC"


def parse_schedule(text: str) -> DailyAt:
    match = re.fullmatch(r"daily@([01]?\d|2[0-3]):([0-5]\d)", text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a schedule: write daily@HH:MM (UTC), e.g. daily@06:00")
    return DailyAt(time(int(match.group(1)), int(match.group(2))))


@dataclass(frozen=True)
class DeployOptions:
    subscription: str
    resource_group: str
    account: str
    storage_account: str
    storage_resource_group: str | None = None  # default: resource_group
    location: str | None = None  # default: the Automation account's
    config: Path | None = None
    numbers: Path | None = None
    schedule: DailyAt | None = None
    runtime_environment: str = (
        DEFAULT_RUNTIME_ENVIRONMENT  # the prefix: one environment per bundle, PREFIX-VERSION-DIGEST
    )
    runbook: str = DEFAULT_RUNBOOK
    bundle: Path | None = None  # default: build one
    mode: str | None = None  # TeamsLicensing_Mode; default: "plan" when the variable is not there, else left
    cloud: str = "global"
    arm_url: str | None = None
    blob_url: str | None = None
    timeout: float = 30 * 60.0  # seconds for the package imports, and for each asynchronous operation

    @property
    def endpoints(self) -> Cloud:
        return CLOUDS[self.cloud]

    @property
    def arm(self) -> str:
        return (self.arm_url or self.endpoints.arm_url).rstrip("/")

    @property
    def blob(self) -> str:
        default = f"https://{self.storage_account}.{self.endpoints.blob_suffix}"
        return (self.blob_url or default).rstrip("/")

    @property
    def storage_group(self) -> str:
        return self.storage_resource_group or self.resource_group


@dataclass(frozen=True)
class Pace:
    """How often to look and how long to wait. Azure imports at most five packages every 30 seconds per account."""

    poll_seconds: float = 10.0  # between reads of a package's provisioningState, and between operation polls
    imports_per_window: int = 5
    window_seconds: float = 30.0


def check_options(options: DeployOptions) -> None:
    """Every name as Azure patterns it, and each URL an https one; all problems at once, before any request."""
    problems: list[str] = []
    try:
        uuid.UUID(options.subscription)
    except ValueError:
        problems.append(f"--subscription {options.subscription!r}: a subscription id is a UUID")
    for flag, value in (
        ("--resource-group", options.resource_group),
        ("--storage-resource-group", options.storage_group),
    ):
        if not (re.fullmatch(r"[-\w._]+", value) and 1 <= len(value) <= 90):
            problems.append(f"{flag} {value!r}: 1 to 90 letters, digits, '-', '_', '.'")
    if not re.fullmatch(r"[A-Za-z0-9][-A-Za-z0-9]{4,48}[A-Za-z0-9]", options.account):
        problems.append(
            f"--account {options.account!r}: 6 to 50 letters, digits and '-', not starting or ending with '-'"
        )
    for flag, value in (("--runtime-environment", options.runtime_environment), ("--runbook", options.runbook)):
        if not re.fullmatch(r"[a-zA-Z][a-zA-Z-_0-9]*", value):
            problems.append(f"{flag} {value!r}: a letter, then letters, digits, '-' or '_'")
    if not re.fullmatch(r"[a-z0-9]{3,24}", options.storage_account):
        problems.append(f"--storage-account {options.storage_account!r}: 3 to 24 lower-case letters and digits")
    for flag, url, variable in (
        ("--arm-url", options.arm_url, ARM_TOKEN_ENV),
        ("--blob-url", options.blob_url, STORAGE_TOKEN_ENV),
    ):
        if url is not None and not url.startswith("https://"):
            problems.append(f"{flag} {url!r}: an https:// URL (tokens are never sent in the clear)")
        elif url is not None and not os.environ.get(variable) and not _loopback(url):
            problems.append(
                f"{flag} {url!r}: only with {variable} set, or to this machine (127.0.0.1, ::1, localhost): "
                "without it DefaultAzureCredential signs in, and its Azure tokens go only to Azure's own endpoints"
            )
    for flag, path in (("--config", options.config), ("--numbers", options.numbers)):
        if path is not None and not path.is_file():
            problems.append(f"{flag} {path}: no such file")
    if options.bundle is not None and not options.bundle.is_dir():
        problems.append(f"--bundle {options.bundle}: no such folder")
    if problems:
        raise UsageError("deploy automation: nothing was sent to Azure:\n  " + "\n  ".join(problems))


def _loopback(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
