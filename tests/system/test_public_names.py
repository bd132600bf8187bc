"""The names each subpackage exports: a change here is a change of the package's interface, made on purpose."""

from __future__ import annotations

import importlib

import pytest

EXPORTS = {
    "teamslicensing.app": [
        "Applied",
        "ApplyOptions",
        "GraphAccess",
        "LeaseOptions",
        "LeaseWaitStopped",
        "PlanRun",
        "TenantSource",
        "apply",
        "apply_plan",
        "export",
        "export_calls",
        "is_plan_file",
        "plan",
        "read",
        "report_meta",
        "reprocess",
        "reprocess_plan",
        "save_plan",
        "saved_plan",
        "store_audit",
        "tenant_lease",
        "undo",
        "usage",
        "validate",
        "with_limits",
        "with_usage",
        "writer_lock",
    ],
    "teamslicensing.bundle": ["Bundle", "BundleError", "Runner", "Wheel", "make_bundle"],
    "teamslicensing.cli": ["main"],
    "teamslicensing.config": ["json_schema", "load_desired_state"],
    "teamslicensing.graph": ["CLOUDS", "GRAPH_URL_ENV", "TOKEN_ENV", "Connection", "Graph"],
    "teamslicensing.plan": ["plan"],
    "teamslicensing.report": ["FORMATS", "plan_json_chunks", "plan_to_json", "render", "render_chunks", "summary_line"],
}


@pytest.mark.parametrize("module", sorted(EXPORTS))
def test_exports(module: str) -> None:
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(EXPORTS[module])
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.__all__ names {name}, which it does not define"


def test_version() -> None:
    import teamslicensing

    assert teamslicensing.__version__.count(".") == 2
