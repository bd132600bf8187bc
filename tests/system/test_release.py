"""Releases: one version, said alike by `teams-licensing --version`, the installed metadata, CHANGELOG.md's latest
entry, the configuration-repository template's pin, and checked by the release workflow before it publishes."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from teamslicensing import __version__
from teamslicensing.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHANGELOG = ROOT / "CHANGELOG.md"
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
TEMPLATE = ROOT / "examples" / "config-repo"
KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")  # Keep a Changelog 1.1.0


def released() -> list[tuple[str, str]]:
    return re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", CHANGELOG.read_text(encoding="utf-8"), re.M)


def test_the_version_is_said_alike_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"teams-licensing {__version__}\n"
    assert importlib.metadata.version("teams-licensing") == __version__, "pyproject's version is __version__"
    assert released()[0][0] == __version__, "CHANGELOG.md's latest entry"
    pins = re.findall(r"teams-licensing(?:\[deploy\])?==([\w.]+)", (TEMPLATE / "README.md").read_text(encoding="utf-8"))
    pins += re.findall(
        r"^teams-licensing==([\w.]+)$", (TEMPLATE / "requirements.txt").read_text(encoding="utf-8"), re.M
    )
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:  # the README's and the docs' pins
        pins += re.findall(r"teams-licensing(?:\[deploy\])?==([\w.]+)", page.read_text(encoding="utf-8"))
    assert pins, "the template pins a release"
    assert set(pins) == {__version__}


def test_the_changelog_keeps_a_changelog() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[0] == "[Unreleased]"
    assert all(re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", heading) for heading in headings[1:])
    versions = [tuple(int(part) for part in version.split(".")) for version, _ in released()]
    dates = [date for _, date in released()]
    assert versions == sorted(versions, reverse=True)
    assert dates == sorted(dates, reverse=True)
    assert set(re.findall(r"^### (.+)$", text, re.M)) <= set(KINDS)


def triggers_of(workflow: dict[Any, Any]) -> dict[str, Any]:
    """A workflow's `on:`, which YAML 1.1 reads as the key True."""
    found: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]
    return found


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def test_the_release_workflow_publishes_from_a_tag_with_trusted_publishing_only() -> None:
    workflow = load(RELEASE)
    triggers = triggers_of(workflow)
    assert triggers == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {"contents": "read"}, "nothing may write by default"
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    assert "python -m build" in runs
    assert "twine check --strict dist/*" in runs
    assert "permissions" not in build, "the build never holds the publishing token"
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    (upload,) = [step for step in publish["steps"] if step.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    assert "with" not in upload, "no password or token: PyPI trusts the workflow"


def test_nothing_is_published_before_the_suite_has_passed_on_the_tagged_commit() -> None:
    """The publish job waits for the build, which waits for the test job: the whole suite, ruff and mypy on the
    runbook's Python 3.10 and on a current Python; the build then runs the release check on the built wheel."""
    jobs = load(RELEASE)["jobs"]
    assert jobs["publish"]["needs"] == "build"
    assert jobs["build"]["needs"] == "test"
    test = jobs["test"]
    assert "3.10" in test["strategy"]["matrix"]["python-version"]
    runs = "\n".join(step.get("run", "") for step in test["steps"])
    for command in ("python -m pytest", "ruff check", "ruff format --check", "python -m mypy"):
        assert command in runs
    assert "python -m tests.support.release_check --dist dist" in "\n".join(
        step.get("run", "") for step in jobs["build"]["steps"]
    )


def test_every_action_is_pinned_to_a_commit() -> None:
    """A tag of an action can be moved to other code; a commit SHA cannot. The release each is, in a comment."""
    text = RELEASE.read_text(encoding="utf-8")
    used = re.findall(r"uses: (\S+)@(\S+)(.*)", text)
    assert used
    for action, ref, comment in used:
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{action}@{ref} is not pinned to a commit"
        assert re.fullmatch(r"\s+# v\d+\.\d+\.\d+", comment), f"{action}: the release it is, in a comment"


def check_step() -> str:
    build = load(RELEASE)["jobs"]["build"]
    script: str = next(step["run"] for step in build["steps"] if "GITHUB_REF_NAME" in step.get("run", ""))
    return script


@pytest.mark.parametrize(
    ("tag", "changelog", "said"),
    [
        (f"v{__version__}", True, None),
        ("v9.9.9", True, f"::error::the tag is v9.9.9 but the package's version is {__version__}"),
        (f"v{__version__}", False, f"::error::CHANGELOG.md has no dated entry for {__version__}"),
    ],
)
def test_the_release_refuses_a_tag_the_version_or_the_changelog_does_not_match(
    tmp_path: Path, tag: str, changelog: bool, said: str | None
) -> None:
    """The workflow's own check, run by bash on a checkout-shaped folder with built distributions in dist/."""
    (tmp_path / "automation" / "teamslicensing").mkdir(parents=True)
    shutil.copy(ROOT / "automation" / "teamslicensing" / "__init__.py", tmp_path / "automation" / "teamslicensing")
    (tmp_path / "dist").mkdir()
    for name in (f"teams_licensing-{__version__}-py3-none-any.whl", f"teams_licensing-{__version__}.tar.gz"):
        (tmp_path / "dist" / name).write_bytes(b"")
    text = CHANGELOG.read_text(encoding="utf-8")
    (tmp_path / "CHANGELOG.md").write_text(text if changelog else text.replace(f"## [{__version__}]", "## [x]"))
    bash = shutil.which("bash")
    assert bash is not None
    ran = subprocess.run(
        [bash, "-e", "-c", check_step()],
        cwd=tmp_path,
        env={"GITHUB_REF_NAME": tag, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    if said is None:
        assert ran.returncode == 0, ran.stdout + ran.stderr
    else:
        assert ran.returncode == 1
        assert said in ran.stdout
