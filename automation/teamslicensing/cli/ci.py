"""What a CI system shows beside the log: GitHub's step summary; Azure Pipelines' issues and summary tab."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import TextIO

from teamslicensing.errors import UsageError
from teamslicensing.model.outcome import ApplyResult
from teamslicensing.model.plan import Plan
from teamslicensing.model.planjson import ReportMeta
from teamslicensing.report.ci import azure_logissues
from teamslicensing.report.common import markdown_footer
from teamslicensing.report.markdown import MARKDOWN_LIMIT, markdown_report
from teamslicensing.report.outcome import azure_failures, outcome_markdown

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"  # GitHub Actions: a file Markdown is appended to
AZURE_PIPELINES_ENV = "TF_BUILD"  # set to True by the Azure Pipelines agent
STEP_SUMMARY_LIMIT = 1_048_576  # bytes GitHub takes in one step summary (GitHub docs, "Adding a job summary")


def ci_outputs(
    result: Plan,
    title: str,
    outcome: ApplyResult | None = None,
    out: TextIO | None = None,
    meta: ReportMeta | None = None,
    verb: str = "apply",
) -> None:
    summary_file = os.environ.get(STEP_SUMMARY_ENV)
    in_azure = bool(os.environ.get(AZURE_PIPELINES_ENV))
    if not summary_file and not in_azure:
        return
    after = ("\n" + outcome_markdown(outcome, verb) if outcome is not None else "") + markdown_footer(meta)
    # one step summary holds both: the plan gets what the outcome leaves of GitHub's limit
    room = min(MARKDOWN_LIMIT, STEP_SUMMARY_LIMIT - len(after.encode()))
    markdown = markdown_report(result, title, limit=room) + after
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(markdown)
        except OSError as exc:
            raise UsageError(f"cannot append to {STEP_SUMMARY_ENV} {summary_file}: {exc.strerror or exc}") from exc
    if in_azure:
        out = out or sys.stdout
        out.writelines(azure_logissues(result))
        if outcome is not None:
            out.writelines(azure_failures(outcome))
        folder = os.environ.get("AGENT_TEMPDIRECTORY") or tempfile.gettempdir()
        handle_fd, path = tempfile.mkstemp(prefix="teams-licensing-", suffix=".md", dir=folder)
        with os.fdopen(handle_fd, "w", encoding="utf-8") as handle:  # kept: the agent uploads it after the step
            handle.write(markdown)
        out.write(f"##vso[task.uploadsummary]{os.path.abspath(path)}\n")
        out.flush()
