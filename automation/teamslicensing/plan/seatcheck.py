"""Seats, as the judgement holds changes to them: a change's new assignments must fit the SKU's free seats plus what
the kept removal-only changes free, after what group license writes take. The executor writes removal-only changes
first and everything that adds after, several batches at once: a seat freed by a change that also adds (a swap, a
restore) comes free no earlier than the adds beside it, so it is promised to nobody."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from teamslicensing.model.plan import Gap, GapCode, GroupChange, Severity, UserChange
from teamslicensing.model.tenant import Tenant, TenantUser


def within_seats(
    changes: list[UserChange],
    users: Mapping[str, TenantUser],
    tenant: Tenant,
    group_changes: Sequence[GroupChange],
) -> tuple[list[UserChange], list[tuple[UserChange, Gap]]]:
    """The changes whose new assignments fit, in the order given, and the others with their SEAT_SHORTAGE. A change
    left out frees nothing, so this repeats until nothing more is left out (each pass only removes: it ends)."""
    group_seats: Counter[str] = Counter()
    for group in group_changes:
        for sku_id, members in group.new_seats:
            group_seats[sku_id] += members
    kept = list(changes)
    short: list[tuple[UserChange, Gap]] = []
    while True:
        freed: Counter[str] = Counter()
        for change in kept:
            if not change.add_licenses:  # written before any add (the executor's first phase)
                freed.update(freed_by(change, users[change.user_id]))
        free = {sku.sku_id: max(sku.available + freed[sku.sku_id] - group_seats[sku.sku_id], 0) for sku in tenant.skus}
        taken: Counter[str] = Counter()
        out: set[str] = set()
        for change in kept:
            needs = new_seats(change, users[change.user_id])
            if all(taken[sku_id] < free.get(sku_id, 0) for sku_id in needs):
                taken.update(needs)
            else:
                out.add(change.user_id)
        if not out:
            return kept, short
        for change in kept:
            if change.user_id in out:
                needed = ", ".join(_part(tenant, s) for s in new_seats(change, users[change.user_id]))
                message = f"no seat left for {needed} once the other changes are made: the change is withheld"
                gap = Gap(
                    GapCode.SEAT_SHORTAGE, Severity.ERROR, change.user_principal_name, None, message, change.user_id
                )
                short.append((change, gap))
        kept = [change for change in kept if change.user_id not in out]


def new_seats(change: UserChange, user: TenantUser) -> list[str]:
    """The SKUs the change assigns that the user holds no seat of: an assignment in Error or Disabled holds none."""
    held = {a.sku_id for a in user.licenses if a.grants_plans}
    return [add.sku_id for add in change.add_licenses if add.sku_id not in held]


def freed_by(change: UserChange, user: TenantUser) -> list[str]:
    """The seats the change's removals free: a direct copy's, unless a group's working copy keeps the seat."""
    inherited = {a.sku_id for a in user.licenses if not a.is_direct and a.grants_plans}
    direct = {a.sku_id for a in user.licenses if a.is_direct and a.grants_plans}
    return [r.sku_id for r in change.remove_licenses if r.sku_id in direct and r.sku_id not in inherited]


def _part(tenant: Tenant, sku_id: str) -> str:
    sku = tenant.sku_by_id.get(sku_id)
    return sku.part_number if sku else sku_id
