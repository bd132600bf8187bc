"""Runbooks in the fake: the list (paged), create or update, the draft's content (an asynchronous operation, 202 with
`Azure-AsyncOperation` and `Location`, `final-state-via: azure-async-operation`), publish (202 with `Location`, the
2024-10-23 path `POST …/runbooks/{name}/publish`), and the published content.

An operation stays in progress for `operation_polls` status reads, then takes effect: the draft is replaced, or the
draft becomes the published runbook. While one runs on a runbook, another is refused with 409. Publishing is refused
(400) while a package of the runbook's runtime environment is not `Succeeded`, or when there is no draft.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.support.fakearm import spec
from tests.support.fakearm.automation import (
    FakeAutomation,
    Handler,
    automation_error,
    body_of,
    json_response,
    paged,
    stamp,
)
from tests.support.fakearm.server import Request, Response

RUNBOOK = r"/runbooks/(?P<runbook>[^/]+)"


def get_runbook(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    found = fake.runbooks.get(match["runbook"])
    if found is None:
        return automation_error(404, "NotFound", f"runbook {match['runbook']} not found")
    return json_response(200, runbook_document(fake, found))


def list_runbooks(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    return paged(fake, request, "/runbooks", [runbook_document(fake, record) for record in fake.runbooks.values()])


def put_runbook(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    name = match["runbook"]
    if not re.fullmatch(spec.RUNBOOK_NAME, name):
        return automation_error(400, "BadRequest", f"runbookName {name!r} does not match the pattern")
    body = body_of(request)
    properties = (body or {}).get("properties")
    if not isinstance(properties, dict):
        return automation_error(400, "BadRequest", "properties is required")
    if properties.get("runbookType") not in spec.RUNBOOK_TYPES:
        return automation_error(400, "BadRequest", f"runbookType {properties.get('runbookType')!r} is not known")
    environment = properties.get("runtimeEnvironment")
    if environment is not None and environment not in fake.environments:
        return automation_error(400, "BadRequest", f"runtime environment {environment} does not exist")
    existing = fake.runbooks.get(name)
    record: dict[str, Any] = existing or {"name": name, "draft": None, "published": None, "busy": None}
    record["properties"] = {
        key: value for key, value in properties.items() if key not in ("draft", "publishContentLink")
    }
    record["location"] = (body or {}).get("location") or fake.location
    record["modified"] = stamp(fake)
    fake.runbooks[name] = record
    return json_response(200 if existing is not None else 201, runbook_document(fake, record))


def runbook_document(fake: FakeAutomation, record: dict[str, Any]) -> dict[str, Any]:
    state = "Published" if record["published"] is not None else "New"
    if record["published"] is not None and record["draft"] not in (None, record["published"]):
        state = "Edit"
    return {
        "id": fake.resource_id(f"/runbooks/{record['name']}"),
        "name": record["name"],
        "type": spec.TYPES["runbook"],
        "location": record["location"],
        "tags": {},
        "etag": f'"{record["modified"]}"',
        "properties": {
            **record["properties"],
            "state": state,
            "provisioningState": "Succeeded",
            "jobCount": 0,
            "parameters": {},
            "outputTypes": [],
            "lastModifiedTime": record["modified"],
        },
    }


def replace_draft(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    record = fake.runbooks.get(match["runbook"])
    if record is None:
        return automation_error(404, "NotFound", f"runbook {match['runbook']} not found")
    if record["busy"] is not None:
        return automation_error(409, "Conflict", f"runbook {record['name']} has an operation in progress")
    try:
        content = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return automation_error(400, "BadRequest", "the runbook content is not UTF-8 text")
    operation = start(fake, record, "draft", content)
    name = record["name"]
    base = f"{fake.origin}{fake.resource_id(f'/runbooks/{name}/draft/content')}"
    query = f"?api-version={spec.API_VERSION}"
    return Response(
        202,
        headers={
            "Location": f"{base}/operationResults/{operation}{query}",
            "Azure-AsyncOperation": f"{base}/operationStatuses/{operation}{query}",
            "Retry-After": "0",
        },
    )


def get_draft(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    record = fake.runbooks.get(match["runbook"])
    if record is None or record["draft"] is None:
        return automation_error(404, "NotFound", f"runbook {match['runbook']} has no draft")
    return Response(200, record["draft"].encode(), {"Content-Type": "text/powershell"})


def publish(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    record = fake.runbooks.get(match["runbook"])
    if record is None:
        return automation_error(404, "NotFound", f"runbook {match['runbook']} not found")
    if record["busy"] is not None:
        return automation_error(409, "Conflict", f"runbook {record['name']} has an operation in progress")
    if record["draft"] is None:
        return automation_error(400, "BadRequest", f"runbook {record['name']} has no draft to publish")
    environment = record["properties"].get("runtimeEnvironment")
    waiting = sorted(n for n, p in fake.packages.get(environment, {}).items() if p.state != "Succeeded")
    if waiting:
        message = f"runtime environment {environment} has packages not imported: {', '.join(waiting)}"
        return automation_error(400, "BadRequest", message)
    operation = start(fake, record, "publish", record["draft"])
    name = record["name"]
    location = f"{fake.origin}{fake.resource_id(f'/runbooks/{name}/publish/operationResults/{operation}')}"
    return Response(202, headers={"Location": f"{location}?api-version={spec.API_VERSION}", "Retry-After": "0"})


def get_published(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    record = fake.runbooks.get(match["runbook"])
    if record is None or record["published"] is None:
        return automation_error(404, "NotFound", f"runbook {match['runbook']} is not published")
    return Response(200, record["published"].encode(), {"Content-Type": "text/powershell"})


def start(fake: FakeAutomation, record: dict[str, Any], kind: str, content: str) -> str:
    operation = str(uuid.uuid4())
    fake.operations[operation] = {
        "kind": kind,
        "runbook": record["name"],
        "polls": fake.operation_polls,
        "content": content,
    }
    record["busy"] = operation
    return operation


def poll(fake: FakeAutomation, operation: str) -> bool | None:
    """True once the operation has taken effect, False while in progress, None for an unknown one."""
    found = fake.operations.get(operation)
    if found is None:
        return None
    if found["polls"] > 0:
        found["polls"] -= 1
        return False
    record = fake.runbooks[found["runbook"]]
    if record["busy"] == operation:
        if found["kind"] == "draft":
            record["draft"] = found["content"]
        else:
            record["published"] = found["content"]
        record["busy"] = None
        record["modified"] = stamp(fake)
    return True


def operation_status(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    done = poll(fake, match["operation"])
    if done is None:
        return automation_error(404, "NotFound", "no such operation")
    return json_response(200, {"status": "Succeeded" if done else "InProgress"}, {"Retry-After": "0"})


def operation_result(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    done = poll(fake, match["operation"])
    if done is None:
        return automation_error(404, "NotFound", "no such operation")
    if not done:
        return Response(202, headers={"Location": request.url, "Retry-After": "0"})
    return Response(200)


RUNBOOK_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", r"/runbooks", list_runbooks),
    ("GET", RUNBOOK, get_runbook),
    ("PUT", RUNBOOK, put_runbook),
    ("PUT", RUNBOOK + r"/draft/content", replace_draft),
    ("GET", RUNBOOK + r"/draft/content", get_draft),
    ("GET", RUNBOOK + r"/draft/content/operationStatuses/(?P<operation>[^/]+)", operation_status),
    ("GET", RUNBOOK + r"/draft/content/operationResults/(?P<operation>[^/]+)", operation_result),
    ("POST", RUNBOOK + r"/publish", publish),
    ("GET", RUNBOOK + r"/publish/operationResults/(?P<operation>[^/]+)", operation_result),
    ("GET", RUNBOOK + r"/content", get_published),
)
