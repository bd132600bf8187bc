"""One short function per command: arguments in, an `app` use case, a report out, an exit code back.

Heavy imports (msgraph, azure-identity) happen only when a command talks to a tenant, so `validate`, `schema` and
`skus` start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from teamslicensing.errors import UsageError
from teamslicensing.exitcodes import EXIT_CHANGES, EXIT_FAILURE, EXIT_GAPS, EXIT_OK

if TYPE_CHECKING:
    from teamslicensing.app import GraphAccess, TenantSource


def validate(args: argparse.Namespace) -> int:
    from teamslicensing import app

    desired = app.validate(args.config)
    licenses = ", ".join(ref.ref for ref in desired.managed_licenses) or "none"
    rules = len(desired.rules)
    print(f"{desired.source}: valid ({rules} rule{'s' if rules != 1 else ''}; managed licenses: {licenses})")
    return EXIT_OK


def plan(args: argparse.Namespace) -> int:
    from teamslicensing import app
    from teamslicensing.cli.ci import ci_outputs
    from teamslicensing.report import render

    run = app.plan(args.config, _source(args))
    title = f"teams-licensing plan: {run.desired.source} against {run.source.where}"
    _write(render(run.plan, args.format, title=title), args.output)
    ci_outputs(run.plan, title)
    if not args.detailed_exitcode:
        return EXIT_OK
    if run.plan.has_errors:
        return EXIT_GAPS
    return EXIT_CHANGES if not run.plan.is_empty else EXIT_OK


def apply(args: argparse.Namespace) -> int:
    from teamslicensing import app
    from teamslicensing.apply.audit import default_audit_path
    from teamslicensing.cli.ci import ci_outputs
    from teamslicensing.model.outcome import ApplyResult
    from teamslicensing.report import plan_to_json, render, summary_line
    from teamslicensing.report.outcome import failure_lines, github_failures, outcome_json, outcome_line
    from teamslicensing.report.progress import ProgressLines

    run = app.plan(args.config, _source(args))
    limit = args.max_changes if args.max_changes is not None else run.desired.policy.max_changes
    title = f"teams-licensing apply: {run.desired.source} against {run.source.where}"
    if args.format != "json":
        _write(render(run.plan, args.format, title=title), args.output)
    outcome: ApplyResult | None = None

    def finish_json() -> None:
        if args.format == "json":
            document = plan_to_json(run.plan)
            document["result"] = None if outcome is None else outcome_json(outcome)
            _write(json.dumps(document, indent=2) + "\n", args.output)

    try:
        if run.plan.is_empty:
            print("Nothing to apply.", file=sys.stderr)
            finish_json()
            return EXIT_GAPS if run.plan.has_errors else EXIT_OK
        app.check_applicable(run.plan, limit, "--max-changes")
        _confirm(args, summary_line(run.plan))
        outcome = app.apply(run, args.audit_log or default_audit_path(), ProgressLines(sys.stderr))
        finish_json()
        print(outcome_line(outcome), file=sys.stderr)
        for line in failure_lines(outcome):
            print(line, file=sys.stderr)
        if args.format == "github":
            sys.stdout.write("".join(github_failures(outcome)))
        if outcome.failed:
            return EXIT_FAILURE
        return EXIT_GAPS if run.plan.has_errors else EXIT_OK
    finally:
        ci_outputs(run.plan, title, outcome)


def export(args: argparse.Namespace) -> int:
    from teamslicensing import app

    counts = app.export(args.output, _graph_access(args), args.config)
    print(
        f"{args.output}: {counts['users']} users, {counts['subscribedSkus']} subscriptions, {counts['groups']} groups"
    )
    return EXIT_OK


def bundle_runbook(args: argparse.Namespace) -> int:
    from teamslicensing.bundle import make_bundle

    bundle = make_bundle(
        Path(args.output),
        Path(args.wheel_dir) if args.wheel_dir else None,
        Path(args.runbook) if args.runbook else None,
    )
    for wheel in bundle.wheels:
        print(f"  {wheel.path.name}  {wheel.size / 1024 / 1024:.1f} MB")
    print(
        f"{bundle.output}: {len(bundle.wheels)} wheels ({bundle.total_bytes / 1024 / 1024:.1f} MB; teams-licensing "
        f"{bundle.source}), closure checked for CPython 3.10 on Linux x86-64; the runbook, grant-permissions.sh, "
        "upload.sh and README.md"
    )
    return EXIT_OK


def schema(args: argparse.Namespace) -> int:
    from teamslicensing.config import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def skus(args: argparse.Namespace) -> int:
    from teamslicensing.model.capability import VOICE_CAPABILITIES
    from teamslicensing.reference.catalog import load_catalog

    out = sys.stdout
    catalog = load_catalog()
    found = catalog.search(args.search) if args.search else catalog.skus
    if args.voice:
        found = tuple(sku for sku in found if sku.capabilities & VOICE_CAPABILITIES)
    width = min(max((len(sku.part_number) for sku in found), default=10), 32)  # a few part numbers run to 60
    for sku in found:
        capabilities = ", ".join(sorted(c.value for c in sku.capabilities)) or "-"
        out.write(f"{sku.part_number:<{width}}  {sku.sku_id}  {capabilities:<40}  {sku.display_name}\n")
    out.write(f"{len(found)} SKU{'s' if len(found) != 1 else ''}\n")
    return EXIT_OK


# ---- shared by the commands ------------------------------------------------------------------------------------


def _graph_access(args: argparse.Namespace) -> GraphAccess:
    from teamslicensing.app import GraphAccess
    from teamslicensing.graph import GRAPH_URL_ENV, TOKEN_ENV, Connection

    url = args.graph_url or os.environ.get(GRAPH_URL_ENV)
    connection = Connection.from_options(args.cloud, url, args.managed_identity_client_id)
    return GraphAccess(connection, os.environ.get(TOKEN_ENV) or None)


def _source(args: argparse.Namespace) -> TenantSource:
    from teamslicensing.app import TenantSource

    if args.snapshot:
        return TenantSource(snapshot=Path(args.snapshot))
    return TenantSource(graph=_graph_access(args))


def _confirm(args: argparse.Namespace, summary: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("refusing to apply without confirmation: no terminal to ask on, so pass --yes")
    print(summary, file=sys.stderr)
    answer = input("Apply these changes? Only 'yes' is accepted: ")
    if answer.strip() != "yes":
        raise UsageError("apply cancelled; nothing was written")


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
