"""Stage 4 of planning: one user's safe change and gaps, from what the rules want and what the user holds.

The user is seen once (`UserView`); then each step returns the next `Draft`: 4a the draft (`draft`: adds, prune,
migrations, swaps, covered, redundant, Teams), 4b safety (`safety`: pending group copies, numbers and dependencies,
usage location), 4c the end state's gaps (`judge`). Pure; users alike in everything planning reads share one
computed outcome.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from teamslicensing.model.plan import LicenseAdd, LicenseRemove, RemovalReason, UserChange
from teamslicensing.model.tenant import LicenseAssignment, TenantUser
from teamslicensing.plan import draft as drafting
from teamslicensing.plan import safety
from teamslicensing.plan.context import INFO, Draft, Outcome, Skip, UserView, end_holding, holding_of, user_gap
from teamslicensing.plan.facts import PlanFacts, skip_reason
from teamslicensing.plan.judge import availability_gaps, report_only_gaps, state_gaps
from teamslicensing.plan.wanted import Wanted

__all__ = ["UserPlanner"]

# stage 4a, in order: each takes the user and the draft so far and returns the next draft
DRAFT_STEPS: tuple[Callable[[UserView, Draft], Draft], ...] = (
    drafting.desired_adds,
    drafting.prune,
    drafting.migrate,
    drafting.calling_plan_conflicts,
    drafting.resource_account_conflicts,
    drafting.skip_covered,
    drafting.remove_redundant,
    drafting.require_teams,
    safety.wait_for_pending,
)


class UserPlanner:
    """Plans one user at a time (`plan`); `denied` names SKUs the seat count could not give them. What it keeps
    is a cache: outcomes by everything planning reads of a user, and what kind of user a license list makes."""

    def __init__(self, facts: PlanFacts, wanted: Wanted) -> None:
        self.facts = facts
        self.wanted = wanted
        self._memo: dict[tuple[object, ...], Outcome] = {}
        self._location_attributes = facts.desired.usage_location_attributes  # part of what planning reads
        self._kinds: dict[tuple[LicenseAssignment, ...], str] = {}

    def _kind(self, licenses: tuple[LicenseAssignment, ...]) -> str:
        """What an unselected user with these licenses can come to: "managed" (prune may remove something),
        "report" (a voice plan or an assignment error to judge) or "inert". Memoised: users share a few lists."""
        kind = self._kinds.get(licenses)
        if kind is None:
            if not self.facts.managed.isdisjoint(a.sku_id for a in licenses):
                kind = "managed"
            elif any(a.error or self.facts.voice.voice_plans(a.sku_id) for a in licenses):
                kind = "report"
            else:
                kind = "inert"
            self._kinds[licenses] = kind
        return kind

    def may_matter(self, user: TenantUser) -> bool:
        """Whether a user can change or have a gap: selected, or holding licenses worth judging (most of a tenant
        holds none of those)."""
        return user.id in self.wanted.selected_by or (bool(user.licenses) and self._kind(user.licenses) != "inert")

    def plan(self, user: TenantUser, denied: frozenset[str]) -> Outcome:
        """Users alike in everything planning reads get alike outcomes: plan one, restamp it for the others."""
        facts = self.facts
        orders = self.wanted.selected_by.get(user.id, ())
        skip = skip_reason(facts, user)
        key = (
            user.licenses,
            orders,
            user.usage_location,
            skip,
            denied,
            tuple(user.attributes.get(name) for name in self._location_attributes),
            None if facts.numbers is None else facts.numbers.get(user.id, ()),
            facts.migrations.get(user.id),
            sure.licenses if (sure := facts.sure_users.get(user.id)) is not None else None,
        )
        template = self._memo.get(key)
        if template is None:
            template = self._memo[key] = self._plan(user, orders, skip, denied)
            return template
        upn, user_id = user.user_principal_name, user.id
        change = template.change
        if change is not None:
            change = dataclasses.replace(change, user_id=user_id, user_principal_name=upn)
        gaps = tuple(dataclasses.replace(g, user_principal_name=upn, user_id=user_id) for g in template.gaps)
        return dataclasses.replace(template, change=change, gaps=gaps)

    def _plan(self, user: TenantUser, orders: tuple[int, ...], skip: Skip | None, denied: frozenset[str]) -> Outcome:
        facts = self.facts
        if not orders and self._kind(user.licenses) != "managed":
            return Outcome(None, tuple(report_only_gaps(facts, user, orders)))
        u = UserView(
            facts=facts,
            user=user,
            wants=self.wanted.wants.get(user.id, {}),
            orders=orders,
            skip=skip,
            denied=denied,
            direct=user.direct_licenses(),
            inherited=user.inherited_licenses(),
            sure=facts.sure_users.get(user.id, user),  # removals are judged on what is held for sure
        )
        draft = Draft()
        for step in DRAFT_STEPS:
            draft = step(u, draft)
        draft, numbers_taken = safety.protect(u, draft)
        draft, usage_location = safety.usage_location(u, draft)
        reported = {gap.code for gap in draft.gaps}
        if draft.is_empty:
            gaps = draft.gaps + tuple(state_gaps(facts, user, orders, holding_of(user), u.selected, reported))
            return Outcome(None, gaps, withheld=draft.withheld, skip=u.skip)
        change = _change(u, draft, usage_location, numbers_taken)
        if u.skip is not None:
            code, why = u.skip
            message = f"{why}: not changed; the plan would have {_describe(change)}"
            gaps = (user_gap(facts, user, code, INFO, None, message), *report_only_gaps(facts, user, orders))
            return Outcome(None, gaps, skip=u.skip)
        end = end_holding(user, draft)
        gaps = draft.gaps + tuple(state_gaps(facts, user, orders, end, u.selected, reported))
        gaps += tuple(availability_gaps(facts, user, usage_location or user.usage_location, draft))
        new_seats = tuple(sku for sku in draft.adds if sku not in u.direct and sku not in u.inherited)
        freed = tuple(sku for sku in draft.removes if sku not in u.inherited)
        return Outcome(change, gaps, new_seats, freed, draft.withheld)


def _change(u: UserView, draft: Draft, usage_location: str | None, numbers_taken: tuple[str, ...] | None) -> UserChange:
    part = u.facts.part_number
    voice = u.facts.voice
    return UserChange(
        user_id=u.user.id,
        user_principal_name=u.user.user_principal_name,
        set_usage_location=usage_location,
        add_licenses=tuple(
            LicenseAdd(sku, part(sku), tuple(sorted(draft.adds[sku]))) for sku in sorted(draft.adds, key=part)
        ),
        remove_licenses=tuple(
            LicenseRemove(sku, part(sku), _reason(draft.removes[sku])) for sku in sorted(draft.removes, key=part)
        ),
        rules=tuple(u.facts.desired.rules[i].name for i in u.orders),
        destructive=numbers_taken is not None,
        phone_numbers=numbers_taken or (),
        takes_plans=bool(draft.removes) and bool(voice.lost_plans(holding_of(u.sure), end_holding(u.sure, draft))),
    )


_REASONS = {reason.value: reason for reason in RemovalReason}


def _reason(why: str) -> RemovalReason:
    """A draft's why (PRUNE, MIGRATE...; a swap records the SKU swapped in) as the change's removal reason."""
    return _REASONS.get(why, RemovalReason.SWAP)


def _describe(change: UserChange) -> str:
    parts = []
    if change.set_usage_location:
        parts.append(f"set usage location {change.set_usage_location}")
    if change.add_licenses:
        parts.append("added " + ", ".join(a.sku_part_number for a in change.add_licenses))
    if change.remove_licenses:
        parts.append("removed " + ", ".join(r.sku_part_number for r in change.remove_licenses))
    return "; ".join(parts)
