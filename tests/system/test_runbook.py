"""The Azure Automation runbook end to end against the fake Graph: plan, apply, plan again, bad input, failed writes."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import respx

from teamslicensing import app
from teamslicensing.app import core
from tests.conftest import STORAGE_TOKEN
from tests.support.fakegraph import FakeGraph
from tests.support.fakestorage import FakeStorage
from tests.support.shipped_demo import demo_fake_document
from tests.support.tokens import entra_token

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://graph.microsoft.com/v1.0"
DEMO_TENANT = "c0ffee00-0000-4000-8000-00000000beef"  # the demo's tenant, as the Graph token names it
ENV = [
    "TEAMS_LICENSING_CONFIG",
    "TEAMS_LICENSING_MODE",
    "TEAMS_LICENSING_MAX_CHANGES",
    "TEAMS_LICENSING_MANAGED_IDENTITY_CLIENT_ID",
    "TEAMS_LICENSING_GRAPH_URL",
    "TEAMS_LICENSING_ACCESS_TOKEN",
]


def load_runbook() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("reconcile_licenses", ROOT / "runbooks" / "reconcile_licenses.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


runbook = load_runbook()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", "test-token-not-a-secret")
    monkeypatch.setenv("TEAMS_LICENSING_GRAPH_URL", BASE)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the audit log lands in the test's folder
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.delitem(sys.modules, "automationassets", raising=False)


@pytest.fixture
def demo_document() -> dict[str, Any]:
    return demo_fake_document()


@pytest.fixture
def fake(demo_document: dict[str, Any], router: respx.MockRouter) -> FakeGraph:
    graph = FakeGraph(copy.deepcopy(demo_document), base_url=BASE, fractional_retry_after=True)
    graph.mount(router)
    return graph


def run() -> tuple[int, list[str], str, dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    status = runbook.main(out, err)
    lines = out.getvalue().splitlines()
    result: dict[str, Any] = json.loads(lines[-1])
    assert all(not line.startswith("{") for line in lines[:-1]), "exactly one JSON line, the last"
    return status, lines[:-1], err.getvalue(), result


def test_plan_mode_reads_only_and_reports_counts(
    fake: FakeGraph, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    status, summary, err, result = run()
    assert status == 3, "the demo keeps error-severity gaps"
    assert result["mode"] == "plan"
    assert result["changes"] > 0
    assert result["applied"] == 0
    assert result["failed"] == 0
    assert result["gaps"]["error"] > 0
    assert set(result["gaps"]) == {"error", "warning", "info"}
    assert len(result["errorGaps"]) == result["gaps"]["error"]
    assert any(gap["code"] == "USAGE_LOCATION_MISSING" for gap in result["errorGaps"])
    assert any(line.startswith("  ERROR ") for line in summary)
    assert result["exitCode"] == 3
    assert result["error"] is None
    assert summary[0] == f"teams-licensing plan: {example_config} against {BASE}"
    assert summary[-1].startswith("Plan: ")
    assert "Error-severity gaps remain" in err
    assert fake.writes == [], "plan mode writes nothing (its one $batch holds GETs)"
    assert "test-token" not in "\n".join(summary)


def test_apply_mode_then_plan_again_shows_no_changes(
    fake: FakeGraph, example_config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", example_config.read_text(encoding="utf-8"))  # YAML text
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    status, summary, _, result = run()
    assert status == 3, "everything applied; the demo's error gaps remain"
    assert result["mode"] == "apply"
    assert result["applied"] == result["changes"] > 0
    assert result["failed"] == 0
    assert result["users"] == [], "applied users are counted; the list names only those not applied"
    assert any(line.startswith("Apply: ") for line in summary)
    assert fake.writes
    (audit,) = tmp_path.glob("teams-licensing-audit-*.jsonl")
    records = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert [r["type"] for r in records if r["type"] in ("header", "end")] == ["header", "end"]
    assert len([r for r in records if r["type"] == "result"]) == len(fake.writes)
    assert len([r for r in records if r["type"] == "intent"]) == len(fake.writes), "one intent per write, no retry"
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "plan")
    status, _, _, again = run()
    assert again["changes"] == 0
    assert again["gaps"]["error"] > 0
    assert status == 3


def test_settings_come_from_automation_variables_when_available(
    fake: FakeGraph, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEAMS_LICENSING_ACCESS_TOKEN")
    monkeypatch.delenv("TEAMS_LICENSING_GRAPH_URL")
    variables = {
        "TeamsLicensing_Config": str(example_config),
        "TeamsLicensing_Mode": "apply",
        "TeamsLicensing_MaxChanges": "2",
        "TeamsLicensing_GraphUrl": BASE,
        "TeamsLicensing_AccessToken": "token-from-a-variable",
    }

    def get_automation_variable(name: str) -> str:
        if name not in variables:
            raise ValueError(f"no variable {name}")
        return variables[name]

    assets = types.ModuleType("automationassets")
    assets.get_automation_variable = get_automation_variable  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "automationassets", assets)
    status, _, err, result = run()
    assert status == 1
    assert "more than the limit of 2" in err
    assert "TeamsLicensing_MaxChanges" in result["error"]
    assert result["changes"] > 2
    assert fake.requests, "Graph was read with the variable's URL and token"
    assert fake.writes == []
    assert "TEAMS_LICENSING_ACCESS_TOKEN" not in os.environ, "the token is handed back"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("TEAMS_LICENSING_CONFIG", "version: 1\npolicy: {prun: true}\n", "unknown key 'prun'"),
        ("TEAMS_LICENSING_CONFIG", "/nowhere/licensing.yaml", "configuration file not found: /nowhere/licensing.yaml"),
        ("TEAMS_LICENSING_MODE", "destroy", "use 'plan', 'apply' or 'usage'"),
        ("TEAMS_LICENSING_MAX_CHANGES", "many", "use a whole number"),
        ("TEAMS_LICENSING_USAGE_DAYS", "0", "use a whole number of days ≥ 1"),
        # found before anything is read or written: an apply whose durable log could not be kept does not start
        ("TEAMS_LICENSING_AUDIT_CONTAINER", "https://attacker.example/steal", "is not a blob container URL"),
        ("TEAMS_LICENSING_AUDIT_CONTAINER", "http://127.0.0.1:10000/devstoreaccount1/audit", "is plain http"),
        ("TEAMS_LICENSING_LEASE_WAIT", "soon", "use a whole number"),
    ],
)
def test_bad_input_fails_clearly_before_any_graph_request(
    fake: FakeGraph,
    example_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv(setting, value)
    status, _, err, result = run()
    assert status == 1
    assert message in err
    assert message in result["error"]
    assert result["exitCode"] == 1
    assert fake.requests == []


def test_missing_configuration_names_both_places(fake: FakeGraph) -> None:
    status, _, err, _ = run()
    assert status == 1
    assert "TeamsLicensing_Config" in err
    assert "TEAMS_LICENSING_CONFIG" in err
    assert fake.requests == []


def test_failed_writes_fail_the_job_and_are_listed(
    fake: FakeGraph, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    read = app.read

    def read_then_someone_takes_the_seats(*args: Any) -> Any:
        tenant = read(*args)  # between the read and the writes the last MCOPSTN1 seats go elsewhere
        sku = next(s for s in fake.document()["subscribedSkus"] if s["skuPartNumber"] == "MCOPSTN1")
        fake._consumed[sku["skuId"].lower()] = sku["prepaidUnits"]["enabled"]
        return tenant

    monkeypatch.setattr(core, "read", read_then_someone_takes_the_seats)  # what app.plan calls
    status, summary, _, result = run()
    assert status == 1
    assert result["failed"] == 2
    assert result["applied"] == result["changes"] - 2
    failures = [user for user in result["users"] if user["status"] == "failed"]
    assert {f["userPrincipalName"] for f in failures} == {"bob@contoso.com", "carol@contoso.com"}
    assert all("does not have any available licenses" in f["reason"] for f in failures)
    assert any(line.startswith("  FAILED bob@contoso.com: ") for line in summary)


def test_settings_never_show_the_access_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", "version: 1")
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", "secret-token-value")
    monkeypatch.setenv("TEAMS_LICENSING_STORAGE_TOKEN", "secret-storage-token")
    settings = load_runbook().read_settings(None)
    assert settings.access_token == "secret-token-value"
    assert "secret-token-value" not in repr(settings)
    assert "secret-storage-token" not in repr(settings)


def test_apply_mode_writes_nothing_while_a_protected_user_is_not_found(
    fake: FakeGraph, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = example_config.read_text(encoding="utf-8")
    monkeypatch.setenv(
        "TEAMS_LICENSING_CONFIG", text.replace("    - breakglass@contoso.com\n", "    - ceo@contoso.co\n")
    )
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    status, _, err, result = run()
    assert status == 1
    assert "PROTECTED_USER_NOT_FOUND for ceo@contoso.co" in result["error"]
    assert "nothing was written" in err
    assert fake.writes == []


def test_usage_mode_reports_spend_and_funding_in_the_json_line(
    fake: FakeGraph, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timedelta, timezone

    from tests.support.fakegraph.calls import generate_calls

    users = [(u["id"], u["userPrincipalName"], "US") for u in fake.document()["users"][:3]]
    start = datetime.now(timezone.utc) - timedelta(days=50)
    fake.load_calls("getPstnCalls", list(generate_calls(users, start, 45, 20, plan="MCOPSTN2")))
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "usage")
    monkeypatch.setenv("TEAMS_LICENSING_USAGE_DAYS", "60")
    status, summary, _, result = run()
    assert result["mode"] == "usage"
    assert result["usage"]["calls"] == 45 * 20
    assert "rechargeAmount" in result["usage"]["currencies"]["USD"]["funding"]
    assert status == result["exitCode"]
    assert any("Communications Credits: recharge amount" in line for line in summary)
    assert not fake.writes, "usage writes nothing"


def test_the_job_output_keeps_the_audit_records_and_undo_reads_it(
    fake: FakeGraph, example_config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The sandbox's temp folder goes with the job; its output stays: every record is mirrored there, prefixed,
    before its write, and `undo` takes the saved job output as its audit log."""
    from teamslicensing.cli import main

    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    before = copy.deepcopy(fake.document()["users"])
    out, err = io.StringIO(), io.StringIO()
    runbook.main(out, err)
    applied = {u["id"]: sorted(a["skuId"] for a in u["assignedLicenses"]) for u in fake.document()["users"]}
    assert applied != {u["id"]: sorted(a["skuId"] for a in u["assignedLicenses"]) for u in before}, "it wrote"
    mirrored = [line for line in out.getvalue().splitlines() if line.startswith("teams-licensing audit: ")]
    (audit,) = tmp_path.glob("teams-licensing-audit-*.jsonl")
    assert [line.removeprefix("teams-licensing audit: ") for line in mirrored] == audit.read_text().splitlines()
    job_output = tmp_path / "job-output.txt"
    job_output.write_text(out.getvalue(), encoding="utf-8")
    audit.unlink()  # gone with the sandbox
    monkeypatch.delenv("TEAMS_LICENSING_MODE")
    args = ["undo", str(job_output), "--yes", "--allow-number-loss", "--audit-log", str(tmp_path / "undo.jsonl")]
    assert main(args) in (0, 3)
    restored = {u["id"]: sorted(a["skuId"] for a in u["assignedLicenses"]) for u in fake.document()["users"]}
    assert restored == {u["id"]: sorted(a["skuId"] for a in u["assignedLicenses"]) for u in before}


def test_the_audit_log_is_stored_in_the_blob_container_with_a_storage_token_only(
    fake: FakeGraph,
    router: respx.MockRouter,
    storage: FakeStorage,
    example_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    graph_token = entra_token(DEMO_TENANT)
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", graph_token)
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    monkeypatch.setenv("TEAMS_LICENSING_AUDIT_CONTAINER", storage.container_url())
    _, summary, _, result = run()
    (audit,) = tmp_path.glob("teams-licensing-audit-*.jsonl")
    assert storage.content(audit.name) == audit.read_bytes(), "the whole log, as written"
    assert result["auditBlob"] == f"{storage.container_url()}/{audit.name}"
    assert any(line.startswith("Audit log stored: ") for line in summary)
    assert {r.headers["authorization"] for r in storage.requests} == {f"Bearer {STORAGE_TOKEN}"}, "never Graph's"
    assert all(STORAGE_TOKEN not in call.request.headers.get("authorization", "") for call in router.calls)
    assert all(graph_token not in str(r.headers) for r in storage.requests)
    assert storage.lease_actions(f"locks/{DEMO_TENANT}") == ["acquire 404", "acquire 201", "release 200"]


def test_an_audit_container_that_does_not_exist_stops_apply_mode_before_the_tenant_is_read(
    fake: FakeGraph, storage: FakeStorage, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tenant's lease is kept in the audit container: one that is not there holds no lease, so nothing is
    read or written (an apply whose durable log could not be kept does not start either)."""
    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", entra_token(DEMO_TENANT))
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    monkeypatch.setenv("TEAMS_LICENSING_AUDIT_CONTAINER", storage.container_url("nowhere"))
    status, _, err, result = run()
    assert status == 1
    assert "404 ContainerNotFound" in result["error"]
    assert "404 ContainerNotFound" in err
    assert fake.writes == []
    assert [path for _, path in fake.requests] == ["/subscribedSkus"], "only which tenant it is was asked"


def test_apply_mode_stops_with_exit_4_and_tenant_locked_while_another_job_holds_the_tenant(
    fake: FakeGraph, storage: FakeStorage, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from teamslicensing.graph.blob import GivenToken, container_client
    from teamslicensing.graph.lease import LEASE_CLIENT_SETTINGS, BlobLease, LeaseTiming

    monkeypatch.setenv("TEAMS_LICENSING_ACCESS_TOKEN", entra_token(DEMO_TENANT))
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    monkeypatch.setenv("TEAMS_LICENSING_AUDIT_CONTAINER", storage.container_url())
    monkeypatch.setenv("TEAMS_LICENSING_LEASE_WAIT", "0")
    with container_client(storage.container_url(), GivenToken(STORAGE_TOKEN), **LEASE_CLIENT_SETTINGS) as container:
        other = {"command": "the runbook", "pid": 7, "host": "sandbox-2", "started": "2026-08-30T02:00:00+00:00"}
        assert BlobLease(container, f"locks/{DEMO_TENANT}", LeaseTiming()).take(other) is None
        status, summary, _, result = run()
    assert status == 4
    assert result["exitCode"] == 4
    assert result["error"] is None, "not an error: the job that holds the tenant does the work"
    assert result["stopped"]["reason"] == "tenantLocked"
    message = f"another run holds tenant {DEMO_TENANT}: the runbook as pid 7 on sandbox-2 since 2026-08-30T02:00"
    assert result["stopped"]["message"].startswith(message)
    assert result["applied"] == 0
    assert "changes" not in result, "no plan was made: nothing was read"
    assert any(line.startswith("Apply: 0 applied") and "not started: another run holds" in line for line in summary)
    assert fake.writes == []
    assert [path for _, path in fake.requests] == ["/subscribedSkus"]


def test_plan_mode_takes_no_lease(
    fake: FakeGraph, storage: FakeStorage, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_AUDIT_CONTAINER", storage.container_url())
    status, _, _, result = run()
    assert result["mode"] == "plan"
    assert status == 3
    assert [r for r in storage.requests if r.query.get("comp") == "lease"] == []
    assert {r.blob for r in storage.requests} == {"history.jsonl"}, "only the run history is written"


def test_the_job_completes_when_only_error_gaps_remain(
    demo_document: dict[str, Any], example_config: Path, tmp_path: Path
) -> None:
    """As a process, the way Azure Automation runs it: an apply that wrote everything exits 0 (the job completes)
    while its JSON line says 3 (error gaps remain); a run that failed still fails the job."""
    import os
    import subprocess
    import sys

    from tests.support.loopback import serving

    def job(url: str, config: str) -> tuple[int, dict[str, Any]]:
        env = {
            **os.environ,
            "TEAMS_LICENSING_CONFIG": config,
            "TEAMS_LICENSING_MODE": "apply",
            "TEAMS_LICENSING_GRAPH_URL": url,
            "TEAMS_LICENSING_ACCESS_TOKEN": "test-token-not-a-secret",
            "TEAMS_LICENSING_LOCK_DIR": str(tmp_path),
            "TMPDIR": str(tmp_path),
            "PYTHONPATH": str(ROOT / "automation"),
        }
        done = subprocess.run(
            [sys.executable, str(ROOT / "runbooks" / "reconcile_licenses.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return done.returncode, json.loads(done.stdout.splitlines()[-1])

    with serving(lambda url: FakeGraph(copy.deepcopy(demo_document), base_url=url)) as loopback:
        status, result = job(loopback.url, str(example_config))
        assert result["exitCode"] == 3, "the demo's error gaps remain"
        assert result["applied"] == result["changes"] > 0
        assert status == 0, "the job completes: gaps are findings, not a failed run"
        status, result = job(loopback.url, str(tmp_path / "missing.yaml"))
        assert (status, result["exitCode"]) == (1, 1), "a run that cannot start fails the job"


def test_a_missing_graph_role_fails_the_job_naming_the_role_to_grant(
    fake: FakeGraph, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The managed identity holds what grant-permissions.sh used to grant for apply: LicenseAssignment.ReadWrite.All
    does not read subscribedSkus, so the job stops before any write and says which role grants that read."""
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    fake.roles = frozenset({"LicenseAssignment.ReadWrite.All", "User.ReadWrite.All", "GroupMember.Read.All"})
    status, _, err, result = run()
    assert status == 1
    assert "GET /subscribedSkus needs the application permission LicenseAssignment.Read.All" in result["error"]
    assert "Traceback" not in err
    assert fake.writes == []


def test_a_write_graph_refuses_for_want_of_a_role_names_it(
    fake: FakeGraph, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_CONFIG", str(example_config))
    monkeypatch.setenv("TEAMS_LICENSING_MODE", "apply")
    fake.roles = frozenset({"LicenseAssignment.Read.All", "User.Read.All", "GroupMember.Read.All"})  # plan's
    status, _, _, result = run()
    assert status == 1
    reasons = [user["reason"] for user in result["users"] if user["status"] == "failed"]
    licenses = [r for r in reasons if r.startswith("assignLicense: HTTP 403")]
    assert licenses
    assert all("needs the application permission LicenseAssignment.ReadWrite.All (" in r for r in licenses)
    locations = [r for r in reasons if r.startswith("setting the usage location: HTTP 403")]
    assert locations
    assert all("PATCH /users/{id} needs the application permission User.ReadWrite.All" in r for r in locations)


def test_a_job_stopped_while_reading_ends_with_the_json_line(
    demo_document: dict[str, Any], example_config: Path, tmp_path: Path
) -> None:
    """SIGTERM (Azure stopping the job) before anything is written: the summary and the JSON line still come."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.support.loopback import serving

    with serving(lambda url: FakeGraph(copy.deepcopy(demo_document), base_url=url), latency=3.0) as loopback:
        env = {
            **os.environ,
            "TEAMS_LICENSING_CONFIG": str(example_config),
            "TEAMS_LICENSING_MODE": "apply",
            "TEAMS_LICENSING_GRAPH_URL": loopback.url,
            "TEAMS_LICENSING_ACCESS_TOKEN": "test-token-not-a-secret",
            "TEAMS_LICENSING_LOCK_DIR": str(tmp_path),
            "TMPDIR": str(tmp_path),
            "PYTHONPATH": str(ROOT / "automation"),
        }
        child = subprocess.Popen(
            [sys.executable, str(ROOT / "runbooks" / "reconcile_licenses.py")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        while not loopback.fake.requests and time.monotonic() < deadline:  # the read is under way
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
        assert child.returncode == 143
        result = json.loads(out.splitlines()[-1])
        assert result["exitCode"] == 143
        assert result["stopped"]["reason"] == "terminated"
        assert "nothing more was written" in result["error"]
        assert "Traceback" not in err
        assert loopback.fake.writes == []
