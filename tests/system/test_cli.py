"""The command line as a user meets it: exit codes, output formats, files, and fast start-up for `validate`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from teamslicensing import __version__
from teamslicensing.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "automation")}
    return subprocess.run(
        [sys.executable, "-m", "teamslicensing", *args], capture_output=True, text=True, env=env, check=False
    )


def test_version_via_python_dash_m() -> None:
    result = run_module("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"teams-licensing {__version__}"


def test_validate_accepts_the_example_without_importing_graph_libraries(example_config: Path) -> None:
    code = (
        "import sys; from teamslicensing.cli import main; "
        f"status = main(['validate', {str(example_config)!r}]); "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('msgraph', 'azure', 'kiota_abstractions')); "
        "print('HEAVY', heavy); sys.exit(status)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "automation")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "valid (6 rules" in result.stdout
    assert "HEAVY []" in result.stdout


def test_validate_reports_every_problem_on_stderr_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\npolicy: {prun: true}\nrules:\n  - {name: r, select: {}, assign: [MCOEVX]}\n")
    assert main(["validate", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{bad}:2:10: policy: unknown key 'prun' (did you mean 'prune'?)" in err
    assert f"{bad}:4:23: rule selects nobody" in err
    assert f"{bad}:4:36: unknown license 'MCOEVX'" in err
    assert err.rstrip().endswith("3 problems in configuration; nothing was changed.")


def test_schema_command_prints_the_checked_in_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((ROOT / "config" / "schema.json").read_text(encoding="utf-8"))


def test_skus_search_lists_voice_capabilities(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skus", "--search", "SPE_E5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    e5 = next(line for line in lines if line.startswith("SPE_E5 "))
    assert "06ebc4ee-1bb5-47dd-8120-11324bc54e06" in e5
    assert "audioConferencing" in e5
    assert "phoneSystem" in e5
    assert lines[-1].endswith("SKUs")


def test_skus_lists_calling_plans_by_their_teams_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skus", "--search", "Teams Domestic Calling Plan"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("MCOPSTN1 "))
    assert line.endswith("Microsoft Teams Domestic Calling Plan")


def test_skus_voice_filter_leaves_only_voice_skus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skus", "--voice"]) == 0
    header, *lines = capsys.readouterr().out.splitlines()[:-1]
    assert header.split() == ["PART", "NUMBER", "SKU", "ID", "VOICE", "CAPABILITIES", "PRODUCT"]
    assert lines, "the catalogue has voice SKUs"
    assert all(
        any(c in line for c in ("phoneSystem", "callingPlan", "audioConferencing", "communications", "resourceAccount"))
        for line in lines
    )
    assert not any(line.startswith(("SPE_E3 ", "Microsoft_Teams_Enterprise_New ")) for line in lines), (
        "Teams is no voice"
    )


def test_skus_as_json_and_csv_say_the_same_as_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skus", "--search", "Teams Phone", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    mcoev = next(s for s in document["skus"] if s["skuPartNumber"] == "MCOEV")
    assert mcoev["productName"] == "Microsoft Teams Phone Standard"
    assert mcoev["capabilities"] == ["phoneSystem"]
    assert "MCOEV" in {p["servicePlanName"] for p in mcoev["servicePlans"]}
    assert document["count"] == len(document["skus"])
    assert main(["skus", "--search", "Teams Phone", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["skuPartNumber"] for r in rows] == [s["skuPartNumber"] for s in document["skus"]]
    assert next(r for r in rows if r["skuPartNumber"] == "MCOEV")["capabilities"] == "phoneSystem"


def test_plan_text_on_the_demo_tenant(
    example_config: Path, demo_tenant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(example_config), "--snapshot", str(demo_tenant)]) == 0
    out = capsys.readouterr().out
    assert "bob@contoso.com" in out
    assert "+ MCOPSTN2" in out  # grace's swap…
    assert "- MCOPSTN1" in out  # …in the same change
    assert out.rstrip().splitlines()[-1].startswith("Plan: ")


def test_plan_json_is_written_to_output_file(
    example_config: Path, demo_tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plan.json"
    status = main(
        ["plan", str(example_config), "--snapshot", str(demo_tenant), "--format", "json", "--output", str(target)]
    )
    assert status == 0
    assert capsys.readouterr().out == ""
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["version"] == 2
    assert {change["userPrincipalName"] for change in document["changes"]} >= {"bob@contoso.com", "grace@contoso.com"}
    assert document["meta"]["tool"] == "teams-licensing"
    assert document["meta"]["source"] == f"snapshot {demo_tenant}"


def test_detailed_exitcode_three_wins_over_two(example_config: Path, demo_tenant: Path) -> None:
    assert main(["plan", str(example_config), "--snapshot", str(demo_tenant), "--detailed-exitcode"]) == 3


def test_detailed_exitcode_zero_when_in_sync_and_two_when_changes_pending(tmp_path: Path) -> None:
    mcoev = "e43b5b99-8dfb-405f-9987-dc307f34bcbd"
    teams = "7e31c0d9-9551-471d-836f-32ee72be4a01"  # Microsoft_Teams_Enterprise_New: Teams Phone needs Teams
    tenant = {
        "subscribedSkus": [
            {
                "skuId": teams,
                "skuPartNumber": "Microsoft_Teams_Enterprise_New",
                "capabilityStatus": "Enabled",
                "consumedUnits": 2,
                "prepaidUnits": {"enabled": 5},
                "servicePlans": [
                    {"servicePlanId": "57ff2da0-773e-42df-b2af-ffb7a2317929", "servicePlanName": "TEAMS1"}
                ],
            },
            {
                "skuId": mcoev,
                "skuPartNumber": "MCOEV",
                "capabilityStatus": "Enabled",
                "consumedUnits": 1,
                "prepaidUnits": {"enabled": 5},
                "servicePlans": [{"servicePlanId": "4828c8ec-dc2e-4779-b502-87ac9ce28ab7", "servicePlanName": "MCOEV"}],
            },
        ],
        "users": [
            {
                "id": "u1",
                "userPrincipalName": "ann@contoso.com",
                "accountEnabled": True,
                "usageLocation": "US",
                "assignedLicenses": [{"skuId": mcoev, "disabledPlans": []}, {"skuId": teams, "disabledPlans": []}],
            },
            {
                "id": "u2",
                "userPrincipalName": "ben@contoso.com",
                "accountEnabled": True,
                "usageLocation": "US",
                "assignedLicenses": [{"skuId": teams, "disabledPlans": []}],
            },
        ],
        "groups": [],
    }
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(tenant))

    def plan_for(user: str) -> int:
        config = tmp_path / f"{user}.yaml"
        config.write_text(
            "version: 1\nrules:\n"
            f"  - {{name: r, select: {{users: [{user}]}}, assign: [MCOEV], voiceRouting: directRouting}}\n"
        )
        return main(["plan", str(config), "--snapshot", str(snapshot), "--detailed-exitcode"])

    assert plan_for("ann@contoso.com") == 0
    assert plan_for("ben@contoso.com") == 2


def test_plan_with_bad_config_fails_before_reading_the_tenant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 3\n")
    assert main(["plan", str(bad), "--snapshot", str(tmp_path / "does-not-exist.json")]) == 1
    err = capsys.readouterr().err
    assert "version: expected 1, found the number 3" in err
    assert "does-not-exist" not in err


def test_plan_with_malformed_snapshot_exits_1(
    example_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "tenant.json"
    snapshot.write_text('{"subscribedSkus": [], "users": [{"id": "1"}], "groups": []}')
    assert main(["plan", str(example_config), "--snapshot", str(snapshot)]) == 1
    assert "users[0] (1): missing 'userPrincipalName'" in capsys.readouterr().err


def test_apply_refuses_to_write_anything_while_a_protected_user_is_not_found(
    example_config: Path, demo_tenant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "licensing.yaml"
    text = example_config.read_text(encoding="utf-8")
    assert "    - breakglass@contoso.com\n" in text
    config.write_text(
        text.replace("    - breakglass@contoso.com\n", "    - breakglass@contoso.com\n    - ceo@contoso.co\n")
    )
    snapshot = tmp_path / "tenant.json"
    snapshot.write_bytes(demo_tenant.read_bytes())
    audit = tmp_path / "audit.jsonl"
    status = main(["apply", str(config), "--snapshot", str(snapshot), "--yes", "--audit-log", str(audit)])
    captured = capsys.readouterr()
    assert status == 1
    assert "refusing to apply: PROTECTED_USER_NOT_FOUND for ceo@contoso.co" in captured.err
    assert "PROTECTED_USER_NOT_FOUND" in captured.out, "the plan shown says why"
    assert snapshot.read_bytes() == demo_tenant.read_bytes(), "nothing was written"
    assert not audit.exists()
