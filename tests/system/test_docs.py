"""The documentation says what the code does: the generated reference pages are what the generator writes from the
code today, every gap code and contract field is documented, the README stays a short front page, and every
example marked runnable works when pasted."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.model.gapdocs import GAP_DOCS
from teamslicensing.model.plan import GapCode
from tests.support.docsgen import COMMAND, REFERENCE, generated
from tests.support.docsgen.contracts import build
from tests.support.docsgen.demo import collect
from tests.support.runnable import ROOT, Block, blocks, documented_pages, outside_ci, run, shown_outputs

README = ROOT / "README.md"
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return generated()


def test_the_generated_reference_pages_are_what_the_code_says(pages: dict[str, str]) -> None:
    stale = [
        name
        for name, text in pages.items()
        if not (ROOT / REFERENCE / name).exists() or (ROOT / REFERENCE / name).read_text(encoding="utf-8") != text
    ]
    assert stale == [], f"{', '.join(stale)} differ from the code: run `{COMMAND}` and commit the pages"


def test_every_field_of_every_json_contract_is_described() -> None:
    assert build(collect()).missing == [], "describe the new fields in tests/support/docsgen/fields.py"


def test_every_gap_code_has_its_meaning_and_fix() -> None:
    assert sorted(code.value for code in GapCode if code not in GAP_DOCS) == []
    for code, doc in GAP_DOCS.items():
        assert doc.severities, code
        assert doc.meaning.strip(), code
        assert doc.fix.strip(), code


def test_the_gap_code_page_lists_every_code_the_package_defines() -> None:
    page = (ROOT / REFERENCE / "gap-codes.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`") for line in page.splitlines() if line.startswith("| `")}
    assert sorted(code.value for code in GapCode if code.value not in rows) == []


def _raised() -> dict[str, set[str]]:
    """Every (code, severity) the package constructs a gap with, read from its source."""
    pattern = re.compile(r"GapCode\.([A-Z_]+),\s*(?:Severity\.)?(ERROR|WARNING|INFO)\b")
    found: dict[str, set[str]] = {}
    for path in (ROOT / "automation" / "teamslicensing").rglob("*.py"):
        for code, severity in pattern.findall(path.read_text(encoding="utf-8")):
            found.setdefault(code, set()).add(severity.lower())
    return found


def test_every_severity_a_gap_is_raised_with_is_documented() -> None:
    raised = _raised()
    assert len(raised) > 30, "the scan finds the package's gaps"
    undocumented = {
        code: sorted(severities - {s.value for s in GAP_DOCS[GapCode(code)].severities})
        for code, severities in raised.items()
    }
    assert {code: missing for code, missing in undocumented.items() if missing} == {}


def test_every_documented_severity_is_one_a_gap_is_raised_with() -> None:
    """A severity the page lists and nothing raises tells an admin to expect, or filter on, what never comes."""
    from tests.planner.test_plans import CONTRACT_SEVERITY

    raised = _raised()
    for code, severities in CONTRACT_SEVERITY.items():  # raised through a variable the scan cannot see
        raised.setdefault(code, set()).update(severities.split("|"))
    unraised = {
        code.value: sorted({s.value for s in doc.severities} - raised.get(code.value, set()))
        for code, doc in GAP_DOCS.items()
    }
    assert {code: extra for code, extra in unraised.items() if extra} == {}


def test_the_documented_severities_are_the_planner_cases_contract() -> None:
    from tests.planner.test_plans import CONTRACT_SEVERITY

    for code, severities in CONTRACT_SEVERITY.items():
        documented = {s.value for s in GAP_DOCS[GapCode(code)].severities}
        assert set(severities.split("|")) <= documented, code


# ---- the README --------------------------------------------------------------------------------------------------


def _quick_start() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## Quick start", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def test_the_readme_is_a_short_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200
    commands = _quick_start()
    assert len(commands) == 2, "the Quick start is exactly two commands"
    assert "plan config/licensing.yaml --snapshot config/examples/contoso-tenant.json" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8"), ".ci/run runs the second verbatim"


def test_the_readmes_links_reach_pages_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert targets, "the README links to the documentation"
    assert [t for t in targets if not t.startswith("http") and not (ROOT / t).exists()] == []
    linked = {t for t in targets if t.startswith("docs/")}
    every_page = {str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md")}
    assert sorted(every_page - linked - {"docs/index.md"}) == [], "the README links every page"


def test_the_readmes_example_output_is_the_demo_plans() -> None:
    text = README.read_text(encoding="utf-8").split("The first command's output begins:", 1)[1]
    shown = text.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert shown[-1] == "…"
    done = subprocess.run(
        [sys.executable, "-m", "teamslicensing", "plan", "config/licensing.yaml", "--snapshot",
         "config/examples/contoso-tenant.json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False, env=outside_ci(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert shown[:-1] == done.stdout.splitlines()[: len(shown) - 1]


# ---- what the documentation names -------------------------------------------------------------------------------


def _documented_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in documented_pages())


def test_every_environment_variable_the_tool_reads_is_documented() -> None:
    names: set[str] = set()
    for folder in (ROOT / "automation" / "teamslicensing", ROOT / "runbooks"):
        for path in folder.rglob("*.py"):
            names |= set(re.findall(r"TEAMS_LICENSING_[A-Z_]+", path.read_text(encoding="utf-8")))
    assert len(names) > 10
    text = _documented_text()
    assert sorted(name for name in names if f"`{name}`" not in text) == []


def test_every_documentation_page_the_code_names_exists() -> None:
    """Messages, docstrings and the shipped templates point readers to pages by path: a moved page breaks them."""
    named: dict[str, str] = {}
    for folder in ("automation/teamslicensing", "runbooks", "examples", "benchmarks"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".md", ".sh", ".yml", ".txt"):
                for page in re.findall(r"\bdocs/[\w/-]+\.md\b", path.read_text(encoding="utf-8")):
                    named.setdefault(page, str(path.relative_to(ROOT)))
    assert len(named) >= 5, "the scan finds the pages the code names"
    assert {page: where for page, where in named.items() if not (ROOT / page).is_file()} == {}


def test_every_runbook_setting_is_on_the_runbook_page() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("runbook_settings", ROOT / "runbooks" / "reconcile_licenses.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    page = (DOCS / "reference" / "runbook.md").read_text(encoding="utf-8")
    settings: dict[str, tuple[str, str]] = module.SETTINGS
    assert [v for pair in settings.values() for v in pair if f"| `{v}` |" not in page and f"`{v}` |" not in page] == []


# ---- runnable examples -------------------------------------------------------------------------------------------

RUNNABLE = {page: found for page in documented_pages() if (found := blocks(page))}


def test_the_documentation_has_runnable_examples() -> None:
    assert sum(len(found) for found in RUNNABLE.values()) >= 8
    assert README in RUNNABLE


@pytest.mark.parametrize("page", sorted(RUNNABLE), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_runnable_example_works_when_pasted(page: Path, tmp_path: Path) -> None:
    for block in RUNNABLE[page]:
        ran = run(block, tmp_path)
        assert ran.problems() == [], f"{block.page}:{block.line}\n{ran.stderr[-3000:]}"


SHOWN = {page: outputs for page in documented_pages() if (outputs := shown_outputs(page))}


def test_the_documentation_shows_real_output() -> None:
    assert sum(len(outputs) for outputs in SHOWN.values()) >= 1


@pytest.mark.parametrize("page", sorted(SHOWN), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_output_shown_is_what_its_example_prints(page: Path, tmp_path: Path) -> None:
    """The blocks of the page run in order up to each shown output's, as a reader would have run them."""
    ran = {block: run(block, tmp_path) for block in RUNNABLE[page]}
    for block, text in SHOWN[page]:
        assert ran[block].stdout == text, f"{block.page}:{block.line} prints otherwise:\n{ran[block].stdout}"


def _cycle(page: Path) -> Block:
    return next(block for block in RUNNABLE[page] if "undo /tmp/audit.jsonl" in block.script)


@pytest.mark.parametrize("page", [README, DOCS / "tutorials" / "first-plan.md"], ids=["README", "first-plan"])
def test_the_offline_cycle_ends_where_it_started(page: Path, tmp_path: Path) -> None:
    """apply, plan, undo on a copy of the demo tenant: every user's licenses end as they began (usage locations are
    not undone; licenses are)."""
    ran = run(_cycle(page), tmp_path)
    assert ran.status == 0, ran.stderr[-2000:]  # the undo, the last line: every user restored
    assert ran.statuses == (3,), "apply wrote everything and only the demo's error gaps remain"
    assert (tmp_path / "audit.jsonl").exists()
    assert (tmp_path / "undo.jsonl").exists()

    def licenses(path: Path) -> dict[str, list[Any]]:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {u["userPrincipalName"]: sorted(map(str, u["licenseAssignmentStates"])) for u in document["users"]}

    applied = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any(record["type"] == "result" for record in applied), "the apply wrote"
    assert licenses(tmp_path / "contoso.json") == licenses(ROOT / "config" / "examples" / "contoso-tenant.json")
