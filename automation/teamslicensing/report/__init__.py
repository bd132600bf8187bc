"""Views of a plan and of an apply outcome, rendered as text, Markdown, JSON and CI logging commands.

Renderers read the plan and never change it. `render` picks one by the name a `--format` option takes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from teamslicensing import __version__
from teamslicensing.model.plan import Plan
from teamslicensing.model.planjson import ReportMeta, plan_json_fields, plan_to_json
from teamslicensing.report.ci import github_annotations
from teamslicensing.report.common import plan_fields_with_product_names, summary_line
from teamslicensing.report.csvreport import plan_csv
from teamslicensing.report.html import html_report
from teamslicensing.report.jsonstream import json_chunks
from teamslicensing.report.markdown import markdown_report
from teamslicensing.report.text import text_lines

FORMATS = ("text", "json", "markdown", "github", "csv", "html")

__all__ = ["FORMATS", "plan_json_chunks", "plan_to_json", "render", "render_chunks", "summary_line"]


def render(plan: Plan, fmt: str, *, title: str = "", meta: ReportMeta | None = None) -> str:
    return "".join(render_chunks(plan, fmt, title=title, meta=meta))


def render_chunks(plan: Plan, fmt: str, *, title: str = "", meta: ReportMeta | None = None) -> Iterator[str]:
    """The report in pieces to write one after the other: JSON element by element (a 100,000-user plan is
    never one string), the other formats whole."""
    if fmt == "json":
        return plan_json_chunks(plan, meta=meta)
    return iter((_render_whole(plan, fmt, title),))


def plan_json_chunks(
    plan: Plan, extra: Iterable[tuple[str, Any]] = (), *, meta: ReportMeta | None = None
) -> Iterator[str]:
    """`--format json`: the plan's JSON contract with product names, then the `extra` top-level fields."""
    fields = plan_json_fields(plan, meta or ReportMeta(__version__))
    return json_chunks(itertools.chain(plan_fields_with_product_names(fields), extra))


def _render_whole(plan: Plan, fmt: str, title: str) -> str:
    if fmt == "csv":
        return plan_csv(plan)
    if fmt == "html":
        return html_report(plan, title)
    if fmt == "markdown":
        return markdown_report(plan, title)
    if fmt == "github":
        return "".join(github_annotations(plan)) + summary_line(plan) + "\n"
    return "\n".join(text_lines(plan, title)) + "\n"
