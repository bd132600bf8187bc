"""Plan the undo of an apply: restore each recorded user's direct licenses to what they were before (pure).

A user whose licenses are no longer what the run left is STALE: someone changed them since, and restoring the old
state over theirs would undo their work too. Removals that take a user's last Phone System, Calling Plan or
resource-account plan (and with it the phone number) are withheld unless `allow_number_loss`, as in `plan`.
Usage locations are not undone: a license may depend on the new one, and setting one rarely hurts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from teamslicensing.model.capability import Capability
from teamslicensing.model.outcome import STALE, RecordedUser, UserResult
from teamslicensing.model.plan import Gap, GapCode, LicenseAdd, LicenseRemove, Plan, Severity, UserChange
from teamslicensing.model.tenant import Tenant, TenantUser
from teamslicensing.plan.voicerules import VoiceRules

NUMBER_CAPABILITIES = frozenset({Capability.PHONE_SYSTEM, Capability.CALLING_PLAN, Capability.RESOURCE_ACCOUNT})
UNDO_RULE = "undo"  # the rule name undo changes carry


def plan_undo(
    recorded: Iterable[RecordedUser], tenant: Tenant, *, allow_number_loss: bool = False
) -> tuple[Plan, tuple[UserResult, ...]]:
    users = {user.id: user for user in tenant.users}
    voice = VoiceRules(tenant.sku_by_id)
    changes: list[UserChange] = []
    gaps: list[Gap] = []
    stale: list[UserResult] = []
    for entry in sorted(recorded, key=lambda r: r.user_principal_name.lower()):
        user = users.get(entry.user_id)
        if user is None:
            stale.append(UserResult(entry.user_id, entry.user_principal_name, STALE, "the user no longer exists"))
            continue
        now = user.direct_licenses()
        if _lower(now) == _lower(entry.before):
            continue  # already as before the run (an earlier undo, or someone restored it by hand)
        possible = _lower(entry.possible_after) if entry.possible_after is not None else None
        if _lower(now) != _lower(entry.after) and _lower(now) != possible:
            why = "licenses changed since the audited run: not restored over someone else's change"
            stale.append(UserResult(entry.user_id, entry.user_principal_name, STALE, why))
            continue
        change = _restore(user, entry, tenant, voice)
        if change is None:
            continue
        if change.destructive and not allow_number_loss:
            message = (
                "restoring the earlier licenses would take the user's last "
                + " and ".join(sorted(c.value for c in _lost(user, entry, voice)))
                + " plan, and the phone number with it: withheld (pass --allow-number-loss to restore anyway)"
            )
            gaps.append(Gap(GapCode.PHONE_NUMBER_AT_RISK, Severity.ERROR, user.user_principal_name, None, message))
            continue
        changes.append(change)
    return Plan(tuple(changes), tuple(gaps), ()), tuple(stale)


def _restore(user: TenantUser, entry: RecordedUser, tenant: Tenant, voice: VoiceRules) -> UserChange | None:
    now = _lower(user.direct_licenses())
    before = _lower(entry.before)
    adds = {sku: off for sku, off in before.items() if now.get(sku) != off}
    removes = [sku for sku in now if sku not in before]
    if not adds and not removes:
        return None

    def part(sku: str) -> str:
        found = tenant.sku_by_id.get(sku)
        return found.part_number if found else sku

    lost = _lost(user, entry, voice)
    start, end = _holdings(user, entry)
    return UserChange(
        user_id=user.id,
        user_principal_name=user.user_principal_name,
        set_usage_location=None,
        add_licenses=tuple(LicenseAdd(sku, part(sku), tuple(sorted(adds[sku]))) for sku in sorted(adds, key=part)),
        remove_licenses=tuple(LicenseRemove(sku, part(sku)) for sku in sorted(removes, key=part)),
        rules=(UNDO_RULE,),
        destructive=bool(lost),
        takes_plans=bool(removes) and bool(voice.lost_plans(start, end)),
    )


def _holdings(user: TenantUser, entry: RecordedUser) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """The user's effective holding now and once restored: inherited assignments stay in both."""
    inherited: dict[str, frozenset[str]] = {}
    for assignment in user.licenses:
        if assignment.assigned_by_group is not None and assignment.grants_plans:
            previous = inherited.get(assignment.sku_id)
            off = assignment.disabled_plans
            inherited[assignment.sku_id] = off if previous is None else previous & off

    def merged(direct: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        holding = dict(inherited)
        for sku, off in direct.items():
            holding[sku] = holding[sku] & off if sku in holding else off
        return holding

    active_direct = {
        a.sku_id: a.disabled_plans for a in user.licenses if a.assigned_by_group is None and a.grants_plans
    }
    return merged(active_direct), merged(_lower(entry.before))


def _lost(user: TenantUser, entry: RecordedUser, voice: VoiceRules) -> frozenset[Capability]:
    start, end = _holdings(user, entry)

    def capabilities(holding: Mapping[str, frozenset[str]]) -> frozenset[Capability]:
        return frozenset(c for sku, off in holding.items() for c in voice.capabilities(sku, off))

    return (capabilities(start) - capabilities(end)) & NUMBER_CAPABILITIES


def _lower(state: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    return {sku.lower(): frozenset(p.lower() for p in off) for sku, off in state.items()}
