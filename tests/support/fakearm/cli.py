"""`teams-licensing deploy automation` run as an admin runs it, against the fake Azure."""

from __future__ import annotations

from pathlib import Path

from teamslicensing.cli import main
from tests.support.fakearm import FakeAzure


def deploy(azure: FakeAzure, bundle: Path, *extra: str) -> int:
    return main(["deploy", "automation", *azure.cli_args(), "--bundle", str(bundle), *extra])
