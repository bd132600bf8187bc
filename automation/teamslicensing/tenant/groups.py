"""Groups as live reads find them: by id or exact display name, and their transitive user members, page by page.

Shared by the full read (`live`) and the scoped one (`scoped`); `all_of` runs reads side by side.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any

from teamslicensing.errors import GraphError
from teamslicensing.graph import Graph
from teamslicensing.graph.requests import odata_string
from teamslicensing.model.capability import is_guid

PAGE_SIZE = 999  # Graph's $top maximum for users and members
ADVANCED_QUERY = {"ConsistencyLevel": "eventual"}  # with $count=true in the URL (Graph's advanced-query docs)
MAX_MEMBER_PAGES = 2000  # about two million members: past that the list counts as cut short
# a group's own licenses and Entra's processing of them come only when $select names them (group resource, v1.0)
GROUP_SELECT = "id,displayName,assignedLicenses,licenseProcessingState"
MAX_DISPLAY_NAME = 256  # characters of a group's displayName (group resource, v1.0)


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


async def named_groups(graph: Graph, names: Iterable[str]) -> list[dict[str, Any]]:
    """The groups `names` find (by id or display name), each once."""
    found = await all_of(*(_find_groups(graph, name) for name in names))
    return list({group["id"].lower(): group for groups in found for group in groups}.values())


async def _find_groups(graph: Graph, name: str) -> list[dict[str, Any]]:
    """Groups by object id or exact display name; none found is the planner's GROUP_NOT_FOUND, not an error."""
    if is_guid(name):
        try:
            return [await graph.get_json(f"/groups/{name.strip().lower()}?$select={GROUP_SELECT}")]
        except GraphError as exc:
            if exc.status == 404:
                return []
            raise
    if len(name) > MAX_DISPLAY_NAME:
        return []  # no group can be called that: GROUP_NOT_FOUND, without asking
    # an advanced query: without it Graph refuses an `eq` value over 120 characters, and display names run to 256
    url = f"/groups?$filter=displayName eq {odata_string(name)}&$select={GROUP_SELECT}&$count=true"
    document = await graph.get_json(url, ADVANCED_QUERY)
    return list(document.get("value", []))


def _ids(page: list[Any]) -> list[str]:
    return [str(member["id"]) for member in page if isinstance(member, dict) and "id" in member]


def named(group: dict[str, Any], names: Iterable[str]) -> bool:
    """Whether `names` (lowercase ids or display names) name this group."""
    wanted = set(names)
    return str(group.get("id", "")).lower() in wanted or str(group.get("displayName") or "").lower() in wanted


def group_document(group: dict[str, Any], ids: list[str], direct: list[str] | None) -> dict[str, Any]:
    """What `parse_group` reads: members, and for a licensed group (`direct` read) its licenses and processing."""
    document = {"id": group["id"], "displayName": group.get("displayName"), "members": ids}
    if direct is not None:
        document["directMembers"] = direct
        document["assignedLicenses"] = group.get("assignedLicenses") or []
        document["licenseProcessingState"] = group.get("licenseProcessingState")
    return document


async def member_ids(
    graph: Graph,
    group_id: str,
    select: str = "id",
    take: Callable[[list[Any]], list[str]] = _ids,
    relation: str = "transitiveMembers",
) -> tuple[list[str], bool]:
    """A group's transitive (or, with `relation="members"`, direct) user members, and whether the list is whole
    (False past MAX_MEMBER_PAGES pages). `select` and `take` read more of each member: `take` keeps what it wants
    of a page and returns its ids."""
    ids: list[str] = []
    # an OData cast on a members list is an advanced query: ConsistencyLevel and $count on every page
    url = f"/groups/{group_id}/{relation}/microsoft.graph.user?$select={select}&$top={PAGE_SIZE}&$count=true"
    pages = 0
    async for page in graph.pages(url, ADVANCED_QUERY, max_pages=MAX_MEMBER_PAGES + 1):
        ids.extend(take(page))
        pages += 1
        if pages >= MAX_MEMBER_PAGES:
            return ids, False
    return ids, True


async def group_members(
    graph: Graph,
    group: dict[str, Any],
    licensed: Collection[str],
    select: str = "id",
    take: Callable[[list[Any]], list[str]] = _ids,
) -> tuple[list[str], bool, list[str] | None]:
    """A group's transitive member ids and whether they are whole; for a group `licensed` names (groupLicenses,
    lowercase names or ids) also its direct member ids, whom alone Entra licenses (else None)."""
    ids, complete = await member_ids(graph, group["id"], select, take)
    direct = (await member_ids(graph, group["id"], relation="members"))[0] if named(group, licensed) else None
    return ids, complete, direct


MAX_NAMED_GROUPS = 1000  # licensing groups whose names a read looks up, at most (50 $batch requests)


async def licensing_group_names(graph: Graph, users: Iterable[Any], known: Iterable[str]) -> dict[str, str]:
    """Display names of the groups users inherit licenses from that the read did not fetch, so gaps name a group
    the way an admin knows it; looked up 20 to a `$batch`, bounded. A group Graph cannot show keeps its id."""
    have = {group_id.lower() for group_id in known}
    wanted = sorted(
        {
            a.assigned_by_group
            for user in users
            for a in user.licenses
            if a.assigned_by_group and a.assigned_by_group not in have
        }
    )[:MAX_NAMED_GROUPS]
    names: dict[str, str] = {}
    async for group_id, answer in graph.gets(wanted, "/groups/{}?$select=id,displayName"):
        body = answer.body if answer.ok and isinstance(answer.body, dict) else {}
        if isinstance(body.get("displayName"), str) and body["displayName"]:
            names[group_id] = body["displayName"]
    return names


MAX_HINTED = 5  # names no group has that get close names looked up: a typo or two, not a whole file of them
HINTS_PER_NAME = 25


async def similar_group_names(graph: Graph, missing: Iterable[str]) -> dict[str, str]:
    """Id -> display name of groups that share a word with a name no group has, for the plan's did-you-mean: Graph's
    `$search` on displayName (word prefixes, an advanced query). A courtesy: a search Graph refuses gives none."""
    names = [name for name in missing if not is_guid(name) and len(name) <= MAX_DISPLAY_NAME][:MAX_HINTED]
    found = await all_of(*(_similar(graph, name) for name in names))
    return {group_id: name for hits in found for group_id, name in hits.items()}


async def _similar(graph: Graph, name: str) -> dict[str, str]:
    # words in any script ($search tokenizes them all); only letters and digits, so no quote reaches the search
    words = [word for word in re.split(r"[\W_]+", name) if len(word) >= 2][:4]
    if not words:
        return {}
    search = " OR ".join(f'"displayName:{word}"' for word in words)
    url = f"/groups?$search={search}&$select=id,displayName&$top={HINTS_PER_NAME}&$count=true"
    try:
        document = await graph.get_json(url, ADVANCED_QUERY)
    except GraphError:
        return {}
    groups = document.get("value") if isinstance(document, dict) else None
    return {
        str(group["id"]).lower(): group["displayName"]
        for group in groups or []
        if isinstance(group, dict) and isinstance(group.get("displayName"), str) and group.get("id")
    }
