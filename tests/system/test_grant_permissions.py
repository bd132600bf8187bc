"""runbooks/grant-permissions.sh: exactly the roles `teams-licensing permissions` prints for the modes given,
granted idempotently with `az rest`, its role lists generated from the permission table.

A fake `az` on PATH answers the script's Graph requests and records them; nothing touches the network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from teamslicensing.reference.permissions import MODES, accepted_instead, grants
from tests.support.permission_docs import GRANT_SCRIPT, expected

PRINCIPAL = "11111111-2222-3333-4444-555555555555"
# Graph's application roles as the fake `az` lists them: every role the table names or accepts, and one more
ROLES = sorted(
    {g.permission for m in MODES for g in grants(m)}
    | {a for m in MODES for g in grants(m) for a in accepted_instead(g.permission)}
    | {"Mail.Read"}
)

FAKE_AZ = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_AZ_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
option = {{args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}}
url = option.get("--url", "")
if option.get("--method") == "post":
    sys.exit(0)
if "servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'" in url:
    print("graph-sp")
elif url.endswith("/appRoleAssignments"):
    print(os.environ.get("FAKE_AZ_ASSIGNED", ""))
elif url.endswith("/graph-sp?$select=appRoles"):
    assert "[value, id]" in option["--query"] and option["--output"] == "tsv"
    print("\\n".join(f"{{name}}\\trole-{{name}}" for name in json.loads(os.environ["FAKE_AZ_ROLES"])))
else:
    sys.exit("unexpected az call: " + " ".join(args))
"""

bash = shutil.which("bash")
pytestmark = pytest.mark.skipif(bash is None, reason="needs bash")


def required(mode: str) -> list[str]:
    return [g.permission for g in grants(mode) if not g.optional]


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
        "FAKE_AZ_ROLES": json.dumps(ROLES),
    }
    result = subprocess.run([bash, str(GRANT_SCRIPT), *args], capture_output=True, text=True, env=env, check=False)
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    return result, calls


def posted_roles(calls: list[list[str]]) -> list[str]:
    bodies = [json.loads(call[call.index("--body") + 1]) for call in calls if "post" in call]
    assert all(body["principalId"] == PRINCIPAL and body["resourceId"] == "graph-sp" for body in bodies)
    return [body["appRoleId"].removeprefix("role-") for body in bodies]


def test_the_role_lists_are_the_permission_tables() -> None:
    """Run `python -m tests.support.permission_docs` after changing the table."""
    assert bash is not None
    subprocess.run([bash, "-n", str(GRANT_SCRIPT)], check=True)
    assert GRANT_SCRIPT.read_text(encoding="utf-8") == expected(GRANT_SCRIPT)


@pytest.mark.parametrize("mode", list(MODES))
def test_each_mode_grants_exactly_the_roles_permissions_prints(tmp_path: Path, mode: str) -> None:
    result, calls = run(tmp_path, "--mode", mode, PRINCIPAL)
    assert result.returncode == 0, result.stderr
    assert posted_roles(calls) == required(mode)
    assert all(call[0] == "rest" for call in calls)


def test_without_a_mode_it_grants_apply_and_optional_adds_the_optional_roles(tmp_path: Path) -> None:
    result, calls = run(tmp_path, PRINCIPAL)
    assert result.returncode == 0, result.stderr
    assert posted_roles(calls) == required("apply")
    assert "LicenseAssignment.Read.All" in posted_roles(calls), "subscribedSkus: not granted by the write role"
    result, calls = run(tmp_path, "--mode", "plan", "--optional", PRINCIPAL)
    assert posted_roles(calls) == [g.permission for g in grants("plan")]
    assert "Member.Read.Hidden" in posted_roles(calls)


def test_the_older_flags_still_work(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "--read-only", "--numbers", PRINCIPAL)
    assert result.returncode == 0, result.stderr
    assert posted_roles(calls) == [*required("plan"), "TeamsTelephoneNumber.Read.All"]
    result, calls = run(tmp_path, "--usage", PRINCIPAL)
    assert posted_roles(calls) == [*required("apply"), "CallRecord-PstnCalls.Read.All"]
    assert "CallRecords.Read.All" not in posted_roles(calls), "least privileged: the PSTN logs, not every call"


def test_a_role_another_wanted_one_covers_is_not_granted_too(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "--mode", "plan", "--mode", "apply", PRINCIPAL)
    assert result.returncode == 0, result.stderr
    assert "User.Read.All: covered by User.ReadWrite.All" in result.stdout
    assert set(posted_roles(calls)) == set(required("apply"))


def test_roles_held_or_covered_by_one_held_are_skipped(tmp_path: Path) -> None:
    """An identity granted CallRecords.Read.All before keeps it and gets no second call-records role."""
    held = "role-CallRecords.Read.All\nrole-GroupMember.Read.All"
    result, calls = run(tmp_path, "--mode", "usage", PRINCIPAL, assigned=held)
    assert result.returncode == 0, result.stderr
    assert posted_roles(calls) == ["LicenseAssignment.Read.All", "User.Read.All"]
    assert "CallRecord-PstnCalls.Read.All: covered by CallRecords.Read.All, already granted" in result.stdout
    assert "GroupMember.Read.All: already granted" in result.stdout
    everything = "\n".join(f"role-{r}" for r in required("all"))
    again, calls = run(tmp_path, "--mode", "all", PRINCIPAL, assigned=everything)
    assert again.returncode == 0
    assert posted_roles(calls) == []


def test_bad_input_is_refused_before_any_call(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "not-a-guid")
    assert result.returncode == 2
    assert "not an object id" in result.stderr
    assert calls == []
    result, calls = run(tmp_path, "--mode", "everything", PRINCIPAL)
    assert result.returncode == 2
    assert "unknown mode: everything" in result.stderr
    assert calls == []
