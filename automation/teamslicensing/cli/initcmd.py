"""`teams-licensing init`: write a starting configuration from the tenant, then show how much of the tenant it
explains and its plan (no changes)."""

from __future__ import annotations

import argparse
import shlex

from teamslicensing.exitcodes import EXIT_OK


def init(args: argparse.Namespace) -> int:
    from teamslicensing.app import report_meta
    from teamslicensing.app.adopt import init as write_starting_config
    from teamslicensing.cli.commands import tenant_source
    from teamslicensing.cli.output import write_output
    from teamslicensing.report import render_chunks
    from teamslicensing.report.initconfig import coverage_line

    done = write_starting_config(tenant_source(args), args.output, force=args.force)
    run = done.run
    title = f"teams-licensing plan: {run.origin} against {run.source.where}"
    write_output(render_chunks(run.plan, "text", title=title, meta=report_meta(run)), None, colour=True)
    print(f"\nWrote {done.output}.")
    for note in done.notes:  # what the live read could not see, last, where it is read (the file says it too)
        print(f"init: the read left out {note}")
    print(coverage_line(done.proposal))
    print(f"Its plan changes nobody. Next: {shlex.join(['teams-licensing', 'plan', *_same_source(args)])}")
    return EXIT_OK


def _same_source(args: argparse.Namespace) -> list[str]:
    """The written file and the source init read, as `plan` takes them: pasted, it plans the same tenant."""
    words = [str(args.output)]
    if args.snapshot:
        return [*words, "--snapshot", str(args.snapshot)]
    if args.cloud != "global":
        words += ["--cloud", args.cloud]
    if args.graph_url:
        words += ["--graph-url", args.graph_url]
    if args.managed_identity_client_id:
        words += ["--managed-identity-client-id", args.managed_identity_client_id]
    return words
