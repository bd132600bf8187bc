"""The command line's shape: commands, their options and help texts."""

from __future__ import annotations

import argparse

from teamslicensing import __version__
from teamslicensing.cli import commands
from teamslicensing.graph.connection import CLOUDS
from teamslicensing.report import FORMATS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="teams-licensing",
        description="Keep Microsoft Teams voice licenses in the state a YAML file declares.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subcommands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    validate = subcommands.add_parser("validate", help="check a configuration file; touches no tenant")
    validate.add_argument("config", metavar="CONFIG", help="desired-state YAML file")
    validate.set_defaults(command=commands.validate)

    plan = subcommands.add_parser("plan", help="show what would change, what cannot be done, and the seat count")
    plan.add_argument("config", metavar="CONFIG", help="desired-state YAML file")
    plan.add_argument("--snapshot", metavar="FILE", help="plan against a tenant snapshot (JSON) instead of Graph")
    plan.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    plan.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when in sync, 2 when changes are pending, 3 when error-severity gaps remain",
    )
    connection_options(plan)
    plan.set_defaults(command=commands.plan)

    apply = subcommands.add_parser("apply", help="plan, confirm, then write the changes to the tenant")
    apply.add_argument("config", metavar="CONFIG", help="desired-state YAML file")
    apply.add_argument("--snapshot", metavar="FILE", help="apply to a snapshot file (written back) instead of Graph")
    apply.add_argument("--yes", action="store_true", help="apply without asking (required without a terminal)")
    apply.add_argument("--max-changes", type=int, metavar="N", help="refuse plans changing more users than N")
    apply.add_argument(
        "--audit-log", metavar="FILE", help="JSON Lines audit log (default: ./teams-licensing-audit-<UTC>.jsonl)"
    )
    apply.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    apply.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    connection_options(apply)
    apply.set_defaults(command=commands.apply)

    export = subcommands.add_parser("export", help="write a snapshot of the live tenant (the format --snapshot reads)")
    export.add_argument("--output", metavar="FILE", required=True, help="snapshot file to write")
    export.add_argument("--config", metavar="CONFIG", help="export only the groups this configuration names")
    connection_options(export)
    export.set_defaults(command=commands.export)

    bundle = subcommands.add_parser(
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
    bundle.set_defaults(command=commands.bundle_runbook)

    schema = subcommands.add_parser("schema", help="print the JSON Schema of the configuration format")
    schema.set_defaults(command=commands.schema)

    skus = subcommands.add_parser("skus", help="list known SKUs and their Teams voice capabilities")
    skus.add_argument("--search", metavar="TEXT", help="only SKUs whose name, id or service plans contain TEXT")
    skus.add_argument("--voice", action="store_true", help="only SKUs that carry a voice capability")
    skus.set_defaults(command=commands.skus)
    return parser


def connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connecting to Graph (without --snapshot)")
    group.add_argument(
        "--cloud",
        choices=tuple(CLOUDS),
        default="global",
        help="national cloud: Graph endpoint and sign-in authority (default: global)",
    )
    group.add_argument(
        "--graph-url",
        metavar="URL",
        help="Graph endpoint, e.g. http://127.0.0.1:8080/v1.0 (env TEAMS_LICENSING_GRAPH_URL)",
    )
    group.add_argument("--managed-identity-client-id", metavar="ID", help="client id of a user-assigned identity")
