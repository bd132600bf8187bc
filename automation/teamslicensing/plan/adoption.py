"""What `init` proposes for a tenant that already holds voice licenses (pure): the users holding the same voice SKUs
(with the same plans turned off) form a holding, and each holding is explained by a small set of groups whose
members are those users. Exact set cover is NP-hard: a greedy search (the group that explains most of what is left,
fewest outsiders first) gives the smallest set it finds, and says so.

A group may bring a few members who do not hold the holding (outsiders: people who joined and were never licensed,
or who hold other voice licenses): the rule then excludes them by name, so the written configuration still changes
nobody. A group is used only while its outsiders are at most `MAX_OUTSIDER_SHARE` of its members (none under 34
members, `MAX_OUTSIDERS` at most): a rule that excludes half its group explains nothing, and an exclude list of
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


class HeldIndex:
    """Who would be left unchanged by a rule assigning a holding: for each of its SKUs, the user holds it directly
    with the same plans off, or (plans turned off only when the holding has some) through a group alone, which the
    planner counts as held. Such a member of a group is no outsider, whatever else they hold: prune is off, so the
    rule adds nothing to them and takes nothing away."""

    def __init__(self, tenant: Tenant) -> None:
        voice = voice_addons(tenant)
        self._direct: dict[str, dict[frozenset[str], set[str]]] = defaultdict(lambda: defaultdict(set))
        self._inherited_only: dict[str, set[str]] = defaultdict(set)
        for user in tenant.users:
            direct = user.direct_licenses()
            for sku, off in direct.items():
                if sku in voice:
                    self._direct[sku][off].add(user.id)
            for sku in user.inherited_licenses().keys() - direct.keys():
                if sku in voice:
                    self._inherited_only[sku].add(user.id)

    def unchanged_by(self, holding: Holding) -> frozenset[str]:
        found: set[str] | None = None
        for sku, off in holding:
            by_off = self._direct.get(sku, {})
            # a rule writes disabledPlans only for a SKU with plans off: without it, any direct copy is left as it is
            direct = by_off.get(off, set()) if off else set().union(*by_off.values())
            held = direct | self._inherited_only.get(sku, set())
            found = held if found is None else found & held
        return frozenset(found or ())


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
    unchanged: frozenset[str] | None = None,
) -> Cover:
    """Groups (id -> members) that together hold every holder still `left` (default: all), fewest found first. Each
    step takes the group adding most holders not yet explained, then the one with fewer outsiders, then by display
    name (so the same tenant always gives the same file). Outsiders are the members outside `unchanged` (default:
    the holders), the users the rule would leave as they are: a holder already explained is none."""
    unchanged = holders if unchanged is None else unchanged
    remaining = set(holders if left is None else left)
    chosen: list[str] = []
    excluded: dict[str, frozenset[str]] = {}
    gained: dict[str, int] = {}
    candidates = {
        gid: members for gid, members in groups.items() if members & remaining and _usable(members, unchanged)
    }
    while remaining and candidates:
        best = min(candidates, key=lambda gid: _rank(candidates[gid], remaining, unchanged, names.get(gid, gid)))
        members = candidates.pop(best)
        if not members & remaining:
            break
        chosen.append(best)
        gained[best] = len(members & remaining)
        outsiders = members - unchanged
        if outsiders:
            excluded[best] = frozenset(outsiders)
        remaining -= members
    return Cover(tuple(chosen), excluded, frozenset(remaining), gained)


def outsiders_allowed(members: int) -> int:
    """How many members outside the holding a group of `members` may have and still be used: 3% of it, so none in a
    group under 34 (excluding the one other member of a project group would license the next to join)."""
    return min(MAX_OUTSIDERS, int(members * MAX_OUTSIDER_SHARE))


def _usable(members: frozenset[str], unchanged: frozenset[str]) -> bool:
    return len(members - unchanged) <= outsiders_allowed(len(members))


def _rank(members: frozenset[str], left: set[str], unchanged: frozenset[str], name: str) -> tuple[int, int, str]:
    gained = len(members & left)
    return -gained, len(members - unchanged), name.lower()
