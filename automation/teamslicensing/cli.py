"""The command line: each command reads like a script of stages; errors become messages in one place (`main`).

Heavy imports (msgraph, azure-identity) happen inside the commands that talk to a tenant, so `validate`, `schema`
and `skus` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from teamslicensing import __version__
from teamslicensing.errors import TeamsLicensingError

if TYPE_CHECKING:
    from teamslicensing.config import DesiredState
    from teamslicensing.executor import ApplyResult
    from teamslicensing.graph import Connection
    from teamslicensing.plan import Plan
    from teamslicensing.tenant import Tenant

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CHANGES = 2
EXIT_GAPS = 3
FORMATS = ("text", "json", "markdown", "github")
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"  # GitHub Actions: a file Markdown is appended to
AZURE_PIPELINES_ENV = "TF_BUILD"  # set to True by the Azure Pipelines agent


class UsageError(TeamsLicensingError):
    """The command line asks for something that cannot be done."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except TeamsLicensingError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_FAILURE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="teams-licensing",
        description="Keep Microsoft Teams voice licenses in the state a YAML file declares.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a configuration file; touches no tenant")
    validate.add_argument("config", metavar="CONFIG", help="desired-state YAML file")
    validate.set_defaults(command=_validate)

    plan = commands.add_parser("plan", help="show what would change, what cannot be done, and the seat count")
    plan.add_argument("config", metavar="CONFIG", help="desired-state YAML file")
    plan.add_argument("--snapshot", metavar="FILE", help="plan against a tenant snapshot (JSON) instead of Graph")
    plan.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    plan.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when in sync, 2 when changes are pending, 3 when error-severity gaps remain",
    )
    _connection_options(plan)
    plan.set_defaults(command=_plan)

    apply = commands.add_parser("apply", help="plan, confirm, then write the changes to the tenant")
    apply.add_argument("config", metavar="CONFIG", help="desired-state YAML file")
    apply.add_argument("--snapshot", metavar="FILE", help="apply to a snapshot file (written back) instead of Graph")
    apply.add_argument("--yes", action="store_true", help="apply without asking (required without a terminal)")
    apply.add_argument("--max-changes", type=int, metavar="N", help="refuse plans changing more users than N")
    apply.add_argument(
        "--audit-log", metavar="FILE", help="JSON Lines audit log (default: ./teams-licensing-audit-<UTC>.jsonl)"
    )
    apply.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    apply.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    _connection_options(apply)
    apply.set_defaults(command=_apply)

    export = commands.add_parser("export", help="write a snapshot of the live tenant (the format --snapshot reads)")
    export.add_argument("--output", metavar="FILE", required=True, help="snapshot file to write")
    export.add_argument("--config", metavar="CONFIG", help="export only the groups this configuration names")
    _connection_options(export)
    export.set_defaults(command=_export)

    bundle = commands.add_parser(
        "bundle-runbook", help="collect the runbook, Linux cp310 wheels and an upload script for Azure Automation"
    )
    bundle.add_argument("--output", metavar="DIR", required=True, help="new folder to write the bundle to")
    bundle.add_argument(
        "--wheel-dir", metavar="DIR", help="bundle the wheels in DIR as they are instead of downloading them with pip"
    )
    bundle.add_argument(
        "--runbook",
        metavar="FILE",
        help="bundle this runbook file instead of the one the teams-licensing wheel carries",
    )
    bundle.set_defaults(command=_bundle_runbook)

    schema = commands.add_parser("schema", help="print the JSON Schema of the configuration format")
    schema.set_defaults(command=_schema)

    skus = commands.add_parser("skus", help="list known SKUs and their Teams voice capabilities")
    skus.add_argument("--search", metavar="TEXT", help="only SKUs whose name, id or service plans contain TEXT")
    skus.add_argument("--voice", action="store_true", help="only SKUs that carry a voice capability")
    skus.set_defaults(command=_skus)
    return parser


def _validate(args: argparse.Namespace) -> int:
    from teamslicensing.config import load_desired_state

    desired = load_desired_state(args.config)
    licenses = ", ".join(ref.ref for ref in desired.managed_licenses) or "none"
    rules = len(desired.rules)
    print(f"{desired.source}: valid ({rules} rule{'s' if rules != 1 else ''}; managed licenses: {licenses})")
    return EXIT_OK


def _plan(args: argparse.Namespace) -> int:
    from teamslicensing.availability import load_availability
    from teamslicensing.config import load_desired_state
    from teamslicensing.planner import plan
    from teamslicensing.report import render

    desired = load_desired_state(args.config)  # every config error surfaces before the tenant is read
    tenant, where = _read_tenant(args, desired)
    result = plan(desired, tenant, load_availability())
    title = f"teams-licensing plan: {desired.source} against {where}"
    _write(render(result, args.format, title=title), args.output)
    ci_outputs(result, title)
    if not args.detailed_exitcode:
        return EXIT_OK
    if result.has_errors:
        return EXIT_GAPS
    return EXIT_CHANGES if not result.is_empty else EXIT_OK


def _connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connecting to Graph (without --snapshot)")
    group.add_argument(
        "--cloud",
        choices=("global", "usgov", "usgovdod", "china"),
        default="global",
        help="national cloud: Graph endpoint and sign-in authority (default: global)",
    )
    group.add_argument(
        "--graph-url",
        metavar="URL",
        help="Graph endpoint, e.g. http://127.0.0.1:8080/v1.0 (env TEAMS_LICENSING_GRAPH_URL)",
    )
    group.add_argument("--managed-identity-client-id", metavar="ID", help="client id of a user-assigned identity")


def _connection(args: argparse.Namespace) -> Connection:
    from teamslicensing.graph import Connection

    return Connection.from_options(args.cloud, args.graph_url, args.managed_identity_client_id)


def _read_tenant(args: argparse.Namespace, desired: DesiredState) -> tuple[Tenant, str]:
    if args.snapshot:
        from teamslicensing.snapshot import load_snapshot

        return load_snapshot(args.snapshot, desired.selected_attributes), f"snapshot {args.snapshot}"

    connection = _connection(args)
    return read_live_tenant(connection, desired), connection.graph_url


def read_live_tenant(connection: Connection, desired: DesiredState) -> Tenant:
    """Read what `desired` needs from Graph (also the runbook's way in)."""

    async def read() -> Tenant:
        from teamslicensing.graph import Graph
        from teamslicensing.graphsource import read_tenant

        async with Graph(connection) as graph:
            return await read_tenant(graph, desired)

    return asyncio.run(read())


def _apply(args: argparse.Namespace) -> int:
    from teamslicensing.availability import load_availability
    from teamslicensing.config import load_desired_state
    from teamslicensing.executor import check_change_limit
    from teamslicensing.planner import plan
    from teamslicensing.report import render, summary_line

    desired = load_desired_state(args.config)
    limit = args.max_changes if args.max_changes is not None else desired.policy.max_changes
    tenant, where = _read_tenant(args, desired)
    result = plan(desired, tenant, load_availability())
    title = f"teams-licensing apply: {desired.source} against {where}"
    if args.format != "json":
        _write(render(result, args.format, title=title), args.output)
    outcome: ApplyResult | None = None
    try:
        if result.is_empty:
            print("Nothing to apply.", file=sys.stderr)
            _finish_json(args, result, None)
            return EXIT_GAPS if result.has_errors else EXIT_OK
        check_change_limit(result, limit, "--max-changes")
        _confirm(args, summary_line(result))
        outcome = _execute(args, result, tenant)
        _finish_json(args, result, outcome)
        print(outcome_line(outcome), file=sys.stderr)
        for failure in outcome.failed:
            print(f"  FAILED {failure.user_principal_name}: {failure.reason}", file=sys.stderr)
        if args.format == "github":
            sys.stdout.write("".join(github_failures(outcome)))
        if outcome.failed:
            return EXIT_FAILURE
        return EXIT_GAPS if result.has_errors else EXIT_OK
    finally:
        ci_outputs(result, title, outcome)


def _confirm(args: argparse.Namespace, summary: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("refusing to apply without confirmation: no terminal to ask on, so pass --yes")
    print(summary, file=sys.stderr)
    answer = input("Apply these changes? Only 'yes' is accepted: ")
    if answer.strip() != "yes":
        raise UsageError("apply cancelled; nothing was written")


def _execute(args: argparse.Namespace, result: Plan, tenant: Tenant) -> ApplyResult:
    from teamslicensing.executor import default_audit_path, execute_with_audit

    audit_path = args.audit_log or default_audit_path()
    if not args.snapshot:
        return apply_to_graph(result, tenant, _connection(args), audit_path)
    from teamslicensing.snapshotwriter import SnapshotWriter

    writer = SnapshotWriter(args.snapshot)
    try:
        return asyncio.run(execute_with_audit(result, writer, tenant.users, audit_path, _Progress(sys.stderr)))
    finally:
        writer.save()


def apply_to_graph(
    result: Plan, tenant: Tenant, connection: Connection, audit_path: str | Path, progress_out: TextIO | None = None
) -> ApplyResult:
    """Write `result` to Graph, appending every attempt to the audit log at `audit_path` (the runbook's way out).

    Progress lines go to `progress_out` (default standard error)."""
    from teamslicensing.executor import execute_with_audit
    from teamslicensing.graph import Graph

    async def run() -> ApplyResult:
        async with Graph(connection) as graph:
            progress = _Progress(progress_out or sys.stderr)
            return await execute_with_audit(result, graph, tenant.users, audit_path, progress)

    return asyncio.run(run())


def _finish_json(args: argparse.Namespace, result: Plan, outcome: ApplyResult | None) -> None:
    if args.format != "json":
        return
    from teamslicensing.report import plan_to_json

    document = plan_to_json(result)
    document["result"] = (
        None
        if outcome is None
        else {
            "applied": outcome.count("applied"),
            "failed": outcome.count("failed"),
            "skipped": outcome.count("skipped"),
            "seconds": round(outcome.seconds, 3),
            "users": [
                {
                    "userId": r.user_id,
                    "userPrincipalName": r.user_principal_name,
                    "status": r.status,
                    "reason": r.reason,
                }
                for r in outcome.results
            ],
        }
    )
    _write(json.dumps(document, indent=2) + "\n", args.output)


def outcome_line(outcome: ApplyResult) -> str:
    return (
        f"Apply: {outcome.count('applied')} applied, {outcome.count('failed')} failed, "
        f"{outcome.count('skipped')} skipped in {outcome.seconds:.1f} s"
    )


def github_failures(outcome: ApplyResult) -> Iterator[str]:
    from teamslicensing.report import github_data

    for failure in outcome.failed:
        text = f"{failure.user_principal_name}: {failure.reason}"
        yield f"::error title=WRITE_FAILED::{github_data(text)}\n"


def ci_outputs(result: Plan, title: str, outcome: ApplyResult | None = None, out: TextIO | None = None) -> None:
    """What a CI system shows beside the log: GitHub's step summary; Azure Pipelines' issues and summary tab."""
    from teamslicensing.report import azure_escape, azure_logissues, render

    summary_file = os.environ.get(STEP_SUMMARY_ENV)
    in_azure = bool(os.environ.get(AZURE_PIPELINES_ENV))
    if not summary_file and not in_azure:
        return
    markdown = render(result, "markdown", title=title)
    if outcome is not None:
        markdown += _outcome_markdown(outcome)
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
            for failure in outcome.failed:
                text = azure_escape(f"{failure.user_principal_name}: {failure.reason}")
                out.write(f"##vso[task.logissue type=error;code=WRITE_FAILED]{text}\n")
        folder = os.environ.get("AGENT_TEMPDIRECTORY") or tempfile.gettempdir()
        handle_fd, path = tempfile.mkstemp(prefix="teams-licensing-", suffix=".md", dir=folder)
        with os.fdopen(handle_fd, "w", encoding="utf-8") as handle:  # kept: the agent uploads it after the step
            handle.write(markdown)
        out.write(f"##vso[task.uploadsummary]{os.path.abspath(path)}\n")
        out.flush()


def _outcome_markdown(outcome: ApplyResult) -> str:
    from teamslicensing.report import md_cell

    lines = ["### Apply", "", f"**{outcome_line(outcome)}**", ""]
    if outcome.failed:
        lines += ["| Failed user | Reason |", "|---|---|"]
        lines += [f"| {md_cell(f.user_principal_name)} | {md_cell(f.reason or '')} |" for f in outcome.failed]
        lines.append("")
    return "\n".join(lines) + "\n"


class _Progress:
    """A live counter on a terminal; otherwise a plain line every 10% so logs stay readable."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.terminal = out.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if self.terminal:
            self.out.write(f"\rapplying {done}/{total} writes")
            if done == total:
                self.out.write("\n")
            self.out.flush()
            return
        step = max(total // 10, 1)
        if done == total or done // step != self.last // step:
            self.out.write(f"applied {done}/{total} writes\n")
            self.out.flush()
        self.last = done


def _export(args: argparse.Namespace) -> int:
    from teamslicensing.graph import Graph
    from teamslicensing.graphsource import export_snapshot

    groups = None
    if args.config:
        from teamslicensing.config import load_desired_state

        groups = load_desired_state(args.config).group_names

    temporary = f"{args.output}.partial"  # a half-written snapshot must never pass for a whole one

    async def export() -> dict[str, int]:
        async with Graph(_connection(args)) as graph:
            with open(temporary, "w", encoding="utf-8") as out:
                return await export_snapshot(graph, out, groups)

    counts = asyncio.run(export())
    os.replace(temporary, args.output)
    print(
        f"{args.output}: {counts['users']} users, {counts['subscribedSkus']} subscriptions, {counts['groups']} groups"
    )
    return EXIT_OK


def _bundle_runbook(args: argparse.Namespace) -> int:
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


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc


def _schema(args: argparse.Namespace) -> int:
    from teamslicensing.config import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def _skus(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from teamslicensing.catalog import load_catalog

    out = out or sys.stdout
    catalog = load_catalog()
    skus = catalog.search(args.search) if args.search else catalog.skus
    if args.voice:
        skus = tuple(sku for sku in skus if sku.capabilities)
    width = min(max((len(sku.part_number) for sku in skus), default=10), 32)  # a few part numbers run to 60
    for sku in skus:
        capabilities = ", ".join(sorted(c.value for c in sku.capabilities)) or "-"
        out.write(f"{sku.part_number:<{width}}  {sku.sku_id}  {capabilities:<40}  {sku.display_name}\n")
    out.write(f"{len(skus)} SKU{'s' if len(skus) != 1 else ''}\n")
    return EXIT_OK
