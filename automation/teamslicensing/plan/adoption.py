"""What `init` proposes for a tenant that already holds voice licenses (pure): the users holding the same voice SKUs
(with the same plans turned off) form a holding, and each holding is explained by a small set of groups whose
members are those users. Exact set cover is NP-hard: a greedy search (the group that explains most of what is left,
fewest outsiders first) gives the smallest set it finds, and says so.

A group may bring a few members who do not hold the holding (outsiders): the rule then excludes them by name, so the
written configuration still changes nobody. A group with more outsiders than `MAX_OUTSIDERS` (or a share above
`MAX_OUTSIDER_SHARE`) is not used: a rule that excludes half its group explains nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from teamslicensing.model.capability import VOICE_CAPABILITIES
from teamslicensing.model.tenant import Tenant
from teamslicensing.reference.catalog import Catalog

MAX_OUTSIDERS = 5
MAX_OUTSIDER_SHARE = 0.05


Holding = tuple[tuple[str, frozenset[str]], ...]  # (skuId, disabled plan ids) of each voice SKU held, by skuId


def holdings(tenant: Tenant, catalog: Catalog) -> dict[Holding, frozenset[str]]:
    """Users by the voice SKUs they hold directly (a SKU carrying a voice capability, with the plans turned off):
    one rule's worth each. Licenses from groups are Entra's to give, not a rule's."""
    voice = {
        sku.sku_id
        for sku in tenant.skus
        if (known := catalog.by_id(sku.sku_id)) and known.capabilities & VOICE_CAPABILITIES
    }
    found: dict[Holding, set[str]] = defaultdict(set)
    for user in tenant.users:
        held = tuple(sorted((sku, off) for sku, off in user.direct_licenses().items() if sku in voice))
        if held:
            found[held].add(user.id)
    return {holding: frozenset(users) for holding, users in found.items()}


@dataclass(frozen=True)
class Cover:
    """The groups chosen for one holding, in the order chosen; the members each excludes; who is left."""

    groups: tuple[str, ...]  # group ids
    excluded: Mapping[str, frozenset[str]]  # group id -> its members outside the holding
    left: frozenset[str]  # holders no chosen group explains


def greedy_cover(holders: frozenset[str], groups: Mapping[str, frozenset[str]], names: Mapping[str, str]) -> Cover:
    """Groups (id -> transitive members) that together hold every holder, fewest found first. Each step takes the
    group adding most holders not yet explained, then the one with fewer outsiders, then by display name (so the
    same tenant always gives the same file)."""
    left = set(holders)
    chosen: list[str] = []
    excluded: dict[str, frozenset[str]] = {}
    candidates = {gid: members for gid, members in groups.items() if members & holders and _usable(members, holders)}
    while left and candidates:
        best = min(candidates, key=lambda gid: _rank(candidates[gid], left, holders, names.get(gid, gid)))
        members = candidates.pop(best)
        if not members & left:
            break
        chosen.append(best)
        outsiders = members - holders
        if outsiders:
            excluded[best] = frozenset(outsiders)
        left -= members
    return Cover(tuple(chosen), excluded, frozenset(left))


def _usable(members: frozenset[str], holders: frozenset[str]) -> bool:
    outsiders = len(members - holders)
    return outsiders <= MAX_OUTSIDERS and outsiders <= max(1, int(len(members) * MAX_OUTSIDER_SHARE))


def _rank(members: frozenset[str], left: Iterable[str], holders: frozenset[str], name: str) -> tuple[int, int, str]:
    gained = len(members & set(left))
    return -gained, len(members - holders), name.lower()
