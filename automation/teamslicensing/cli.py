"""The command line: each command reads like a script of stages; errors become messages in one place (`main`).

Heavy imports (msgraph, azure-identity) happen inside the commands that talk to a tenant, so `validate`, `schema`
and `skus` start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from teamslicensing import __version__
from teamslicensing.errors import TeamsLicensingError

if TYPE_CHECKING:
    from teamslicensing.tenant import Tenant

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CHANGES = 2
EXIT_GAPS = 3
FORMATS = ("text", "json", "markdown")


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
    plan.set_defaults(command=_plan)

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
    tenant, where = _read_tenant(args, desired.selected_attributes)
    result = plan(desired, tenant, load_availability())
    _write(render(result, args.format, title=f"teams-licensing plan: {desired.source} against {where}"), args.output)
    if not args.detailed_exitcode:
        return EXIT_OK
    if result.has_errors:
        return EXIT_GAPS
    return EXIT_CHANGES if not result.is_empty else EXIT_OK


def _read_tenant(args: argparse.Namespace, attributes: frozenset[str]) -> tuple[Tenant, str]:
    from teamslicensing.snapshot import load_snapshot

    if args.snapshot:
        return load_snapshot(args.snapshot, attributes), f"snapshot {args.snapshot}"
    raise UsageError("reading a live tenant is not available yet: pass --snapshot FILE")


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
