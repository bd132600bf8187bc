"""The fake Resource Manager holds what Azure's specification (and the service, where marked in
tests/support/fakearm/spec.py) holds: a deployment tested against it is tested against that, not against a guess.
(The fake Storage account beside it is tested in test_fakestorage.py.)"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fakearm import ARM_TOKEN, FakeAzure, fake_azure
from tests.support.fakearm.spec import IMPORT_PATH, SCHEDULE_TOO_SOON

API = "?api-version=2024-10-23"


@pytest.fixture
def azure(tmp_path: Path) -> Iterator[FakeAzure]:
    with fake_azure(tmp_path, operation_polls=1) as fake:
        yield fake


@pytest.fixture
def arm(azure: FakeAzure) -> Iterator[httpx.Client]:
    base = f"{azure.arm_url}{azure.arm.prefix}"
    verify = ssl.create_default_context(cafile=str(azure.ca_file))
    with httpx.Client(base_url=base, verify=verify, headers={"Authorization": f"Bearer {ARM_TOKEN}"}) as client:
        yield client


def environment(arm: httpx.Client) -> None:
    body = {"location": "westeurope", "properties": {"runtime": {"language": "Python", "version": "3.10"}}}
    assert arm.put(f"/runtimeEnvironments/py310{API}", json=body).status_code == 201


def test_resource_manager_wants_its_token_and_the_api_version(azure: FakeAzure, arm: httpx.Client) -> None:
    assert arm.get(f"/{API}").status_code == 200
    assert arm.get("/?api-version=2023-05-15-preview").json()["error"]["code"] == "InvalidApiVersionParameter"
    assert arm.get(f"/{API}", headers={"Authorization": "Bearer another"}).status_code == 401


def test_a_schedule_must_start_at_least_five_minutes_ahead(arm: httpx.Client) -> None:
    soon = datetime.now(timezone.utc) + timedelta(minutes=4)
    body: dict[str, Any] = {
        "name": "s",
        "properties": {"startTime": soon.isoformat(), "frequency": "Day", "interval": 1},
    }
    refused = arm.put(f"/schedules/s{API}", json=body)
    assert refused.status_code == 400
    assert refused.json() == {"code": "BadRequest", "message": SCHEDULE_TOO_SOON}
    later = datetime.now(timezone.utc) + timedelta(minutes=6, seconds=30)
    body["properties"]["startTime"] = later.isoformat()
    created = arm.put(f"/schedules/s{API}", json=body)
    assert created.status_code == 201
    assert created.json()["properties"]["startTime"] == later.replace(second=0, microsecond=0).isoformat()
    assert created.json()["properties"]["timeZone"] == "UTC"


def test_a_package_import_runs_on_its_own_and_a_second_put_meanwhile_conflicts(
    azure: FakeAzure, arm: httpx.Client
) -> None:
    environment(arm)
    missing = f"{azure.blob_url}/wheels/x-1.0-py3-none-any.whl"
    body = {"properties": {"contentLink": {"uri": missing}}}
    created = arm.put(f"/runtimeEnvironments/py310/packages/x{API}", json=body)
    assert (created.status_code, created.json()["properties"]["provisioningState"]) == (201, "Creating")
    assert arm.put(f"/runtimeEnvironments/py310/packages/x{API}", json=body).status_code == 409
    failed = arm.get(f"/runtimeEnvironments/py310/packages/x{API}").json()["properties"]
    assert failed["provisioningState"] == "Failed", "the content could not be fetched"
    assert failed["error"]["code"] == "ContentDownloadFailed"
    assert arm.put(f"/runtimeEnvironments/py310/packages/x{API}", json={"properties": {}}).status_code == 400


def test_publishing_waits_for_the_packages_and_runs_asynchronously(azure: FakeAzure, arm: httpx.Client) -> None:
    environment(arm)
    runbook = {"properties": {"runbookType": "Python", "runtimeEnvironment": "py310"}}
    assert arm.put(f"/runbooks/rb{API}", json=runbook).status_code == 201
    draft = arm.put(f"/runbooks/rb/draft/content{API}", content=b"print('hi')\n")
    assert draft.status_code == 202
    assert "operationResults" in draft.headers["Location"]
    assert "Azure-AsyncOperation" in draft.headers
    assert arm.put(f"/runbooks/rb/draft/content{API}", content=b"x").status_code == 409, "one operation at a time"
    status = draft.headers["Azure-AsyncOperation"].replace(f"{azure.arm_url}{azure.arm.prefix}", "")
    assert arm.get(status).json()["status"] == "InProgress"
    assert arm.get(status).json()["status"] == "Succeeded"
    arm.put(f"/runtimeEnvironments/py310/packages/x{API}", json={"properties": {"contentLink": {"uri": "https://x"}}})
    refused = arm.post(f"/runbooks/rb/publish{API}")
    assert refused.status_code == 400
    assert "packages not imported: x" in refused.json()["message"]
    azure.arm.packages["py310"].clear()
    published = arm.post(f"/runbooks/rb/publish{API}")
    assert published.status_code == 202
    result = published.headers["Location"].replace(f"{azure.arm_url}{azure.arm.prefix}", "")
    assert arm.get(result).status_code == 202
    assert arm.get(result).status_code == 200
    assert arm.get(f"/runbooks/rb/content{API}").text == "print('hi')\n"
    assert arm.get(f"/runbooks/rb{API}").json()["properties"]["state"] == "Published"


def test_job_schedules_and_variables_as_specified(azure: FakeAzure, arm: httpx.Client) -> None:
    link = {"properties": {"schedule": {"name": "s"}, "runbook": {"name": "rb"}}}
    identifier = "0fa462ba-3aa2-4138-83ca-9ebc3bc55cdc"
    assert arm.put(f"/jobSchedules/{identifier}{API}", json=link).status_code == 404, "no such schedule"
    assert arm.put(f"/jobSchedules/not-a-uuid{API}", json=link).status_code == 400
    plain = {"name": "v", "properties": {"value": "plan", "isEncrypted": False}}
    assert arm.put(f"/variables/v{API}", json=plain).status_code == 400, "a string value is sent JSON-encoded"
    secret = {"name": "v", "properties": {"value": json.dumps("yaml: text"), "isEncrypted": True}}
    assert arm.put(f"/variables/v{API}", json=secret).status_code == 201
    assert "value" not in arm.get(f"/variables/v{API}").json()["properties"], "an encrypted value is never returned"
    huge = {"name": "w", "properties": {"value": json.dumps("x" * 1_048_576)}}
    assert arm.put(f"/variables/w{API}", json=huge).status_code == 400


def test_a_package_is_answered_as_microsofts_examples_show_it_never_with_its_content_link(
    azure: FakeAzure, arm: httpx.Client
) -> None:
    """getPackage.json and createOrUpdatePackage.json show no contentLink: a client cannot learn from a package what
    it was imported from. Names are matched without regard to case."""
    environment(arm)
    body = {"properties": {"contentLink": {"uri": f"{azure.blob_url}/w/x-1.0-py3-none-any.whl"}}}
    created = arm.put(f"/runtimeEnvironments/py310/packages/x{API}", json=body).json()["properties"]
    assert "contentLink" not in created
    assert created["error"] == {"code": None, "message": None}
    failed = arm.get(f"/runtimeEnvironments/PY310/packages/X{API}").json()["properties"]
    assert failed["provisioningState"] == "Failed"
    assert "contentLink" not in failed
    azure.arm.packages["py310"]["x"].failed = False
    azure.arm.packages["py310"]["x"].step = len(IMPORT_PATH) - 1
    done = arm.get(f"/runtimeEnvironments/py310/packages/x{API}").json()["properties"]
    assert done["provisioningState"] == "Succeeded"
    assert set(done) == {"default", "version", "sizeInBytes", "provisioningState"}


def test_runtime_environments_keep_their_tags_are_listed_in_pages_and_go_with_their_packages(
    azure: FakeAzure, arm: httpx.Client
) -> None:
    for name in ("a", "b", "c"):
        body = {
            "location": "westeurope",
            "tags": {"made-by": name},
            "properties": {"runtime": {"language": "Python", "version": "3.10"}},
        }
        assert arm.put(f"/runtimeEnvironments/{name}{API}", json=body).status_code == 201
    first = arm.get(f"/runtimeEnvironments{API}").json()
    assert [e["name"] for e in first["value"]] == ["a", "b"]
    second = arm.get(first["nextLink"].replace(f"{azure.arm_url}{azure.arm.prefix}", "")).json()
    assert [(e["name"], e["tags"]) for e in second["value"]] == [("c", {"made-by": "c"})]
    arm.put(f"/runtimeEnvironments/a/packages/x{API}", json={"properties": {"contentLink": {"uri": "https://x"}}})
    assert arm.delete(f"/runtimeEnvironments/a{API}").status_code == 200
    assert arm.delete(f"/runtimeEnvironments/a{API}").status_code == 204
    assert "a" not in azure.arm.packages
    runtime = {"runtime": {"language": "Python", "version": "3.10"}}
    for tags in ({"a/b": "x"}, {"long": "x" * 257}, {f"t{n}": "x" for n in range(51)}):
        refused = arm.put(f"/runtimeEnvironments/d{API}", json={"location": "x", "tags": tags, "properties": runtime})
        assert (refused.status_code, refused.json()["code"]) == (400, "InvalidTag")


def test_a_variables_encryption_cannot_change_it_is_deleted_and_made_again(arm: httpx.Client) -> None:
    plain = {"name": "v", "properties": {"value": json.dumps("plan"), "isEncrypted": False}}
    assert arm.put(f"/variables/v{API}", json=plain).status_code == 201
    secret = {"name": "v", "properties": {"value": json.dumps("plan"), "isEncrypted": True}}
    refused = arm.put(f"/variables/v{API}", json=secret)
    assert (refused.status_code, refused.json()["code"]) == (400, "BadRequest")
    assert arm.delete(f"/variables/v{API}").status_code == 200
    assert arm.delete(f"/variables/v{API}").status_code == 404
    assert arm.put(f"/variables/v{API}", json=secret).status_code == 201


def test_runbooks_are_listed_with_their_runtime_environment(arm: httpx.Client) -> None:
    environment(arm)
    for name in ("r1", "r2", "r3"):
        runbook = {"properties": {"runbookType": "Python", "runtimeEnvironment": "py310"}}
        assert arm.put(f"/runbooks/{name}{API}", json=runbook).status_code == 201
    page = arm.get(f"/runbooks{API}").json()
    assert [r["properties"]["runtimeEnvironment"] for r in page["value"]] == ["py310", "py310"]
    assert "nextLink" in page
