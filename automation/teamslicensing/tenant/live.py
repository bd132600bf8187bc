"""The live tenant source: read subscriptions, users and the groups rules name from Graph into the tenant types.

Requests for U users and G groups: 1 (subscribedSkus) + ceil(U/999) (users) + G (group lookups) + the member pages
of each group found, and when asked each user's Teams configuration (`teamsread`). No per-user request. Users are
parsed page by page, so only one raw page is ever in memory. Also writes snapshots (`export`) straight from the
pages to a file.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Collection, Iterable
from typing import IO, Any

from teamslicensing.errors import GraphError, TeamsLicensingError
from teamslicensing.graph import Graph
from teamslicensing.graph.connection import cloud_of
from teamslicensing.model.desired import SCOPED_ABOVE, SELECTABLE_ATTRIBUTES
from teamslicensing.model.tenant import (
    FreeNumber,
    PhoneNumber,
    ReadScope,
    Tenant,
    TenantGroup,
    TenantSku,
    TenantUser,
    UnreadableUser,
)
from teamslicensing.reference.permissions import refusal_hint
from teamslicensing.tenant.groups import (
    ADVANCED_QUERY,
    PAGE_SIZE,
    all_of,
    group_document,
    group_members,
    licensing_group_names,
    named_groups,
    similar_group_names,
)
from teamslicensing.tenant.need import TenantNeed
from teamslicensing.tenant.parse import (
    Interner,
    ObjectError,
    parse_free_number,
    parse_group,
    parse_number_assignment,
    parse_subscribed_sku,
    parse_user,
    unreadable_user,
    user_select,
)
from teamslicensing.tenant.scoped import by_id_queries, read_scoped_users, read_users_by_id
from teamslicensing.tenant.teamsread import export_user_configurations, fetch_policy_lookups, read_user_configurations

NUMBERS_URL = "/admin/teams/telephoneNumberManagement/numberAssignments"
NUMBER_PAGE = 1000  # numberAssignments' $top maximum
MAX_NUMBER_PAGES = 1000  # a million numbers: past that, something is looping


class UnexpectedGraphData(TeamsLicensingError):
    """Graph answered with an object we cannot read."""


async def read_tenant(graph: Graph, need: TenantNeed) -> Tenant:
    """The tenant as `need` says: every user, the users its rules can touch (scoped; auto: scoped when Graph counts
    more than SCOPED_ABOVE users), or the users it names; with `need.user_configurations`, the Teams configuration
    of the users read too."""
    if not need.scoped:
        return await _read_parts(
            graph,
            need.group_names,
            need.attributes,
            need.licensed,
            need.user_ids,
            user_configurations=need.user_configurations,
        )
    desired = need.selection
    assert desired is not None
    cloud = cloud_of(graph.connection.graph_url)
    mode = need.mode

    async def people() -> tuple[list[TenantSku], list[TenantUser], list[UnreadableUser], list[TenantGroup], Any]:
        skus, count = await all_of(_read_skus(graph), count_users(graph))
        if mode == "auto" and (count is None or count <= SCOPED_ABOVE):
            (users, unreadable), groups = await all_of(
                _read_users(graph, need.attributes), _read_groups(graph, need.group_names, need.licensed)
            )
            return skus, users, unreadable, groups, None
        users, unreadable, groups = await read_scoped_users(graph, desired, skus, count)
        reason = "policy.read: scoped" if mode == "scoped" else f"more than {SCOPED_ABOVE:,} users, policy.read: auto"
        return skus, users, unreadable, groups, ReadScope(len(users), count, reason)

    (skus, users, unreadable, groups, scope), (raw_numbers, why) = await all_of(
        people(), read_number_assignments(graph, cloud)
    )
    tenant = await _tenant(graph, cloud, skus, users, unreadable, groups, (raw_numbers, why), scope)
    tenant = await _with_group_hints(graph, tenant, need.group_names)
    return await _with_teams(graph, tenant) if need.user_configurations else tenant


async def count_users(graph: Graph) -> int | None:
    """How many users the tenant has, from one 1-user page's @odata.count (an advanced query); None when Graph
    will not count (advanced queries are not offered everywhere, e.g. Azure AD B2C). A page rather than
    /users/$count, which answers text/plain and so cannot be read like every other answer."""
    try:
        page = await graph.get_json("/users?$select=id&$top=1&$count=true", ADVANCED_QUERY)
    except GraphError as exc:
        if exc.status in (400, 403, 404):
            return None
        raise
    count = page.get("@odata.count") if isinstance(page, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None


async def _read_parts(
    graph: Graph,
    group_names: Iterable[str],
    attributes: Collection[str],
    licensed: Collection[str] = (),
    user_ids: Collection[str] | None = None,
    *,
    user_configurations: bool = False,
) -> Tenant:
    """The tenant with the groups `group_names` name and the user `attributes` rules read (a saved plan's check
    reads what its plan rested on, without a configuration). With `user_ids`, only those users are needed: they
    are read by id when that takes fewer requests than reading every user (a plan changing 1,000 users of a
    million-user tenant: 67 requests, not 1,001). With `user_configurations`, their Teams configurations too."""
    cloud = cloud_of(graph.connection.graph_url)
    group_names = tuple(group_names)  # read twice: the groups, then the names none has

    async def people() -> tuple[list[TenantUser], list[UnreadableUser], ReadScope | None]:
        if user_ids is None:
            return (*await _read_users(graph, attributes), None)
        try:
            count = await count_users(graph)
        except GraphError:  # only a shortcut: reading every user is always right
            count = None
        if count is None or len(by_id_queries(user_ids)) >= math.ceil(count / PAGE_SIZE):
            return (*await _read_users(graph, attributes), None)
        users, unreadable = await read_users_by_id(graph, user_ids, attributes)
        return users, unreadable, ReadScope(len(users), count, "only the users it writes are read")

    skus, (users, unreadable, scope), groups, (raw_numbers, why) = await all_of(
        _read_skus(graph),
        people(),
        _read_groups(graph, group_names, licensed),
        read_number_assignments(graph, cloud),
    )
    tenant = await _tenant(graph, cloud, skus, users, unreadable, groups, (raw_numbers, why), scope)
    tenant = await _with_group_hints(graph, tenant, group_names)
    return await _with_teams(graph, tenant) if user_configurations else tenant


async def _with_group_hints(graph: Graph, tenant: Tenant, names: Iterable[str]) -> Tenant:
    """`tenant` with the names of groups like the ones the configuration names and no group has (GROUP_NOT_FOUND's
    did-you-mean: a live read fetches only the groups named)."""
    have = {group.id for group in tenant.groups} | {group.display_name.lower() for group in tenant.groups}
    missing = [name for name in names if name.strip().lower() not in have]
    if not missing:
        return tenant
    hints = await similar_group_names(graph, missing)
    return dataclasses.replace(tenant, group_names={**hints, **tenant.group_names})


async def _with_teams(graph: Graph, tenant: Tenant) -> Tenant:
    """`tenant` with the Teams configuration of its users: every one Graph lists, or (a scoped read) those read."""
    scoped = tenant.scope is not None
    ids = [user.id for user in tenant.users] if scoped else None
    count = tenant.scope.users_in_tenant if tenant.scope is not None else None
    found, why = await read_user_configurations(graph, tenant.cloud, ids, count)
    return dataclasses.replace(tenant, teams_users=found, teams_unavailable=why)


async def _tenant(
    graph: Graph,
    cloud: str,
    skus: list[TenantSku],
    users: list[TenantUser],
    unreadable: list[UnreadableUser],
    groups: list[TenantGroup],
    numbers: tuple[list[Any] | None, str | None],
    scope: ReadScope | None,
) -> Tenant:
    """The tenant from what was read, with the names of the other groups users inherit licenses from."""
    parsed, why, free = _numbers(*numbers)
    return Tenant(
        skus=tuple(skus),
        users=tuple(users),
        groups=tuple(groups),
        cloud=cloud,
        numbers=parsed,
        numbers_unavailable=why,
        free_numbers=free,
        tenant_id=graph.tenant_id or _account_id(skus),
        unreadable=tuple(unreadable),
        scope=scope,
        group_names=await licensing_group_names(graph, users, (group.id for group in groups)),
    )


def _account_id(skus: list[TenantSku]) -> str | None:
    """subscribedSku.accountId names the tenant the subscriptions belong to (the fallback for opaque tokens)."""
    ids = {sku.account_id for sku in skus if sku.account_id}
    return ids.pop() if len(ids) == 1 else None


async def read_number_assignments(graph: Graph, cloud: str) -> tuple[list[Any] | None, str | None]:
    """The Teams number inventory as Graph's objects, or (None, why) when it cannot be read: Graph serves it in
    the global cloud only, and only with the permission the table names for it. Paged with $top and $skip as
    documented (rev. 2025-07-23), an @odata.nextLink followed when one comes, and bounded in pages. A page of another
    shape than the CSDL's collection of numberAssignment objects (the page's own examples show `"value": {…}`) is an
    inventory not to be trusted: (None, what was wrong), so protection guesses from licenses, as without it."""
    if cloud != "global":
        return None, f"Graph lists Teams numbers in the global cloud only, not in {cloud}"
    numbers: list[Any] = []
    url: str | None = f"{NUMBERS_URL}?$top={NUMBER_PAGE}&$skip=0"
    for _ in range(MAX_NUMBER_PAGES):
        if url is None:
            return numbers, None
        try:
            page = await graph.get_json(url)
        except GraphError as exc:
            if exc.status in (401, 403, 404):
                return None, f"HTTP {exc.status}: {refusal_hint('GET', NUMBERS_URL)}"
            raise
        malformed = _malformed_number_page(page)
        if malformed:
            return None, f"Graph answered a numberAssignments page Microsoft's metadata does not describe: {malformed}"
        items = page.get("value", [])
        numbers.extend(items)
        link = page.get("@odata.nextLink")
        if isinstance(link, str):
            url = link
        elif len(items) < NUMBER_PAGE:
            url = None
        else:
            url = f"{NUMBERS_URL}?$top={NUMBER_PAGE}&$skip={len(numbers)}"
    raise UnexpectedGraphData(f"numberAssignments: more than {MAX_NUMBER_PAGES} pages; stopped reading")


def _malformed_number_page(page: Any) -> str | None:
    """What makes a page other than an object whose `value` is a list of objects, or None when it is one."""
    if not isinstance(page, dict):
        return f"the page is {_kind(page)}, not an object"
    items = page.get("value", [])
    if not isinstance(items, list):
        return f"'value' is {_kind(items)}, not a list"
    wrong = [item for item in items if not isinstance(item, dict)]
    return f"an entry of 'value' is {_kind(wrong[0])}, not an object" if wrong else None


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _numbers(
    raw: list[Any] | None, why: str | None
) -> tuple[tuple[PhoneNumber, ...] | None, str | None, tuple[FreeNumber, ...]]:
    """The inventory's held numbers, or (None, why) when an entry cannot be read: a number missing from a list we
    believe whole would make protection think its holder holds none; and its free numbers."""
    if raw is None:
        return None, why, ()
    found = []
    free = []
    for item in raw:
        try:
            number = parse_number_assignment(item)
            unheld = parse_free_number(item) if number is None else None
        except ObjectError as exc:
            label = item.get("telephoneNumber") or item.get("id") if isinstance(item, dict) else None
            return None, f"Graph returned a numberAssignment we cannot read ({label}): {exc}", ()
        if number is not None:
            found.append(number)
        elif unheld is not None:
            free.append(unheld)
    return tuple(found), None, tuple(free)


async def _read_skus(graph: Graph) -> list[TenantSku]:
    document = await graph.get_json("/subscribedSkus")
    return [_parsed(parse_subscribed_sku, item, "subscribedSku") for item in document.get("value", [])]


async def _read_users(graph: Graph, attributes: Collection[str]) -> tuple[list[TenantUser], list[UnreadableUser]]:
    """Every user, once (a page Graph repeats does not double anybody); one Graph cannot read is kept aside as
    unreadable (USER_UNREADABLE) instead of failing the whole read."""
    share = Interner()
    users: list[TenantUser] = []
    unreadable: list[UnreadableUser] = []
    seen: set[str] = set()
    async for page in graph.pages(_users_url(attributes)):
        for item in page:
            try:
                user = parse_user(item, attributes, share)
            except ObjectError as exc:
                unreadable.append(unreadable_user(item, exc))
                continue
            if user.id not in seen:
                seen.add(user.id)
                users.append(user)
    return users, unreadable


def _users_url(attributes: Collection[str]) -> str:
    return f"/users?$select={','.join(user_select(attributes))}&$top={PAGE_SIZE}"


async def _read_groups(graph: Graph, names: Iterable[str], licensed: Collection[str] = ()) -> list[TenantGroup]:
    """The groups `names` name with their transitive members; the `licensed` ones (groupLicenses) also with
    their licenses and direct members, whom alone Entra licenses."""
    groups = await named_groups(graph, names)
    wanted = {name.lower() for name in licensed}

    found = await all_of(*(group_members(graph, group, wanted) for group in groups))
    return [
        dataclasses.replace(parse_group(group_document(group, ids, direct)), members_complete=complete)
        for group, (ids, complete, direct) in zip(groups, found, strict=True)
    ]


def _parsed(parse: Any, item: Any, what: str) -> Any:
    try:
        return parse(item)
    except ObjectError as exc:
        label = item.get("userPrincipalName") or item.get("id") if isinstance(item, dict) else None
        raise UnexpectedGraphData(f"Graph returned a {what} we cannot read ({label}): {exc}") from exc


async def reached_tenant(graph: Graph) -> str | None:
    """The tenant this connection reaches, asked before anything else is read (a lease is named after it): the
    token's `tid` claim, known once a request went out, else the subscriptions' `accountId`."""
    skus = (await graph.get_json("/subscribedSkus")).get("value", [])
    return graph.tenant_id or _account_id([_parsed(parse_subscribed_sku, item, "subscribedSku") for item in skus])


async def export_snapshot(
    graph: Graph, out: IO[str], group_names: Iterable[str] | None = None, licensed: Collection[str] = ()
) -> dict[str, int]:
    """Write a snapshot of the tenant to `out` page by page; all groups unless `group_names` narrows them; the
    `licensed` ones (groupLicenses) with their licenses and direct members."""
    licensed = {name.lower() for name in licensed}
    skus = (await graph.get_json("/subscribedSkus")).get("value", [])
    tenant_id = graph.tenant_id or _account_id([_parsed(parse_subscribed_sku, item, "subscribedSku") for item in skus])
    out.write(f'{{"cloud": {json.dumps(cloud_of(graph.connection.graph_url))},\n')
    if tenant_id:
        out.write(f'"tenantId": {json.dumps(tenant_id)},\n')
    out.write('"subscribedSkus": ')
    json.dump(skus, out)
    out.write(',\n"users": [')
    count = 0
    async for page in graph.pages(_users_url(SELECTABLE_ATTRIBUTES)):
        for user in page:
            out.write(",\n" if count else "\n")
            json.dump(user, out)
            count += 1
    out.write('],\n"groups": [')
    if group_names is None:
        groups = [
            group async for page in graph.pages(f"/groups?$select=id,displayName&$top={PAGE_SIZE}") for group in page
        ]
    else:
        groups = await named_groups(graph, group_names)
    for index, group in enumerate(groups):
        members, _, direct = await group_members(graph, group, licensed)
        out.write(",\n" if index else "\n")
        json.dump(group_document(group, members, direct), out)
    out.write("]")
    cloud = cloud_of(graph.connection.graph_url)
    numbers, _ = await read_number_assignments(graph, cloud)
    if numbers is not None:  # present means "read": a snapshot without the key was not
        out.write(',\n"numberAssignments": ')
        json.dump(numbers, out)
    configurations, in_effect = await export_user_configurations(graph, cloud, out)
    lookups, _ = await fetch_policy_lookups(graph, cloud, sorted(in_effect)) if configurations >= 0 else (None, None)
    if lookups is not None:  # the policies in effect for someone, by name: what getPolicyId says of each
        out.write(',\n"policies": ')
        json.dump(lookups, out)
    out.write("}\n")
    counts = {"subscribedSkus": len(skus), "users": count, "groups": len(groups), "numbers": len(numbers or [])}
    if configurations >= 0:
        counts["userConfigurations"] = configurations
    if lookups is not None:
        counts["policies"] = len(lookups)
    return counts
