"""`deploy automation` and the settings an admin may have set by hand: a configuration stored unencrypted (as the
0.1 README said to), an encrypted mode, a configuration blob whose storage endpoint moved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teamslicensing.cli import main
from tests.support.fakearm import FakeAzure
from tests.support.fakearm.bundles import ROOT
from tests.support.fakearm.cli import deploy

pytestmark = pytest.mark.usefixtures("fast_and_signed_in")

CONFIG = ROOT / "config" / "licensing.yaml"


def by_hand(azure: FakeAzure, name: str, value: str, *, encrypted: bool) -> None:
    """A variable an admin made in the portal."""
    azure.arm.variables[name] = {
        "id": azure.arm.resource_id(f"/variables/{name}"),
        "name": name,
        "value": json.dumps(value),
        "description": "set by hand",
        "isEncrypted": encrypted,
        "creationTime": "2026-01-01T00:00:00.000+00:00",
        "lastModifiedTime": "2026-01-01T00:00:00.000+00:00",
    }


def test_a_configuration_stored_unencrypted_by_hand_is_deleted_and_stored_encrypted(
    azure: FakeAzure, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Azure refuses to change a variable's encryption (the fake too), so deploy deletes it and makes it again."""
    by_hand(azure, "TeamsLicensing_Config", "version: 1\n", encrypted=False)
    assert deploy(azure, bundle, "--config", str(CONFIG)) == 0
    out = capsys.readouterr().out
    assert "remove variable TeamsLicensing_Config to store it encrypted" in out
    stored = azure.arm.variables["TeamsLicensing_Config"]
    assert stored["isEncrypted"]
    assert json.loads(stored["value"]) == CONFIG.read_text(encoding="utf-8")
    assert [e.status for e in azure.arm.requests("DELETE", r"/variables/TeamsLicensing_Config")] == [200]
    assert deploy(azure, bundle, "--config", str(CONFIG)) == 0
    assert "Deploy: no changes" in capsys.readouterr().out


def test_an_encrypted_mode_cannot_be_read_and_is_left_as_it_is(
    azure: FakeAzure, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    by_hand(azure, "TeamsLicensing_Mode", "apply", encrypted=True)
    assert deploy(azure, bundle) == 0
    out = capsys.readouterr().out
    assert azure.arm.variables["TeamsLicensing_Mode"]["value"] == json.dumps("apply"), "not reset to plan"
    assert azure.arm.requests("PUT", r"/variables/TeamsLicensing_Mode") == []
    assert "TeamsLicensing_Mode is encrypted, so deploy cannot read it: left as it is" in out
    principal = azure.arm.identity_principal
    assert f"grant-permissions.sh --mode MODE {principal}" in out
    assert "--mode plan" not in out, "no mode is guessed for the grants"

    assert deploy(azure, bundle, "--mode", "plan") == 0, "--mode replaces it, in clear"
    stored = azure.arm.variables["TeamsLicensing_Mode"]
    assert (stored["isEncrypted"], json.loads(stored["value"])) == (False, "plan")


def test_a_configuration_stored_as_a_blob_follows_the_blob_endpoint(
    azure: FakeAzure, bundle: Path, tmp_path: Path
) -> None:
    """The variable holds the blob's URL: the same text at another endpoint is another value (the encrypted value
    cannot be read back, so its description must record where it points, not only the text's digest)."""
    big = tmp_path / "licensing.yaml"
    padding = "".join(f"# {'x' * 100}\n" for _ in range(11_000))  # over a variable's 1,048,576 characters
    big.write_text(CONFIG.read_text(encoding="utf-8") + padding, encoding="utf-8")
    assert deploy(azure, bundle, "--config", str(big)) == 0
    moved = azure.blob_url.replace("127.0.0.1", "localhost")  # the same account, reached by another name
    args = [moved if arg == azure.blob_url else arg for arg in azure.cli_args()]
    assert main(["deploy", "automation", *args, "--bundle", str(bundle), "--config", str(big)]) == 0
    url = f"{moved}/teams-licensing-config/config/licensing.yaml"
    assert json.loads(azure.arm.variables["TeamsLicensing_Config"]["value"]) == url
    assert json.loads(azure.arm.variables["TeamsLicensing_AuditContainer"]["value"]) == f"{moved}/teams-licensing-audit"


def test_the_run_history_is_set_up_beside_the_audit_logs_and_an_admins_choice_kept(
    azure: FakeAzure, bundle: Path
) -> None:
    assert deploy(azure, bundle) == 0
    stored = azure.arm.variables["TeamsLicensing_History"]
    assert (stored["isEncrypted"], json.loads(stored["value"])) == (False, "history.jsonl")
    by_hand(azure, "TeamsLicensing_History", "off", encrypted=False)
    assert deploy(azure, bundle) == 0
    assert json.loads(azure.arm.variables["TeamsLicensing_History"]["value"]) == "off", "the admin turned it off"
