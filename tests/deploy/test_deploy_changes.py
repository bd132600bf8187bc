"""`deploy automation` when something is already there, or is wrong: what it changes, what it leaves, what it
refuses before sending anything (against the fake Resource Manager and Blob Storage)."""

from __future__ import annotations

import importlib.resources
import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

import teamslicensing.deploy
from teamslicensing import __version__
from teamslicensing.bundle.manifest import read_bundle
from teamslicensing.cli import main
from teamslicensing.deploy.environment import environment_name
from teamslicensing.deploy.options import Pace
from tests.support.fakearm import ARM_TOKEN, STORAGE_TOKEN, FakeAzure, fake_azure
from tests.support.fakearm.bundles import make_test_bundle

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "licensing.yaml"


@pytest.fixture(autouse=True)
def fast_and_signed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(teamslicensing.deploy, "DEFAULT_PACE", Pace(poll_seconds=0.01, window_seconds=1.0))
    monkeypatch.setenv("TEAMS_LICENSING_ARM_TOKEN", ARM_TOKEN)
    monkeypatch.setenv("TEAMS_LICENSING_STORAGE_TOKEN", STORAGE_TOKEN)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_test_bundle(tmp_path / "made", __version__)


@pytest.fixture
def azure(tmp_path: Path) -> Iterator[FakeAzure]:
    with fake_azure(tmp_path) as fake:
        yield fake


def deploy(azure: FakeAzure, bundle: Path, *extra: str) -> int:
    return main(["deploy", "automation", *azure.cli_args(), "--bundle", str(bundle), *extra])


def running(azure: FakeAzure) -> str:
    """The runtime environment the runbook runs on."""
    environment: str = azure.arm.runbooks["Reconcile-TeamsLicenses"]["properties"]["runtimeEnvironment"]
    return environment


def test_another_time_replaces_the_schedule_and_keeps_one_link(
    azure: FakeAzure, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(azure, bundle, "--schedule", "daily@06:00") == 0
    assert deploy(azure, bundle, "--schedule", "daily@22:30") == 0
    out = capsys.readouterr().out
    assert "remove schedule teams-licensing-daily (it runs at another time)" in out
    start = datetime.fromisoformat(azure.arm.schedules["teams-licensing-daily"]["properties"]["startTime"])
    assert (start.hour, start.minute) == (22, 30)
    assert len(azure.arm.job_schedules) == 1, "the old link went with the old schedule; one new link"


def test_duplicate_links_are_removed_so_the_runbook_starts_once_a_day(azure: FakeAzure, bundle: Path) -> None:
    assert deploy(azure, bundle, "--schedule", "daily@06:00") == 0
    link = next(iter(azure.arm.job_schedules.values()))
    for identifier in ("0fa462ba-3aa2-4138-83ca-9ebc3bc55cdc", "1fa462ba-3aa2-4138-83ca-9ebc3bc55cdc"):
        azure.arm.job_schedules[identifier] = {
            **link,
            "name": identifier,
            "properties": {**link["properties"], "jobScheduleId": identifier},
        }
    assert deploy(azure, bundle, "--schedule", "daily@06:00") == 0
    assert len(azure.arm.job_schedules) == 1, "three links on two pages were read, two removed"


def test_the_mode_an_admin_set_is_kept_unless_mode_is_given(
    azure: FakeAzure, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(azure, bundle) == 0
    azure.arm.variables["TeamsLicensing_Mode"]["value"] = json.dumps("apply")
    assert deploy(azure, bundle) == 0
    out = capsys.readouterr().out
    assert json.loads(azure.arm.variables["TeamsLicensing_Mode"]["value"]) == "apply"
    assert f"grant-permissions.sh --mode apply {azure.arm.identity_principal}" in out
    assert deploy(azure, bundle, "--mode", "plan") == 0
    assert json.loads(azure.arm.variables["TeamsLicensing_Mode"]["value"]) == "plan"


def test_a_configuration_over_the_variable_limit_is_stored_as_a_blob_the_runbook_reads(
    azure: FakeAzure, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "licensing.yaml"
    padding = "".join(f"# {'x' * 100}\n" for _ in range(11_000))  # 1.1 MB of comments: still a valid file
    big.write_text(CONFIG.read_text(encoding="utf-8") + padding, encoding="utf-8")
    assert deploy(azure, bundle, "--config", str(big)) == 0
    out = capsys.readouterr().out
    url = json.loads(azure.arm.variables["TeamsLicensing_Config"]["value"])
    assert url == f"{azure.blob_url}/teams-licensing-config/config/licensing.yaml"
    assert azure.storage.content("config/licensing.yaml", "teams-licensing-config") == big.read_bytes()
    assert '--role "Storage Blob Data Reader"' in out
    assert "/containers/teams-licensing-config" in out
    assert deploy(azure, bundle, "--config", str(big)) == 0
    assert "Deploy: no changes" in capsys.readouterr().out


def test_a_new_configuration_changes_only_its_variable_and_a_new_runbook_its_environment(
    azure: FakeAzure, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(azure, bundle, "--config", str(CONFIG)) == 0
    changed = tmp_path / "licensing.yaml"
    changed.write_text(
        CONFIG.read_text(encoding="utf-8").replace("maxChanges: 200", "maxChanges: 150"), encoding="utf-8"
    )
    writes = len(azure.arm.writes())
    assert deploy(azure, bundle, "--config", str(changed)) == 0
    sent = [(w.method, w.path) for w in azure.arm.writes()[writes:]]
    assert sent == [("PUT", "/variables/TeamsLicensing_Config")], "the same bundle: nothing else is sent"
    assert json.loads(azure.arm.variables["TeamsLicensing_Config"]["value"]).count("maxChanges: 150") == 1

    before = running(azure)
    runbook = (ROOT / "runbooks" / "reconcile_licenses.py").read_bytes() + b"\n# a comment added\n"
    newer = make_test_bundle(tmp_path / "newer", __version__, runbook=runbook)
    capsys.readouterr()
    writes = len(azure.arm.writes())
    assert deploy(azure, newer, "--config", str(changed)) == 0
    out = capsys.readouterr().out
    sent = [(w.method, w.path) for w in azure.arm.writes()[writes:]]
    assert ("POST", "/runbooks/Reconcile-TeamsLicenses/publish") in sent
    assert not [path for _, path in sent if path.startswith("/variables/")], "the configuration is as it was"
    assert azure.arm.runbooks["Reconcile-TeamsLicenses"]["published"] == runbook.decode()
    assert running(azure) != before, "the new teams_licensing wheel makes another bundle: another environment"
    assert f"import package teams_licensing {__version__}" in out


def test_the_environment_holds_exactly_the_bundle(azure: FakeAzure, tmp_path: Path) -> None:
    first = make_test_bundle(tmp_path / "first", __version__, extra=["idna-3.7-py3-none-any.whl"])
    assert deploy(azure, first) == 0
    assert "idna" in azure.arm.packages[running(azure)]
    second = make_test_bundle(tmp_path / "second", __version__)
    assert deploy(azure, second) == 0
    assert "idna" not in azure.arm.packages[running(azure)], "a bundle without it: an environment without it"
    stranger = next(iter(azure.arm.packages[running(azure)].values()))
    azure.arm.packages[running(azure)]["stranger"] = replace(stranger, name="stranger")
    assert deploy(azure, second) == 0
    assert "stranger" not in azure.arm.packages[running(azure)], "a package added to it by hand is removed"


def test_imports_are_paced_five_to_a_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Azure takes at most five imports every 30 seconds per account; here the window is one second."""
    extra = [f"dep{n}-1.0-py3-none-any.whl" for n in range(4)]
    made = make_test_bundle(tmp_path / "made", __version__, extra=extra)
    with fake_azure(tmp_path) as azure:
        assert deploy(azure, made) == 0
        starts = [e.at for e in azure.arm.requests("PUT", r"/runtimeEnvironments/[^/]+/packages/[^/]+")]
    assert len(starts) == 8
    for index in range(len(starts) - 5):
        assert (starts[index + 5] - starts[index]).total_seconds() >= 0.95, "a sixth import inside one window"


@pytest.mark.parametrize(
    ("runtime", "tags", "said"),
    [
        ({"language": "PowerShell", "version": "7.4"}, None, "runs PowerShell 7.4, and a runtime cannot be changed"),
        ({"language": "Python", "version": "3.10"}, {}, "exists but was not made by deploy for this bundle"),
    ],
)
def test_an_environment_of_the_bundles_name_made_otherwise_is_refused(
    azure: FakeAzure,
    bundle: Path,
    capsys: pytest.CaptureFixture[str],
    runtime: dict[str, str],
    tags: dict[str, str] | None,
    said: str,
) -> None:
    name = environment_name("teams-licensing-py310", read_bundle(bundle))
    document = {"name": name, "location": "westeurope", "tags": tags or {}, "properties": {"runtime": runtime}}
    azure.arm.environments[name] = document
    assert deploy(azure, bundle) == 1
    err = capsys.readouterr().err
    assert f"runtime environment {name} {said}" in err
    assert "name another prefix with --runtime-environment" in err
    assert azure.arm.requests("PUT", r"/runtimeEnvironments/.*") == []


def test_an_account_without_an_identity_gets_its_system_assigned_one(
    azure: FakeAzure, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    azure.arm.identity_type = "None"
    assert deploy(azure, bundle) == 0
    assert "enable the system-assigned managed identity" in capsys.readouterr().out
    assert azure.arm.identity_type == "SystemAssigned"


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--subscription", "not-a-uuid"], "--subscription 'not-a-uuid': a subscription id is a UUID"),
        (["--account", "ab_c"], "--account 'ab_c': 6 to 50 letters"),
        (["--storage-account", "Has_Caps"], "--storage-account 'Has_Caps': 3 to 24 lower-case"),
        (["--arm-url", "http://127.0.0.1:1"], "--arm-url 'http://127.0.0.1:1': an https:// URL"),
        (["--config", "/nonexistent.yaml"], "--config /nonexistent.yaml: no such file"),
    ],
)
def test_bad_options_change_nothing(
    azure: FakeAzure, bundle: Path, capsys: pytest.CaptureFixture[str], extra: list[str], said: str
) -> None:
    assert deploy(azure, bundle, *extra) == 1
    assert said in capsys.readouterr().err
    assert azure.arm.log == []
    assert azure.storage.requests == []


def test_an_invalid_configuration_is_reported_at_its_line_before_anything_is_sent(
    azure: FakeAzure, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "licensing.yaml"
    broken.write_text(
        "version: 1\nrules:\n  - name: x\n    select: {groups: [a]}\n    licences: [MCOEV]\n", encoding="utf-8"
    )
    assert deploy(azure, bundle, "--config", str(broken)) == 1
    err = capsys.readouterr().err
    assert f"{broken}:5:" in err
    assert azure.arm.log == []
    assert azure.storage.requests == []


def test_a_bundle_changed_since_it_was_made_is_refused(
    azure: FakeAzure, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = next((bundle / "wheels").glob("pydantic-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    (bundle / "wheels" / "stray-1.0-py3-none-any.whl").write_bytes(b"")
    assert deploy(azure, bundle) == 1
    err = capsys.readouterr().err
    assert f"wheels/{wheel.name}: changed since the bundle was made" in err
    assert "wheels/stray-1.0-py3-none-any.whl: not listed in bundle.json" in err
    assert azure.arm.log == []
    assert azure.storage.requests == []


def test_a_settings_file_that_is_not_text_is_refused_before_anything_is_sent(
    azure: FakeAzure, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_bytes(b"upn,number\n\xff\xfe")
    assert deploy(azure, bundle, "--numbers", str(numbers)) == 1
    assert f"{numbers}: not UTF-8 text" in capsys.readouterr().err
    assert azure.arm.log == []


def test_a_folder_that_is_no_bundle_is_refused(
    azure: FakeAzure, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(azure, tmp_path) == 1
    assert "holds no bundle.json" in capsys.readouterr().err


def test_without_the_deploy_extra_it_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(teamslicensing.deploy, "_importable", lambda name: name != "azure.mgmt.automation")
    args = ["--subscription", "00000000-1111-4222-8333-444444444444", "--resource-group", "g", "--account", "aa-x1"]
    assert main(["deploy", "automation", *args, "--storage-account", "st1"]) == 1
    assert f"pip install 'teams-licensing[deploy]=={__version__}'" in capsys.readouterr().err


def test_without_a_bundle_one_is_built_and_the_installed_grant_script_is_named(
    azure: FakeAzure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --bundle: `bundle-runbook`'s make_bundle builds one in a scratch folder (here from made wheels: pip would
    reach the index), it is deployed, and the grant script named is the installed package's, not the gone folder's."""
    import teamslicensing.bundle

    built: list[Path] = []
    made = make_test_bundle(tmp_path / "made", __version__)

    def make_bundle(output: Path) -> teamslicensing.bundle.Bundle:
        shutil.copytree(made, output)
        built.append(output)
        return teamslicensing.bundle.Bundle(output, (), "made here")

    monkeypatch.setattr(teamslicensing.bundle, "make_bundle", make_bundle)
    assert main(["deploy", "automation", *azure.cli_args()]) == 0
    out = capsys.readouterr().out
    assert built
    assert not built[0].exists(), "the scratch bundle is removed"
    assert azure.arm.runbooks["Reconcile-TeamsLicenses"]["published"] is not None
    installed = Path(str(importlib.resources.files("teamslicensing.runbooks") / "grant-permissions.sh"))
    assert f"{installed} --mode plan {azure.arm.identity_principal}" in out
