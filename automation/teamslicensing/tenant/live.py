"""The live tenant source: read subscriptions, users and the groups rules name from Graph into the tenant types.

Requests for U users and G groups: 1 (subscribedSkus) + ceil(U/999) (users) + G (group lookups) + the member pages
of each group found. No per-user request. Users are parsed page by page, so only one raw page is ever in memory.
Also writes snapshots (`export`) straight from the pages to a file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Iterable
from typing import IO, Any

from teamslicensing.errors import GraphError, TeamsLicensingError
from teamslicensing.graph import Graph
from teamslicensing.graph.connection import cloud_of
from teamslicensing.graph.requests import odata_string
from teamslicensing.model.capability import is_guid
from teamslicensing.model.desired import SELECTABLE_ATTRIBUTES, DesiredState
from teamslicensing.model.tenant import Tenant, TenantGroup, TenantSku, TenantUser
from teamslicensing.tenant.parse import (
    Interner,
    ObjectError,
    parse_group,
    parse_subscribed_sku,
    parse_user,
    user_select,
)

PAGE_SIZE = 999  # Graph's $top maximum for users and members


class UnexpectedGraphData(TeamsLicensingError):
    """Graph answered with an object we cannot read."""


async def read_tenant(graph: Graph, desired: DesiredState) -> Tenant:
    attributes = desired.selected_attributes
    skus_task = asyncio.create_task(_read_skus(graph))
    groups_task = asyncio.create_task(_read_groups(graph, desired.group_names))
    users = await _read_users(graph, attributes)
    cloud = cloud_of(graph.connection.graph_url)
    return Tenant(skus=tuple(await skus_task), users=tuple(users), groups=tuple(await groups_task), cloud=cloud)


async def _read_skus(graph: Graph) -> list[TenantSku]:
    document = await graph.get_json("/subscribedSkus")
    return [_parsed(parse_subscribed_sku, item, "subscribedSku") for item in document.get("value", [])]


async def _read_users(graph: Graph, attributes: Collection[str]) -> list[TenantUser]:
    share = Interner()
    users: list[TenantUser] = []
    async for page in graph.pages(_users_url(attributes)):
        users.extend(_parsed(lambda o: parse_user(o, attributes, share), item, "user") for item in page)
    return users


def _users_url(attributes: Collection[str]) -> str:
    return f"/users?$select={','.join(user_select(attributes))}&$top={PAGE_SIZE}"


async def _read_groups(graph: Graph, names: Iterable[str]) -> list[TenantGroup]:
    groups = await _named_groups(graph, names)
    members = await asyncio.gather(*(_member_ids(graph, group["id"]) for group in groups))
    return [
        parse_group({"id": group["id"], "displayName": group.get("displayName") or "", "members": ids})
        for group, ids in zip(groups, members, strict=True)
    ]


async def _named_groups(graph: Graph, names: Iterable[str]) -> list[dict[str, Any]]:
    """The groups `names` find (by id or display name), each once."""
    found = await asyncio.gather(*(_find_groups(graph, name) for name in names))
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


async def _member_ids(graph: Graph, group_id: str) -> list[str]:
    ids: list[str] = []
    url = f"/groups/{group_id}/transitiveMembers/microsoft.graph.user?$select=id&$top={PAGE_SIZE}"
    async for page in graph.pages(url):
        ids.extend(str(member["id"]) for member in page if "id" in member)
    return ids


def _parsed(parse: Any, item: Any, what: str) -> Any:
    try:
        return parse(item)
    except ObjectError as exc:
        label = item.get("userPrincipalName") or item.get("id") if isinstance(item, dict) else None
        raise UnexpectedGraphData(f"Graph returned a {what} we cannot read ({label}): {exc}") from exc


async def export_snapshot(graph: Graph, out: IO[str], group_names: Iterable[str] | None = None) -> dict[str, int]:
    """Write a snapshot of the tenant to `out` page by page; all groups unless `group_names` narrows them."""
    skus = (await graph.get_json("/subscribedSkus")).get("value", [])
    out.write(f'{{"cloud": {json.dumps(cloud_of(graph.connection.graph_url))},\n"subscribedSkus": ')
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
        members = await _member_ids(graph, group["id"])
        out.write(",\n" if index else "\n")
        json.dump({"id": group["id"], "displayName": group.get("displayName"), "members": members}, out)
    out.write("]}\n")
    return {"subscribedSkus": len(skus), "users": count, "groups": len(groups)}
