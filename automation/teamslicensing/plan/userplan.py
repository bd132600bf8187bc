"""Plan one user: from what the rules want and what the user holds to one safe change, plus the user's gaps.

The stages, each a module of plain functions over a `context.PlanContext`: `draft` (adds, prune removals,
calling-plan swaps), `safety` (withhold what would lose a number, break a dependency or lack a usage location),
`judge` (the end state's gaps). Pure; users alike in everything planning reads share one computed outcome.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from teamslicensing.model.plan import Gap, GapCode, LicenseAdd, LicenseRemove, RemovalReason, UserChange
from teamslicensing.model.tenant import LicenseAssignment, TenantUser
from teamslicensing.plan.context import (
    INFO,
    MIGRATE,
    Draft,
    Outcome,
    PlanContext,
    Want,
    end_holding,
    holding_of,
    user_gap,
)
from teamslicensing.plan.draft import (
    calling_plan_conflicts,
    desired_adds,
    prune,
    remove_redundant,
    resource_account_conflicts,
    skip_covered,
)
from teamslicensing.plan.judge import availability_gaps, report_only_gaps, state_gaps
from teamslicensing.plan.safety import protect, require_teams, skip_reason
from teamslicensing.plan.safety import usage_location as safe_usage_location

__all__ = ["UserPlanner"]


class UserPlanner:
    """Plans one user at a time; `denied` names SKUs the seat count could not give them."""

    def __init__(
        self, planner: PlanContext, wants: Mapping[str, Mapping[str, Want]], selected_by: Mapping[str, list[int]]
    ) -> None:
        self.p = planner
        self.voice = planner.voice
        self.policy = planner.desired.policy
        self.rules = planner.desired.rules
        self.wants = wants
        self.selected_by = selected_by
        self._memo: dict[tuple[object, ...], Outcome] = {}
        self._location_attributes = planner.desired.usage_location_attributes  # part of what planning reads
        self._kinds: dict[tuple[LicenseAssignment, ...], str] = {}

    def _kind(self, licenses: tuple[LicenseAssignment, ...]) -> str:
        """What an unselected user with these licenses can come to: "managed" (prune may remove something),
        "report" (a voice plan or an assignment error to judge) or "inert". Memoised: users share a few lists."""
        kind = self._kinds.get(licenses)
        if kind is None:
            if not self.p.managed.isdisjoint(a.sku_id for a in licenses):
                kind = "managed"
            elif any(a.error or self.voice.voice_plans(a.sku_id) for a in licenses):
                kind = "report"
            else:
                kind = "inert"
            self._kinds[licenses] = kind
        return kind

    def may_matter(self, licenses: tuple[LicenseAssignment, ...]) -> bool:
        """Whether an unselected user with these licenses can change or have a gap; most of a tenant cannot."""
        return bool(licenses) and self._kind(licenses) != "inert"

    def plan(self, user: TenantUser, denied: frozenset[str]) -> Outcome:
        """Users alike in everything planning reads get alike outcomes: plan one, restamp it for the others."""
        key = (
            user.licenses,
            tuple(self.selected_by.get(user.id, ())),
            user.usage_location,
            skip_reason(self.p, user),
            denied,
            tuple(user.attributes.get(name) for name in self._location_attributes),
            None if self.p.numbers is None else self.p.numbers.get(user.id, ()),
            self.p.migrations.get(user.id),
            sure.licenses if (sure := self.p.sure_users.get(user.id)) is not None else None,
        )
        template = self._memo.get(key)
        if template is None:
            template = self._memo[key] = self._plan(user, denied)
            return template
        upn = user.user_principal_name
        change = template.change
        if change is not None:
            change = dataclasses.replace(change, user_id=user.id, user_principal_name=upn)
        gaps = [Gap(g.code, g.severity, upn, g.sku_part_number, g.message) for g in template.gaps]
        return Outcome(change, gaps, template.new_seats, template.freed, template.withheld, template.skipped)

    def _plan(self, user: TenantUser, denied: frozenset[str]) -> Outcome:
        selected = user.id in self.selected_by
        if not selected and self._kind(user.licenses) != "managed":
            return Outcome(None, report_only_gaps(self.p, user, self._orders(user)))
        wants = self.wants.get(user.id, {})
        direct = user.direct_licenses()
        inherited = user.inherited_licenses()
        draft = Draft()
        desired_adds(self.p, user, wants, direct, inherited, denied, draft)
        if self.policy.prune:
            prune(self.p, user, wants, direct, inherited, draft)
        for sku_id in sorted(self.p.migrations.get(user.id, ())):
            if sku_id in direct and skip_reason(self.p, user) is None:
                draft.removes.setdefault(sku_id, MIGRATE)  # the group's Active copy keeps every plan
        calling_plan_conflicts(self.p, user, wants, direct, inherited, draft)
        resource_account_conflicts(self.p, user, wants, direct, inherited, draft)
        if skip_reason(self.p, user) is None:  # a skipped user is reported as skipped, not for what was not done
            skip_covered(self.p, user, direct, inherited, draft)
            remove_redundant(self.p, user, wants, direct, inherited, draft)
            require_teams(self.p, user, draft)
        holding = holding_of(user)
        sure = self.p.sure_users.get(user.id, user)  # removals are judged on what is held for sure, not pending
        if sure is not user:
            _wait_for_pending(self.p, user, sure, draft)
        numbers_taken = protect(self.p, sure, holding_of(sure), direct, draft)
        skip = skip_reason(self.p, user) if draft.adds or draft.removes else None
        usage_location = safe_usage_location(self.p, user, self._orders(user), draft, required=skip is None)
        reported = {gap.code for gap in draft.gaps}
        if not draft.adds and not draft.removes:
            gaps = draft.gaps + state_gaps(self.p, user, self._orders(user), holding, selected, reported)
            return Outcome(None, gaps, withheld=draft.withheld)
        change = UserChange(
            user_id=user.id,
            user_principal_name=user.user_principal_name,
            set_usage_location=usage_location,
            add_licenses=tuple(
                LicenseAdd(sku, self.p.part_number(sku), tuple(sorted(draft.adds[sku])))
                for sku in sorted(draft.adds, key=self.p.part_number)
            ),
            remove_licenses=tuple(
                LicenseRemove(sku, self.p.part_number(sku), _reason(draft.removes[sku]))
                for sku in sorted(draft.removes, key=self.p.part_number)
            ),
            rules=tuple(self.rules[i].name for i in self.selected_by.get(user.id, [])),
            destructive=numbers_taken is not None,
            phone_numbers=numbers_taken or (),
            takes_plans=bool(draft.removes) and bool(self.voice.lost_plans(holding_of(sure), end_holding(sure, draft))),
        )
        if skip is not None:
            code, why = skip
            message = f"{why}: not changed; the plan would have {_describe(change)}"
            return Outcome(
                None,
                [
                    user_gap(self.p, user, code, INFO, None, message),
                    *report_only_gaps(self.p, user, self._orders(user)),
                ],
                skipped=True,
            )
        end = end_holding(user, draft)
        gaps = draft.gaps + state_gaps(self.p, user, self._orders(user), end, selected, reported)
        gaps += availability_gaps(self.p, user, usage_location or user.usage_location, draft)
        new_seats = tuple(sku for sku in draft.adds if sku not in direct and sku not in inherited)
        freed = tuple(sku for sku in draft.removes if sku not in inherited)
        return Outcome(change, gaps, new_seats, freed, draft.withheld)

    def _orders(self, user: TenantUser) -> Sequence[int]:
        return self.selected_by.get(user.id, [])


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


def _wait_for_pending(ctx: PlanContext, user: TenantUser, sure: TenantUser, draft: Draft) -> None:
    """A direct copy whose plans only a group copy Entra has not processed yet would keep stays for now: the
    removal waits (MIGRATION_WAITING) and the next run makes it once the group's copy is there."""
    lost = ctx.voice.lost_plans(holding_of(sure), end_holding(sure, draft))
    if not lost:
        return
    for sku_id in list(draft.removes):
        plans = ctx.voice.plan_ids(sku_id) - sure.direct_licenses().get(sku_id, frozenset())
        if plans & lost:
            del draft.removes[sku_id]
            draft.withheld = True
            message = (
                "the direct copy stays until the group copy that is to replace it is Active: without it, removing "
                "this one would take service plans away meanwhile; the next run goes on"
            )
            draft.gaps.append(user_gap(ctx, user, GapCode.MIGRATION_WAITING, INFO, sku_id, message))
