"""Saved plans (`plan --out PLANFILE`, `apply PLANFILE`): apply exactly what was reviewed (README, *Saved plans*).

The file is the plan's JSON contract plus a marker (`"teamsLicensingPlan": 1`), the tenant it was made for, the
configuration's digest and limits, and per changed user the state its safety rested on: licenses with disabled
plans, usage location, the memberships of the groups the selection read, and the phone numbers held (when the
inventory was read). At apply time each user is compared with that record; a user who differs is STALE and is not
written: what was reviewed no longer describes them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from teamslicensing import __version__
from teamslicensing.errors import UsageError
from teamslicensing.model.outcome import IN_SYNC, STALE, UserResult
from teamslicensing.model.plan import GroupChange, Plan, UserChange
from teamslicensing.model.planjson import plan_from_json, plan_to_json
from teamslicensing.model.tenant import Tenant, TenantGroup, TenantUser

MARKER = "teamsLicensingPlan"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    tenant_id: str | None
    cloud: str
    config: str  # the configuration the plan was made from, as named then
    config_digest: str | None
    created: datetime
    max_changes: int
    max_removals: int
    groups: tuple[tuple[str, str], ...]  # (id, display name) of every group the selection read
    attributes: tuple[str, ...]  # user attributes the selection read
    basis: Mapping[str, Mapping[str, Any]]  # user id -> recorded state (see `user_basis`)
    group_basis: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # group id -> `group_basis`


@dataclass(frozen=True)
class BasisRead:
    """What checking a saved plan reads again: the groups and attributes its selection rested on, the groups it
    licenses, and the users it changes (no others matter: a saved plan is applied, never planned again)."""

    group_names: tuple[str, ...]
    attributes: tuple[str, ...]
    licensed: tuple[str, ...]
    user_ids: tuple[str, ...]


def basis_read(saved: SavedPlan) -> BasisRead:
    licensed = tuple(change.group_id for change in saved.plan.group_changes)
    return BasisRead(
        group_names=tuple(group_id for group_id, _ in saved.groups) + licensed,
        attributes=saved.attributes,
        licensed=licensed,
        user_ids=tuple(change.user_id for change in saved.plan.changes),
    )


def is_plan_file(path: str | Path) -> bool:
    """Whether `path` is a saved plan (JSON carrying the marker) rather than a YAML configuration."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and f'"{MARKER}"'.encode() in head


def user_basis(user: TenantUser, tenant: Tenant) -> dict[str, Any]:
    """What a change for `user` rested on, in the saved plan's encoding: everything the planner read of them."""
    numbers = tenant.numbers_by_user.get(user.id, ()) if tenant.numbers is not None else None
    licenses = [
        {
            "skuId": a.sku_id,
            "disabledPlans": sorted(a.disabled_plans),
            "assignedByGroup": a.assigned_by_group,
            "state": a.state,
        }
        for a in user.licenses
    ]
    return {
        "accountEnabled": user.account_enabled,
        "licenses": sorted(licenses, key=lambda lic: (lic["skuId"], lic["assignedByGroup"] or "")),
        "usageLocation": user.usage_location,
        "attributes": dict(sorted(user.attributes.items())),
        "groups": sorted(group.id for group in tenant.groups if user.id in group.members),
        "phoneNumbers": None if numbers is None else sorted(str(n) for n in numbers),
    }


def write_plan_file(
    path: str | Path,
    plan: Plan,
    tenant: Tenant,
    *,
    config: str,
    config_digest: str | None,
    max_changes: int,
    max_removals: int,
    attributes: tuple[str, ...],
) -> None:
    users = {user.id: user for user in tenant.users}
    groups = {group.id: group for group in tenant.groups}
    document = {
        MARKER: FORMAT_VERSION,
        "tool": f"teams-licensing {__version__}",
        "createdAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tenantId": tenant.tenant_id,
        "cloud": tenant.cloud,
        "config": {"path": config, "digest": config_digest},
        "policy": {"maxChanges": max_changes, "maxRemovals": max_removals},
        "groups": [{"id": g.id, "displayName": g.display_name} for g in tenant.groups],
        "attributes": list(attributes),
        "basis": {c.user_id: user_basis(users[c.user_id], tenant) for c in plan.changes if c.user_id in users},
        "groupBasis": {g.group_id: group_basis(groups[g.group_id]) for g in plan.group_changes if g.group_id in groups},
        "plan": plan_to_json(plan),
    }
    temporary = Path(f"{path}.partial")
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1)
            out.write("\n")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write the plan file {path}: {exc.strerror or exc}") from exc


def read_plan_file(path: str | Path) -> SavedPlan:
    try:
        with open(path, "rb") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise UsageError(f"cannot read the plan file {path}: {exc.strerror or exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{path} is not a saved plan: it is not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get(MARKER) != FORMAT_VERSION:
        raise UsageError(f'{path} is not a saved plan of format {FORMAT_VERSION} (no "{MARKER}": 1)')
    try:
        config = document["config"]
        policy = document["policy"]
        return SavedPlan(
            plan=plan_from_json(document["plan"]),
            tenant_id=document["tenantId"],
            cloud=str(document.get("cloud", "global")),
            config=str(config["path"]),
            config_digest=config["digest"],
            created=datetime.fromisoformat(str(document["createdAt"])),
            max_changes=int(policy["maxChanges"]),
            max_removals=int(policy["maxRemovals"]),
            groups=tuple((str(g["id"]).lower(), str(g["displayName"])) for g in document["groups"]),
            attributes=tuple(map(str, document["attributes"])),
            basis={str(k).lower(): v for k, v in dict(document["basis"]).items()},
            group_basis={str(k).lower(): v for k, v in dict(document.get("groupBasis") or {}).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path} is a damaged saved plan ({type(exc).__name__}: {exc}); make a new one") from exc


def group_basis(group: TenantGroup) -> dict[str, Any]:
    """What a group change rests on: the group's licenses and its direct members (as a digest: they may be many)."""
    members = sorted(group.licensed_members)
    return {
        "licenses": sorted([a.sku_id, sorted(a.disabled_plans)] for a in group.licenses or ()),
        "directMembers": hashlib.sha256("\n".join(members).encode()).hexdigest(),
    }


def split_stale_groups(saved: SavedPlan, tenant: Tenant) -> tuple[tuple[GroupChange, ...], tuple[UserResult, ...]]:
    """The group changes whose groups are as recorded (same licenses, same direct members); the others STALE: a
    member who joined since may hold a number the plan never judged."""
    groups = {group.id: group for group in tenant.groups}
    fresh: list[GroupChange] = []
    stale: list[UserResult] = []
    for change in saved.plan.group_changes:
        group = groups.get(change.group_id)
        recorded = saved.group_basis.get(change.group_id)
        if group is not None and recorded is not None and group_basis(group) == dict(recorded):
            fresh.append(change)
        else:
            why = "the group's licenses or direct members changed since the plan was made: plan again"
            stale.append(UserResult(change.group_id, change.group_name, STALE, why))
    return tuple(fresh), tuple(stale)


def split_stale(saved: SavedPlan, tenant: Tenant) -> tuple[tuple[UserChange, ...], tuple[UserResult, ...]]:
    """The changes whose users are as recorded now; for each other user a result: IN_SYNC when they already hold
    what the change gives (an earlier run of this plan), else STALE."""
    users = {user.id: user for user in tenant.users}
    fresh: list[UserChange] = []
    stale: list[UserResult] = []
    for change in saved.plan.changes:
        user = users.get(change.user_id)
        recorded = saved.basis.get(change.user_id)
        why = _difference(recorded, user, tenant)
        if why is None:
            fresh.append(change)
        elif user is not None and recorded is not None and _already_done(recorded, change, user):
            # this plan's own change, made by an earlier run of it (a wave, a re-run job): done, not stale
            stale.append(
                UserResult(change.user_id, change.user_principal_name, IN_SYNC, "already in the planned state")
            )
        else:
            stale.append(UserResult(change.user_id, change.user_principal_name, STALE, why))
    return tuple(fresh), tuple(stale)


def _already_done(recorded: Mapping[str, Any], change: UserChange, user: TenantUser) -> bool:
    direct = change.applied_to(
        {
            str(lic["skuId"]).lower(): frozenset(map(str, lic.get("disabledPlans") or []))
            for lic in recorded.get("licenses") or []
            if not lic.get("assignedByGroup")
        }
    )
    location = change.set_usage_location or recorded.get("usageLocation")
    return user.direct_licenses() == direct and (user.usage_location or None) == (location or None)


def _difference(recorded: Mapping[str, Any] | None, user: TenantUser | None, tenant: Tenant) -> str | None:
    if user is None:
        return "the user no longer exists"
    if recorded is None:
        return "the plan file has no record of this user's state"
    now = user_basis(user, tenant)
    labels = {
        "accountEnabled": "account status",
        "licenses": "licenses",
        "attributes": "attributes the rules select on",
        "usageLocation": "usage location",
        "groups": "group memberships",
        "phoneNumbers": "phone numbers",
    }
    changed = [
        label
        for key, label in labels.items()
        if not (key == "phoneNumbers" and (recorded.get(key) is None or now[key] is None))
        and _normal(recorded.get(key)) != _normal(now[key])
    ]
    if not changed:
        return None
    return f"{' and '.join(changed)} changed since the plan was made: plan again"


def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))
