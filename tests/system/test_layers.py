"""The layers' import contracts, read from the source with `ast` (function-level imports count too).

config -> tenant sources -> plan (pure) -> apply -> report, one app layer for the CLI and the runbook, and
everything Graph-specific in graph/. A module that crosses a line fails here, naming the import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "automation" / "teamslicensing"
RUNBOOK = ROOT / "runbooks" / "reconcile_licenses.py"
GRAPH_LIBRARIES = {"httpx", "msgraph", "msgraph_core", "kiota_http", "kiota_abstractions", "azure", "tenacity"}


def imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, as a dotted name (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (module := absolute(node, path)):
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def absolute(node: ast.ImportFrom, path: Path) -> str:
    """The module a `from … import` names, a relative one (`from ..cli import main`) resolved against the package
    `path` is in (the dotted name from the `teamslicensing` folder down)."""
    if node.level == 0:
        return node.module or ""
    parts = list(path.with_suffix("").parts)
    parts = parts[len(parts) - 1 - parts[::-1].index("teamslicensing") :]
    package = parts[:-1]  # an __init__'s package is its own folder, which is what dropping "__init__" leaves
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


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


# ---- cycles and sizes --------------------------------------------------------------------------------------------

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(modules: list[Path], root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports: `from package import module` is the module, `from module import
    name` the module, and TYPE_CHECKING imports count (a cycle kept only for type hints is still two modules that
    cannot be understood apart)."""
    names = {module_name(path, root): path for path in modules}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = {_owner(imported, names) for imported in imported_modules(path, names)}
        graph[name] = {target for target in targets if target and target != name}
    return graph


def imported_modules(path: Path, known: Mapping[str, Path]) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (module := absolute(node, path)):
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                yield submodule if submodule in known else module


def _owner(imported: str, known: Mapping[str, Path]) -> str:
    while imported and imported not in known:
        imported = imported.rpartition(".")[0]
    return imported


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_module_imports_itself_round_a_cycle() -> None:
    """Every module can be read knowing only what it imports: no two modules import each other, directly or round
    a longer loop, not even for type hints."""
    assert cycles(import_graph(MODULES)) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    package = tmp_path / "teamslicensing"
    (package / "room").mkdir(parents=True)
    (package / "room" / "a.py").write_text("from teamslicensing.room.b import B\n")
    (package / "room" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from teamslicensing.room.a import A\n"
    )
    (package / "room" / "c.py").write_text("from teamslicensing.room.a import A\n")
    graph = import_graph(sorted(package.rglob("*.py")), package)
    assert cycles(graph) == [["teamslicensing.room.a", "teamslicensing.room.b"]]


def oversized(paths: list[Path], root: Path = ROOT) -> list[str]:
    """Modules over MAX_MODULE_LINES lines and functions over MAX_FUNCTION_LINES, as `path:line name length`."""
    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(root)
        if text.count("\n") > MAX_MODULE_LINES:
            found.append(f"{where} {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{where}:{node.lineno} {node.name} {length} lines")
    return found


def test_modules_and_functions_stay_small() -> None:
    """A module a reader can hold (400 lines) and a function that fits a screen (60): the package and the runbook."""
    assert oversized([*MODULES, RUNBOOK]) == []


def test_the_size_check_measures(tmp_path: Path) -> None:
    long_function = tmp_path / "long.py"
    long_function.write_text("def f() -> None:\n" + "    x = 1\n" * MAX_FUNCTION_LINES)
    long_module = tmp_path / "wide.py"
    long_module.write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert oversized([long_function, long_module], tmp_path) == [
        f"long.py:1 f {MAX_FUNCTION_LINES + 1} lines",
        f"wide.py {MAX_MODULE_LINES + 1} lines",
    ]


def test_relative_imports_are_read_too(tmp_path: Path) -> None:
    """Nothing in the lint selection forbids `from . import x`: a crossing or a cycle made of them is still one."""
    package = tmp_path / "teamslicensing"
    (package / "room").mkdir(parents=True)
    (package / "room" / "a.py").write_text("from .b import B\n")
    (package / "room" / "b.py").write_text("from . import a\n")
    assert cycles(import_graph(sorted(package.rglob("*.py")), package)) == [
        ["teamslicensing.room.a", "teamslicensing.room.b"]
    ]
    probe = package / "plan" / "probe.py"
    probe.parent.mkdir()
    probe.write_text("from ..cli import main\n")
    assert "teamslicensing.cli.main" in set(imports(probe))
