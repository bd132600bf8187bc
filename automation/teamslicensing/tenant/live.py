"""The live tenant source: read subscriptions, users and the groups rules name from Graph into the tenant types.

Requests for U users and G groups: 1 (subscribedSkus) + ceil(U/999) (users) + G (group lookups) + the member pages
of each group found. No per-user request. Users are parsed page by page, so only one raw page is ever in memory.
Also writes snapshots (`export`) straight from the pages to a file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Collection, Iterable
from typing import IO, Any

from teamslicensing.errors import GraphError, TeamsLicensingError
from teamslicensing.graph import Graph
from teamslicensing.graph.connection import cloud_of
from teamslicensing.graph.requests import odata_string
from teamslicensing.model.capability import is_guid
from teamslicensing.model.desired import SELECTABLE_ATTRIBUTES, DesiredState
from teamslicensing.model.tenant import PhoneNumber, Tenant, TenantGroup, TenantSku, TenantUser, UnreadableUser
from teamslicensing.tenant.parse import (
    Interner,
    ObjectError,
    parse_group,
    parse_number_assignment,
    parse_subscribed_sku,
    parse_user,
    unreadable_user,
    user_select,
)

PAGE_SIZE = 999  # Graph's $top maximum for users and members
NUMBERS_URL = "/admin/teams/telephoneNumberManagement/numberAssignments"
NUMBER_PAGE = 1000  # numberAssignments' $top maximum
MAX_NUMBER_PAGES = 1000  # a million numbers: past that, something is looping
ADVANCED_QUERY = {"ConsistencyLevel": "eventual"}  # with $count=true in the URL (Graph's advanced-query docs)
MAX_MEMBER_PAGES = 2000  # about two million members: past that the list counts as cut short


class UnexpectedGraphData(TeamsLicensingError):
    """Graph answered with an object we cannot read."""


async def read_tenant(graph: Graph, desired: DesiredState) -> Tenant:
    return await read_tenant_parts(graph, desired.group_names, desired.selected_attributes)


async def read_tenant_parts(graph: Graph, group_names: Iterable[str], attributes: Collection[str]) -> Tenant:
    """The tenant with the groups `group_names` name and the user `attributes` rules read (a saved plan's check
    reads what its plan rested on, without a configuration)."""
    cloud = cloud_of(graph.connection.graph_url)
    skus, (users, unreadable), groups, (raw_numbers, why) = await all_of(
        _read_skus(graph),
        _read_users(graph, attributes),
        _read_groups(graph, group_names),
        read_number_assignments(graph, cloud),
    )
    numbers = None if raw_numbers is None else tuple(_numbers(raw_numbers))
    return Tenant(
        skus=tuple(skus),
        users=tuple(users),
        groups=tuple(groups),
        cloud=cloud,
        numbers=numbers,
        numbers_unavailable=why,
        tenant_id=graph.tenant_id or _account_id(skus),
        unreadable=tuple(unreadable),
    )


async def all_of(*steps: Awaitable[Any]) -> list[Any]:
    """Run `steps` together; when one fails, cancel the others and wait for them, so that no failure is left
    unretrieved behind the one reported (asyncio.gather leaves the rest running)."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _account_id(skus: list[TenantSku]) -> str | None:
    """subscribedSku.accountId names the tenant the subscriptions belong to (the fallback for opaque tokens)."""
    ids = {sku.account_id for sku in skus if sku.account_id}
    return ids.pop() if len(ids) == 1 else None


async def read_number_assignments(graph: Graph, cloud: str) -> tuple[list[Any] | None, str | None]:
    """The Teams number inventory as Graph's objects, or (None, why) when it cannot be read: Graph serves it in
    the global cloud only, and only with TeamsTelephoneNumber.Read.All. Paged with $top and $skip as documented
    (rev. 2025-07-23), an @odata.nextLink followed when one comes, and bounded in pages."""
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
                return None, f"HTTP {exc.status}: grant the app TeamsTelephoneNumber.Read.All"
            raise
        items = page.get("value", []) if isinstance(page, dict) else []
        if not isinstance(items, list):
            raise UnexpectedGraphData("numberAssignments: 'value' is not a list")
        numbers.extend(items)
        link = page.get("@odata.nextLink")
        if isinstance(link, str):
            url = link
        elif len(items) < NUMBER_PAGE:
            url = None
        else:
            url = f"{NUMBERS_URL}?$top={NUMBER_PAGE}&$skip={len(numbers)}"
    raise UnexpectedGraphData(f"numberAssignments: more than {MAX_NUMBER_PAGES} pages; stopped reading")


def _numbers(raw: list[Any]) -> list[PhoneNumber]:
    found = []
    for item in raw:
        number = _parsed(parse_number_assignment, item, "numberAssignment")
        if number is not None:
            found.append(number)
    return found


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


async def _read_groups(graph: Graph, names: Iterable[str]) -> list[TenantGroup]:
    groups = await _named_groups(graph, names)
    members = await all_of(*(_member_ids(graph, group["id"]) for group in groups))
    return [
        dataclasses.replace(
            parse_group({"id": group["id"], "displayName": group.get("displayName") or "", "members": ids}),
            members_complete=complete,
        )
        for group, (ids, complete) in zip(groups, members, strict=True)
    ]


async def _named_groups(graph: Graph, names: Iterable[str]) -> list[dict[str, Any]]:
    """The groups `names` find (by id or display name), each once."""
    found = await all_of(*(_find_groups(graph, name) for name in names))
    return list({group["id"].lower(): group for groups in found for group in groups}.values())


async def _find_groups(graph: Graph, name: str) -> list[dict[str, Any]]:
    """Groups by object id or exact display name; none found is the planner's GROUP_NOT_FOUND, not an error."""
    if is_guid(name):
        try:
            return [await graph.get_json(f"/groups/{name.strip().lower()}?$select=id,displayName")]
        except GraphError as exc:
            if exc.status == 404:
                return []
            raise
    document = await graph.get_json(f"/groups?$filter=displayName eq {odata_string(name)}&$select=id,displayName")
    return list(document.get("value", []))


async def _member_ids(graph: Graph, group_id: str) -> tuple[list[str], bool]:
    """A group's transitive user members, and whether the list is whole (False past MAX_MEMBER_PAGES pages)."""
    ids: list[str] = []
    # an OData cast on transitive members is an advanced query: ConsistencyLevel and $count on every page
    url = f"/groups/{group_id}/transitiveMembers/microsoft.graph.user?$select=id&$top={PAGE_SIZE}&$count=true"
    pages = 0
    async for page in graph.pages(url, ADVANCED_QUERY, max_pages=MAX_MEMBER_PAGES + 1):
        ids.extend(str(member["id"]) for member in page if isinstance(member, dict) and "id" in member)
        pages += 1
        if pages >= MAX_MEMBER_PAGES:
            return ids, False
    return ids, True


def _parsed(parse: Any, item: Any, what: str) -> Any:
    try:
        return parse(item)
    except ObjectError as exc:
        label = item.get("userPrincipalName") or item.get("id") if isinstance(item, dict) else None
        raise UnexpectedGraphData(f"Graph returned a {what} we cannot read ({label}): {exc}") from exc


async def export_snapshot(graph: Graph, out: IO[str], group_names: Iterable[str] | None = None) -> dict[str, int]:
    """Write a snapshot of the tenant to `out` page by page; all groups unless `group_names` narrows them."""
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
        groups = await _named_groups(graph, group_names)
    for index, group in enumerate(groups):
        members, _ = await _member_ids(graph, group["id"])
        out.write(",\n" if index else "\n")
        json.dump({"id": group["id"], "displayName": group.get("displayName"), "members": members}, out)
    out.write("]")
    numbers, _ = await read_number_assignments(graph, cloud_of(graph.connection.graph_url))
    if numbers is not None:  # present means "read": a snapshot without the key was not
        out.write(',\n"numberAssignments": ')
        json.dump(numbers, out)
    out.write("}\n")
    return {"subscribedSkus": len(skus), "users": count, "groups": len(groups), "numbers": len(numbers or [])}
