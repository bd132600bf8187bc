"""The daily schedule and its link to the runbook (a job schedule).

A schedule's start cannot be changed (PATCH takes only `isEnabled` and `description`) and re-sending it with a past
start is refused, so one that already runs daily at the wanted time is left as it is, and one at another time is
removed with its links and made again, starting at the next occurrence at least ten minutes ahead. A job schedule
cannot be updated either; one link between the runbook and the schedule is kept, extra ones (which would start the
runbook twice) are removed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from teamslicensing.deploy.connect import Azure, found_or_none, step
from teamslicensing.deploy.options import SCHEDULE_NAME, DailyAt
from teamslicensing.deploy.report import Changes
from teamslicensing.errors import DeployError

MAX_PAGES = 100


def ensure_schedule(azure: Azure, daily: DailyAt, changes: Changes) -> None:
    with step(f"read schedule {SCHEDULE_NAME}"):
        existing = found_or_none(lambda: azure.automation.schedule.get(azure.group, azure.account, SCHEDULE_NAME))
    document = existing.as_dict() if existing is not None else None
    if document is not None and _runs(document, daily):
        changes.same(f"schedule {SCHEDULE_NAME} ({daily})")
        if not (document.get("properties") or {}).get("isEnabled", True):
            changes.progress(f"schedule {SCHEDULE_NAME} is disabled: left so (enable it to resume the daily runs)")
    else:
        if document is not None:
            for link in _links(azure, schedule=SCHEDULE_NAME):
                _unlink(azure, link, changes, "its schedule is replaced")
            changes.change(f"remove schedule {SCHEDULE_NAME} (it runs at another time)")
            with step(f"remove schedule {SCHEDULE_NAME}"):
                azure.automation.schedule.delete(azure.group, azure.account, SCHEDULE_NAME)
        start = daily.next_start(datetime.now(timezone.utc))
        changes.change(f"create schedule {SCHEDULE_NAME}: {daily}, first run {start.isoformat()}")
        from azure.mgmt.automation import models

        properties = models.ScheduleCreateOrUpdateProperties(
            description=f"teams-licensing: {daily}", start_time=start, frequency="Day", interval=1, time_zone="UTC"
        )
        with step(f"create schedule {SCHEDULE_NAME}"):
            azure.automation.schedule.create_or_update(
                azure.group,
                azure.account,
                SCHEDULE_NAME,
                models.ScheduleCreateOrUpdateParameters(name=SCHEDULE_NAME, properties=properties),
            )
    _ensure_link(azure, changes)


def _runs(document: dict[str, Any], daily: DailyAt) -> bool:
    properties = document.get("properties") or {}
    try:
        start = datetime.fromisoformat(str(properties.get("startTime")).replace("Z", "+00:00"))
        interval = int(properties.get("interval") or 0)
    except (TypeError, ValueError):
        return False
    if start.tzinfo is None:
        return False
    start = start.astimezone(timezone.utc)
    return (
        properties.get("frequency") == "Day"
        and interval == 1
        and (properties.get("timeZone") or "UTC") == "UTC"
        and (start.hour, start.minute) == (daily.at.hour, daily.at.minute)
    )


def _ensure_link(azure: Azure, changes: Changes) -> None:
    runbook = azure.options.runbook
    links = _links(azure, schedule=SCHEDULE_NAME, runbook=runbook)
    if links:
        changes.same(f"job schedule linking {runbook} to {SCHEDULE_NAME}")
        for extra in links[1:]:
            _unlink(azure, extra, changes, "a second link would start the runbook twice")
        return
    identifier = str(uuid.uuid4())
    changes.change(f"link runbook {runbook} to schedule {SCHEDULE_NAME} (job schedule {identifier})")
    with step(f"link runbook {runbook} to schedule {SCHEDULE_NAME}"):
        azure.automation.job_schedule.create(
            azure.group,
            azure.account,
            identifier,
            {"properties": {"schedule": {"name": SCHEDULE_NAME}, "runbook": {"name": runbook}}},
        )


def _links(azure: Azure, *, schedule: str, runbook: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with step("list job schedules"):
        pages = azure.automation.job_schedule.list_by_automation_account(azure.group, azure.account).by_page()
        for number, page in enumerate(pages):
            if number >= MAX_PAGES:
                raise DeployError(f"more than {MAX_PAGES} pages of job schedules; stopped reading")
            for item in page:
                properties = item.as_dict().get("properties") or {}
                if (properties.get("schedule") or {}).get("name", "").lower() != schedule.lower():
                    continue
                if runbook is None or (properties.get("runbook") or {}).get("name", "").lower() == runbook.lower():
                    found.append(properties)
    return sorted(found, key=lambda link: str(link.get("jobScheduleId")))


def _unlink(azure: Azure, link: dict[str, Any], changes: Changes, why: str) -> None:
    identifier = str(link.get("jobScheduleId"))
    changes.change(f"remove job schedule {identifier} ({why})")
    with step(f"remove job schedule {identifier}"):
        azure.automation.job_schedule.delete(azure.group, azure.account, identifier)
