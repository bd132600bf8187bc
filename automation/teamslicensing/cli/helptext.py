"""The end of every command's `--help`: two examples and the exit codes that command can give (their full meaning:
docs/reference/exit-codes.md, generated from `exitcodes.MEANINGS`)."""

from __future__ import annotations

import argparse

from teamslicensing.cli.argtypes import Parser
from teamslicensing.exitcodes import (
    EXIT_CHANGES,
    EXIT_FAILURE,
    EXIT_GAPS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_TERMINATED,
)

DEMO = "config/licensing.yaml --snapshot config/examples/contoso-tenant.json"

EXAMPLES: dict[str, tuple[str, str]] = {
    "validate": ("teams-licensing validate config/licensing.yaml", "teams-licensing validate licensing.yaml"),
    "plan": (
        f"teams-licensing plan {DEMO}",
        "teams-licensing plan licensing.yaml --format html --output plan.html --out plan.json",
    ),
    "explain": (
        "teams-licensing explain config/licensing.yaml bob@contoso.com --snapshot config/examples/contoso-tenant.json",
        "teams-licensing explain licensing.yaml bob@contoso.com",
    ),
    "apply": (
        "teams-licensing apply plan.json --audit-log audit.jsonl",
        "teams-licensing apply licensing.yaml --yes --time-budget 50m --audit-log audit.jsonl",
    ),
    "undo": (
        "teams-licensing undo audit.jsonl",
        "teams-licensing undo audit.jsonl --user bob@contoso.com --yes --audit-log undo.jsonl",
    ),
    "reprocess": (
        "teams-licensing reprocess --group 'Voice - Sales'",
        "teams-licensing reprocess --user bob@contoso.com --yes",
    ),
    "init": (
        "teams-licensing init --snapshot config/examples/contoso-tenant.json --output contoso.yaml",
        "teams-licensing init --output licensing.yaml",
    ),
    "export": (
        "teams-licensing export --output tenant.json",
        "teams-licensing export --config licensing.yaml --calls calls.json --output tenant.json",
    ),
    "usage": (
        f"teams-licensing usage {DEMO}",
        "teams-licensing usage licensing.yaml --days 90 --format csv --output usage.csv",
    ),
    "bundle-runbook": (
        "teams-licensing bundle-runbook --output bundle",
        "teams-licensing bundle-runbook --output bundle --wheel-dir wheels",
    ),
    "deploy": (
        "teams-licensing deploy automation --help",
        "teams-licensing deploy automation --subscription ID --resource-group rg --account aa --storage-account st "
        "--bundle bundle --config licensing.yaml",
    ),
    "schema": ("teams-licensing schema", "teams-licensing schema | python3 -m json.tool"),
    "permissions": (
        "teams-licensing permissions --mode apply",
        "teams-licensing permissions --mode numbers --format json",
    ),
    "skus": (
        'teams-licensing skus --search "Teams Phone"',
        "teams-licensing skus --voice --format csv --output skus.csv",
    ),
}

SHORT = {
    EXIT_OK: "success",
    EXIT_FAILURE: "failure: bad input or options, sign-in, Graph or a write failed",
    EXIT_CHANGES: "changes are pending (--detailed-exitcode)",
    EXIT_GAPS: "error-severity gaps remain (reprocess: a group or user named was not found)",
    EXIT_PARTIAL: "partial: work left (time budget, --limit, stale users, the tenant held): run again",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_TERMINATED: "terminated (SIGTERM)",
}
SIGNALS = (EXIT_INTERRUPTED, EXIT_TERMINATED)
CODES: dict[str, tuple[int, ...]] = {
    "validate": (EXIT_OK, EXIT_FAILURE, *SIGNALS),
    "plan": (EXIT_OK, EXIT_FAILURE, EXIT_CHANGES, EXIT_GAPS, *SIGNALS),
    "explain": (EXIT_OK, EXIT_FAILURE, *SIGNALS),
    "apply": (EXIT_OK, EXIT_FAILURE, EXIT_GAPS, EXIT_PARTIAL, *SIGNALS),
    "undo": (EXIT_OK, EXIT_FAILURE, EXIT_GAPS, EXIT_PARTIAL, *SIGNALS),
    "reprocess": (EXIT_OK, EXIT_FAILURE, EXIT_GAPS, EXIT_PARTIAL, *SIGNALS),
    "export": (EXIT_OK, EXIT_FAILURE, *SIGNALS),
    "init": (EXIT_OK, EXIT_FAILURE, *SIGNALS),
    "usage": (EXIT_OK, EXIT_FAILURE, EXIT_GAPS, *SIGNALS),
    "bundle-runbook": (EXIT_OK, EXIT_FAILURE, *SIGNALS),
    "deploy": (EXIT_OK, EXIT_FAILURE, *SIGNALS),
    "schema": (EXIT_OK, *SIGNALS),
    "permissions": (EXIT_OK, EXIT_FAILURE, *SIGNALS),
    "skus": (EXIT_OK, EXIT_FAILURE, *SIGNALS),
}


class EpilogAsWritten(argparse.HelpFormatter):
    """argparse's own formatter, but the epilog keeps its lines (examples are commands, one per line)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if EPILOG_START in text.splitlines():
            return text
        return super()._fill_text(text, width, indent)


EPILOG_START = "examples:"


def add_epilogs(subcommands: argparse._SubParsersAction[Parser]) -> None:
    """Every command's help ends with its examples and exit codes (a test checks no command is left out)."""
    for name, parser in subcommands.choices.items():
        parser.epilog = f"{parser.epilog}\n\n{epilog(name)}" if parser.epilog else epilog(name)
        parser.formatter_class = EpilogAsWritten


def epilog(name: str) -> str:
    first, second = EXAMPLES[name]
    codes = "\n".join(f"  {code:>3}  {SHORT[code]}" for code in CODES[name])
    return f"{EPILOG_START}\n  {first}\n  {second}\n\nexit codes:\n{codes}\n(docs/reference/exit-codes.md)"
