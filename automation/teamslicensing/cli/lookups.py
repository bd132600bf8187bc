"""The commands that answer a question and change nothing: `explain` (one user in the plan) and `skus` (the
catalogue)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from teamslicensing.cli.commands import tenant_source
from teamslicensing.cli.output import write_output
from teamslicensing.exitcodes import EXIT_FAILURE, EXIT_OK
from teamslicensing.model.capability import is_guid


def explain(args: argparse.Namespace) -> int:
    from teamslicensing import app
    from teamslicensing.plan.explain import close_names, explain_user, knows

    config, user = _config_then_user(args.config, args.user)
    run = app.plan(config, tenant_source(args), args.read)
    assert run.desired is not None
    write_output("\n".join(explain_user(run.desired, run.tenant, run.plan, user)) + "\n", None)
    if knows(run.tenant, run.plan, user):
        return EXIT_OK
    close = close_names(run.tenant, user)
    if close:
        print(f"teams-licensing explain: did you mean {' or '.join(repr(n) for n in close)}?", file=sys.stderr)
    return EXIT_FAILURE


def _config_then_user(first: str, second: str) -> tuple[str, str]:
    """`explain CONFIG UPN`; the order of before (`explain UPN CONFIG`) still works, with a note on stderr."""
    if _names_a_config(first) or not _names_a_config(second):
        return first, second
    print(
        "teams-licensing explain: `explain UPN CONFIG` is deprecated: write `explain CONFIG UPN`, the "
        "configuration first as in every other command",
        file=sys.stderr,
    )
    return second, first


def _names_a_config(argument: str) -> bool:
    """A .yaml/.yml path, or an existing file that does not look like a user (a UPN or an object id)."""
    if argument.lower().endswith((".yaml", ".yml")):
        return True
    looks_like_user = is_guid(argument) or ("@" in argument and "/" not in argument and "\\" not in argument)
    return not looks_like_user and Path(argument).is_file()


def skus(args: argparse.Namespace) -> int:
    from teamslicensing.model.capability import VOICE_CAPABILITIES
    from teamslicensing.reference.catalog import load_catalog
    from teamslicensing.report.skulist import render_skus

    catalog = load_catalog()
    found = catalog.search(args.search) if args.search else catalog.skus
    if args.voice:
        found = tuple(sku for sku in found if sku.capabilities & VOICE_CAPABILITIES)
    write_output(render_skus(found, args.format), args.output)
    return EXIT_OK
