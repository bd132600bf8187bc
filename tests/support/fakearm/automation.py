"""The fake Azure Resource Manager for one Automation account: routing, and the account itself. Runtime
environments and their packages are in `environments`, runbooks in `runbooks`, schedules, job schedules and
variables in `assets` (see `spec` for sources).

Every request needs the ARM bearer token the test gives and `api-version=2024-10-23`; Automation's errors are the
flat `{"code", "message"}` of the specification's ErrorResponse, ARM's own (authentication, api-version, unknown
path) the `{"error": {...}}` envelope. Lists are paged two items a page (`nextLink`), so a client reading one page
only misses some. `fail_imports` fails the imports of chosen packages with a message of the test's choosing.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.support.fakearm import spec
from tests.support.fakearm.server import Request, Response

Handler = Callable[["FakeAutomation", Request, "re.Match[str]"], Response]


@dataclass
class Logged:
    """One request as the fake saw it, with every package's state at that moment."""

    at: datetime
    method: str
    path: str  # below the account, e.g. /runbooks/Reconcile/publish
    status: int
    packages: dict[str, str]


@dataclass
class PackageState:
    name: str
    content_link: dict[str, Any]
    step: int = 0  # index into spec.IMPORT_PATH
    error: dict[str, str | None] = field(default_factory=lambda: {"code": None, "message": None})
    failed: bool = False
    size: int = 0
    version: str | None = None
    content_sha256: str | None = None  # of the bytes the import fetched (tests read it; Azure never returns it)

    @property
    def state(self) -> str:
        return "Failed" if self.failed else spec.IMPORT_PATH[self.step]


@dataclass
class FakeAutomation:
    subscription: str
    resource_group: str
    account: str
    location: str
    token: str
    ca_file: Path
    identity_principal: str = "0f0e0d0c-1111-4222-8333-444455556666"
    identity_type: str = "SystemAssigned"
    fail_imports: dict[str, str] = field(default_factory=dict)
    operation_polls: int = 2  # status reads an asynchronous operation stays in progress for
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    origin: str = ""  # https://127.0.0.1:PORT, set once the server is bound
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    packages: dict[str, dict[str, PackageState]] = field(default_factory=dict)  # environment -> name -> state
    runbooks: dict[str, Any] = field(default_factory=dict)
    operations: dict[str, Any] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    job_schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # started by tests: `job(...)`
    log: list[Logged] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def prefix(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/"
            f"{spec.PROVIDER}/automationAccounts/{self.account}"
        )

    def resource_id(self, below: str) -> str:
        return f"{self.prefix}{below}"

    def answer(self, request: Request) -> Response:
        with self.lock:
            response, below = self._route(request)
            states = {f"{env}/{n}": p.state for env, found in self.packages.items() for n, p in found.items()}
            self.log.append(Logged(self.now(), request.method, below, response.status, states))
            return response

    def job(self, runbook: str, environment: str, status: str) -> dict[str, Any]:
        """A job of `runbook` on `environment` (as listJobsByAutomationAccount.json shows one); its document, whose
        `properties.status` a test may change."""
        identifier = f"{len(self.jobs) + 1:08d}-0000-4000-8000-000000000000"
        self.jobs[identifier] = {
            "name": identifier,
            "type": "Microsoft.Automation/AutomationAccounts/Jobs",
            "id": self.resource_id(f"/jobs/{identifier}"),
            "properties": {
                "jobId": identifier,
                "runbook": {"name": runbook},
                "jobRuntimeEnvironment": {"runtimeEnvironmentName": environment},
                "status": status,
                "provisioningState": "Succeeded",
                "creationTime": self.now().isoformat(),
            },
        }
        return self.jobs[identifier]

    def requests(self, method: str, pattern: str) -> list[Logged]:
        return [entry for entry in self.log if entry.method == method and re.fullmatch(pattern, entry.path)]

    def writes(self) -> list[Logged]:
        return [entry for entry in self.log if entry.method in ("PUT", "POST", "PATCH", "DELETE")]

    def _route(self, request: Request) -> tuple[Response, str]:
        if request.header("authorization") != f"Bearer {self.token}":
            return arm_error(401, "AuthenticationFailed", "Authentication failed: no valid bearer token."), request.path
        if request.query.get("api-version") != spec.API_VERSION:
            message = f"api-version {request.query.get('api-version')!r}: this fake serves {spec.API_VERSION} only"
            return arm_error(400, "InvalidApiVersionParameter", message), request.path
        if not request.path.lower().startswith(self.prefix.lower()):
            return arm_error(404, "ResourceNotFound", f"no resource at {request.path}"), request.path
        below = request.path[len(self.prefix) :] or "/"
        from tests.support.fakearm.assets import ASSET_ROUTES
        from tests.support.fakearm.environments import ENVIRONMENT_ROUTES
        from tests.support.fakearm.runbooks import RUNBOOK_ROUTES

        for method, pattern, handler in (*ROUTES, *ENVIRONMENT_ROUTES, *RUNBOOK_ROUTES, *ASSET_ROUTES):
            match = re.fullmatch(pattern, below)
            if match and method == request.method:
                return handler(self, request, match), below
        return arm_error(405, "MethodNotAllowed", f"{request.method} {below} is not in the fake"), below


def arm_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"error": {"code": code, "message": message}})


def automation_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"code": code, "message": message})


def json_response(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(document).encode(), {"Content-Type": "application/json", **(headers or {})})


def body_of(request: Request) -> dict[str, Any] | None:
    try:
        document = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    return document if isinstance(document, dict) else None


def stamp(fake: FakeAutomation) -> str:
    return fake.now().isoformat(timespec="milliseconds")


PAGE = 2


def paged(fake: FakeAutomation, request: Request, below: str, items: list[dict[str, Any]]) -> Response:
    """One page of `items` (in name order), and a `nextLink` when there are more."""
    found = sorted(items, key=lambda document: str(document["name"]))
    skip = int(request.query.get("$skiptoken") or 0)
    page: dict[str, Any] = {"value": found[skip : skip + PAGE]}
    if skip + PAGE < len(found):
        base = f"{fake.origin}{fake.resource_id(below)}"
        page["nextLink"] = f"{base}?api-version={spec.API_VERSION}&$skiptoken={skip + PAGE}"
    return json_response(200, page)


# ---- the account -------------------------------------------------------------------------------------------


def get_account(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    return json_response(200, account_document(fake))


def patch_account(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    body = body_of(request)
    if body is None:
        return automation_error(400, "BadRequest", "the body is not a JSON object")
    identity = body.get("identity")
    if isinstance(identity, dict) and "type" in identity:
        if identity["type"] not in ("SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None"):
            return automation_error(
                400, "BadRequest", f"identity type {identity['type']!r} is not a ResourceIdentityType"
            )
        fake.identity_type = identity["type"]
    return json_response(200, account_document(fake))


def account_document(fake: FakeAutomation) -> dict[str, Any]:
    identity: dict[str, Any] = {"type": fake.identity_type}
    if "SystemAssigned" in fake.identity_type:
        identity.update(principalId=fake.identity_principal, tenantId="72f988bf-0000-4000-8000-000000000001")
    return {
        "id": fake.prefix,
        "name": fake.account,
        "type": spec.TYPES["account"],
        "location": fake.location,
        "identity": identity,
        "properties": {"state": "Ok", "sku": {"name": "Basic"}},
    }


ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", r"/?", get_account),
    ("PATCH", r"/?", patch_account),
)
