"""Plan the undo of an apply: restore each recorded user's direct licenses to what they were before, and their Teams
numbers and policies (`undovoice`) (pure).

A user whose licenses are no longer what the run left is STALE: someone changed them since, and restoring the old
state over theirs would undo their work too. Every restore then meets the judgement any change meets
(`judgement.judge`), exactly as `plan`'s own do: a restore that would take a phone number (judged with the Teams
number inventory when it was read: a user who holds no number loses none) is withheld unless `allow_number_loss`,
and one whose add needs a seat that the restores kept do not free is withheld (SEAT_SHORTAGE) instead of being sent
for Graph to refuse. Usage locations are not undone: a license may depend on the new one, and setting one rarely
hurts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from teamslicensing.model.outcome import STALE, RecordedUser, UserResult
from teamslicensing.model.plan import LicenseAdd, LicenseRemove, Plan, RemovalReason, Severity, UserChange
from teamslicensing.model.tenant import Tenant, TenantUser
from teamslicensing.plan.judgement import Safety, apply_refusals, judge
from teamslicensing.plan.undovoice import Inventory, teams_restore
from teamslicensing.plan.voicerules import VoiceRules

UNDO_RULE = "undo"  # the rule name undo changes carry


def plan_undo(recorded: Iterable[RecordedUser], tenant: Tenant, safety: Safety) -> tuple[Plan, tuple[UserResult, ...]]:
    """The restores of the users `recorded` names that still hold what the run left them, as judged; and STALE
    results for the others."""
    recorded = list(recorded)
    users = {user.id: user for user in tenant.users}
    voice = VoiceRules(tenant.sku_by_id)
    inventory = Inventory.of(tenant, recorded)
    proposed: list[UserChange] = []
    stale: list[UserResult] = []
    for entry in sorted(recorded, key=lambda r: r.user_principal_name.lower()):
        user = users.get(entry.user_id)
        restored = _restored(entry, user, tenant, inventory) if user is not None else "the user no longer exists"
        if isinstance(restored, str):
            stale.append(UserResult(entry.user_id, entry.user_principal_name, STALE, restored))
        elif restored is not None:
            proposed.append(restored)
    judged = judge(proposed, tenant, safety, voice=voice)
    # a restore held back leaves the run not undone for that user: an error, whatever the gap is in a plan
    gaps = tuple(dataclasses.replace(gap, severity=Severity.ERROR) for gap in judged.gaps)
    plan = Plan(judged.changes, gaps, ())
    refusals = apply_refusals(plan, safety.max_changes, safety.max_removals)
    return dataclasses.replace(plan, refusals=refusals), tuple(stale)


def _restored(
    entry: RecordedUser, user: TenantUser, tenant: Tenant, inventory: Inventory | None
) -> UserChange | str | None:
    """The user's restore (None: already as before the run), or why they are STALE."""
    change = None
    if entry.wrote_licenses:
        now = _lower(user.direct_licenses())
        possible = _lower(entry.possible_after) if entry.possible_after is not None else None
        if now != _lower(entry.before) and now != _lower(entry.after) and now != possible:
            return "licenses changed since the audited run: not restored over someone else's change"
        if now != _lower(entry.before):  # else already as before (an earlier undo, or restored by hand)
            change = _restore(user, entry, tenant)
    if entry.voice is None:
        return change
    teams = teams_restore(user, entry.voice, tenant, inventory, bool(change and change.add_licenses))
    if isinstance(teams, str):
        return teams
    if not (teams.numbers or teams.policies):
        return change
    base = change or UserChange(user.id, user.user_principal_name, None, (), (), (UNDO_RULE,), destructive=False)
    return dataclasses.replace(base, number_changes=teams.numbers, policy_changes=teams.policies)


def _restore(user: TenantUser, entry: RecordedUser, tenant: Tenant) -> UserChange | None:
    """The change that puts the user's direct licenses back as they were before the run; its number-loss flags
    are the judgement's to set."""
    now = _lower(user.direct_licenses())
    before = _lower(entry.before)
    adds = {sku: off for sku, off in before.items() if now.get(sku) != off}
    removes = [sku for sku in now if sku not in before]
    if not adds and not removes:
        return None

    def part(sku: str) -> str:
        found = tenant.sku_by_id.get(sku)
        return found.part_number if found else sku

    return UserChange(
        user_id=user.id,
        user_principal_name=user.user_principal_name,
        set_usage_location=None,
        add_licenses=tuple(LicenseAdd(sku, part(sku), tuple(sorted(adds[sku]))) for sku in sorted(adds, key=part)),
        remove_licenses=tuple(LicenseRemove(sku, part(sku), RemovalReason.UNDO) for sku in sorted(removes, key=part)),
        rules=(UNDO_RULE,),
        destructive=False,
    )


def _lower(state: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    return {sku.lower(): frozenset(p.lower() for p in off) for sku, off in state.items()}
