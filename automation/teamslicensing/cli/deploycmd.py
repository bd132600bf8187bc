"""`teams-licensing deploy automation`: its options, and the command calling `deploy` (the `deploy` extra)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from teamslicensing.exitcodes import EXIT_OK


def deploy_command(subcommands: argparse._SubParsersAction[Any]) -> None:
    from teamslicensing.cli.argtypes import duration
    from teamslicensing.deploy.options import CLOUDS, DEFAULT_RUNBOOK, DEFAULT_RUNTIME_ENVIRONMENT, parse_schedule

    deploy = subcommands.add_parser(
        "deploy", help="deploy the runbook bundle to Azure Automation (the deploy extra: teams-licensing[deploy])"
    )
    targets = deploy.add_subparsers(title="targets", required=True, metavar="TARGET")
    automation = targets.add_parser(
        "automation",
        help="runtime environment, packages, runbook, settings and schedule in an Automation account",
        description="Deploy the runbook bundle to an Azure Automation account with Azure's management SDK: a "
        "Python 3.10 runtime environment of the bundle's own, every wheel as a package (waited for until imported), "
        "then the runbook moved there and published, the environments of earlier bundles removed, the "
        "configuration and settings, a daily schedule. A failed import leaves the runbook that runs untouched. Run "
        "again, it changes nothing. Sign-in: DefaultAzureCredential, or TEAMS_LICENSING_ARM_TOKEN / "
        "TEAMS_LICENSING_STORAGE_TOKEN used as they are.",
    )
    required = automation.add_argument_group("the Automation account and the storage account (required)")
    required.add_argument("--subscription", required=True, metavar="ID", help="subscription id")
    required.add_argument("--resource-group", required=True, metavar="NAME", help="the Automation account's group")
    required.add_argument("--account", required=True, metavar="NAME", help="the Automation account")
    required.add_argument(
        "--storage-account", required=True, metavar="NAME", help="storage account the wheels are staged in"
    )
    automation.add_argument("--storage-resource-group", metavar="NAME", help="its group (default: --resource-group)")
    automation.add_argument("--location", metavar="REGION", help="default: the Automation account's location")
    automation.add_argument("--config", metavar="FILE", help="the configuration to store as TeamsLicensing_Config")
    automation.add_argument("--numbers", metavar="FILE", help="a numbers CSV to store as TeamsLicensing_Numbers")
    automation.add_argument(
        "--schedule", type=_schedule(parse_schedule), metavar="daily@HH:MM", help="run daily at HH:MM UTC"
    )
    automation.add_argument(
        "--mode",
        choices=("plan", "apply", "usage"),
        help="set TeamsLicensing_Mode (default: plan when it is not there, else left as it is)",
    )
    automation.add_argument(
        "--runtime-environment",
        default=DEFAULT_RUNTIME_ENVIRONMENT,
        metavar="PREFIX",
        help="runtime environments are named PREFIX-VERSION-DIGEST, one per bundle (%(default)s)",
    )
    automation.add_argument("--runbook", default=DEFAULT_RUNBOOK, metavar="NAME", help="(%(default)s)")
    automation.add_argument("--bundle", metavar="DIR", help="a bundle-runbook folder (default: build one)")
    automation.add_argument(
        "--timeout", type=duration, default=1800.0, metavar="DURATION", help="wait for imports and operations (30m)"
    )
    automation.add_argument("--cloud", choices=tuple(CLOUDS), default="global", help="national cloud (global)")
    automation.add_argument(
        "--arm-url", metavar="URL", help="Resource Manager (default: the cloud's; elsewhere only with its token set)"
    )
    automation.add_argument(
        "--blob-url",
        metavar="URL",
        help="blob endpoint (https://ACCOUNT.blob.core.windows.net; elsewhere only with its token set)",
    )
    automation.set_defaults(command=deploy_automation)


def _schedule(parse: Callable[[str], object]) -> Callable[[str], object]:
    def checked(text: str) -> object:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return checked


def deploy_automation(args: argparse.Namespace) -> int:
    from teamslicensing.deploy import DeployOptions, deploy_automation, require_extra

    require_extra()
    options = DeployOptions(
        subscription=args.subscription,
        resource_group=args.resource_group,
        account=args.account,
        storage_account=args.storage_account,
        storage_resource_group=args.storage_resource_group,
        location=args.location,
        config=Path(args.config) if args.config else None,
        numbers=Path(args.numbers) if args.numbers else None,
        schedule=args.schedule,
        runtime_environment=args.runtime_environment,
        runbook=args.runbook,
        bundle=Path(args.bundle) if args.bundle else None,
        mode=args.mode,
        cloud=args.cloud,
        arm_url=args.arm_url,
        blob_url=args.blob_url,
        timeout=args.timeout,
    )
    deploy_automation(options, sys.stdout)
    return EXIT_OK
