"""The command line's shape: commands, their options and help texts (the value types are in `argtypes`)."""

from __future__ import annotations

import argparse

from teamslicensing import __version__
from teamslicensing.cli import commands, initcmd, lookups
from teamslicensing.cli.argtypes import Parser, count, day, duration
from teamslicensing.cli.deploycmd import deploy_command
from teamslicensing.cli.helptext import add_epilogs
from teamslicensing.graph.connection import CLOUDS
from teamslicensing.reference.permissions import MODES
from teamslicensing.report import FORMATS
from teamslicensing.report.usage import USAGE_FORMATS


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="teams-licensing",
        description="Keep Microsoft Teams voice licenses in the state a YAML file declares.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback for unexpected errors (bugs)")
    subcommands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    _validate_command(subcommands)
    _plan_command(subcommands)
    _explain_command(subcommands)
    _apply_command(subcommands)
    _undo_command(subcommands)
    _reprocess_command(subcommands)
    _export_command(subcommands)
    _init_command(subcommands)
    _usage_command(subcommands)
    _bundle_command(subcommands)
    deploy_command(subcommands)
    _schema_command(subcommands)
    permissions_command(subcommands)
    _skus_command(subcommands)
    add_epilogs(subcommands)
    return parser


def _validate_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    validate = subcommands.add_parser("validate", help="check a configuration file; touches no tenant")
    validate.add_argument("config", metavar="CONFIG", help="desired-state YAML file")
    validate.set_defaults(command=commands.validate)


def _plan_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    plan = subcommands.add_parser("plan", help="show what would change, what cannot be done, and the seat count")
    plan.add_argument("config", metavar="CONFIG", help="desired-state YAML file")
    plan.add_argument("--snapshot", metavar="FILE", help="plan against a tenant snapshot (JSON) instead of Graph")
    plan.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    plan.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    plan.add_argument("--out", metavar="PLANFILE", help="also save the plan, for `apply PLANFILE` to apply exactly")
    history_option(plan)
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when in sync, 2 when changes are pending, 3 when error-severity gaps remain (3 wins over 2); "
        "without it, plan exits 0 whatever the plan holds (1 when it fails)",
    )
    plan.add_argument(
        "--usage",
        metavar="FILE",
        help="also judge against a usage report (`usage --format json`): its gaps join the plan's",
    )
    plan.add_argument(
        "--user", action="append", default=[], metavar="UPN", help="show only this user (repeatable; UPN or id)"
    )
    plan.add_argument(
        "--rule", action="append", default=[], metavar="NAME", help="show only users this rule selects (repeatable)"
    )
    read_option(plan)
    connection_options(plan)
    plan.set_defaults(command=commands.plan)


def _explain_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    explain = subcommands.add_parser(
        "explain", help="why a user is in or out of the plan: rules, holdings, the planned change, gaps"
    )
    explain.add_argument("config", metavar="CONFIG", help="desired-state YAML file")
    explain.add_argument("user", metavar="UPN", help="the user (UPN or object id)")
    explain.add_argument("--snapshot", metavar="FILE", help="a tenant snapshot instead of Graph")
    read_option(explain)
    connection_options(explain)
    explain.set_defaults(command=lookups.explain)


def _apply_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    apply = subcommands.add_parser("apply", help="plan (or read a saved plan), confirm, then write the changes")
    apply.add_argument(
        "config", metavar="CONFIG|PLANFILE", help="desired-state YAML file, or a plan saved by `plan --out`"
    )
    apply.add_argument("--snapshot", metavar="FILE", help="apply to a snapshot file (written back) instead of Graph")
    apply.add_argument(
        "--max-age", type=duration, metavar="DURATION", help="refuse a saved plan older than this (e.g. 24h)"
    )
    apply.add_argument(
        "--config",
        dest="reviewed_config",
        metavar="FILE",
        help="with a saved plan: the configuration it was made from (the reviewed checkout's); a file whose digest "
        "differs is refused, and every change is judged with its policy (without it: the policy the plan recorded)",
    )
    apply.add_argument(
        "--wait",
        type=duration,
        metavar="DURATION",
        help="after group license writes, wait up to this long for Entra to process them (e.g. 10m)",
    )
    read_option(apply)
    writing_options(apply)
    apply.set_defaults(command=commands.apply)


def _undo_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    undo = subcommands.add_parser("undo", help="restore the licenses an audited apply changed, user by user")
    undo.add_argument("audit", metavar="AUDIT_LOG", help="the audit log of the run to undo")
    undo.add_argument(
        "--user", action="append", default=[], metavar="UPN", help="only this user (repeatable; UPN or object id)"
    )
    undo.add_argument("--snapshot", metavar="FILE", help="undo in a snapshot file instead of Graph")
    undo.add_argument(
        "--allow-number-loss",
        action="store_true",
        help="also restore when that takes a user's last Phone System or Calling Plan (and the number)",
    )
    writing_options(undo)
    undo.set_defaults(command=commands.undo)


def _reprocess_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    reprocess = subcommands.add_parser(
        "reprocess", help="ask Entra to process group licenses again for members in error (after seats were bought)"
    )
    reprocess.add_argument("config", metavar="CONFIG", nargs="?", help="its groupLicenses, when no --group is named")
    reprocess.add_argument(
        "--group", action="append", default=[], metavar="GROUP", help="members of this group in error (repeatable)"
    )
    reprocess.add_argument(
        "--user", action="append", default=[], metavar="UPN", help="this user, in error or not (repeatable)"
    )
    reprocess.add_argument("--snapshot", metavar="FILE", help="reprocess in a snapshot file instead of Graph")
    reprocess.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reprocess.add_argument("--audit-log", metavar="FILE", help="audit log to write (default: a new file per run)")
    lease_options(reprocess)
    connection_options(reprocess)
    reprocess.set_defaults(command=commands.reprocess)


def _export_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    export = subcommands.add_parser("export", help="write a snapshot of the live tenant (the format --snapshot reads)")
    export.add_argument("--output", metavar="FILE", help="snapshot file to write")
    export.add_argument("--calls", metavar="FILE", help="also (or only) write PSTN call records as JSON Lines")
    export.add_argument("--days", type=count, default=90, metavar="N", help="call records of the last N days (90)")
    export.add_argument("--config", metavar="CONFIG", help="export only the groups this configuration names")
    connection_options(export)
    export.set_defaults(command=commands.export)


def _init_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    init = subcommands.add_parser(
        "init", help="write a starting configuration from what the tenant holds; its plan changes nobody"
    )
    init.add_argument("--snapshot", metavar="FILE", help="read a tenant snapshot (JSON) instead of Graph")
    init.add_argument(
        "--output", metavar="FILE", default="licensing.yaml", help="configuration to write (default: licensing.yaml)"
    )
    init.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    connection_options(init)
    init.set_defaults(command=initcmd.init)


def _usage_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    usage = subcommands.add_parser(
        "usage", help="PSTN usage: spend, minute pools, a Communications Credits funding recommendation, who is cut off"
    )
    usage.add_argument("config", metavar="CONFIG", nargs="?", help="desired-state YAML (policy.funding, overrides)")
    usage.add_argument("--snapshot", metavar="FILE", help="the tenant from a snapshot (calls then from --calls)")
    usage.add_argument("--calls", metavar="FILE", help="call records from a file `export --calls` wrote")
    usage.add_argument("--days", type=count, default=90, metavar="N", help="the last N days (default 90)")
    usage.add_argument("--from", dest="date_from", type=day, metavar="DATE", help="first UTC day (with --to)")
    usage.add_argument("--to", dest="date_to", type=day, metavar="DATE", help="last UTC day, included")
    usage.add_argument("--format", choices=USAGE_FORMATS, default="text", help="report format (default: text)")
    usage.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    connection_options(usage)
    usage.set_defaults(command=commands.usage)


def _bundle_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
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


def _schema_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    schema = subcommands.add_parser("schema", help="print the JSON Schema of the configuration format")
    schema.set_defaults(command=commands.schema)


def _skus_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    skus = subcommands.add_parser("skus", help="list known SKUs and their Teams voice capabilities")
    skus.add_argument("--search", metavar="TEXT", help="only SKUs whose name, id or service plans contain TEXT")
    skus.add_argument("--voice", action="store_true", help="only SKUs that carry a voice capability")
    skus.add_argument("--format", choices=("text", "json", "csv"), default="text", help="output format")
    skus.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    skus.set_defaults(command=lookups.skus)


def permissions_command(subcommands: argparse._SubParsersAction[Parser]) -> None:
    modes = "\n".join(f"  {name:<10} {mode.summary}" for name, mode in MODES.items())
    permissions = subcommands.add_parser(
        "permissions",
        help="the Microsoft Graph application permissions a kind of run needs",
        description="Print the least-privileged Graph application permissions a mode needs, from Microsoft's "
        "permissions reference; runbooks/grant-permissions.sh grants the same.",
        epilog=f"modes:\n{modes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    permissions.add_argument("--mode", choices=tuple(MODES), default="all", help="the kind of run (default: all)")
    permissions.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help='text, or JSON: a list of {"permission", "why", "optional"} (default: text)',
    )
    permissions.set_defaults(command=commands.permissions)


def read_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--read",
        choices=("auto", "scoped", "all"),
        help="which users a Graph read fetches (overrides policy.read): only those the plan can touch, every "
        "user, or scoped above 20,000 users (auto)",
    )


def writing_options(parser: argparse.ArgumentParser) -> None:
    """What `apply` and `undo` share: confirmation, limits, stops, the audit log and the report."""
    parser.add_argument("--yes", action="store_true", help="apply without asking (required without a terminal)")
    parser.add_argument("--max-changes", type=count, metavar="N", help="refuse plans changing more users than N")
    parser.add_argument(
        "--max-removals",
        type=count,
        metavar="N",
        help="refuse plans whose removals take service plans from more than N users (default: policy, 50)",
    )
    parser.add_argument(
        "--time-budget",
        type=duration,
        metavar="DURATION",
        help="stop taking new batches in time to finish within DURATION (e.g. 2h30m); exit 4 when work remains",
    )
    parser.add_argument(
        "--limit", type=count, metavar="N", help="apply the first N changed users only (a staged rollout; exit 4)"
    )
    parser.add_argument(
        "--audit-log", metavar="FILE", help="JSON Lines audit log (default: ./teams-licensing-audit-<UTC>.jsonl)"
    )
    parser.add_argument(
        "--append-audit", action="store_true", help="add this run to an existing audit log instead of refusing"
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    history_option(parser)
    lease_options(parser)
    connection_options(parser)


def history_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        metavar="FILE",
        help="append this run's summary to FILE (JSON Lines); HTML and Markdown reports show the last runs",
    )


def lease_options(parser: argparse.ArgumentParser) -> None:
    """One writing run per tenant across machines: a lease in a Storage container (docs/explanation/safety-model.md,
    *One writing run per tenant*)."""
    group = parser.add_argument_group("one run per tenant across machines")
    group.add_argument(
        "--lease-url",
        metavar="CONTAINER-URL",
        help="hold a lease on locks/<tenant id> in this blob container while the run reads and writes "
        "(https://ACCOUNT.blob.core.windows.net/CONTAINER; Storage Blob Data Contributor)",
    )
    group.add_argument(
        "--lease-wait",
        type=duration,
        metavar="DURATION",
        help="wait this long for another run's lease (default 10m), then stop with exit 4",
    )


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
