"""Undo of a run's Teams writes (pure): the numbers it gave are freed if the same user still holds them; the
numbers it freed are given back if they are still free (or this undo frees them); the policies it assigned are
put back: the previous direct policy assigned again, or, where the user had none direct, the run's taken back.

Whatever someone changed since (a number now held by another user, a policy of the type assigned by hand) makes the
user STALE: the undo would overwrite their work. What is already as before is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from teamslicensing.model.outcome import RecordedPolicy, RecordedUser, RecordedVoice
from teamslicensing.model.tenant import Tenant, TenantUser, policy_key
from teamslicensing.model.voicechange import NumberAction, NumberChange, PolicyAction, PolicyChange

UNDO_SOURCE = "undo"


@dataclass(frozen=True)
class TeamsRestore:
    numbers: tuple[NumberChange, ...] = ()  # unassignments first (the executor frees before it gives)
    policies: tuple[PolicyChange, ...] = ()


@dataclass(frozen=True)
class Inventory:
    """Who holds each number now (None: free), and the numbers this undo frees (given back free in the same run)."""

    holders: Mapping[str, str | None]
    freed: frozenset[str]

    @classmethod
    def of(cls, tenant: Tenant, recorded: Iterable[RecordedUser]) -> Inventory | None:
        if tenant.numbers is None:
            return None
        holders: dict[str, str | None] = {n.number: None for n in tenant.free_numbers}
        holders.update({n.number: n.user_id for n in tenant.numbers})
        freed = frozenset(
            number
            for entry in recorded
            if entry.voice is not None
            for number, _ in entry.voice.assigned
            if holders.get(number) == entry.user_id
        )
        return cls(holders, freed)


def teams_restore(
    user: TenantUser, voice: RecordedVoice, tenant: Tenant, inventory: Inventory | None, licenses_back: bool
) -> TeamsRestore | str:
    """The Teams changes that put `user` back as before the run, or why they are STALE. `licenses_back`: the undo
    gives licenses back too, so a number it gives back waits for them."""
    numbers: list[NumberChange] = []
    if voice.assigned or voice.freed:
        if inventory is None:
            return "the Teams number inventory could not be read: the numbers the run changed are not restored"
        for number, kind in voice.assigned:
            holder = inventory.holders.get(number)
            if holder == user.id:
                numbers.append(NumberChange(NumberAction.UNASSIGN, number, kind, source=UNDO_SOURCE))
            elif holder is not None:
                return f"{number}, which the run gave, is held by someone else now: not restored over their change"
        for number, kind in voice.freed:
            holder = inventory.holders.get(number, "")
            if holder is None or number in inventory.freed:
                numbers.append(NumberChange(NumberAction.ASSIGN, number, kind, None, licenses_back, UNDO_SOURCE))
            elif holder != user.id:
                why = "is held by someone else now" if holder else "is no longer in the inventory"
                return f"{number}, which the run freed, {why}: not given back"
    policies = _policies(user, voice.policies, tenant)
    if isinstance(policies, str):
        return policies
    return TeamsRestore(tuple(numbers), policies)


def _policies(user: TenantUser, recorded: tuple[RecordedPolicy, ...], tenant: Tenant) -> tuple[PolicyChange, ...] | str:
    if not recorded:
        return ()
    if tenant.teams_users is None:
        return f"Teams user configurations could not be read ({tenant.teams_unavailable}): policies not restored"
    configuration = tenant.teams_users.get(user.id)
    changes = []
    for policy in recorded:
        current = configuration.policy(policy.policy_type) if configuration is not None else None
        direct = current.name if current is not None and current.assignment_type == "direct" else None
        if _same(policy.policy_type, direct, policy.before):
            continue  # already as before the run
        if not _same(policy.policy_type, direct, policy.after):
            return f"{policy.policy_type} was changed since the run (now {direct or 'none direct'}): not restored"
        if policy.before is None:
            changes.append(PolicyChange(PolicyAction.UNASSIGN, policy.policy_type, policy.after or "", UNDO_SOURCE))
        else:
            changes.append(PolicyChange(PolicyAction.ASSIGN, policy.policy_type, policy.before, UNDO_SOURCE))
    return tuple(changes)


def _same(policy_type: str, one: str | None, other: str | None) -> bool:
    if one is None or other is None:
        return one is other
    return policy_key(policy_type, one) == policy_key(policy_type, other)
