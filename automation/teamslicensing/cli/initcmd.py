"""`teams-licensing init`: write a starting configuration from the tenant, then show how much of the tenant it
explains and its plan (no changes)."""

from __future__ import annotations

import argparse
import sys

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
    for note in done.notes:
        print(f"init: {note}", file=sys.stderr)
    title = f"teams-licensing plan: {run.origin} against {run.source.where}"
    write_output(render_chunks(run.plan, "text", title=title, meta=report_meta(run)), None, colour=True)
    print(f"\nWrote {done.output}.")
    print(coverage_line(done.proposal))
    snapshot = f" --snapshot {args.snapshot}" if args.snapshot else ""
    print(f"Its plan changes nobody. Next: teams-licensing plan {done.output}{snapshot}")
    return EXIT_OK
