"""The fake Azure Resource Manager for one Automation account: routing, the account, runtime environments and their
packages. Runbooks are in `runbooks`, schedules, job schedules and variables in `assets` (see `spec` for sources).

Every request needs the ARM bearer token the test gives and `api-version=2024-10-23`; Automation's errors are the
flat `{"code", "message"}` of the specification's ErrorResponse, ARM's own (authentication, api-version, unknown
path) the `{"error": {...}}` envelope. A package import runs as the service's does, asynchronously: the PUT answers
`Creating` and each later read of the package moves it one state on (`spec.IMPORT_PATH`); on its first step the fake
fetches the content link over HTTPS as Azure would, checks its SHA-256 against `contentHash` and that the wheel is
one the Python 3.10 sandbox takes, and fails the import with a message when it is not. `fail_imports` fails chosen
packages with a message of the test's choosing.
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

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
        from tests.support.fakearm.runbooks import RUNBOOK_ROUTES

        for method, pattern, handler in (*ROUTES, *RUNBOOK_ROUTES, *ASSET_ROUTES):
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


# ---- runtime environments -------------------------------------------------------------------------------------


def get_environment(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    found = fake.environments.get(match["env"])
    if found is None:
        return automation_error(404, "NotFound", f"runtime environment {match['env']} not found")
    return json_response(200, found)


def put_environment(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    name = match["env"]
    if not re.fullmatch(spec.ENVIRONMENT_NAME, name):
        return automation_error(400, "BadRequest", f"runtimeEnvironmentName {name!r} does not match the pattern")
    body = body_of(request)
    runtime = ((body or {}).get("properties") or {}).get("runtime") or {}
    if body is None or not body.get("location"):
        return automation_error(400, "BadRequest", "a runtime environment is a tracked resource: location is required")
    language, version = runtime.get("language"), runtime.get("version")
    if version not in spec.RUNTIMES.get(str(language), ()):
        return automation_error(400, "BadRequest", f"runtime {language} {version} is not offered")
    existing = fake.environments.get(name)
    if existing is not None and existing["properties"]["runtime"] != {"language": language, "version": version}:
        return automation_error(400, "BadRequest", "Runtime language and Runtime version are immutable properties")
    document = {
        "id": fake.resource_id(f"/runtimeEnvironments/{name}"),
        "name": name,
        "type": spec.TYPES["runtimeEnvironment"],
        "location": body["location"],
        "tags": body.get("tags") or {},
        "properties": {
            "runtime": {"language": language, "version": version},
            "defaultPackages": body["properties"].get("defaultPackages") or {},
            "description": body["properties"].get("description"),
        },
        "systemData": {"createdAt": stamp(fake), "lastModifiedAt": stamp(fake)},
    }
    fake.environments[name] = document
    fake.packages.setdefault(name, {})
    return json_response(200 if existing is not None else 201, document)


# ---- packages of a runtime environment -------------------------------------------------------------------------


def put_package(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    env, name = match["env"], match["name"]
    if env not in fake.environments:
        return automation_error(404, "NotFound", f"runtime environment {env} not found")
    body = body_of(request) or {}
    link = (body.get("properties") or {}).get("contentLink")
    if not isinstance(link, dict):
        return automation_error(400, "BadRequest", "properties.contentLink is required")
    content_hash = link.get("contentHash")
    if content_hash is not None and not (
        isinstance(content_hash, dict) and content_hash.keys() >= {"algorithm", "value"}
    ):
        return automation_error(400, "BadRequest", "contentHash needs algorithm and value")
    existing = fake.packages[env].get(name)
    if existing is not None and existing.state not in spec.TERMINAL_PACKAGE_STATES:
        return automation_error(
            409, "Conflict", f"package {name} is being imported ({existing.state}); try again later"
        )
    fake.packages[env][name] = PackageState(name, link)
    return json_response(200 if existing is not None else 201, package_document(fake, env, fake.packages[env][name]))


def get_package(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    found = fake.packages.get(match["env"], {}).get(match["name"])
    if found is None:
        return automation_error(404, "NotFound", f"package {match['name']} not found")
    advance(fake, found)
    return json_response(200, package_document(fake, match["env"], found))


def list_packages(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    if match["env"] not in fake.environments:
        return automation_error(404, "NotFound", f"runtime environment {match['env']} not found")
    found = list(fake.packages[match["env"]].values())
    for package in found:
        advance(fake, package)
    return json_response(200, {"value": [package_document(fake, match["env"], p) for p in found]})


def delete_package(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    found = fake.packages.get(match["env"], {}).pop(match["name"], None)
    return Response(200 if found is not None else 204)


def package_document(fake: FakeAutomation, env: str, package: PackageState) -> dict[str, Any]:
    return {
        "id": fake.resource_id(f"/runtimeEnvironments/{env}/packages/{package.name}"),
        "name": package.name,
        "type": spec.TYPES["package"],
        "location": fake.location,
        "tags": {},
        "properties": {
            "default": False,
            "version": package.version,
            "sizeInBytes": package.size,
            "provisioningState": package.state,
            "contentLink": package.content_link,
            "error": package.error,
        },
        "systemData": {"createdAt": stamp(fake), "lastModifiedAt": stamp(fake)},
    }


def advance(fake: FakeAutomation, package: PackageState) -> None:
    """One state on; the first step fetches and checks the content as the service would."""
    if package.state in spec.TERMINAL_PACKAGE_STATES:
        return
    if package.step == 0:
        problem = fetch_and_check(fake, package)
        if problem is None and package.name in fake.fail_imports:
            problem = ("PackageImportFailed", fake.fail_imports[package.name])
        if problem is not None:
            package.failed = True
            package.error = {"code": problem[0], "message": problem[1]}
            return
    package.step += 1


def fetch_and_check(fake: FakeAutomation, package: PackageState) -> tuple[str, str] | None:
    uri = str(package.content_link.get("uri") or "")
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(fake.ca_file)), timeout=30) as client:
            response = client.get(uri)  # a SAS names its service version (sv): no x-ms-version
    except httpx.HTTPError as exc:
        return ("ContentDownloadFailed", f"could not download {uri.split('?')[0]}: {exc}")
    if response.status_code != 200:
        return ("ContentDownloadFailed", f"downloading {uri.split('?')[0]} answered {response.status_code}")
    content = response.content
    wanted = (package.content_link.get("contentHash") or {}).get("value")
    if wanted and hashlib.sha256(content).hexdigest().upper() != str(wanted).upper():
        return ("ContentHashMismatch", f"the content of {package.name} does not match its contentHash")
    if len(content) > spec.MAX_PACKAGE_BYTES:
        return ("PackageTooLarge", f"{package.name} is over 100 MB")
    filename = uri.split("?")[0].rsplit("/", 1)[-1]
    if not re.fullmatch(
        r"[^-]+-[^-]+(-\d[^-]*)?-(py3|cp310|py2\.py3)-(none|abi3|cp310)-(any|manylinux[^-]*x86_64)\.whl", filename
    ):
        return ("InvalidPackage", f"{filename} is not a wheel for CPython 3.10 on Linux x86-64")
    package.size, package.version = len(content), filename.split("-")[1]
    return None


ENV = r"/runtimeEnvironments/(?P<env>[^/]+)"
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", r"/?", get_account),
    ("PATCH", r"/?", patch_account),
    ("GET", ENV, get_environment),
    ("PUT", ENV, put_environment),
    ("GET", ENV + r"/packages", list_packages),
    ("GET", ENV + r"/packages/(?P<name>[^/]+)", get_package),
    ("PUT", ENV + r"/packages/(?P<name>[^/]+)", put_package),
    ("DELETE", ENV + r"/packages/(?P<name>[^/]+)", delete_package),
)
