"""Scoped live reads: only the users a plan can touch, for tenants far larger than their voice population.

A plan can change (or judge) a user only if some rule selects them or they hold a license the configuration
manages. So instead of every user, read: the holders of each managed SKU (`assignedLicenses/any(...)`, one query
per SKU: Graph's docs show the lambda with one `eq`, never an `or` across ids), the transitive members of the groups
rules select (full user objects, which also gives the membership), the users matching the attribute conditions of
each rule that selects on attributes (joined by `and`; a superset of the rule's matches, which the planner narrows),
and the users the file names. Groups rules only exclude, and protected groups, are read as member ids, as in a full
read. Every query is an advanced query (ConsistencyLevel: eventual and $count=true on every page), which all of
these filters need or accept. Users are de-duplicated by id; seats still come from subscribedSkus.

Requests: ceil(h/999) per managed SKU with h holders, ceil(m/999) per selecting group with m members, one or more
per attribute rule and per 15 named users; the full read's ceil(U/999) is gone.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from teamslicensing.errors import GraphError
from teamslicensing.graph import Graph
from teamslicensing.graph.requests import odata_string
from teamslicensing.model.capability import is_guid
from teamslicensing.model.desired import DesiredState
from teamslicensing.model.tenant import TenantGroup, TenantSku, TenantUser, UnreadableUser, sku_for
from teamslicensing.tenant.groups import (
    ADVANCED_QUERY,
    PAGE_SIZE,
    all_of,
    group_document,
    group_members,
    member_ids,
    named,
    named_groups,
)
from teamslicensing.tenant.parse import (
    EXTENSION_ATTRIBUTES,
    Interner,
    ObjectError,
    parse_group,
    parse_user,
    unreadable_user,
    user_select,
)

IN_VALUES = 15  # values per `in (...)` list: short URLs, and within the limits Graph documents for `in`
# Graph's known issues (query parameters): with advanced query parameters, `in` and `eq` are bounded by the URL,
# at 2,048 characters; a longer scoped query would be refused and fail the whole read
URL_LIMIT = 2048


@dataclasses.dataclass(frozen=True)
class UserQuery:
    """One filtered /users query of a scoped read, and what it stands for (for errors)."""

    what: str
    filter: str  # the $filter expression, URL-encoded where it holds literals


def user_queries(desired: DesiredState, skus: Sequence[TenantSku], room: int = URL_LIMIT) -> list[UserQuery]:
    """The /users filters of a scoped read of `desired` against a tenant with `skus`, none longer (URL-encoded)
    than `room` characters: what the URL leaves for the filter. Pure."""
    queries: list[UserQuery] = []
    for sku in dict.fromkeys(s for ref in desired.managed_licenses if (s := sku_for(ref, skus)) is not None):
        queries.append(UserQuery(f"holders of {sku.part_number}", f"assignedLicenses/any(x:x/skuId eq {sku.sku_id})"))
    for rule in desired.rules:
        if rule.select.attributes:
            what = f"rule '{rule.name}': {', '.join(name for name, _ in rule.select.attributes)}"
            filters = _attribute_filters(rule.select.attributes, room)
            queries.extend(UserQuery(what, expression) for expression in filters)
    names = desired.named_users
    for chunk in _chunks("id", [name for name in names if is_guid(name)], room):
        queries.append(UserQuery("users the file names", _in_filter("id", chunk)))
    for chunk in _chunks("userPrincipalName", [name for name in names if not is_guid(name)], room):
        queries.append(UserQuery("users the file names", _in_filter("userPrincipalName", chunk)))
    return list(dict.fromkeys(queries))


def _attribute_filters(attributes: Sequence[tuple[str, frozenset[str]]], room: int) -> list[str]:
    """Filters whose union holds every user the attribute conditions select (each condition: any of its values;
    all conditions: every one). The conditions of up to IN_VALUES values go in one `and`, the longest left out
    while it would not fit `room`; leaving a condition out only widens the set, which the planner narrows again.
    With none short enough, the one with the fewest values, in chunks."""
    short = sorted(
        (_in_filter(_path(name), sorted(values)) for name, values in attributes if len(values) <= IN_VALUES),
        key=lambda condition: (encoded_length(condition), condition),
    )
    while short and encoded_length(" and ".join(short)) > room:
        short.pop()  # the longest
    if short:
        return [" and ".join(sorted(short))]
    name, values = min(attributes, key=lambda item: (len(item[1]), item[0]))
    return [_in_filter(_path(name), chunk) for chunk in _chunks(_path(name), sorted(values), room)]


def _path(attribute: str) -> str:
    return f"onPremisesExtensionAttributes/{attribute}" if attribute in EXTENSION_ATTRIBUTES else attribute


def _chunks(path: str, values: Sequence[str], room: int = URL_LIMIT) -> Iterable[Sequence[str]]:
    """`values` in runs of at most IN_VALUES whose `in` filter on `path` fits `room` (one value at least)."""
    chunk: list[str] = []
    for value in values:
        if chunk and (len(chunk) == IN_VALUES or encoded_length(_in_filter(path, [*chunk, value])) > room):
            yield chunk
            chunk = []
        chunk.append(value)
    if chunk:
        yield chunk


def encoded_length(expression: str) -> int:
    """How long `expression` is in a URL (spaces and the like percent-encoded; literals already are)."""
    return len(quote(expression, safe="/:(),=$%*'"))


def _in_filter(path: str, values: Sequence[str]) -> str:
    if len(values) == 1:
        return f"{path} eq {odata_string(values[0])}"
    return f"{path} in ({','.join(odata_string(value) for value in values)})"


class ScopedUsers:
    """Users gathered from several queries, once each; the unreadable kept aside (USER_UNREADABLE)."""

    def __init__(self, attributes: Iterable[str]) -> None:
        self.attributes = frozenset(attributes)
        self.share = Interner()
        self.by_id: dict[str, TenantUser] = {}
        self.unreadable: dict[str, UnreadableUser] = {}

    def add(self, items: Iterable[Any]) -> list[str]:
        """Parse a page; the ids of the users on it (readable or not)."""
        ids = []
        for item in items:
            try:
                user = parse_user(item, self.attributes, self.share)
            except ObjectError as exc:
                odd = unreadable_user(item, exc)
                key = odd.user_id or odd.user_principal_name or str(len(self.unreadable))
                self.unreadable.setdefault(key, odd)
                if odd.user_id:
                    ids.append(odd.user_id)
                continue
            self.by_id.setdefault(user.id, user)
            ids.append(user.id)
        return ids


def by_id_queries(user_ids: Iterable[str]) -> list[str]:
    """The `id in (...)` filters that read exactly `user_ids`, IN_VALUES to a request. Pure."""
    return [_in_filter("id", chunk) for chunk in _chunks("id", sorted({user_id.lower() for user_id in user_ids}))]


async def read_users_by_id(
    graph: Graph, user_ids: Iterable[str], attributes: Iterable[str]
) -> tuple[list[TenantUser], list[UnreadableUser]]:
    """Just these users (a saved plan's check of the users it changes); one that no longer exists is absent."""
    found = ScopedUsers(attributes)
    select = ",".join(user_select(found.attributes))

    async def query(expression: str) -> None:
        # one page: IN_VALUES ids never fill more, so a second page is a loop or a broken server
        async for page in graph.pages(f"/users?$filter={expression}&$select={select}&$top={PAGE_SIZE}", max_pages=2):
            found.add(page)

    await all_of(*(query(expression) for expression in by_id_queries(user_ids)))
    return list(found.by_id.values()), list(found.unreadable.values())


async def read_scoped_users(
    graph: Graph, desired: DesiredState, skus: Sequence[TenantSku], users_in_tenant: int | None
) -> tuple[list[TenantUser], list[UnreadableUser], list[TenantGroup]]:
    """The users `desired` can touch, and the groups it names (selecting groups with full member objects)."""
    found = ScopedUsers(desired.selected_attributes)
    select = ",".join(user_select(desired.selected_attributes))
    rest = f"{graph.connection.graph_url}/users?$filter=&$select={select}&$top={PAGE_SIZE}&$count=true"
    room = URL_LIMIT - encoded_length(rest)
    # a multiple of what the tenant could hold: more pages than that is a loop or a broken server, never a cut
    cap = 2 * math.ceil(users_in_tenant / PAGE_SIZE) + 2 if users_in_tenant is not None else None

    async def query(user_query: UserQuery) -> None:
        url = f"/users?$filter={user_query.filter}&$select={select}&$top={PAGE_SIZE}&$count=true"
        try:
            async for page in graph.pages(url, ADVANCED_QUERY, max_pages=cap):
                found.add(page)
        except GraphError as exc:
            message = f"scoped read, {user_query.what}: {exc.message}"
            raise GraphError(exc.status, exc.code, message, exc.request_id) from exc

    licensed = {name.lower() for name in desired.licensed_group_names}
    selecting = {name.lower() for name in desired.selecting_group_names} | licensed  # their members are planned
    groups = await named_groups(graph, desired.group_names)

    async def members(group: dict[str, Any]) -> tuple[list[str], bool, list[str] | None]:
        if not named(group, selecting):
            return (*await member_ids(graph, group["id"]), None)
        return await group_members(graph, group, licensed, select, found.add)

    _, member_lists = await all_of(
        all_of(*(query(q) for q in user_queries(desired, skus, room))), all_of(*(members(g) for g in groups))
    )
    tenant_groups = [
        dataclasses.replace(parse_group(group_document(group, ids, direct), found.share), members_complete=complete)
        for group, (ids, complete, direct) in zip(groups, member_lists, strict=True)
    ]
    return list(found.by_id.values()), list(found.unreadable.values()), tenant_groups
