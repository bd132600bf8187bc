"""User delegation keys and the SAS reads signed with them, as the fake Storage account holds them.

Sources (read 2026-08, the search tool's docs corpus): the Blob REST reference "Get User Delegation Key" (`POST
/?restype=service&comp=userdelegationkey`, authorised with a Microsoft Entra token only, a `KeyInfo` body with
`Start` and `Expiry`, the expiry at most seven days ahead) and "Create a user delegation SAS" (the `skoid`, `sktid`,
`skt`, `ske`, `sks`, `skv` fields naming the key, `sr=b` for one blob, `sp` its permissions, `se` its expiry, which
must not pass the key's). The signature itself is not recomputed: its string-to-sign changes with every service
version and azure-storage-blob builds it; what is held is that the SAS came from a key this account issued, reads
one blob, and has not expired. A request authorised by a SAS needs no `x-ms-version` (the SAS's `sv` names it).
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

from tests.support.fakestorage.store import Reply, StorageFault

MAX_KEY_DAYS = 7
KEY_OBJECT_ID = "5f1ac7d2-3c4b-4a55-9a1e-0c7d2b1f4e60"  # the object id the fake's Entra gives the deployer
KEY_TENANT_ID = "72f988bf-0000-4000-8000-000000000001"


@dataclass(frozen=True)
class DelegationKey:
    start: str
    expiry: str
    value: str
    version: str


@dataclass
class DelegationKeys:
    """The keys this account issued."""

    issued: list[DelegationKey] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, body: bytes, version: str) -> Reply:
        try:
            info = ElementTree.fromstring(body)
            start, expiry = info.findtext("Start") or "", info.findtext("Expiry") or ""
            too_late = _when(expiry) > datetime.now(timezone.utc) + timedelta(days=MAX_KEY_DAYS)
        except (ElementTree.ParseError, ValueError):
            raise StorageFault("InvalidXmlDocument") from None
        if too_late:
            raise StorageFault("InvalidQueryParameterValue")
        key = DelegationKey(start, expiry, base64.b64encode(secrets.token_bytes(32)).decode(), version)
        with self.lock:
            self.issued.append(key)
        document = (
            '<?xml version="1.0" encoding="utf-8"?><UserDelegationKey>'
            f"<SignedOid>{KEY_OBJECT_ID}</SignedOid><SignedTid>{KEY_TENANT_ID}</SignedTid>"
            f"<SignedStart>{start}</SignedStart><SignedExpiry>{expiry}</SignedExpiry>"
            f"<SignedService>b</SignedService><SignedVersion>{key.version}</SignedVersion>"
            f"<Value>{key.value}</Value></UserDelegationKey>"
        )
        return Reply(200, {"Content-Type": "application/xml"}, document.encode())

    def allows_read(self, query: dict[str, str]) -> bool:
        """A SAS for reading one blob, from a key of this account, not expired."""
        try:
            expires, key_expires = _when(query["se"]), _when(query["ske"])
        except (KeyError, ValueError):
            return False
        with self.lock:
            known = any(
                key.start == query.get("skt") and key.expiry == query.get("ske") and key.version == query.get("skv")
                for key in self.issued
            )
        return (
            known
            and query.get("skoid") == KEY_OBJECT_ID
            and query.get("sktid") == KEY_TENANT_ID
            and query.get("sks") == "b"
            and query.get("sr") == "b"
            and "r" in query.get("sp", "")
            and bool(query.get("sig"))
            and datetime.now(timezone.utc) < expires <= key_expires
        )


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
