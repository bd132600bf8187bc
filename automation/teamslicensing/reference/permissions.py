"""The Microsoft Graph application permissions the tool needs, as data: every request it makes, the modes that
make them, and which permission the tool asks for each.

Microsoft's permissions reference (`permissions.json` behind every API page) says which permissions grant a path
and marks the least privileged one; `data/graph-permissions.json` holds what it says for each request the tool
makes (`graphrequests`; generated from it by tests/support/graphmetadata/extract.py, with its commit and date).
"Least privileged" is about the path, not the properties: `User.ReadBasic.All` is least for `GET /users` yet
returns no licenses. So a small hand-kept rule (`RETURNS`) says what a permission returns of an object, and the
permission chosen for a request is the first, in this order, of those that grant it and return what it selects:

1. for a read, a read-only permission (`….Read.All`, `….ReadBasic.All`) before one that also writes;
2. the one Microsoft marks least privileged for the path;
3. the narrower: fewer paths granted in all in Microsoft's reference;
4. by name.

A mode's permissions are those chosen for its requests, less any another of them already covers. Modes are data
(`MODES`): a new kind of run adds its requests and a mode, and `grants` does the rest.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from teamslicensing.reference.graphrequests import (
    BASIC_GROUP,
    CALLS_OF,
    MEMBERS_OF,
    NUMBERS_ROOT,
    REQUESTS,
    GraphRequest,
)

__all__ = [
    "MODES",
    "REQUESTS",
    "Grant",
    "GraphRequest",
    "Mode",
    "accepted_instead",
    "candidates",
    "grants",
    "permission_path",
    "provenance",
    "refusal_hint",
    "request_for",
]

_DATA_FILE = "graph-permissions.json"

# What a permission returns of an object, which Microsoft's reference does not say (it lists paths). None: every
# property. A permission not named for a kind of object returns its id only. Sources: the permissions' own
# descriptions in permissions.json (User.ReadBasic.All: "display name, first and last name, email address,
# photo, id and security identifier"; Group.ReadBasic.All, GroupMember.ReadBasic.All and GroupMember.ReadWrite.All:
# "basic" group properties, which no page lists, so taken as id and display name; Group-NestingSupport,
# Group-PreferredDataLocation, Group-XTenantIdentitySync: one property each); the v1.0 "Get group" page, which
# names GroupMember.Read.All least privileged for reading any group property by $select; and "Limited
# information returned for inaccessible member objects" (permissions overview): a group's members come with
# their id and type only unless the app may read them as users.
RETURNS: dict[str, dict[str, frozenset[str] | None]] = {
    "user": {
        "User.Read.All": None,
        "User.ReadWrite.All": None,
        "Directory.Read.All": None,
        "Directory.ReadWrite.All": None,
        "User.ReadBasic.All": frozenset({"id", "displayName", "givenName", "surname", "mail", "securityIdentifier"}),
    },
    "group": {
        "GroupMember.Read.All": None,
        "Group.Read.All": None,
        "Group.ReadWrite.All": None,
        "Directory.Read.All": None,
        "Directory.ReadWrite.All": None,
        "Group.ReadBasic.All": BASIC_GROUP,
        "GroupMember.ReadBasic.All": BASIC_GROUP,
        "GroupMember.ReadWrite.All": BASIC_GROUP,
    },
}


# Permissions Microsoft's reference lists for the tool's paths that act on other users than the tool's (their
# descriptions in permissions.json: agent users, users of another cloud): never asked for, never suggested.
OTHER_USERS = frozenset(
    {"AgentIdUser.ReadWrite.All", "AgentIdUser.ReadWrite.IdentityParentedBy", "User.ReadWrite.CrossCloud"}
)


_BY_KEY = {request.key: request for request in REQUESTS}


@dataclass(frozen=True)
class ExtraRole:
    """A permission no path of Microsoft's reference names for a request, needed beside those that do."""

    permission: str
    why: str


HIDDEN_MEMBERS = ExtraRole(
    "Member.Read.Hidden",
    "the members of hidden-membership groups, which Graph lists only with it (Graph's group member pages)",
)


@dataclass(frozen=True)
class Mode:
    """A kind of run: the requests it makes (by key), those it can do without, and extra permissions."""

    name: str
    summary: str
    requests: tuple[str, ...]
    optional: tuple[str, ...] = ()
    extra: tuple[ExtraRole, ...] = ()


_SKUS = "GET /subscribedSkus"
_NUMBERS = "GET /admin/teams/telephoneNumberManagement/numberAssignments"
_MEMBER_READS = tuple(f"GET {MEMBERS_OF.format(relation=r)}" for r in ("transitiveMembers", "members"))
_READ = (_SKUS, "GET /users", "GET /groups", "GET /groups/{id}", *_MEMBER_READS)
_WRITE = ("GET /users/{id}", "PATCH /users/{id}", "POST /users/{id}/assignLicense", "POST /groups/{id}/assignLicense")
_GROUPS = ("POST /groups/{id}/assignLicense", "POST /users/{id}/reprocessLicenseAssignment")
_CALLS = tuple(f"GET {CALLS_OF.format(function=f)}" for f in ("getPstnCalls", "getDirectRoutingCalls"))
_NUMBER_WRITES = (
    *(
        f"POST {NUMBERS_ROOT}/numberAssignments/{action}"
        for action in ("assignNumber", "unassignNumber", "updateNumber")
    ),
    f"GET {NUMBERS_ROOT}/operations/{{id}}",
)
_CONFIGURATIONS = ("GET /admin/teams/userConfigurations", "GET /admin/teams/userConfigurations/{id}")
_POLICY_WRITES = (
    "GET /admin/teams/policy/getPolicyId(type={value},name={value})",
    "POST /admin/teams/policy/userAssignments/assign",
    "POST /admin/teams/policy/userAssignments/unassign",
)
MODES: dict[str, Mode] = {
    mode.name: mode
    for mode in (
        Mode("plan", "plan, explain, export: read the tenant", _READ, (_NUMBERS,), (HIDDEN_MEMBERS,)),
        Mode(
            "init",
            "init: read the tenant and the groups its voice license holders are in",
            (*_READ, "GET /users/{id}/transitiveMemberOf/microsoft.graph.group"),
            (_NUMBERS,),
            (HIDDEN_MEMBERS,),
        ),
        Mode("apply", "apply and undo: plan, then write licenses", _READ + _WRITE, (_NUMBERS,), (HIDDEN_MEMBERS,)),
        Mode("usage", "usage, export --calls: the tenant and its PSTN call records", _READ + _CALLS, (_NUMBERS,)),
        Mode("inventory", "read the Teams number inventory", (_SKUS, _NUMBERS)),
        Mode(
            "numbers",
            "phone numbers: plan them from the inventory, assign and free them",
            (*_READ, _NUMBERS, *_NUMBER_WRITES),
            (_CONFIGURATIONS[1],),  # whether Teams shows a new license yet, when it refused a number for want of it
        ),
        Mode(
            "policies",
            "Teams policies: compare them by name (plan), resolve and assign them (apply)",
            _READ + _CONFIGURATIONS + _POLICY_WRITES,
        ),
        Mode(
            "groups",
            "group-based licensing: groupLicenses in plan and apply, and reprocess",
            _READ + _GROUPS,
            (_NUMBERS,),
            (HIDDEN_MEMBERS,),
        ),
    )
}


def _all_mode() -> Mode:
    """Every mode at once: a request is optional only where no mode needs it."""
    required = tuple(dict.fromkeys(key for mode in MODES.values() for key in mode.requests))
    optional = tuple(dict.fromkeys(k for m in MODES.values() for k in m.optional if k not in required))
    extra = tuple(dict.fromkeys(e for m in MODES.values() for e in m.extra))
    return Mode("all", "everything the tool can do", required, optional, extra)


MODES["all"] = _all_mode()


@dataclass(frozen=True)
class Grant:
    """One permission a mode asks for: what it is for (a reason per request it answers for), and whether the
    mode can do without it."""

    permission: str
    reasons: tuple[str, ...]
    optional: bool

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


@functools.lru_cache(maxsize=1)
def _reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        files("teamslicensing.reference").joinpath("data").joinpath(_DATA_FILE).read_bytes()
    )
    return data


def provenance() -> dict[str, str]:
    """Where the permission facts come from: Microsoft's repository, path, commit and date."""
    return dict(_reference()["provenance"])


def _returns(permission: str, request: GraphRequest) -> bool:
    if permission in OTHER_USERS:
        return False
    if request.returns is None:
        return True
    kind, wanted = request.returns
    given = RETURNS[kind].get(permission, frozenset({"id"}))
    return given is None or wanted <= given


def _read_only(permission: str) -> bool:
    return re.search(r"\.Read(Basic)?\.", permission) is not None and "ReadWrite" not in permission


@functools.cache
def candidates(key: str) -> tuple[str, ...]:
    """The permissions that grant request `key` and return what it selects, best first (the module's order)."""
    request = _BY_KEY[key]
    listed = _reference()["requests"][key]
    breadth = _reference()["pathsGranted"]

    def rank(entry: dict[str, Any]) -> tuple[bool, bool, int, str]:
        name = entry["permission"]
        return (request.method == "GET" and not _read_only(name), not entry["least"], breadth[name], name)

    return tuple(e["permission"] for e in sorted(listed, key=rank) if _returns(e["permission"], request))


def _needed(keys: Iterable[str]) -> list[str]:
    """`keys` with the requests whose permission member lists also need (their users' properties)."""
    found: list[str] = []
    for key in keys:
        objects_as = _BY_KEY[key].objects_as
        for each in (key, objects_as) if objects_as else (key,):
            if each not in found:
                found.append(each)
    return found


def _covered(key: str, permissions: Iterable[str]) -> bool:
    return any(p in candidates(key) for p in permissions)


@functools.cache
def _chosen(mode: str) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], tuple[tuple[str, ...], tuple[str, ...]]]:
    """((required request keys, permissions chosen for them), (optional keys left uncovered, their permissions))."""
    spec = MODES[mode]
    required = _needed(spec.requests)
    chosen = list(dict.fromkeys(candidates(key)[0] for key in required))
    breadth = _reference()["pathsGranted"]
    for permission in sorted(chosen, key=lambda p: (breadth[p], p)):
        rest = [p for p in chosen if p != permission]
        if all(_covered(key, rest) for key in required):
            chosen = rest
    optional_keys = [key for key in _needed(spec.optional) if not _covered(key, chosen)]
    optional = list(dict.fromkeys(candidates(key)[0] for key in optional_keys))
    return (tuple(required), tuple(chosen)), (tuple(optional_keys), tuple(optional))


def _owner(key: str, chosen: Iterable[str]) -> str | None:
    """Which of `chosen` answers for request `key`: its own pick when chosen, else the first that grants it."""
    chosen = list(chosen)
    best = candidates(key)[0]
    return best if best in chosen else next((p for p in chosen if _covered(key, [p])), None)


def grants(mode: str) -> list[Grant]:
    """The permissions `mode` needs: required first (in the order of the requests needing them), then optional."""
    found = []
    for (keys, chosen), optional in zip(_chosen(mode), (False, True), strict=True):
        for permission in chosen:
            reasons = tuple(f"{k}: {_BY_KEY[k].why}" for k in keys if _owner(k, chosen) == permission)
            found.append(Grant(permission, reasons, optional))
    held = {grant.permission for grant in found}
    return found + [Grant(e.permission, (e.why,), True) for e in MODES[mode].extra if e.permission not in held]


def accepted_instead(permission: str) -> tuple[str, ...]:
    """The permissions that grant every request `permission` answers for in any mode, so that an app holding one
    of them needs no grant of `permission` (Microsoft's reference, and the rule of what a role returns)."""
    keys = [
        key for mode in MODES for keys, chosen in _chosen(mode) for key in keys if _owner(key, chosen) == permission
    ]
    if not keys:
        return ()
    common = [p for p in candidates(keys[0]) if p != permission]
    return tuple(p for p in common if all(p in candidates(key) for key in keys))


def permission_path(template: str) -> str:
    """A template as Microsoft's permissions reference writes its paths: lower case, no type cast segment, a
    function without its parameters."""
    segments = [s for s in template.split("/") if s and not s.startswith("microsoft.graph.") and s != "$count"]
    return "/" + "/".join(s.split("(")[0] for s in segments).lower()


def _matches(template: str, segments: list[str]) -> bool:
    parts = [s for s in template.split("/") if s]
    if len(parts) != len(segments):
        return False
    for part, segment in zip(parts, segments, strict=True):
        if part == "{id}":
            continue
        if "(" in part and segment.lower().startswith(part.split("(")[0].lower() + "("):
            continue
        if part.lower() != segment.lower():
            return False
    return True


_KEYED = re.compile(r"(\w+)\('([^']*)'\)")


def _unkeyed(segment: str) -> tuple[str, ...]:
    """`name('key')` as its two segments, name and key; any other segment as it is."""
    match = _KEYED.fullmatch(segment)
    return (match.group(1), match.group(2)) if match else (segment,)


def request_for(method: str, url: str) -> GraphRequest | None:
    """The request of this table that `method url` is (url relative to the version root, or absolute), if any; a
    key may be in parentheses (`operations('…')`, the form of a Location header)."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme and segments:  # an absolute URL (a nextLink): the first segment is the version
        segments = segments[1:]
    keyed = [part for segment in segments for part in _unkeyed(segment)]
    for candidate in (segments, keyed):
        found = next((r for r in REQUESTS if r.method == method.upper() and _matches(r.path, candidate)), None)
        if found is not None:
            return found
    return None


def refusal_hint(method: str, url: str) -> str:
    """What to grant when Graph refused `method url` for want of a permission, from this table."""
    request = request_for(method, url)
    if request is None:
        return "the app lacks a Graph permission: `teams-licensing permissions --mode all` lists them"
    needed = []
    for key in _needed([request.key]):
        best, *others = candidates(key)
        also = f" (or {', '.join(others[:3])})" if others else ""
        needed.append(f"{best}{also}")
    modes = [name for name, mode in MODES.items() if name != "all" and request.key in mode.requests + mode.optional]
    where = f"--mode {modes[0]}" if modes else "--mode all"
    return (
        f"{request.key} needs the application permission {' and '.join(needed)}: grant it to the app "
        f"(`teams-licensing permissions {where}` lists what such a run needs)"
    )
