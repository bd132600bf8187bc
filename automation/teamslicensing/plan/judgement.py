"""The one judgement every change passes before it may be written, whatever proposed it: the planner, an undo, or a
plan saved earlier. Pure: proposed changes + the tenant as it is + the safety policy -> the changes kept, a gap for
each change withheld, and what `apply` would refuse.

A user's change is held to (`verdicts.user_verdict`), in order:
1. the user exists and is not protected (policy.protectedUsers, protectedGroups);
2. prune's reach, judged from each removed SKU, not from the reason the change gives: a voice add-on, a license
   policy.pruneAlso names, or a direct copy a working group copy replaces; and only licenses the configuration
   manages are added or removed;
3. every license it adds comes from a subscription that can hand out licenses, to a user with a usage location;
4. number protection: it takes no phone number (judged with the Teams number inventory when there is one)
   unless policy.allowNumberLoss, and it leaves no Calling Plan without Phone System, no Credits without a
   prerequisite, where the user had them;
5. seats (`seatcheck`): its new assignments fit the seats free now plus those the kept removal-only changes free,
   after what group license writes take.
A group's license write (`verdicts.group_verdict`) is held to prune's reach and to its direct members' numbers.

A change is kept or withheld whole: a restore or a saved change half-written is neither the old state nor the new.
The planner trims its own changes finer, with the same rules, so its output passes unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from teamslicensing.model.plan import BLOCKING_CODES, Gap, GapCode, GroupChange, Plan, Refusal, UserChange
from teamslicensing.model.tenant import Tenant
from teamslicensing.model.voicechange import NumberAction
from teamslicensing.plan.guardrails import Safety, safety_of
from teamslicensing.plan.numberloss import believed_numbers, numbers_at_risk
from teamslicensing.plan.seatcheck import within_seats
from teamslicensing.plan.verdicts import WITHHELD, group_verdict, user_verdict
from teamslicensing.plan.voicerules import VoiceRules

__all__ = [
    "WITHHELD",
    "Judged",
    "Safety",
    "apply_refusals",
    "believed_numbers",
    "judge",
    "numbers_at_risk",
    "removal_count",
    "safety_of",
]


@dataclass(frozen=True)
class Judged:
    changes: tuple[UserChange, ...]  # the changes kept, their reasons and number-loss flags judged afresh
    withheld: tuple[tuple[UserChange, Gap], ...]  # each change withheld, as proposed, with the gap saying why
    group_changes: tuple[GroupChange, ...] = ()  # the group license writes kept
    groups_withheld: tuple[tuple[GroupChange, Gap], ...] = ()

    @property
    def gaps(self) -> tuple[Gap, ...]:
        return tuple(gap for _, gap in self.withheld) + tuple(gap for _, gap in self.groups_withheld)


def judge(
    proposed: Sequence[UserChange],
    tenant: Tenant,
    safety: Safety,
    group_changes: Sequence[GroupChange] = (),
    voice: VoiceRules | None = None,
) -> Judged:
    """Hold each proposed change to the rules above; see the module docstring."""
    voice = voice or VoiceRules(tenant.sku_by_id)
    numbers, _ = believed_numbers(tenant, voice)
    users = {user.id: user for user in tenant.users}
    groups_kept: list[GroupChange] = []
    groups_withheld: list[tuple[GroupChange, Gap]] = []
    for group_change in group_changes:
        judged = group_verdict(group_change, tenant, users, safety, voice, numbers)
        if isinstance(judged, Gap):
            groups_withheld.append((group_change, judged))
        else:
            groups_kept.append(judged)
    kept: list[UserChange] = []
    withheld: list[tuple[UserChange, Gap]] = []
    for change in proposed:
        verdict = user_verdict(change, users.get(change.user_id), tenant, safety, voice, numbers)
        if isinstance(verdict, Gap):
            withheld.append((change, dataclasses.replace(verdict, user_id=change.user_id)))
        else:
            kept.append(verdict)
    seated, short = within_seats(kept, users, tenant, groups_kept)
    return Judged(tuple(seated), tuple(withheld + short), tuple(groups_kept), tuple(groups_withheld))


def apply_refusals(plan: Plan, max_changes: int, max_removals: int) -> tuple[Refusal, ...]:
    """What `apply` refuses this plan for with these limits: blocking gaps first, then each limit it exceeds."""
    refusals: list[Refusal] = []
    blocking: dict[GapCode, list[str]] = {}
    for gap in plan.gaps:
        if gap.code in BLOCKING_CODES:
            blocking.setdefault(gap.code, []).append(gap.user_principal_name or "tenant")
    for code, subjects in blocking.items():
        refusals.append(Refusal("blockingGap", code=code, subjects=tuple(sorted(set(subjects)))))
    changed = len(plan.changes) + len(plan.group_changes)  # a group write counts once: Entra does the rest
    if changed > max_changes:
        refusals.append(Refusal("maxChanges", limit=max_changes, planned=changed))
    removals = removal_count(plan.changes, plan.group_changes)
    if removals > max_removals:
        refusals.append(Refusal("maxRemovals", limit=max_removals, planned=removals))
    return tuple(refusals)


def removal_count(changes: Iterable[UserChange], group_changes: Iterable[GroupChange] = ()) -> int:
    """Users whose removals take a service plan away, or take a license beyond voice (policy.pruneAlso: always
    counted), or who lose a phone number the change unassigns; swaps and copies whose plans stay do not count. Every
    direct member of a group whose write removes a SKU or turns plans off counts too (each may lose them)."""
    users = sum(1 for change in changes if change.takes_plans or change.removes_beyond_voice or _frees_number(change))
    return users + sum(g.members for g in group_changes if g.remove_licenses or g.disables_plans)


def _frees_number(change: UserChange) -> bool:
    return any(number.action is NumberAction.UNASSIGN for number in change.number_changes)
