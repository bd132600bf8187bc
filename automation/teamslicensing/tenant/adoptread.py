"""The groups `init` may propose, read live: those the tenant's voice license holders belong to, small enough to be
a rule's selection.

A tenant has thousands of groups and reading every member list would cost more than the whole user read, so the
read is bounded three ways:
- which groups: the groups of a sample of each holding's holders (`/users/{id}/transitiveMemberOf`, 20 to a
  `$batch`; SAMPLE_PER_HOLDING evenly spaced holders each, MAX_ASKED in all); a group holding many of a holding's
  users is in the sample's groups with near certainty, and one holding few would explain little;
- how many: the MAX_CANDIDATES groups seen most often;
- how large: a group is counted first (one page of one member, with `@odata.count`) and its members read only when
  it could be used at all, no larger than the largest holding plus the outsiders a group may have.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from typing import Any

from teamslicensing.graph import Graph
from teamslicensing.model.tenant import TenantGroup
from teamslicensing.tenant.groups import ADVANCED_QUERY, all_of, group_document, member_ids
from teamslicensing.tenant.parse import parse_group

SAMPLE_PER_HOLDING = 100
MAX_ASKED = 2000  # users whose groups are asked: 100 $batch requests
MAX_CANDIDATES = 300
# the cast keeps directory roles and administrative units out, and makes displayName selectable (a directoryObject
# has none); a cast on memberOf is an advanced query: ConsistencyLevel and $count (user-list-transitivememberof)
MEMBER_OF = "/users/{}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=999&$count=true"


async def candidate_groups(
    graph: Graph, holdings: Collection[frozenset[str]], largest_usable: int
) -> list[TenantGroup]:
    """The groups the holders of `holdings` (user ids) are in, with their members, for groups of at most
    `largest_usable` members."""
    asked = _sample(holdings)
    seen: Counter[str] = Counter()
    names: dict[str, str] = {}
    async for _, answer in graph.gets(asked, MEMBER_OF, ADVANCED_QUERY):
        if not answer.ok or not isinstance(answer.body, dict):
            continue  # a user whose groups cannot be read proposes none: the proposal is smaller, never wrong
        for item in _groups(answer.body):
            seen[item["id"]] += 1
            names[item["id"]] = str(item.get("displayName") or item["id"])
    wanted = [group_id for group_id, _ in seen.most_common(MAX_CANDIDATES)]
    sizes = await all_of(*(_size(graph, group_id) for group_id in wanted))
    small = [
        group_id for group_id, size in zip(wanted, sizes, strict=True) if size is not None and size <= largest_usable
    ]
    read = await all_of(*(member_ids(graph, group_id) for group_id in small))
    return _parsed(small, read, names)


def _parsed(small: list[str], read: list[tuple[list[str], bool]], names: Mapping[str, str]) -> list[TenantGroup]:
    """Whole member lists only: a group cut short is no group a rule can be proposed for."""
    return [
        parse_group(group_document({"id": gid, "displayName": names[gid]}, ids, None))
        for gid, (ids, complete) in zip(small, read, strict=True)
        if complete
    ]


def _sample(holdings: Collection[frozenset[str]]) -> list[str]:
    """Up to SAMPLE_PER_HOLDING evenly spaced holders of each holding, the largest holdings first, MAX_ASKED in all."""
    asked: list[str] = []
    for holders in sorted(holdings, key=len, reverse=True):
        ordered = sorted(holders)
        step = max(1, len(ordered) // SAMPLE_PER_HOLDING)
        asked.extend(ordered[::step][:SAMPLE_PER_HOLDING])
        if len(asked) >= MAX_ASKED:
            return asked[:MAX_ASKED]
    return asked


def _groups(page: dict[str, Any]) -> list[dict[str, Any]]:
    value = page.get("value")
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict) and isinstance(item.get("id"), str)]


async def _size(graph: Graph, group_id: str) -> int | None:
    """The group's transitive user members, counted by Graph (None: it did not say)."""
    url = f"/groups/{group_id}/transitiveMembers/microsoft.graph.user?$select=id&$top=1&$count=true"
    page = await graph.get_json(url, ADVANCED_QUERY)
    count = page.get("@odata.count") if isinstance(page, dict) else None
    return count if isinstance(count, int) else None
