"""The groups `init` may propose, read live: those the tenant's voice license holders belong to, small enough to be
a rule's selection.

A tenant has thousands of groups and reading every member list would cost more than the whole user read, so the
read is bounded, and says what it left out:
- which groups: the groups of a sample of each holding's holders (`/users/{id}/transitiveMemberOf`, 20 to a
  `$batch`; SAMPLE_PER_HOLDING evenly spread holders each, MAX_ASKED in all, the largest holdings first); a group
  holding many of a holding's users is in the sample's groups with near certainty, and one holding few would explain
  little. One page of each user's groups (999): a user in more is said;
- how large: the MAX_COUNTED groups seen most often are counted (`@odata.count` of one member, 20 to a `$batch`),
  and only those no larger than a usable rule's group are kept, so that all-hands and site groups, which every
  holder is in, never crowd out a team's group;
- how many: of those, the MAX_CANDIDATES seen most often have their members read;
- which names: each kept group's display name is looked up as `plan` will look it up; a name another group shares
  (or one that could not be checked) makes the rule name the group by id.
A group or user Graph will not show (deleted meanwhile, hidden membership) is left out and counted, never fatal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from teamslicensing.errors import GraphError
from teamslicensing.graph import Graph
from teamslicensing.model.tenant import TenantGroup
from teamslicensing.model.words import counted
from teamslicensing.tenant.groups import ADVANCED_QUERY, all_of, group_document, member_ids, named_groups
from teamslicensing.tenant.parse import parse_group

SAMPLE_PER_HOLDING = 100
MAX_ASKED = 2000  # users whose groups are asked: 100 $batch requests
MAX_COUNTED = 2000  # groups counted: 100 $batch requests
MAX_CANDIDATES = 300  # groups whose members are read
# the cast keeps directory roles and administrative units out, and makes displayName selectable (a directoryObject
# has none); a cast on memberOf is an advanced query: ConsistencyLevel and $count (user-list-transitivememberof)
MEMBER_OF = "/users/{}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=999&$count=true"
SIZE_OF = "/groups/{}/transitiveMembers/microsoft.graph.user?$select=id&$top=1&$count=true"


@dataclass(frozen=True)
class Candidates:
    groups: tuple[TenantGroup, ...]  # with their whole member lists
    namesakes: tuple[TenantGroup, ...]  # other groups of a candidate's name (no members read): the rule uses the id
    notes: tuple[str, ...]  # what was left out, and why


async def candidate_groups(graph: Graph, holdings: Collection[frozenset[str]], largest_usable: int) -> Candidates:
    """The groups the holders of `holdings` (user ids) are in, of at most `largest_usable` members, with their
    members."""
    notes: list[str] = []
    asked = _sample(holdings, notes)
    seen, names = await _memberships(graph, asked, notes)
    counted_ids = [group_id for group_id, _ in seen.most_common(MAX_COUNTED)]
    if len(seen) > MAX_COUNTED:
        notes.append(f"the {len(seen) - MAX_COUNTED:,} groups seen least often in the sample were not counted")
    sizes = await _sizes(graph, counted_ids, notes)
    small = [gid for gid in counted_ids if gid in sizes and sizes[gid] <= largest_usable][:MAX_CANDIDATES]
    read = await all_of(*(_members(graph, group_id) for group_id in small))
    groups = tuple(
        parse_group(group_document({"id": gid, "displayName": names[gid]}, ids, None))
        for gid, (ids, complete) in zip(small, read, strict=True)
        if complete
    )
    if cut := sum(1 for _, complete in read if not complete):
        notes.append(f"{counted(cut, 'group')} whose members could not all be read left out")
    return Candidates(groups, await _namesakes(graph, groups), tuple(notes))


def _sample(holdings: Collection[frozenset[str]], notes: list[str]) -> list[str]:
    """Up to SAMPLE_PER_HOLDING evenly spread holders of each holding, the largest holdings first, MAX_ASKED in all."""
    asked: list[str] = []
    ordered = sorted(holdings, key=len, reverse=True)
    for position, holders in enumerate(ordered):
        if len(asked) >= MAX_ASKED:
            left = counted(len(ordered) - position, "smaller holding")
            notes.append(f"{left}: no holder's groups asked (over {MAX_ASKED:,} users asked)")
            break
        ids = sorted(holders)
        take = min(len(ids), SAMPLE_PER_HOLDING, MAX_ASKED - len(asked))
        asked.extend(ids[i * len(ids) // take] for i in range(take))
    return asked


async def _memberships(graph: Graph, asked: list[str], notes: list[str]) -> tuple[Counter[str], dict[str, str]]:
    """How many of the users asked each group holds, and the groups' names."""
    seen: Counter[str] = Counter()
    names: dict[str, str] = {}
    failed = more = 0
    async for _, answer in graph.gets(asked, MEMBER_OF, ADVANCED_QUERY):
        if not answer.ok or not isinstance(answer.body, dict):
            failed += 1  # a user whose groups cannot be read proposes none: the proposal is smaller, never wrong
            continue
        more += isinstance(answer.body.get("@odata.nextLink"), str)
        for item in _groups(answer.body):
            seen[item["id"]] += 1
            names[item["id"]] = str(item.get("displayName") or "")
    if failed:
        notes.append(f"the groups of {counted(failed, 'sampled user')} could not be read")
    if more:
        notes.append(f"{counted(more, 'sampled user')} in over 999 groups: only their first 999 considered")
    return seen, names


async def _sizes(graph: Graph, group_ids: list[str], notes: list[str]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    async for group_id, answer in graph.gets(group_ids, SIZE_OF, ADVANCED_QUERY):
        count = answer.body.get("@odata.count") if answer.ok and isinstance(answer.body, dict) else None
        if isinstance(count, int):
            sizes[group_id] = count
    if missing := len(group_ids) - len(sizes):
        notes.append(f"{counted(missing, 'group')} Graph would not count (deleted, or hidden membership) left out")
    return sizes


async def _members(graph: Graph, group_id: str) -> tuple[list[str], bool]:
    try:
        return await member_ids(graph, group_id)
    except GraphError as exc:
        if exc.status in (403, 404):
            return [], False  # deleted since it was counted, or its members hidden from this app
        raise


async def _namesakes(graph: Graph, groups: tuple[TenantGroup, ...]) -> tuple[TenantGroup, ...]:
    """The other groups `plan` would find by each candidate's name; for a name the lookup failed on, a stand-in
    twin, so the rule names the group by id rather than by a name not known to be unique."""
    ours = {group.id for group in groups}

    async def same_name(group: TenantGroup) -> list[dict[str, Any]]:
        try:
            return await named_groups(graph, [group.display_name.strip()]) if group.display_name.strip() else []
        except GraphError:
            return [{"id": f"unchecked:{group.id}", "displayName": group.display_name}]

    found = await all_of(*(same_name(group) for group in groups))
    return tuple(_namesake(other) for same in found for other in same if str(other.get("id", "")).lower() not in ours)


def _namesake(group: Mapping[str, Any]) -> TenantGroup:
    return TenantGroup(
        str(group["id"]).lower(), str(group.get("displayName") or ""), frozenset(), members_complete=False
    )


def _groups(page: dict[str, Any]) -> list[dict[str, Any]]:
    value = page.get("value")
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict) and isinstance(item.get("id"), str)]
