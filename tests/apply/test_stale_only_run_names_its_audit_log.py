"""A saved plan or an undo whose every user is stale still writes an audit log (its end record counts the stale
users): the command line says where that log is, as it does for every run that writes one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.cli import main


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def test_an_undo_whose_every_user_is_stale_names_the_audit_log_it_wrote(
    example_config: Path,
    demo_tenant: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = tmp_path / "tenant.json"
    shutil.copyfile(demo_tenant, tenant)
    applied_log = tmp_path / "apply.jsonl"
    main(["apply", str(example_config), "--snapshot", str(tenant), "--yes", "--audit-log", str(applied_log)])
    changed = _load(tenant)
    karl = next(u for u in changed["users"] if u["userPrincipalName"] == "karl@contoso.com")
    karl["licenseAssignmentStates"] = []  # an admin cleared Karl by hand afterwards: his undo is stale
    karl["assignedLicenses"] = []
    tenant.write_text(json.dumps(changed), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # the default audit log goes to the current folder
    capsys.readouterr()
    status = main(
        [
            "undo",
            str(applied_log),
            "--snapshot",
            str(tenant),
            "--yes",
            "--allow-number-loss",
            "--user",
            "karl@contoso.com",
        ]
    )
    err = capsys.readouterr().err
    assert status == 4
    assert "STALE karl@contoso.com" in err
    written = sorted(work.glob("teams-licensing-audit-*.jsonl"))
    assert len(written) == 1, "the run wrote an audit log (its end record counts the stale user)"
    assert f"Audit log: {written[0].name}" in err, "the run says where the log it wrote is"
