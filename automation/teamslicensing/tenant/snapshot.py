"""The snapshot tenant source: a JSON file of Graph's own objects, read into the tenant types.

Format: {"subscribedSkus": [subscribedSku…], "users": [user…], "groups": [{"id","displayName","members":[id…]}]},
and optionally (each present means "read", absent "not read"): "numberAssignments" [numberAssignment…],
"userConfigurations" [teamsUserConfiguration…] and "policies" [{"policyType","name","value":[policyIdentifierDetail…]}]
(getPolicyId's answers), the last three Graph's global cloud alone serves.
Each raw user is dropped as soon as it is parsed, so peak memory stays near that of the JSON itself, and the
cyclic garbage collector rests while the file is read: the data has no cycles, and its passes over millions of
fresh objects would otherwise take about half of the time.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from teamslicensing.errors import Problem, SnapshotError
from teamslicensing.model.capability import is_guid
from teamslicensing.model.tenant import (
    CLOUD_NAMES,
    FreeNumber,
    PhoneNumber,
    PolicyLookup,
    TeamsUserConfiguration,
    Tenant,
    TenantUser,
    UnreadableUser,
    policy_key,
)
from teamslicensing.tenant.parse import (
    Interner,
    ObjectError,
    UnreadableField,
    parse_group,
    parse_inventory_entry,
    parse_subscribed_sku,
    parse_user,
    unreadable_user,
)
from teamslicensing.tenant.teamsparse import parse_policy_lookup, parse_user_configuration

MAX_REPORTED_PROBLEMS = 20
KNOWN_KEYS = frozenset(
    {
        "subscribedSkus",
        "users",
        "groups",
        "@odata.context",
        "exportedAt",
        "source",
        "cloud",
        "numberAssignments",
        "tenantId",
        "tenantName",
        "userConfigurations",
        "policies",
    }
)
T = TypeVar("T")


MAX_SNAPSHOT_BYTES = 256 * 2**20  # 256 MB: about 170,000 users as Graph describes them; ~1.5 GB once parsed


def load_snapshot(path: str | Path, attributes: Collection[str] = ()) -> Tenant:
    """Read a snapshot file; raise `SnapshotError` naming each malformed object (the first few). A file over
    MAX_SNAPSHOT_BYTES is refused before it is read: a snapshot is parsed whole, and JSON takes about six times
    its size in memory once parsed (a 1.13 GB file took 6.7 GB)."""
    name = str(path)
    with contextlib.suppress(OSError):  # an unreadable file is reported below, by the read itself
        size = os.stat(path).st_size
        if size > MAX_SNAPSHOT_BYTES:
            message = (
                f"the snapshot is {size / 2**20:,.0f} MB, over the {MAX_SNAPSHOT_BYTES // 2**20} MB this tool reads "
                "(a snapshot is read whole: about 170,000 users); export one with --config (only the groups it "
                "names), or plan against the live tenant, whose reads are scoped and paged"
            )
            raise SnapshotError([Problem(name, 0, 0, message)])
    with _collector_paused():
        try:
            with open(path, "rb") as handle:
                document = json.load(handle)
        except OSError as exc:
            raise SnapshotError([Problem(name, 0, 0, f"cannot read file: {exc.strerror or exc}")]) from exc
        except UnicodeDecodeError as exc:
            raise SnapshotError([Problem(name, 0, 0, "file is not valid UTF-8 JSON")]) from exc
        except json.JSONDecodeError as exc:
            raise SnapshotError([Problem(name, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")]) from exc
        except RecursionError as exc:  # nested deeper than any snapshot is
            raise SnapshotError([Problem(name, 0, 0, "invalid snapshot: JSON nested too deeply")]) from exc
        return parse_snapshot(document, name, attributes)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while acyclic data is built in bulk; reference counting still frees.

    json.load of a 100k-user file makes millions of containers, and each full collection walks all of them so
    far: about half of json.load's time. Neither the decoded JSON nor the tenant types hold reference cycles.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parse_snapshot(document: Any, name: str, attributes: Collection[str] = ()) -> Tenant:
    if not isinstance(document, dict):
        raise SnapshotError([Problem(name, 0, 0, "expected an object with subscribedSkus, users and groups")])
    problems: list[Problem] = []
    share = Interner()
    skus = _parse_list(document, "subscribedSkus", name, parse_subscribed_sku, problems)
    unreadable: list[UnreadableUser] = []

    def user_or_unreadable(obj: Any) -> TenantUser | None:
        try:
            return parse_user(obj, attributes, share)
        except UnreadableField as exc:  # a field Graph may send as null: the user is left out, not the file
            unreadable.append(unreadable_user(obj, exc))
            return None

    users = [u for u in _parse_list(document, "users", name, user_or_unreadable, problems) if u is not None]
    groups = _parse_list(document, "groups", name, lambda obj: parse_group(obj, share), problems)
    numbers = None
    free: tuple[FreeNumber, ...] = ()
    if "numberAssignments" in document:  # the key present means "read"; absent means "not read"
        entries = _parse_list(document, "numberAssignments", name, parse_inventory_entry, problems)
        numbers = tuple(n for n in entries if isinstance(n, PhoneNumber))
        free = tuple(n for n in entries if isinstance(n, FreeNumber))
    unknown = sorted(set(document) - KNOWN_KEYS)
    if unknown:
        problems.append(Problem(name, 0, 0, f"unknown top-level keys: {', '.join(unknown)}"))
    _check_unique(name, "users", [u.id for u in users], problems)
    _check_unique(name, "subscribedSkus", [s.sku_id for s in skus], problems)
    cloud = document.get("cloud", "global")
    if cloud not in CLOUD_NAMES:
        problems.append(Problem(name, 0, 0, f"'cloud' is {cloud!r}: use one of {', '.join(CLOUD_NAMES)}"))
    teams_users, policies = _teams_parts(document, name, share, problems)
    tenant_id = document.get("tenantId")
    if tenant_id is not None and not (isinstance(tenant_id, str) and is_guid(tenant_id)):
        problems.append(Problem(name, 0, 0, f"'tenantId' is {tenant_id!r}: use the directory (tenant) id GUID"))
    tenant_name = document.get("tenantName")
    if tenant_name is not None and not (isinstance(tenant_name, str) and tenant_name.strip()):
        problems.append(Problem(name, 0, 0, f"'tenantName' is {tenant_name!r}: use the organization's display name"))
    if problems:
        raise SnapshotError(problems[:MAX_REPORTED_PROBLEMS])
    return Tenant(
        skus=tuple(skus),
        users=tuple(users),
        groups=tuple(groups),
        cloud=str(cloud),
        numbers=numbers,
        free_numbers=free,
        tenant_id=tenant_id.strip().lower() if isinstance(tenant_id, str) else None,
        tenant_name=tenant_name.strip() if isinstance(tenant_name, str) else None,
        unreadable=tuple(unreadable),
        teams_users=teams_users,
        policies=policies,
    )


def _teams_parts(
    document: dict[str, Any], name: str, share: Interner, problems: list[Problem]
) -> tuple[Mapping[str, TeamsUserConfiguration] | None, Mapping[tuple[str, str], PolicyLookup] | None]:
    """The Teams user configurations and policy lookups, when the snapshot holds them (None: not read): each
    user and each (type, name) once, and only from the global cloud, the one Graph serves them in."""
    cloud = document.get("cloud", "global")
    teams_users = policies = None
    for key in ("userConfigurations", "policies"):
        if key in document and cloud != "global":
            problems.append(Problem(name, 0, 0, f"'{key}': Graph has none in the {cloud} cloud, only in global"))
    if "userConfigurations" in document:
        parsed = _parse_list(
            document, "userConfigurations", name, lambda o: parse_user_configuration(o, share), problems
        )
        _check_unique(name, "userConfigurations", [c.user_id for c in parsed], problems)
        teams_users = MappingProxyType({c.user_id: c for c in parsed})
    if "policies" in document:
        lookups = _parse_list(document, "policies", name, parse_policy_lookup, problems)
        keys = [policy_key(lookup.policy_type, lookup.name) for lookup in lookups]
        _check_unique(name, "policies", [f"{kind} '{named}'" for kind, named in keys], problems)
        policies = MappingProxyType(dict(zip(keys, lookups, strict=True)))
    return teams_users, policies


def _parse_list(
    document: dict[str, Any], key: str, name: str, parse: Callable[[Any], T], problems: list[Problem]
) -> list[T]:
    raw = document.get(key)
    if raw is None:
        problems.append(Problem(name, 0, 0, f"missing '{key}' (a list)"))
        return []
    if not isinstance(raw, list):
        problems.append(Problem(name, 0, 0, f"'{key}' must be a list"))
        return []
    parsed: list[T] = []
    for index in range(len(raw)):
        item = raw[index]
        raw[index] = None  # release the raw object now: the parsed one replaces it
        try:
            parsed.append(parse(item))
        except ObjectError as exc:
            if len(problems) < MAX_REPORTED_PROBLEMS:
                problems.append(Problem(name, 0, 0, f"{key}[{index}]{_label(item)}: {exc}"))
    return parsed


def _label(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("userPrincipalName", "skuPartNumber", "displayName", "id"):
            if isinstance(item.get(key), str):
                return f" ({item[key]})"
    return ""


def _check_unique(name: str, key: str, ids: list[str], problems: list[Problem]) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            problems.append(Problem(name, 0, 0, f"{key}: id {value} appears more than once"))
            return
        seen.add(value)
