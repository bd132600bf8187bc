"""Prune's reach: which managed licenses `prune` may remove (stand-alone voice add-ons, and what policy.pruneAlso
names), and an info gap for each other managed license saying how many holders prune leaves it with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from teamslicensing.model.plan import Gap, GapCode, Severity
from teamslicensing.model.tenant import TenantUser
from teamslicensing.model.words import counted
from teamslicensing.plan.voicerules import VoiceRules


def prunable_skus(voice: VoiceRules, managed: Iterable[str], prune_also: Iterable[str]) -> frozenset[str]:
    """The managed SKUs prune may remove: voice add-ons, and the SKUs policy.pruneAlso names."""
    also = frozenset(prune_also)
    return frozenset(sku for sku in managed if sku in also or voice.is_standalone_voice_sku(sku))


def prune_limited_gaps(
    limited: Iterable[str],
    users: Iterable[TenantUser],
    wants: Mapping[str, Mapping[str, object]],
    part_number: Callable[[str], str],
) -> list[Gap]:
    """PRUNE_LIMITED_TO_VOICE for each managed SKU beyond voice that users hold directly without a rule giving it
    to them: prune leaves it with them, and says how to opt in."""
    limited = frozenset(limited)
    if not limited:
        return []
    holders: Counter[str] = Counter()
    for user in users:
        wanted = wants.get(user.id, {})
        for assignment in user.licenses:
            if assignment.is_direct and assignment.sku_id in limited and assignment.sku_id not in wanted:
                holders[assignment.sku_id] += 1
    gaps = []
    for sku_id in sorted(holders, key=part_number):
        part = part_number(sku_id)
        count = holders[sku_id]
        message = (
            f"{part} carries more than voice (a suite or bundle: mail, files or Teams itself), so prune only assigns "
            f"it: {counted(count, 'user')} no rule gives it to keep it; to remove it from them, name it in "
            "policy.pruneAlso (each such removal then counts against maxRemovals)"
        )
        gaps.append(Gap(GapCode.PRUNE_LIMITED_TO_VOICE, Severity.INFO, None, part, message, None, sku_id))
    return gaps
