"""runbooks/grant-permissions.sh: exactly the least-privileged Graph roles, granted idempotently with `az rest`.

A fake `az` on PATH answers the script's Graph requests and records them; nothing touches the network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "runbooks" / "grant-permissions.sh"
PRINCIPAL = "11111111-2222-3333-4444-555555555555"
READ_WRITE = ["LicenseAssignment.ReadWrite.All", "User.ReadWrite.All", "GroupMember.Read.All"]
READ_ONLY = ["LicenseAssignment.Read.All", "User.Read.All", "GroupMember.Read.All"]
NUMBERS = "TeamsTelephoneNumber.Read.All"  # optional: the Teams number inventory

FAKE_AZ = """#!{python}
import json, os, re, sys
args = sys.argv[1:]
with open(os.environ["FAKE_AZ_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
option = {{args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}}
url, query = option.get("--url", ""), option.get("--query", "")
if option.get("--method") == "post":
    sys.exit(0)
if "servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'" in url:
    print("graph-sp")
elif url.endswith("/appRoleAssignments"):
    print(os.environ.get("FAKE_AZ_ASSIGNED", ""))
elif url.endswith("?$select=appRoles"):
    print("role-" + re.search(r"value=='([^']+)'", query).group(1))
else:
    sys.exit("unexpected az call: " + " ".join(args))
"""

bash = shutil.which("bash")
pytestmark = pytest.mark.skipif(bash is None, reason="needs bash")


def roles_in_script(name: str) -> list[str]:
    match = re.search(rf"^{name}=\(([^)]*)\)$", SCRIPT.read_text(encoding="utf-8"), re.MULTILINE)
    assert match is not None
    return match.group(1).split()


def test_the_script_parses_and_names_exactly_the_least_privileged_roles() -> None:
    assert bash is not None
    subprocess.run([bash, "-n", str(SCRIPT)], check=True)
    assert roles_in_script("READ_WRITE_ROLES") == READ_WRITE
    assert roles_in_script("READ_ONLY_ROLES") == READ_ONLY
    named = set(re.findall(r"\b[A-Z][A-Za-z]+\.(?:Read|ReadWrite)\.All\b", SCRIPT.read_text(encoding="utf-8")))
    assert named == set(READ_WRITE) | set(READ_ONLY) | {NUMBERS, "CallRecords.Read.All"}
    assert f"NUMBER_ROLE={NUMBERS}" in SCRIPT.read_text(encoding="utf-8")


def run(tmp_path: Path, *args: str, assigned: str = "") -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    assert bash is not None
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    az = folder / "az"
    az.write_text(FAKE_AZ.format(python=sys.executable), encoding="utf-8")
    az.chmod(0o755)
    log = tmp_path / "az.log"
    log.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
        "FAKE_AZ_LOG": str(log),
        "FAKE_AZ_ASSIGNED": assigned,
    }
    result = subprocess.run([bash, str(SCRIPT), *args], capture_output=True, text=True, env=env, check=False)
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    return result, calls


def posted_roles(calls: list[list[str]]) -> list[str]:
    bodies = [json.loads(call[call.index("--body") + 1]) for call in calls if "post" in call]
    assert all(body["principalId"] == PRINCIPAL and body["resourceId"] == "graph-sp" for body in bodies)
    return [body["appRoleId"].removeprefix("role-") for body in bodies]


def test_grants_the_read_write_roles(tmp_path: Path) -> None:
    result, calls = run(tmp_path, PRINCIPAL)
    assert result.returncode == 0, result.stderr
    assert posted_roles(calls) == READ_WRITE
    assert all(call[0] == "rest" for call in calls)
    assert any(f"/servicePrincipals/{PRINCIPAL}/appRoleAssignments" in arg for call in calls for arg in call)


def test_read_only_grants_the_read_roles(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "--read-only", PRINCIPAL)
    assert result.returncode == 0, result.stderr
    assert posted_roles(calls) == READ_ONLY


def test_numbers_adds_the_number_inventory_role(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "--read-only", "--numbers", PRINCIPAL)
    assert result.returncode == 0, result.stderr
    assert posted_roles(calls) == [*READ_ONLY, NUMBERS]


def test_usage_adds_the_call_records_role(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "--usage", PRINCIPAL)
    assert result.returncode == 0, result.stderr
    assert posted_roles(calls) == [*READ_WRITE, "CallRecords.Read.All"]


def test_roles_already_assigned_are_skipped(tmp_path: Path) -> None:
    assigned = "role-User.ReadWrite.All\nrole-GroupMember.Read.All"
    result, calls = run(tmp_path, PRINCIPAL, assigned=assigned)
    assert result.returncode == 0, result.stderr
    assert posted_roles(calls) == ["LicenseAssignment.ReadWrite.All"]
    assert "User.ReadWrite.All: already granted" in result.stdout
    again, calls = run(tmp_path, PRINCIPAL, assigned="\n".join(f"role-{r}" for r in READ_WRITE))
    assert again.returncode == 0
    assert posted_roles(calls) == []


def test_a_bad_object_id_is_refused_before_any_call(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "not-a-guid")
    assert result.returncode == 2
    assert "not an object id" in result.stderr
    assert calls == []
