"""Schedules, job schedules, jobs (listed only: tests start them) and variables in the fake.

Schedules: `name` and `properties` required, `startTime` and `frequency` required in them; a start less than five
minutes ahead is refused with the service's own words; the answer has the start truncated to the minute,
`isEnabled: true` and `timeZone` (UTC when not given), as the example shows. PATCH changes `isEnabled` and
`description` only. Job schedules: a UUID id, `schedule.name` and `runbook.name` required, 201 only (an id that
exists is 409), the schedule must exist and the runbook be published; the list is paged. Variables: `name` and
`properties` required, the value a JSON text of at most 1,048,576 characters; an encrypted variable's value is never
returned, and whether a variable is encrypted cannot change once it exists (400): it is deleted (200; 404 when it is
not there) and made again.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
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


def get_schedule(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    found = fake.schedules.get(match["name"])
    if found is None:
        return automation_error(404, "NotFound", f"schedule {match['name']} not found")
    return json_response(200, found)


def put_schedule(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    body = body_of(request) or {}
    properties = body.get("properties")
    if not body.get("name") or not isinstance(properties, dict):
        return automation_error(400, "BadRequest", "name and properties are required")
    if not properties.get("startTime") or properties.get("frequency") not in spec.FREQUENCIES:
        return automation_error(400, "BadRequest", "properties.startTime and a known properties.frequency are required")
    try:
        start = datetime.fromisoformat(str(properties["startTime"]).replace("Z", "+00:00"))
    except ValueError:
        return automation_error(400, "BadRequest", f"startTime {properties['startTime']!r} is not a date-time")
    if start.tzinfo is None or start < fake.now() + timedelta(minutes=spec.SCHEDULE_LEAD_MINUTES):
        return automation_error(400, "BadRequest", spec.SCHEDULE_TOO_SOON)
    start = start.replace(second=0, microsecond=0)
    existing = fake.schedules.get(match["name"])
    document = {
        "id": fake.resource_id(f"/schedules/{match['name']}"),
        "name": match["name"],
        "type": spec.TYPES["schedule"],
        "properties": {
            "description": properties.get("description"),
            "startTime": start.isoformat(),
            "startTimeOffsetMinutes": 0.0,
            "expiryTime": properties.get("expiryTime") or "9999-12-31T23:59:00+00:00",
            "expiryTimeOffsetMinutes": 0.0,
            "isEnabled": True,
            "nextRun": start.isoformat(),
            "nextRunOffsetMinutes": 0.0,
            "interval": properties.get("interval"),
            "frequency": properties["frequency"],
            "timeZone": properties.get("timeZone") or "UTC",
            "advancedSchedule": properties.get("advancedSchedule"),
            "creationTime": existing["properties"]["creationTime"] if existing else stamp(fake),
            "lastModifiedTime": stamp(fake),
        },
    }
    fake.schedules[match["name"]] = document
    return json_response(200 if existing else 201, document)


def patch_schedule(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    found = fake.schedules.get(match["name"])
    if found is None:
        return automation_error(404, "NotFound", f"schedule {match['name']} not found")
    changes = (body_of(request) or {}).get("properties") or {}
    for key in ("isEnabled", "description"):
        if key in changes:
            found["properties"][key] = changes[key]
    return json_response(200, found)


def delete_schedule(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    if fake.schedules.pop(match["name"], None) is None:
        return automation_error(404, "NotFound", f"schedule {match['name']} not found")
    return Response(200)


def put_job_schedule(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    try:
        identifier = str(uuid.UUID(match["id"]))
    except ValueError:
        return automation_error(400, "BadRequest", f"jobScheduleId {match['id']!r} is not a UUID")
    if identifier in fake.job_schedules:
        return automation_error(409, "Conflict", f"job schedule {identifier} already exists")
    properties = (body_of(request) or {}).get("properties") or {}
    schedule = (properties.get("schedule") or {}).get("name")
    runbook = (properties.get("runbook") or {}).get("name")
    if not schedule or not runbook:
        return automation_error(400, "BadRequest", "properties.schedule.name and properties.runbook.name are required")
    if schedule not in fake.schedules:
        return automation_error(404, "NotFound", f"schedule {schedule} not found")
    if fake.runbooks.get(runbook, {}).get("published") is None:
        return automation_error(400, "BadRequest", f"runbook {runbook} is not published")
    document = {
        "id": fake.resource_id(f"/jobSchedules/{identifier}"),
        "name": identifier,
        "type": spec.TYPES["jobSchedule"],
        "properties": {
            "jobScheduleId": identifier,
            "schedule": {"name": schedule},
            "runbook": {"name": runbook},
            "runOn": properties.get("runOn"),
            "parameters": properties.get("parameters") or {},
        },
    }
    fake.job_schedules[identifier] = document
    return json_response(201, document)


def list_job_schedules(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    return paged(fake, request, "/jobSchedules", list(fake.job_schedules.values()))


def delete_job_schedule(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    if fake.job_schedules.pop(match["id"], None) is None:
        return automation_error(404, "NotFound", f"job schedule {match['id']} not found")
    return Response(200)


def list_jobs(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    return paged(fake, request, "/jobs", list(fake.jobs.values()))


def get_variable(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    found = fake.variables.get(match["name"])
    if found is None:
        return automation_error(404, "NotFound", f"variable {match['name']} not found")
    return json_response(200, variable_document(found))


def put_variable(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    body = body_of(request) or {}
    properties = body.get("properties")
    if not body.get("name") or not isinstance(properties, dict):
        return automation_error(400, "BadRequest", "name and properties are required")
    value = properties.get("value")
    if value is not None:
        if not isinstance(value, str) or len(value) > spec.MAX_VARIABLE_CHARACTERS:
            return automation_error(400, "BadRequest", "the value is over 1048576 characters")
        try:
            json.loads(value)
        except ValueError:
            return automation_error(400, "BadRequest", "the value is not JSON: a string must be sent JSON-encoded")
    existing = fake.variables.get(match["name"])
    encrypted = bool(properties.get("isEncrypted"))
    if existing is not None and existing["isEncrypted"] != encrypted:
        return automation_error(400, "BadRequest", spec.ENCRYPTION_IS_FIXED)
    fake.variables[match["name"]] = {
        "id": fake.resource_id(f"/variables/{match['name']}"),
        "name": match["name"],
        "value": value,
        "description": properties.get("description"),
        "isEncrypted": encrypted,
        "creationTime": existing["creationTime"] if existing else stamp(fake),
        "lastModifiedTime": stamp(fake),
    }
    return json_response(200 if existing else 201, variable_document(fake.variables[match["name"]]))


def delete_variable(fake: FakeAutomation, request: Request, match: re.Match[str]) -> Response:
    if fake.variables.pop(match["name"], None) is None:
        return automation_error(404, "NotFound", f"variable {match['name']} not found")
    return Response(200)


def variable_document(record: dict[str, Any]) -> dict[str, Any]:
    properties = {key: record[key] for key in ("description", "isEncrypted", "creationTime", "lastModifiedTime")}
    if not record["isEncrypted"]:
        properties["value"] = record["value"]
    return {"id": record["id"], "name": record["name"], "type": spec.TYPES["variable"], "properties": properties}


ASSET_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", r"/schedules/(?P<name>[^/]+)", get_schedule),
    ("PUT", r"/schedules/(?P<name>[^/]+)", put_schedule),
    ("PATCH", r"/schedules/(?P<name>[^/]+)", patch_schedule),
    ("DELETE", r"/schedules/(?P<name>[^/]+)", delete_schedule),
    ("GET", r"/jobSchedules", list_job_schedules),
    ("PUT", r"/jobSchedules/(?P<id>[^/]+)", put_job_schedule),
    ("DELETE", r"/jobSchedules/(?P<id>[^/]+)", delete_job_schedule),
    ("GET", r"/jobs", list_jobs),
    ("GET", r"/variables/(?P<name>[^/]+)", get_variable),
    ("PUT", r"/variables/(?P<name>[^/]+)", put_variable),
    ("DELETE", r"/variables/(?P<name>[^/]+)", delete_variable),
)
