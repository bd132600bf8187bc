"""The writing commands' one run per tenant across machines: `--lease-url` and `--lease-wait` made into the tenant
lease `app.tenant_lease` holds, and a run that could not take it ended with its summary
(docs/explanation/safety-model.md, *One writing run per tenant*)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teamslicensing.errors import UsageError

if TYPE_CHECKING:
    from teamslicensing.app import TenantSource


def writing_leased(
    args: argparse.Namespace, source: TenantSource, command: str, body: Callable[[TenantSource], int]
) -> int:
    """`body` on `source` with the tenant's lease armed when `--lease-url` names a container (taken at the first
    read, released at the end). A run that could not take it (another run kept it for all of `--lease-wait`, or a
    signal came) ends with its summary and the code `for_writes` gives that (4, 130 or 143)."""
    from teamslicensing import app
    from teamslicensing.exitcodes import for_writes
    from teamslicensing.graph import CLOUDS
    from teamslicensing.graph.blob import STORAGE_TOKEN_ENV
    from teamslicensing.report.outcome import outcome_json, outcome_line

    if args.lease_url is None:
        if args.lease_wait is not None:
            raise UsageError("--lease-wait applies with --lease-url")
        return body(source)
    options = app.LeaseOptions(
        args.lease_url,
        managed_identity_client_id=args.managed_identity_client_id,
        storage_token=os.environ.get(STORAGE_TOKEN_ENV) or None,
        chain_authority=CLOUDS[args.cloud][1],
        command=command,
        notice=_notice,
    )
    if args.lease_wait is not None:
        options = dataclasses.replace(options, wait=args.lease_wait)
    try:
        with app.tenant_lease(source, options) as leased:
            return body(leased)
    except app.LeaseWaitStopped as exc:
        print(outcome_line(exc.outcome).replace("Apply:", f"{command.capitalize()}:", 1), file=sys.stderr)
        if getattr(args, "format", None) == "json":
            _write_json({"version": 1, "result": outcome_json(exc.outcome)}, args.output)
        return for_writes(exc.outcome, False)


def _notice(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _write_json(document: dict[str, Any], output: str | None) -> None:
    text = json.dumps(document) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
