"""Who a rule selects: groups by id or unique display name (transitive members), users by id or UPN, attributes.

Pure, like the planner that uses it. Problems (a group or user the tenant does not have, a group name two groups
share) are returned for the planner to report; they never stop the selection of anybody else.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable, Mapping

from teamslicensing.model.desired import UserSelector
from teamslicensing.model.plan import GapCode
from teamslicensing.model.tenant import Tenant, TenantGroup, TenantUser


class GroupNames:
    """Groups by object id or unique display name, as the file names them (case-insensitive); for a name none has,
    the closest display names the source knows (`others`: names of groups read for another reason, or looked up
    because a name was not found)."""

    def __init__(self, groups: Iterable[TenantGroup], others: Iterable[str] = ()) -> None:
        self.by_id = {group.id: group for group in groups}
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for group in self.by_id.values():
            self.by_name[group.display_name.strip().lower()].append(group.id)
        self.known = sorted({group.display_name for group in self.by_id.values()} | set(others))

    @classmethod
    def of(cls, tenant: Tenant) -> GroupNames:
        """The tenant's groups, with the names of the others it knows (inherited licenses, or looked up because a
        name the file gives was not found) for the did-you-mean."""
        return cls(tenant.groups, tenant.group_names.values())

    def find(self, name: str) -> tuple[TenantGroup | None, str]:
        """The one group `name` names; else None and why ("no group has that name or id", with the closest names,
        or how many share it)."""
        key = name.strip().lower()
        ids = [key] if key in self.by_id else self.by_name.get(key, [])
        if len(ids) == 1:
            return self.by_id[ids[0]], ""
        if ids:
            return None, f"{len(ids)} groups share that name"
        close = self.closest(name)
        hint = f" (did you mean {' or '.join(repr(n) for n in close)}?)" if close else ""
        return None, f"no group has that name or id{hint}"

    def closest(self, name: str) -> list[str]:
        """Up to three display names close to `name`, closest first, ignoring case, spaces and punctuation."""
        by_key: dict[str, str] = {}
        for known in self.known:
            by_key.setdefault(_squeezed(known), known)
        found = difflib.get_close_matches(_squeezed(name), list(by_key), n=3, cutoff=0.75)
        return [by_key[key] for key in found]


def _squeezed(name: str) -> str:
    """`Sales UK`, `sales-uk` and `Sales_UK` alike: what a typo of a group name most often differs by."""
    return "".join(c for c in name.lower() if c.isalnum())


class Selection:
    """Resolves selectors to user ids: groups by id or unique name, users by id or UPN, attributes by index."""

    def __init__(
        self,
        tenant: Tenant,
        users_by_id: Mapping[str, TenantUser],
        attributes: frozenset[str],
        empty_allowed: frozenset[str] = frozenset(),
    ) -> None:
        self.users_by_id = users_by_id
        self.empty_allowed = empty_allowed  # lowercase names or ids of groups that may be empty on purpose
        self.groups = GroupNames.of(tenant)
        self.users_by_upn = {user.user_principal_name.lower(): user.id for user in tenant.users}
        # users the source could not read are there, just not plannable: never USER_NOT_FOUND (USER_UNREADABLE)
        self.unreadable = unreadable_names(tenant)
        self._members: dict[str, frozenset[str]] = {}
        self._attribute_index: dict[str, dict[str, set[str]]] | None = None
        self._wanted_attributes = attributes  # indexed together, in one pass, on first use

    def members(
        self, selector: UserSelector, *, users_must_exist: bool, empty_is_suspect: bool = False
    ) -> tuple[set[str], list[tuple[GapCode, str, str]]]:
        """The users `selector` names, and its problems: GROUP_NOT_FOUND, USER_NOT_FOUND, and SELECTION_SUSPECT for
        a group whose member list was cut short or (with `empty_is_suspect`) reads as empty although not listed in
        policy.emptyGroupsAllowed: replication lag and failed reads look exactly like that."""
        found: set[str] = set()
        problems: list[tuple[GapCode, str, str]] = []
        for name in selector.groups:
            group, why = self.groups.find(name)
            if group is not None:
                found |= self._user_members(group.id)
                if not group.members_complete:
                    problems.append((GapCode.SELECTION_SUSPECT, name, "its member list could not be read in full"))
                elif empty_is_suspect and not group.members and not {name.lower(), group.id} & self.empty_allowed:
                    why = "it reads as having no members (replication lag, or emptied on purpose?)"
                    problems.append((GapCode.SELECTION_SUSPECT, name, why))
            else:
                problems.append((GapCode.GROUP_NOT_FOUND, name, why))
        for name in selector.users:
            user_id = name if name in self.users_by_id else self.users_by_upn.get(name)
            if user_id is not None:
                found.add(user_id)
            elif users_must_exist and name not in self.unreadable:
                problems.append((GapCode.USER_NOT_FOUND, name, "not found"))
        if selector.attributes:
            found |= self._matching(selector.attributes)
        return found, problems

    def _user_members(self, group_id: str) -> frozenset[str]:
        """A group's members that are users we read (a snapshot may list others); filtered once per group."""
        members = self._members.get(group_id)
        if members is None:
            everyone = self.groups.by_id[group_id].members
            members = self._members[group_id] = frozenset(m for m in everyone if m in self.users_by_id)
        return members

    def _index_attributes(self) -> dict[str, dict[str, set[str]]]:
        """attribute -> lowercase value -> user ids, for every attribute the rules use, in one pass over users."""
        names = sorted(self._wanted_attributes)
        indexes: dict[str, dict[str, set[str]]] = {name: defaultdict(set) for name in names}
        normal: dict[str, str] = {}  # 100k users share a few hundred values: normalise each once
        location = indexes.get("usageLocation")
        for user in self.users_by_id.values():
            for name, value in user.attributes.items():  # sources keep only the attributes rules use
                by_value = indexes.get(name)
                if by_value is not None and value:
                    key = normal.get(value)
                    if key is None:
                        key = normal[value] = value.strip().lower()
                    by_value[key].add(user.id)
            if location is not None and user.usage_location:
                location[user.usage_location.lower()].add(user.id)
        return indexes

    def _matching(self, attributes: tuple[tuple[str, frozenset[str]], ...]) -> set[str]:
        if self._attribute_index is None:
            self._attribute_index = self._index_attributes()
        result: set[str] | None = None
        for name, values in attributes:
            by_value = self._attribute_index.get(name, {})
            ids: set[str] = set().union(*(by_value.get(value, ()) for value in values))
            result = ids if result is None else result & ids
        return result or set()


def unreadable_names(tenant: Tenant) -> frozenset[str]:
    """Lower-case ids and UPNs of the users the source returned but could not read."""
    names = {u.user_id for u in tenant.unreadable} | {(u.user_principal_name or "").lower() for u in tenant.unreadable}
    return frozenset(name for name in names if name)
