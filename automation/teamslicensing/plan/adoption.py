"""What `init` proposes for a tenant that already holds voice licenses (pure): the users holding the same voice SKUs
(with the same plans turned off) form a holding, and each holding is explained by a small set of groups whose
members are those users. Exact set cover is NP-hard: a greedy search (the group that explains most of what is left,
fewest outsiders first) gives the smallest set it finds, and says so.

A group may bring a few members who do not hold the holding (outsiders: people who joined and were never licensed,
or who hold other voice licenses): the rule then excludes them by name, so the written configuration still changes
nobody. A group is used only while its outsiders are at most `MAX_OUTSIDER_SHARE` of its members (at least one
allowed, `MAX_OUTSIDERS` at most): a rule that excludes half its group explains nothing, and an exclude list of
hundreds of names is no rule an admin can keep up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from teamslicensing.model.capability import VOICE_CAPABILITIES
from teamslicensing.model.tenant import Tenant
from teamslicensing.reference.addons import is_voice_addon

MAX_OUTSIDER_SHARE = 0.03  # a team of 400 may have 12 who joined and were never licensed
MAX_OUTSIDERS = 50


Holding = tuple[tuple[str, frozenset[str]], ...]  # (skuId, disabled plan ids) of each voice SKU held, by skuId


def voice_addons(tenant: Tenant) -> frozenset[str]:
    """The tenant's stand-alone voice SKUs (`reference.addons`): the only kind `init` writes into a rule's `assign`.
    A suite's voice (E5's Phone System) comes with mail and files, which a voice configuration has no business
    managing; `init` lists its holders in a comment instead."""
    return frozenset(
        sku.sku_id for sku in tenant.skus if is_voice_addon((plan.name, plan.capability) for plan in sku.service_plans)
    )


def suites_with_voice(tenant: Tenant) -> frozenset[str]:
    """The tenant's SKUs that carry a voice plan among others (E5, Teams Essentials bundles)."""
    addons = voice_addons(tenant)
    return frozenset(
        sku.sku_id for sku in tenant.skus if sku.capabilities & VOICE_CAPABILITIES and sku.sku_id not in addons
    )


def holdings(tenant: Tenant) -> dict[Holding, frozenset[str]]:
    """Users by the stand-alone voice SKUs they hold directly (with the plans turned off): one rule's worth each.
    Licenses from groups are Entra's to give, not a rule's."""
    voice = voice_addons(tenant)
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
    gained: Mapping[str, int]  # group id -> the holders it explained when chosen


def greedy_cover(
    holders: frozenset[str],
    groups: Mapping[str, frozenset[str]],
    names: Mapping[str, str],
    left: frozenset[str] | None = None,
) -> Cover:
    """Groups (id -> members) that together hold every holder still `left` (default: all), fewest found first. Each
    step takes the group adding most holders not yet explained, then the one with fewer outsiders, then by display
    name (so the same tenant always gives the same file). A member already explained is no outsider: selecting a
    holder twice changes nothing."""
    remaining = set(holders if left is None else left)
    chosen: list[str] = []
    excluded: dict[str, frozenset[str]] = {}
    gained: dict[str, int] = {}
    candidates = {gid: members for gid, members in groups.items() if members & remaining and _usable(members, holders)}
    while remaining and candidates:
        best = min(candidates, key=lambda gid: _rank(candidates[gid], remaining, holders, names.get(gid, gid)))
        members = candidates.pop(best)
        if not members & remaining:
            break
        chosen.append(best)
        gained[best] = len(members & remaining)
        outsiders = members - holders
        if outsiders:
            excluded[best] = frozenset(outsiders)
        remaining -= members
    return Cover(tuple(chosen), excluded, frozenset(remaining), gained)


def outsiders_allowed(members: int) -> int:
    """How many members outside the holding a group of `members` may have and still be used."""
    return min(MAX_OUTSIDERS, max(1, int(members * MAX_OUTSIDER_SHARE)))


def _usable(members: frozenset[str], holders: frozenset[str]) -> bool:
    return len(members - holders) <= outsiders_allowed(len(members))


def _rank(members: frozenset[str], left: set[str], holders: frozenset[str], name: str) -> tuple[int, int, str]:
    gained = len(members & left)
    return -gained, len(members - holders), name.lower()
