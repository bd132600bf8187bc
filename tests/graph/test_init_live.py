"""`init` against Graph: the groups come from the holders' memberships, bounded, and give the file a snapshot of the
same tenant gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml

from benchmarks.adoption_tenant import with_all_staff_groups, write_adoption_snapshot
from teamslicensing.cli import main
from tests.support.faults import BASE, fake_for

EVERYBODY = "6c000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def fabrikam(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("fabrikam") / "tenant.json"
    write_adoption_snapshot(path, 3_000)
    return path, with_all_staff_groups(path, 1, prefix=EVERYBODY[:-12])


@pytest.mark.usefixtures("graph_token")
def test_a_live_init_writes_the_rules_a_snapshot_of_the_same_tenant_gives(
    router: respx.MockRouter, fabrikam: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    snapshot, document = fabrikam
    fake = fake_for(document, router)
    live, offline = tmp_path / "live.yaml", tmp_path / "offline.yaml"
    assert main(["init", "--output", str(live)]) == 0
    assert main(["init", "--snapshot", str(snapshot), "--output", str(offline)]) == 0
    rules = [yaml.safe_load(path.read_text(encoding="utf-8"))["rules"] for path in (live, offline)]
    assert rules[0] == rules[1]
    assert any(rule["select"].get("groups") for rule in rules[0])
    asked = [path for _, path in fake.batched if "/transitiveMemberOf" in path]
    assert 0 < len(asked) <= 100 * 7, "a sample of each holding's holders, not every user"
    everybody = [path for _, path in (*fake.requests, *fake.batched) if EVERYBODY in path]
    assert len(everybody) == 1, "All Staff is counted, and too large to be a rule: its members are never read"
    assert "$top=1" in everybody[0]


def test_the_fake_lists_a_users_groups_as_graph_does(router: respx.MockRouter, fabrikam: tuple[Path, Any]) -> None:
    _, document = fabrikam
    fake_for(document, router)
    user = document["groups"][0]["members"][0]
    plain = {"Authorization": "Bearer t"}
    advanced = {**plain, "ConsistencyLevel": "eventual"}
    listed = httpx.get(f"{BASE}/users/{user}/transitiveMemberOf?$select=id", headers=plain)
    assert listed.status_code == 200
    assert {item["@odata.type"] for item in listed.json()["value"]} == {"#microsoft.graph.group"}
    cast = f"{BASE}/users/{user}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$count=true"
    assert httpx.get(cast, headers=plain).status_code == 400, "a cast on memberOf is an advanced query"
    answer = httpx.get(cast, headers=advanced)
    assert answer.status_code == 200
    assert {item["displayName"] for item in answer.json()["value"]} == {
        document["groups"][0]["displayName"],
        "All Staff",
    }
    assert answer.json()["@odata.count"] == 2
    missing = httpx.get(f"{BASE}/users/nobody@fabrikam.example/transitiveMemberOf?$select=id", headers=plain)
    assert missing.status_code == 404
