"""Runtime environments and their packages in the fake (runtimeEnvironment.json, package.json; see `spec`).

A runtime environment is a tracked resource: `location` is required, `tags` are kept (at most 50, names of at most
512 characters without `<>%&\\?/`, values of at most 256: Azure Resource Manager's limits for tags), the runtime's
language and version cannot change. Deleting one deletes its packages; a runbook naming it is left naming a
runtime environment that is gone (Remove-AzAutomationRuntimeEnvironment: runbooks "will no longer be able to use
it"). Names are matched without regard to case, as Resource Manager matches them.

A package import runs as the service's does, asynchronously: the PUT answers `Creating` and each later read of the
package moves it one state on (`spec.IMPORT_PATH`); on its first step the fake fetches the content link over HTTPS
as Azure would, checks its SHA-256 against `contentHash` and that the wheel is one the Python 3.10 sandbox takes, and
fails the import with a message when it is not. A package is answered as the specification's examples show it
(createOrUpdatePackage.json while importing, getPackage.json once `Succeeded`): `version`, `sizeInBytes`,
`provisioningState`, `error` while it is not `Succeeded`, and never the `contentLink` it was given.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from typing import Any, TypeVar

import httpx

from tests.support.fakearm import spec
from tests.support.fakearm.automation import (
    FakeAutomation,
    Handler,
    PackageState,
    automation_error,
    body_of,
    json_response,
    paged,
    stamp,
)
from tests.support.fakearm.server import Request, Response

V = TypeVar("V")


def named(found: dict[str, V], name: str) -> str | None:
    """The key `name` is stored under, matched without regard to case."""
    return next((key for key in found if key.lower() == name.lower()), None)


def get_environment(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    key = named(fake.environments, match["env"])
    if key is None:
        return automation_error(404, "NotFound", f"runtime environment {match['env']} not found")
    return json_response(200, fake.environments[key])


def list_environments(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    return paged(fake, request, "/runtimeEnvironments", list(fake.environments.values()))


def tags_problem(tags: Any) -> str | None:
    if not isinstance(tags, dict) or len(tags) > spec.MAX_TAGS:
        return f"tags must be an object of at most {spec.MAX_TAGS} names and values"
    for name, value in tags.items():
        if not isinstance(value, str) or len(value) > spec.MAX_TAG_VALUE or len(name) > spec.MAX_TAG_NAME:
            return f"tag {name!r}: a name of at most 512 characters, a string value of at most 256"
        if not name or any(character in name for character in spec.TAG_NAME_FORBIDDEN):
            return f"tag name {name!r} is empty or holds one of {spec.TAG_NAME_FORBIDDEN}"
    return None


def put_environment(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    name = named(fake.environments, match["env"]) or match["env"]
    if not re.fullmatch(spec.ENVIRONMENT_NAME, name):
        return automation_error(400, "BadRequest", f"runtimeEnvironmentName {name!r} does not match the pattern")
    body = body_of(request)
    runtime = ((body or {}).get("properties") or {}).get("runtime") or {}
    if body is None or not body.get("location"):
        return automation_error(400, "BadRequest", "a runtime environment is a tracked resource: location is required")
    problem = tags_problem(body.get("tags") or {})
    if problem is not None:
        return automation_error(400, "InvalidTag", problem)
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


def delete_environment(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    key = named(fake.environments, match["env"])
    if key is None:
        return Response(204)
    del fake.environments[key]
    fake.packages.pop(key, None)
    return Response(200)


def put_package(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    env = named(fake.environments, match["env"])
    if env is None:
        return automation_error(404, "NotFound", f"runtime environment {match['env']} not found")
    body = body_of(request) or {}
    link = (body.get("properties") or {}).get("contentLink")
    if not isinstance(link, dict):
        return automation_error(400, "BadRequest", "properties.contentLink is required")
    content_hash = link.get("contentHash")
    if content_hash is not None and not (
        isinstance(content_hash, dict) and content_hash.keys() >= {"algorithm", "value"}
    ):
        return automation_error(400, "BadRequest", "contentHash needs algorithm and value")
    name = named(fake.packages[env], match["name"]) or match["name"]
    existing = fake.packages[env].get(name)
    if existing is not None and existing.state not in spec.TERMINAL_PACKAGE_STATES:
        return automation_error(
            409, "Conflict", f"package {name} is being imported ({existing.state}); try again later"
        )
    fake.packages[env][name] = PackageState(name, link)
    return json_response(200 if existing is not None else 201, package_document(fake, env, fake.packages[env][name]))


def get_package(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    env = named(fake.environments, match["env"]) or ""
    name = named(fake.packages.get(env, {}), match["name"])
    if name is None:
        return automation_error(404, "NotFound", f"package {match['name']} not found")
    found = fake.packages[env][name]
    advance(fake, found)
    return json_response(200, package_document(fake, env, found))


def list_packages(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    env = named(fake.environments, match["env"])
    if env is None:
        return automation_error(404, "NotFound", f"runtime environment {match['env']} not found")
    found = list(fake.packages[env].values())
    for package in found:
        advance(fake, package)
    below = f"/runtimeEnvironments/{env}/packages"
    return paged(fake, request, below, [package_document(fake, env, p) for p in found])


def delete_package(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    packages = fake.packages.get(named(fake.environments, match["env"]) or "", {})
    name = named(packages, match["name"])
    if name is None:
        return Response(204)
    del packages[name]
    return Response(200)


def package_document(fake: FakeAutomation, env: str, package: PackageState) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "default": False,
        "version": package.version,
        "sizeInBytes": package.size,
        "provisioningState": package.state,
    }
    if package.state != "Succeeded":
        properties["error"] = package.error
    return {
        "id": fake.resource_id(f"/runtimeEnvironments/{env}/packages/{package.name}"),
        "name": package.name,
        "type": spec.TYPES["package"],
        "location": fake.location,
        "tags": {},
        "properties": properties,
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
    package.content_sha256 = hashlib.sha256(content).hexdigest()
    return None


ENV = r"/runtimeEnvironments/(?P<env>[^/]+)"
ENVIRONMENT_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", r"/runtimeEnvironments", list_environments),
    ("GET", ENV, get_environment),
    ("PUT", ENV, put_environment),
    ("DELETE", ENV, delete_environment),
    ("GET", ENV + r"/packages", list_packages),
    ("GET", ENV + r"/packages/(?P<name>[^/]+)", get_package),
    ("PUT", ENV + r"/packages/(?P<name>[^/]+)", put_package),
    ("DELETE", ENV + r"/packages/(?P<name>[^/]+)", delete_package),
)
