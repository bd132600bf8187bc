"""`deploy automation`'s options: the schedule's first run, the clouds' endpoints, names checked as Azure patterns
them (unit tests; the end-to-end ones are in test_deploy*.py)."""

from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from teamslicensing.deploy.options import DailyAt, DeployOptions, parse_schedule

NOW = datetime(2026, 12, 7, 5, 50, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("at", "first"),
    [
        ("daily@06:00", datetime(2026, 12, 8, 6, 0, tzinfo=timezone.utc)),  # 9.5 minutes ahead: too close, tomorrow
        ("daily@06:01", datetime(2026, 12, 7, 6, 1, tzinfo=timezone.utc)),  # 10.5 minutes ahead: today
        ("daily@05:50", datetime(2026, 12, 8, 5, 50, tzinfo=timezone.utc)),  # just passed: tomorrow
        ("daily@23:59", datetime(2026, 12, 7, 23, 59, tzinfo=timezone.utc)),
        ("daily@0:05", datetime(2026, 12, 8, 0, 5, tzinfo=timezone.utc)),
    ],
)
def test_the_first_run_is_the_next_time_at_least_ten_minutes_ahead(at: str, first: datetime) -> None:
    start = parse_schedule(at).next_start(NOW)
    assert start == first
    assert (start - NOW).total_seconds() >= 5 * 60, "Azure refuses a start less than five minutes ahead"


@pytest.mark.parametrize("text", ["daily@24:00", "daily@6", "weekly@06:00", "06:00", "daily@06:60", ""])
def test_a_schedule_other_than_daily_at_a_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="daily@HH:MM"):
        parse_schedule(text)


def test_a_schedule_says_it_is_utc() -> None:
    assert str(DailyAt(time(6, 0))) == "daily at 06:00 UTC"


@pytest.mark.parametrize(
    ("cloud", "arm", "blob"),
    [
        ("global", "https://management.azure.com", "https://stx.blob.core.windows.net"),
        ("usgov", "https://management.usgovcloudapi.net", "https://stx.blob.core.usgovcloudapi.net"),
        ("china", "https://management.chinacloudapi.cn", "https://stx.blob.core.chinacloudapi.cn"),
    ],
)
def test_a_national_cloud_moves_both_endpoints_and_the_token_audience(cloud: str, arm: str, blob: str) -> None:
    options = DeployOptions("00000000-0000-4000-8000-000000000000", "g", "aa-one", "stx", cloud=cloud)
    assert (options.arm, options.blob, options.endpoints.arm_scope) == (arm, blob, f"{arm}/.default")
    moved = DeployOptions(
        "s", "g", "aa-one", "stx", arm_url="https://127.0.0.1:8443/", blob_url="https://127.0.0.1:9/stx"
    )
    assert (moved.arm, moved.blob) == ("https://127.0.0.1:8443", "https://127.0.0.1:9/stx")
