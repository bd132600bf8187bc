"""A group name with a typo (`Sales UK` for `Sales-UK`) gets a did-you-mean in the plan's GROUP_NOT_FOUND, from a
snapshot's groups and from a live read, which asks Graph's `$search` for groups sharing a word with the name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from teamslicensing.cli import main
from tests.support.faults import fake_for
from tests.support.rollout import GROUP_ID, rollout_document

BASE = "https://graph.microsoft.com/v1.0"
CONFIG = "version: 1\nrules:\n  - name: uk\n    select: {groups: [Sales UK]}\n    assign: [MCOEV]\n"


def tenant() -> dict[str, Any]:
    document = rollout_document(2)
    document["groups"][0]["displayName"] = "Sales-UK"
    other = {"id": "9b000000-0000-4000-8000-0000000000d2", "displayName": "Marketing", "members": []}
    document["groups"].append(other)
    return document


def group_gap(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    main(["plan", *args, "--format", "json"])
    plan = json.loads(capsys.readouterr().out)
    (gap,) = [g["message"] for g in plan["gaps"] if g["code"] == "GROUP_NOT_FOUND"]
    return str(gap)


def test_a_snapshot_names_the_group_meant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, snapshot = tmp_path / "licensing.yaml", tmp_path / "tenant.json"
    config.write_text(CONFIG, encoding="utf-8")
    snapshot.write_text(json.dumps(tenant()), encoding="utf-8")
    message = group_gap(capsys, str(config), "--snapshot", str(snapshot))
    assert "group 'Sales UK': no group has that name or id (did you mean 'Sales-UK'?)" in message


@pytest.mark.usefixtures("graph_token")
def test_a_live_read_asks_graph_for_groups_like_it(
    router: respx.MockRouter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_for(tenant(), router)
    config = tmp_path / "licensing.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    message = group_gap(capsys, str(config), "--read", "all")
    assert "(did you mean 'Sales-UK'?)" in message
    (search,) = [path for _, path in fake.requests if "search=" in path]
    assert '"displayName:Sales" OR "displayName:UK"' in search
    assert GROUP_ID not in message


def test_the_fake_refuses_a_search_without_the_advanced_query_header(router: respx.MockRouter) -> None:
    fake_for(tenant(), router)
    url = f'{BASE}/groups?$search="displayName:Sales"&$count=true'
    plain = httpx.get(url, headers={"Authorization": "Bearer t"})
    assert plain.status_code == 400
    advanced = httpx.get(url, headers={"Authorization": "Bearer t", "ConsistencyLevel": "eventual"})
    assert [g["displayName"] for g in advanced.json()["value"]] == ["Sales-UK"]
