"""Views of a plan and of an apply outcome, rendered as text, Markdown, JSON and CI logging commands.

Renderers read the plan and never change it. `render` picks one by the name a `--format` option takes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from teamslicensing import __version__
from teamslicensing.model.history import RunRecord
from teamslicensing.model.outcome import ApplyResult
from teamslicensing.model.plan import Plan
from teamslicensing.model.planjson import ReportMeta, plan_json_fields, plan_to_json
from teamslicensing.report.ci import github_annotations
from teamslicensing.report.common import (
    markdown_footer,
    md_cell,
    meta_line,
    plan_fields_with_product_names,
    summary_line,
)
from teamslicensing.report.csvreport import plan_csv
from teamslicensing.report.historyviews import history_html, history_markdown
from teamslicensing.report.html import html_report
from teamslicensing.report.jsonstream import json_chunks
from teamslicensing.report.markdown import markdown_report
from teamslicensing.report.outcome import failure_lines, outcome_line, outcome_markdown
from teamslicensing.report.outcomeviews import nothing_written_html, outcome_html
from teamslicensing.report.text import text_lines

FORMATS = ("text", "json", "markdown", "github", "csv", "html")

__all__ = ["FORMATS", "plan_json_chunks", "plan_to_json", "render", "render_chunks", "summary_line"]


def render(
    plan: Plan,
    fmt: str,
    *,
    title: str = "",
    meta: ReportMeta | None = None,
    done: Done | None = None,
    history: Sequence[RunRecord] = (),
) -> str:
    """The report; with `done` (an apply's or undo's outcome, and which), what happened too; with `history`, the
    last runs (HTML and Markdown)."""
    if fmt != "json" and done is not None:
        return _render_whole(plan, fmt, title, meta, done, history)
    return "".join(render_chunks(plan, fmt, title=title, meta=meta, history=history))


def render_chunks(
    plan: Plan, fmt: str, *, title: str = "", meta: ReportMeta | None = None, history: Sequence[RunRecord] = ()
) -> Iterator[str]:
    """The report in pieces to write one after the other: JSON element by element (a 100,000-user plan is
    never one string), the other formats whole."""
    if fmt == "json":
        return plan_json_chunks(plan, meta=meta)
    return iter((_render_whole(plan, fmt, title, meta, None, history),))


def plan_json_chunks(
    plan: Plan, extra: Iterable[tuple[str, Any]] = (), *, meta: ReportMeta | None = None
) -> Iterator[str]:
    """`--format json`: the plan's JSON contract with product names, then the `extra` top-level fields."""
    fields = plan_json_fields(plan, meta or ReportMeta(__version__))
    return json_chunks(itertools.chain(plan_fields_with_product_names(fields), extra))


def _render_whole(
    plan: Plan,
    fmt: str,
    title: str,
    meta: ReportMeta | None,
    done: Done | None = None,
    history: Sequence[RunRecord] = (),
) -> str:
    """The report; with `meta` (every command gives it), where it comes from: a line before the closing summary in
    text and the GitHub log, a footer in Markdown, `meta` rows in CSV, the HTML title and a line under the heading.
    With `done`, the outcome: first in HTML, after the plan in Markdown and text, `outcome` and `result` rows in
    CSV."""
    footer = f"Report: {meta_line(meta)}.\n" if meta is not None else ""
    outcome, verb, why_none = done if done is not None else (None, "apply", None)
    if fmt == "csv":
        return plan_csv(plan, meta, outcome, (verb, why_none))
    if fmt == "html":
        first = outcome_html(outcome, verb) if outcome is not None else nothing_written_html(verb, why_none)
        return html_report(plan, title, meta, first, history_html(history))
    if fmt == "markdown":
        happened = "\n" + outcome_markdown(outcome, verb) if outcome else _nothing_markdown(verb, why_none)
        runs = "\n".join(["", *history_markdown(history)]) if len(history) > 1 else ""
        return markdown_report(plan, title) + happened + runs + markdown_footer(meta)
    if fmt == "github":
        return "".join(github_annotations(plan)) + footer + summary_line(plan) + "\n"
    *lines, summary = text_lines(plan, title)  # the summary stays last, where a log's tail shows it
    lines_after = [outcome_line(outcome, verb), *failure_lines(outcome)] if outcome else _nothing(verb, why_none)
    happened = "\n".join(["", *lines_after, ""]) if lines_after else ""
    return "\n".join(lines) + "\n" + footer + summary + "\n" + happened


# an apply's or undo's outcome (None: nothing was written), the verb, and why nothing was written
Done = tuple[ApplyResult | None, str, str | None]


def _nothing(verb: str, why: str | None) -> list[str]:
    return [f"{verb.capitalize()}: nothing was written: {why}"] if why else []


def _nothing_markdown(verb: str, why: str | None) -> str:
    return f"\n### {verb.capitalize()}\n\n**Nothing was written: {md_cell(why)}**\n" if why else ""
