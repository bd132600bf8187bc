"""A loopback fake of the Azure Resource Manager endpoints `deploy automation` uses (Microsoft.Automation
2024-10-23: the account, runtime environments, packages, runbooks, schedules, job schedules, variables), served
beside the fake Storage account (tests/support/fakestorage) the wheels are staged in, both over HTTPS with one
certificate authority made for the test.

Built from Azure's REST specification and its examples (`spec` lists every file and the commit read), with the
service behaviour the specification leaves out marked there. Independent of the product code: it imports nothing
from `teamslicensing`. `fake_azure()` serves both for the duration of a block and points the process's TLS trust at
the test's CA (`REQUESTS_CA_BUNDLE`, which the SDKs' requests sessions read).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.fakearm.automation import FakeAutomation, Logged
from tests.support.fakearm.server import Tls, serving
from tests.support.fakestorage import FakeStorage

__all__ = ["ARM_TOKEN", "STORAGE_TOKEN", "FakeAzure", "Logged", "fake_azure"]

SUBSCRIPTION = "00000000-1111-4222-8333-444444444444"
RESOURCE_GROUP = "rg-licensing"
ACCOUNT = "aa-teams-licensing"
LOCATION = "westeurope"
STORAGE_ACCOUNT = "stlicensing"
ARM_TOKEN = "arm-token-not-a-secret"
STORAGE_TOKEN = "storage-token-not-a-secret"


@dataclass
class FakeAzure:
    arm: FakeAutomation
    storage: FakeStorage
    arm_url: str
    blob_url: str  # https://127.0.0.1:PORT/ACCOUNT
    ca_file: Path

    def cli_args(self) -> list[str]:
        return [
            "--subscription",
            SUBSCRIPTION,
            "--resource-group",
            RESOURCE_GROUP,
            "--account",
            ACCOUNT,
            "--storage-account",
            STORAGE_ACCOUNT,
            "--arm-url",
            self.arm_url,
            "--blob-url",
            self.blob_url,
        ]


@contextmanager
def fake_azure(folder: Path, **automation: Any) -> Iterator[FakeAzure]:
    tls = Tls(folder)
    storage = FakeStorage(folder, STORAGE_TOKEN, containers=(), account=STORAGE_ACCOUNT, authority=tls.authority)
    arm = FakeAutomation(SUBSCRIPTION, RESOURCE_GROUP, ACCOUNT, LOCATION, ARM_TOKEN, tls.ca_file, **automation)
    saved = {name: os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    os.environ["REQUESTS_CA_BUNDLE"] = str(tls.ca_file)
    try:
        with storage, serving(arm.answer, tls, "fake-arm") as arm_server:
            arm.origin = arm_server.origin
            yield FakeAzure(arm, storage, arm_server.origin, storage.url, tls.ca_file)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
