"""The group part of a finished plan: group changes beside the users', usage locations set before Entra licenses
members, and seats counted with what the group writes take. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from teamslicensing.model.plan import Gap, GapCode, Plan, Severity, UserChange
from teamslicensing.model.tenant import Tenant, TenantUser
from teamslicensing.model.words import counted
from teamslicensing.plan.grouplicensing import GroupPlanning


def with_group_changes(
    plan: Plan, groups: GroupPlanning, users_by_id: Mapping[str, TenantUser], tenant: Tenant
) -> Plan:
    if not groups.changes and not groups.usage_locations:
        return plan
    changes = {change.user_id: change for change in plan.changes}
    for user_id, location in groups.usage_locations.items():
        change = changes.get(user_id)
        if change is None:
            user = users_by_id[user_id]
            changes[user_id] = UserChange(user_id, user.user_principal_name, location, (), (), (), False)
        elif change.set_usage_location is None:
            changes[user_id] = dataclasses.replace(change, set_usage_location=location)
    ordered = sorted(changes.values(), key=lambda c: (c.user_principal_name.lower(), c.user_id))
    gaps = list(plan.gaps)
    seats = plan.seats  # the planner counted what the group writes take
    taken: dict[str, int] = {}  # seats the groups before this one take first (Entra serves them one by one)
    for group_change in groups.changes:
        for sku_id, count in group_change.new_seats:
            line = next((s for s in seats if s.sku_id == sku_id), None)
            free = (line.available if line is not None else 0) - taken.get(sku_id, 0)
            taken[sku_id] = taken.get(sku_id, 0) + count
            if count > free:
                part = tenant.sku_by_id[sku_id].part_number if sku_id in tenant.sku_by_id else sku_id
                free = max(free, 0)
                message = (
                    f"group '{group_change.group_name}' will license {counted(count, 'member')} with {part}, with "
                    f"{counted(free, 'seat')} free: the group write still goes (it cannot be partial) and Entra "
                    f"leaves {counted(count - free, 'member')} in CountViolation until seats are bought"
                )
                gaps.append(Gap(GapCode.SEAT_SHORTAGE, Severity.ERROR, None, part, message, None, sku_id))
    gaps.sort(key=Gap.sort_key)
    return dataclasses.replace(plan, changes=tuple(ordered), gaps=tuple(gaps), group_changes=tuple(groups.changes))
