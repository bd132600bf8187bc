"""`teams-licensing init` on the tenant shapes a review found it wrong on: the written file must be what init promises
(a valid file, planned as it stands, that changes nobody, whose rules explain what the coverage line says)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any

import httpx
import pytest
import respx
import yaml

from benchmarks.adoption_tenant import with_all_staff_groups, write_adoption_snapshot
from teamslicensing import app
from teamslicensing.app import TenantSource
from teamslicensing.cli import main
from teamslicensing.model.plan import Severity
from teamslicensing.reference.catalog import load_catalog
from tests.support.faults import fake_for

CATALOG = load_catalog()
VOICE = ("SPE_E3", "MCOEV", "MCOPSTN1")  # a Teams suite, Teams Phone and a Calling Plan: a plan with no warnings


def _sku(part: str) -> Any:
    return CATALOG.by_part_number(part)[0]


def _subscribed(part: str) -> dict[str, Any]:
    sku = _sku(part)
    return {
        "skuId": sku.sku_id,
        "skuPartNumber": part,
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": 10,
        "prepaidUnits": {"enabled": 1000, "suspended": 0, "warning": 0},
        "servicePlans": [
            {"servicePlanId": p.id, "servicePlanName": p.name, "provisioningStatus": "Success", "appliesTo": "User"}
            for p in sku.service_plans
        ],
    }


def uid(n: int) -> str:
    return f"7b000000-0000-4000-8000-{n:012x}"


def user(n: int, held: Iterable[str] = VOICE, department: str = "Finance", **more: Any) -> dict[str, Any]:
    licenses = [{"skuId": _sku(part).sku_id, "disabledPlans": []} for part in held]
    return {
        "id": uid(n),
        "userPrincipalName": f"user{n}@contoso.example",
        "displayName": f"User {n}",
        "accountEnabled": True,
        "usageLocation": "US",
        "department": department,
        "assignedLicenses": licenses,
        "licenseAssignmentStates": [
            {**one, "assignedByGroup": None, "state": "Active", "error": "None"} for one in licenses
        ],
        **more,
    }


def group(n: int, name: str, members: Iterable[int]) -> dict[str, Any]:
    return {"id": f"6a000000-0000-4000-8000-{n:012x}", "displayName": name, "members": [uid(m) for m in members]}


def snapshot(path: Path, users: list[dict[str, Any]], groups: list[dict[str, Any]]) -> Path:
    document = {
        "tenantName": "Contoso",
        "users": users,
        "groups": groups,
        "subscribedSkus": [_subscribed(p) for p in VOICE],
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def init(snap: Path, output: Path, *more: str) -> int:
    return main(["init", "--snapshot", str(snap), "--output", str(output), *more])


def planned(config: Path, snap: Path) -> app.PlanRun:
    return app.plan(config, TenantSource(snapshot=snap))


def errors(run: app.PlanRun) -> list[str]:
    return [f"{gap.code.value}: {gap.message}" for gap in run.plan.gaps if gap.severity is Severity.ERROR]


# ---- the written file's plan changes somebody ---------------------------------------------------------------------


def test_an_attribute_rule_does_not_license_users_whose_department_differs_only_in_case(tmp_path: Path) -> None:
    """The planner matches attribute values ignoring case and surrounding spaces; init counts outsiders by the
    exact value. `department: "Sales"` then selects the three 'sales ' users, who hold nothing: neither excluded
    nor taken out by the rounds (they hold nothing, so holding them out changes no rule). init exits 1 and leaves
    a file saying "planned as it stands it changes nobody" that adds Teams Phone and a Calling Plan to them."""
    users = [user(n, department="Sales") for n in range(5)]
    users += [user(10 + n, held=("SPE_E3",), department="sales ") for n in range(3)]
    snap = snapshot(tmp_path / "tenant.json", users, [])
    output = tmp_path / "licensing.yaml"
    rc = init(snap, output)
    changes = planned(output, snap).plan.changes if output.exists() else ()
    assert [change.user_principal_name for change in changes] == []
    assert rc == 0


# ---- a rule that resolves to nobody, with "100%" printed and exit 0 ------------------------------------------------


@pytest.mark.parametrize(
    ("names", "why"),
    [
        (["Voice Team", "Voice Team"], "two groups share a display name (Entra does not make them unique)"),
        (["Voice Team", "VOICE TEAM"], "the config finds groups by name ignoring case"),
        ([" Voice Team"], "a leading space: the config strips the name it looks up, not the group's"),
        (["\u00a0Voice Team"], "a leading no-break space, as pasted from a web page"),
    ],
)
def test_a_group_rule_selects_the_group_it_was_made_for(tmp_path: Path, names: list[str], why: str) -> None:
    users = [user(n) for n in range(6)] + [user(10 + n, held=("SPE_E3",)) for n in range(3)]
    groups = [group(1, names[0], range(6))] + [group(2 + i, name, [10, 11, 12]) for i, name in enumerate(names[1:])]
    snap = snapshot(tmp_path / "tenant.json", users, groups)
    output = tmp_path / "licensing.yaml"
    assert init(snap, output) == 0
    assert errors(planned(output, snap)) == [], why


# ---- what the written file holds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Next\x85Line", "Del\x7fete"])
def test_a_group_name_yaml_cannot_hold_verbatim_is_written_so_it_reads_back(tmp_path: Path, name: str) -> None:
    """json.dumps(ensure_ascii=False) leaves NEL, DEL and U+2029 raw: YAML folds NEL into a space (the rule then
    names no group) and refuses DEL outright (init then reports a 'problem in configuration' in its own file)."""
    users = [user(n) for n in range(6)]
    snap = snapshot(tmp_path / "tenant.json", users, [group(1, name, range(6))])
    output = tmp_path / "licensing.yaml"
    assert init(snap, output) == 0
    document = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert document["rules"][0]["select"]["groups"] == [name]
    assert errors(planned(output, snap)) == []


def test_a_failed_init_with_force_keeps_the_file_it_would_have_replaced(tmp_path: Path) -> None:
    """init writes the output before it has planned it: any failure after the first round (here the file it wrote
    does not load) leaves its own broken file where the admin's was."""
    snap = snapshot(tmp_path / "tenant.json", [user(n) for n in range(6)], [group(1, "Del\x7fete", range(6))])
    output = tmp_path / "licensing.yaml"
    output.write_text("# the admin's own file\n", encoding="utf-8")
    if init(snap, output, "--force") != 0:
        assert output.read_text(encoding="utf-8") == "# the admin's own file\n"


def test_a_file_whose_plan_still_changes_somebody_is_not_left_to_be_applied(tmp_path: Path) -> None:
    """When the rounds run out (exit 1, "do not apply it"), the file stays at --output, headed "planned as it
    stands it changes nobody"; the next `apply` of that path changes people."""
    users = [user(n, department="Sales") for n in range(5)]
    users += [user(10 + n, held=("SPE_E3",), department="SALES") for n in range(3)]
    snap = snapshot(tmp_path / "tenant.json", users, [])
    output = tmp_path / "licensing.yaml"
    if init(snap, output) != 0:
        assert not output.exists() or "changes nobody" not in output.read_text(encoding="utf-8")


def test_the_coverage_percentage_does_not_round_a_gap_away(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """999 of 1,000 explained prints "(100%)": an admin reads that as "everyone"."""
    users = [user(n) for n in range(1000)] + [user(5000, department="Legal")]
    users[-1]["accountEnabled"] = False
    snap = snapshot(tmp_path / "tenant.json", users, [group(1, "Voice", range(1000))])
    assert init(snap, tmp_path / "licensing.yaml") == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("init: "))
    assert "1,000 of 1,001" in line
    assert "(100%)" not in line


def test_a_snapshot_without_numbers_says_numbers_were_not_read(tmp_path: Path) -> None:
    """The policy comment lists number holders for protectedUsers; when numbers were not read (a snapshot without
    them, a cloud where Graph does not list them) the file is silent, which reads as "nobody holds a number"."""
    snap = snapshot(tmp_path / "tenant.json", [user(n) for n in range(6)], [group(1, "Voice", range(6))])
    output = tmp_path / "licensing.yaml"
    assert init(snap, output) == 0
    policy = output.read_text(encoding="utf-8").split("policy:")[1].split("licenses:")[0]
    comments = [line for line in policy.splitlines() if line.strip().startswith("#")]
    assert any("number" in line.lower() for line in comments), policy


class _Hang(Exception):
    pass


@pytest.fixture
def two_seconds() -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(2)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.usefixtures("two_seconds")
def test_aliases_of_skus_the_catalogue_does_not_know_are_found_without_hanging() -> None:
    """Three voice SKUs the catalogue lacks, named by part number: VOICE -> voice, VOICE_3 -> voice3, then VOICE__
    -> voice, whose suffix (taken names starting 'voice' + 1 = 3) is taken, and recomputed the same forever."""
    from teamslicensing.plan.proposal import _aliases

    tenant = SimpleNamespace(
        sku_by_id={
            f"sku-{n}": SimpleNamespace(part_number=part) for n, part in enumerate(["VOICE", "VOICE_3", "VOICE__"])
        }
    )
    try:
        aliases = _aliases(tenant, tenant.sku_by_id, CATALOG)  # type: ignore[arg-type]
    except _Hang:
        pytest.fail("_aliases loops forever")
    assert len(set(aliases.values())) == 3


# ---- the live read ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fabrikam_with_wide_groups(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """1,000 users whose voice teams are two groups, and 300 building/site/all-hands groups everyone is in (too
    large to be a rule): common in a tenant of any age."""
    path = tmp_path_factory.mktemp("wide") / "tenant.json"
    write_adoption_snapshot(path, 1_000)
    return path, with_all_staff_groups(path, 300)


@pytest.mark.usefixtures("graph_token")
def test_a_live_init_finds_the_team_groups_among_many_large_ones(
    router: respx.MockRouter, fabrikam_with_wide_groups: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """candidate_groups keeps the 300 groups seen most often in the sample *before* it drops those too large:
    300 all-hands groups take every place, and the voice teams' groups are never read. The snapshot of the same
    tenant gets one rule per team group; the live read gets none."""
    snap, document = fabrikam_with_wide_groups
    fake_for(document, router)
    live, offline = tmp_path / "live.yaml", tmp_path / "offline.yaml"
    assert main(["init", "--snapshot", str(snap), "--output", str(offline)]) == 0
    assert main(["init", "--output", str(live)]) == 0

    def group_rules(path: Path) -> list[str]:
        rules = yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]
        return sorted(g for rule in rules for g in rule["select"].get("groups", []))

    assert group_rules(offline), "the snapshot explains the teams by their groups"
    assert group_rules(live) == group_rules(offline)


@pytest.mark.usefixtures("graph_token")
def test_a_group_deleted_during_the_read_does_not_stop_init(router: respx.MockRouter, tmp_path: Path) -> None:
    """A user's groups that cannot be read are skipped ("smaller, never wrong"), but one candidate group that 404s
    when counted (deleted between the two reads, or hidden membership refused) ends the whole init."""
    users = [user(n) for n in range(6)]
    document = {
        "tenantName": "Contoso",
        "users": users,
        "groups": [group(1, "Voice", range(6)), group(2, "Gone", range(3))],
        "subscribedSkus": [_subscribed(p) for p in VOICE],
    }
    fake = fake_for(document, router)
    original = fake.handle

    def handle(request: httpx.Request) -> Any:
        if "/groups/6a000000-0000-4000-8000-000000000002/" in request.url.path:
            body = {"error": {"code": "Request_ResourceNotFound", "message": "Resource does not exist."}}
            return httpx.Response(404, json=body)
        return original(request)

    fake.handle = handle  # type: ignore[method-assign]
    output = tmp_path / "licensing.yaml"
    assert main(["init", "--output", str(output)]) == 0
    rules = yaml.safe_load(output.read_text(encoding="utf-8"))["rules"]
    assert [rule["select"].get("groups") for rule in rules] == [["Voice"]]
