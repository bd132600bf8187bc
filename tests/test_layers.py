"""The layers' import contracts, read from the source with `ast` (function-level imports count too).

config -> tenant sources -> plan (pure) -> apply -> report, one app layer for the CLI and the runbook, and
everything Graph-specific in graph/. A module that crosses a line fails here, naming the import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "automation" / "teamslicensing"
RUNBOOK = ROOT / "runbooks" / "reconcile_licenses.py"
GRAPH_LIBRARIES = {"httpx", "msgraph", "msgraph_core", "kiota_http", "kiota_abstractions", "azure", "tenacity"}


def imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, as a dotted name (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def room(path: Path) -> str:
    """The subpackage a module lives in (`plan`, `graph`, ...), or its own name at the top (`app`, `errors`)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def package_rooms(name: str) -> set[str]:
    parts = name.split(".")
    return {parts[1]} if parts[0] == "teamslicensing" and len(parts) > 1 else set()


def third_party(name: str) -> str | None:
    top = name.split(".")[0]
    if top in sys.stdlib_module_names or top in ("teamslicensing", "__future__"):
        return None
    return top


MODULES = sorted(PACKAGE.rglob("*.py"))


def crossings(allowed_rooms: set[str], forbidden_libraries: set[str] | None, rooms: set[str]) -> list[str]:
    found = []
    for path in MODULES:
        if room(path) not in rooms:
            continue
        for name in imports(path):
            here = room(path)
            bad_room = package_rooms(name) - allowed_rooms - {here}
            library = third_party(name)
            bad_library = library is not None and (forbidden_libraries is None or library in forbidden_libraries)
            if bad_room or bad_library:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return sorted(set(found))


def test_model_is_vocabulary_only_stdlib() -> None:
    assert crossings(set(), None, {"model"}) == []


def test_the_planner_is_pure() -> None:
    forbidden = {"pydantic", "yaml", *GRAPH_LIBRARIES}
    assert crossings({"model", "reference", "errors"}, forbidden, {"plan"}) == []
    for path in (p for p in MODULES if room(p) == "plan"):
        assert "asyncio" not in {n.split(".")[0] for n in imports(path)}, f"{path.name} imports asyncio"


def test_reference_data_depends_on_the_vocabulary_only() -> None:
    assert crossings({"model", "errors"}, None, {"reference"}) == []


@pytest.mark.parametrize("layer", ["config", "tenant", "graph", "apply", "report", "model", "plan", "reference"])
def test_inner_layers_never_import_the_front_ends(layer: str) -> None:
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in MODULES
        if room(path) == layer
        for name in imports(path)
        if package_rooms(name) & {"cli", "app", "job"}
    ]
    assert offending == []


def test_apply_comes_before_the_reports() -> None:
    """Data flows config -> tenant -> plan -> apply -> report: apply never reaches forward into report."""
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in MODULES
        if room(path) == "apply"
        for name in imports(path)
        if package_rooms(name) & {"report", "config"}
    ]
    assert offending == []


def test_only_graph_talks_http() -> None:
    """Graph and the audit blob in graph/; Azure Resource Manager and the wheels' storage in deploy/ (an extra)."""
    offending = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in MODULES
        if room(path) not in ("graph", "deploy")
        for name in imports(path)
        if third_party(name) in GRAPH_LIBRARIES
    ]
    assert offending == []


def test_deploy_is_reached_from_the_cli_only_and_never_talks_to_graph() -> None:
    """The deploy extra is optional: nothing but the command line imports it, and it deploys, never reads a tenant."""
    reaching = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in MODULES
        if room(path) not in ("deploy", "cli")
        for name in imports(path)
        if package_rooms(name) & {"deploy"}
    ]
    assert reaching == []
    graph = {"msgraph", "msgraph_core", "kiota_http", "kiota_abstractions"}
    assert crossings({"bundle", "config", "errors", "exitcodes", "__version__"}, graph, {"deploy"}) == []


def test_the_runbook_runs_the_app_layer_not_the_cli() -> None:
    """The runbook reads its settings and hands the job to `teamslicensing.job`, which calls the app layer; neither
    reaches the command line."""
    names = set(imports(RUNBOOK))
    assert "teamslicensing.job" in names
    job = PACKAGE / "job.py"
    assert "teamslicensing.app" in set(imports(job))
    assert not any(package_rooms(name) & {"cli"} for name in names | set(imports(job)))


def test_the_rules_themselves_catch_a_crossing(tmp_path: Path) -> None:
    """The checker is not vacuous: an import of yaml from the planner is reported."""
    module = tmp_path / "probe.py"
    module.write_text("def f():\n    import yaml\n    from teamslicensing.cli import main\n")
    assert set(imports(module)) >= {"yaml", "teamslicensing.cli", "teamslicensing.cli.main"}
    assert third_party("yaml") == "yaml"
    assert package_rooms("teamslicensing.cli.main") == {"cli"}
