"""Views of a plan and of an apply outcome, rendered as text, Markdown, JSON and CI logging commands.

Renderers read the plan and never change it. `render` picks one by the name a `--format` option takes.
"""

from __future__ import annotations

import json

from teamslicensing.model.plan import Plan
from teamslicensing.model.planjson import plan_to_json
from teamslicensing.report.ci import github_annotations
from teamslicensing.report.common import summary_line, with_product_names
from teamslicensing.report.csvreport import plan_csv
from teamslicensing.report.html import html_report
from teamslicensing.report.markdown import markdown_report
from teamslicensing.report.text import text_lines

FORMATS = ("text", "json", "markdown", "github", "csv", "html")

__all__ = ["FORMATS", "plan_to_json", "render", "summary_line"]


def render(plan: Plan, fmt: str, *, title: str = "") -> str:
    if fmt == "json":
        return json.dumps(with_product_names(plan_to_json(plan)), indent=2) + "\n"
    if fmt == "csv":
        return plan_csv(plan)
    if fmt == "html":
        return html_report(plan, title)
    if fmt == "markdown":
        return markdown_report(plan, title)
    if fmt == "github":
        return "".join(github_annotations(plan)) + summary_line(plan) + "\n"
    return "\n".join(text_lines(plan, title)) + "\n"
