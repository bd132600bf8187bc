"""Saved plans (`plan --out PLANFILE`, `apply PLANFILE`): apply exactly what was reviewed (README, *Saved plans*).

A plan file is JSON Lines, written and read a record at a time (a 100,000-change plan is never one document):

1. a header: the marker (`"teamsLicensingPlan": 2`), the tool, when, the tenant it was made for, the configuration
   (path and digest), its whole `policy`, the groups and attributes the selection read;
2. one record per change with the state its safety rested on (`planbasis`), per group change likewise, then the
   gaps, seats and per-rule summary;
3. an end record: how many records came before it, the SHA-256 of every byte before it, and, when the key
   `TEAMS_LICENSING_PLAN_KEY` was set at `plan --out`, an HMAC-SHA256 of the same bytes.

Nothing in a file is believed before the end record checks out: a changed byte, a record cut off or added, is
"the plan file was changed after it was saved". A digest stops accidents; only the HMAC stops someone who can
rewrite the file (a CI artifact): with the key set, `apply` refuses an unsigned or mis-signed file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from teamslicensing import __version__
from teamslicensing.apply.planbasis import compact, group_basis, groups_by_member, user_basis
from teamslicensing.errors import UsageError
from teamslicensing.model.cost import CurrencyCost, cost_from_json, cost_json
from teamslicensing.model.desired import DesiredPolicy
from teamslicensing.model.plan import Gap, GroupChange, Plan, RuleSummary, SeatLine, UserChange
from teamslicensing.model.planjson import (
    change_from_json,
    change_json,
    gap_from_json,
    gap_json,
    group_change_from_json,
    group_change_json,
    rule_from_json,
    rule_json,
    seat_from_json,
    seat_json,
)
from teamslicensing.model.policyjson import policy_from_json, policy_json
from teamslicensing.model.tenant import Tenant
from teamslicensing.tenant.need import TenantNeed

MARKER = "teamsLicensingPlan"
FORMAT_VERSION = 2
KEY_VARIABLE = "TEAMS_LICENSING_PLAN_KEY"
MIN_KEY_LENGTH = 32  # characters: `openssl rand -hex 32` gives 64


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    tenant_id: str | None
    cloud: str
    config: str  # the configuration the plan was made from, as named then
    config_digest: str | None
    created: datetime
    policy: DesiredPolicy  # the configuration's whole policy, as it was when the plan was made
    managed: frozenset[str]  # sku ids the configuration assigned when the plan was made: no other may be added
    groups: tuple[tuple[str, str], ...]  # (id, display name) of every group the selection read
    attributes: tuple[str, ...]  # user attributes the selection read
    basis: Mapping[str, str]  # user id -> recorded state (`planbasis.user_basis`), as compact JSON text
    group_basis: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # group id -> `group_basis`
    signed: bool = False  # the file carries an HMAC (checked when the key is set)


def basis_read(saved: SavedPlan) -> TenantNeed:
    """What checking a saved plan reads again: the groups and attributes its selection rested on, the groups it
    licenses, and the users it changes (no others matter: a saved plan is applied, never planned again)."""
    licensed = tuple(change.group_id for change in saved.plan.group_changes)
    # a group write that removes or turns plans off is judged on its members as they are now: read them all (their
    # ids are known only once the group is read); otherwise the changed users alone
    taking = any(c.remove_licenses or c.disables_plans for c in saved.plan.group_changes)
    return TenantNeed.users(
        None if taking else (change.user_id for change in saved.plan.changes),
        group_names=tuple(group_id for group_id, _ in saved.groups) + licensed,
        attributes=saved.attributes,
        licensed=licensed,
        user_configurations=any(change.policy_changes for change in saved.plan.changes),
    )


def plan_key(environ: Mapping[str, str]) -> bytes | None:
    """The signing key from `TEAMS_LICENSING_PLAN_KEY`, or None when it is not set; a short key is refused."""
    value = environ.get(KEY_VARIABLE, "")
    if not value:
        return None
    if len(value.strip()) < MIN_KEY_LENGTH:
        raise UsageError(
            f"{KEY_VARIABLE} has {len(value.strip())} characters: use at least {MIN_KEY_LENGTH} random ones (e.g. "
            "the output of `openssl rand -hex 32`), kept in the CI system's secret store"
        )
    return value.strip().encode("utf-8")


def is_plan_file(path: str | Path) -> bool:
    """Whether `path` is a saved plan (JSON carrying the marker) rather than a YAML configuration."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and f'"{MARKER}"'.encode() in head


def write_plan_file(
    path: str | Path,
    plan: Plan,
    tenant: Tenant,
    *,
    config: str,
    config_digest: str | None,
    policy: DesiredPolicy,
    managed: frozenset[str],
    attributes: tuple[str, ...],
    key: bytes | None = None,
) -> None:
    """Write the plan a record at a time into `path`.partial, then put it in place: the file appears only whole."""
    temporary = Path(f"{path}.partial")
    try:
        with open(temporary, "wb") as out:
            header = {
                MARKER: FORMAT_VERSION,
                "tool": f"teams-licensing {__version__}",
                "createdAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "tenantId": tenant.tenant_id,
                "cloud": tenant.cloud,
                "config": {"path": config, "digest": config_digest},
                "policy": policy_json(policy),
                "managedSkuIds": sorted(managed),
                "groups": [{"id": g.id, "displayName": g.display_name} for g in tenant.groups],
                "attributes": list(attributes),
            }
            _write_records(out, _records(header, plan, tenant), key)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write the plan file {path}: {exc.strerror or exc}") from exc


def _records(header: dict[str, Any], plan: Plan, tenant: Tenant) -> Iterator[dict[str, Any]]:
    yield header
    users = {user.id: user for user in tenant.users}
    members = groups_by_member(tenant)
    for change in plan.changes:
        user = users.get(change.user_id)
        yield {"change": change_json(change), "basis": user_basis(user, tenant, members, change) if user else None}
    groups = {group.id: group for group in tenant.groups}
    for group_change in plan.group_changes:
        group = groups.get(group_change.group_id)
        yield {"groupChange": group_change_json(group_change), "basis": group_basis(group) if group else None}
    yield from ({"gap": gap_json(gap)} for gap in plan.gaps)
    yield from ({"seat": seat_json(seat)} for seat in plan.seats)
    yield from ({"rule": rule_json(summary)} for summary in plan.rule_summaries)
    yield from ({"cost": cost_json(cost)} for cost in plan.cost)


def _write_records(out: IO[bytes], records: Iterator[dict[str, Any]], key: bytes | None) -> None:
    digest = hashlib.sha256()
    signature = hmac.new(key, digestmod=hashlib.sha256) if key is not None else None
    count = 0
    for record in records:
        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
        out.write(line)
        digest.update(line)
        if signature is not None:
            signature.update(line)
        count += 1
    end = {
        "records": count,
        "digest": f"sha256:{digest.hexdigest()}",
        "signature": f"hmac-sha256:{signature.hexdigest()}" if signature is not None else None,
    }
    out.write((json.dumps({"end": end}, separators=(",", ":")) + "\n").encode("utf-8"))


def read_plan_file(path: str | Path, key: bytes | None = None) -> SavedPlan:
    """The saved plan in `path`, once its end record vouches for every byte before it (and, with `key`, its
    signature): a file changed after it was saved is refused whole, before any record is believed. The file is read
    once, hashed and parsed in the same pass: what is checked is what is believed (a file replaced between two reads
    would be believed unchecked)."""
    reading = _Reading(key)
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
            _check_header(path, first)
            reading.take(first)
            for line in handle:
                reading.take(line)
    except OSError as exc:
        raise UsageError(f"cannot read the plan file {path}: {exc.strerror or exc}") from exc
    signed = reading.check(path)
    try:  # the digest matched: a damaged record was saved like this, by a tool that wrote it wrong
        if reading.damage is not None:
            raise reading.damage
        return reading.parts.saved_plan(signed)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise UsageError(f"{path} is a damaged saved plan ({type(exc).__name__}: {exc}); make a new one") from exc


class _Reading:
    """One pass over a plan file: every line but the last hashed and parsed as it comes; the last kept for the end
    record. A record that cannot be parsed is remembered, not raised: a changed file is told as changed first."""

    def __init__(self, key: bytes | None) -> None:
        self.digest = hashlib.sha256()
        self.signature = hmac.new(key, digestmod=hashlib.sha256) if key is not None else None
        self.last: bytes | None = None
        self.count = 0
        self.parts = _Parts()
        self.damage: Exception | None = None

    def take(self, line: bytes) -> None:
        before, self.last = self.last, line
        if before is None:
            return
        self.digest.update(before)
        if self.signature is not None:
            self.signature.update(before)
        self.count += 1
        if self.damage is None:
            try:
                self.parts.take(json.loads(before))
            except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
                self.damage = exc

    def check(self, path: str | Path) -> bool:
        """Refuse the file unless its end record vouches for it; True when it is signed."""
        end = _end_record(path, self.last)
        recorded_digest = str(end.get("digest")).encode("utf-8")  # bytes: compare_digest refuses non-ASCII text
        if end.get("records") != self.count or not hmac.compare_digest(
            recorded_digest, f"sha256:{self.digest.hexdigest()}".encode()
        ):
            raise UsageError(
                f"the plan file {path} was changed after it was saved (its digest does not match): refusing it; "
                "nothing was written. Make a new plan"
            )
        recorded = end.get("signature")
        if self.signature is not None:
            if not recorded:
                raise UsageError(
                    f"{path} is not signed, but {KEY_VARIABLE} is set: refusing an unsigned plan; nothing was written"
                )
            if not hmac.compare_digest(
                str(recorded).encode("utf-8"), f"hmac-sha256:{self.signature.hexdigest()}".encode()
            ):
                raise UsageError(
                    f"{path}'s signature does not match {KEY_VARIABLE}: it was changed after it was signed, or "
                    "signed with another key; refusing it; nothing was written"
                )
        return bool(recorded)


def _check_header(path: str | Path, first: bytes) -> None:
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if not isinstance(header, dict) or MARKER not in header:
        raise UsageError(f'{path} is not a saved plan (its first line has no "{MARKER}")')
    if header[MARKER] != FORMAT_VERSION:
        raise UsageError(
            f"{path} is a saved plan of format {header[MARKER]!r}; this tool reads format {FORMAT_VERSION} (with a "
            "digest over the whole file): make a new plan"
        )


def _end_record(path: str | Path, last: bytes | None) -> dict[str, Any]:
    try:
        end = json.loads(last or b"")["end"]
    except (ValueError, KeyError, TypeError):
        end = None
    if not isinstance(end, dict):
        raise UsageError(
            f"the plan file {path} was changed after it was saved (it does not end with its end record: cut short, "
            "or added to): refusing it; nothing was written. Make a new plan"
        )
    return end


class _Parts:
    """A saved plan's records turned into objects as they come, one object per value users share (a license add, a
    removal, a gap's message): a 100,000-change plan is never held as dicts."""

    def __init__(self) -> None:
        self.shared: dict[Any, Any] = {}
        self.header: dict[str, Any] | None = None
        self.changes: list[UserChange] = []
        self.group_changes: list[GroupChange] = []
        self.basis: dict[str, str] = {}
        self.groups_basis: dict[str, Any] = {}
        self.gaps: list[Gap] = []
        self.seats: list[SeatLine] = []
        self.rules: list[RuleSummary] = []
        self.costs: list[CurrencyCost] = []

    def one(self, value: Any) -> Any:
        return self.shared.setdefault(value, value)

    def take(self, record: dict[str, Any]) -> None:
        if self.header is None:
            self.header = record
        elif "change" in record:
            one = self.one
            change = change_from_json(record["change"])
            change = dataclasses.replace(
                change,
                add_licenses=one(tuple(map(one, change.add_licenses))),
                remove_licenses=one(tuple(map(one, change.remove_licenses))),
                rules=one(change.rules),
            )
            self.changes.append(change)
            if record["basis"] is not None:  # kept as text: 100,000 of them as dicts took most of the memory
                self.basis[change.user_id] = compact(record["basis"])
        elif "groupChange" in record:
            group_change = group_change_from_json(record["groupChange"])
            self.group_changes.append(group_change)
            self.groups_basis[group_change.group_id] = record["basis"]
        else:
            (kind,) = record.keys()
            if kind == "gap":
                gap = gap_from_json(record[kind])
                self.gaps.append(self.one(dataclasses.replace(gap, message=self.one(gap.message))))
            elif kind == "seat":
                self.seats.append(seat_from_json(record[kind]))
            elif kind == "rule":
                self.rules.append(rule_from_json(record[kind]))
            elif kind == "cost":
                self.costs.append(cost_from_json(record[kind]))
            else:
                raise ValueError(f"a record of unknown kind {kind!r}")

    def saved_plan(self, signed: bool) -> SavedPlan:
        header = self.header or {}
        plan = Plan(
            changes=tuple(self.changes),
            gaps=tuple(self.gaps),
            seats=tuple(self.seats),
            group_changes=tuple(self.group_changes),
            rule_summaries=tuple(self.rules),
            cost=tuple(self.costs),
        )
        config = header["config"]
        return SavedPlan(
            plan=plan,
            tenant_id=header["tenantId"],
            cloud=str(header.get("cloud", "global")),
            config=str(config["path"]),
            config_digest=config["digest"],
            created=datetime.fromisoformat(str(header["createdAt"])),
            policy=policy_from_json(header["policy"]),
            managed=frozenset(str(sku).lower() for sku in header["managedSkuIds"]),
            groups=tuple((str(g["id"]).lower(), str(g["displayName"])) for g in header["groups"]),
            attributes=tuple(map(str, header["attributes"])),
            basis=self.basis,
            group_basis={k: v for k, v in self.groups_basis.items() if v is not None},
            signed=signed,
        )
