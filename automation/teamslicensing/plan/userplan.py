"""Plan one user: from what the rules want and what the user holds to one safe change, plus the user's gaps.

Adds and prune removals first, then calling-plan swaps; then whatever would take a phone number, break a
Calling Plan or Credits dependency, or lack a usage location is withheld (and said why); then the end state is
judged at service-plan level. Pure; users alike in everything planning reads share one computed outcome.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from teamslicensing.model.capability import Capability
from teamslicensing.model.desired import DesiredState
from teamslicensing.model.plan import Gap, GapCode, LicenseAdd, LicenseRemove, Severity, UserChange
from teamslicensing.model.tenant import LicenseAssignment, TenantUser
from teamslicensing.plan.voicerules import (
    Holding,
    VoiceProfile,
    VoiceRules,
    calling_plan_without_phone_system,
    credits_without_prerequisite,
    loses_phone_number,
    number_capabilities_lost,
    unavailable_in,
)
from teamslicensing.reference.availability import CountryAvailability

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
_PRUNE = "prune"

Direct = Mapping[str, frozenset[str]]
Inherited = Mapping[str, LicenseAssignment]


class PlanContext(Protocol):
    """What the user planner reads of the whole-tenant planning: resolved licenses and rule facts."""

    desired: DesiredState
    availability: Mapping[str, CountryAvailability]
    voice: VoiceRules
    assignable: set[str]
    managed: frozenset[str]
    managed_by_name: list[str]
    unsafe_to_prune: set[str]
    phone_system_rules: set[int]
    group_names: dict[str, str]

    def part_number(self, sku_id: str) -> str: ...


@dataclass(frozen=True, slots=True)
class Want:
    """One SKU a user should hold, merged over every rule that selects them."""

    disabled: frozenset[str] | None  # None: no rule declares disabled plans for it
    order: int  # index of the first rule that assigns it (seat priority)


@dataclass
class Outcome:
    change: UserChange | None
    gaps: list[Gap]
    new_seats: tuple[str, ...] = ()  # SKUs this change assigns anew (each takes a seat)
    freed: tuple[str, ...] = ()  # SKUs this change removes (each frees a seat)


@dataclass
class _Draft:
    """A user's change while it is being trimmed down to what is safe."""

    adds: dict[str, frozenset[str]] = field(default_factory=dict)  # sku -> disabled plans to send
    removes: dict[str, str] = field(default_factory=dict)  # sku -> why: _PRUNE, or the sku swapped in for it
    gaps: list[Gap] = field(default_factory=list)


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
            self._skip_reason(user),
            denied,
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
        return Outcome(change, gaps, template.new_seats, template.freed)

    def _plan(self, user: TenantUser, denied: frozenset[str]) -> Outcome:
        selected = user.id in self.selected_by
        if not selected and self._kind(user.licenses) != "managed":
            return Outcome(None, self._report_only_gaps(user))
        wants = self.wants.get(user.id, {})
        direct = user.direct_licenses()
        inherited = user.inherited_licenses()
        draft = _Draft()
        self._desired_adds(user, wants, direct, inherited, denied, draft)
        if self.policy.prune:
            self._prune(user, wants, direct, inherited, draft)
        self._calling_plan_conflicts(user, wants, direct, inherited, draft)
        holding = _holding(user)
        destructive = self._protect(user, self.voice.profile(holding), direct, draft)
        skip = self._skip_reason(user) if draft.adds or draft.removes else None
        usage_location = self._usage_location(user, draft, required=skip is None)
        reported = {gap.code for gap in draft.gaps}
        if not draft.adds and not draft.removes:
            return Outcome(None, draft.gaps + self._state_gaps(user, holding, selected, reported))
        change = UserChange(
            user_id=user.id,
            user_principal_name=user.user_principal_name,
            set_usage_location=usage_location,
            add_licenses=tuple(
                LicenseAdd(sku, self.p.part_number(sku), tuple(sorted(draft.adds[sku])))
                for sku in sorted(draft.adds, key=self.p.part_number)
            ),
            remove_licenses=tuple(
                LicenseRemove(sku, self.p.part_number(sku)) for sku in sorted(draft.removes, key=self.p.part_number)
            ),
            rules=tuple(self.rules[i].name for i in self.selected_by.get(user.id, [])),
            destructive=destructive,
        )
        if skip is not None:
            code, why = skip
            message = f"{why}: not changed; the plan would have {_describe(change)}"
            return Outcome(None, [self._user_gap(user, code, INFO, None, message), *self._report_only_gaps(user)])
        end = _end_holding(user, draft)
        gaps = draft.gaps + self._state_gaps(user, end, selected, reported)
        gaps += self._availability_gaps(user, usage_location or user.usage_location, draft)
        new_seats = tuple(sku for sku in draft.adds if sku not in direct and sku not in inherited)
        freed = tuple(sku for sku in draft.removes if sku not in inherited)
        return Outcome(change, gaps, new_seats, freed)

    # ---- building the draft ------------------------------------------------------------------------------------

    def _desired_adds(
        self,
        user: TenantUser,
        wants: Mapping[str, Want],
        direct: Direct,
        inherited: Inherited,
        denied: frozenset[str],
        draft: _Draft,
    ) -> None:
        for sku_id, want in wants.items():
            if sku_id not in self.p.assignable:
                continue  # the subscription cannot hand out licenses: a tenant-wide gap says so once
            if sku_id in denied:
                message = "no seat left for this user: not assigned"
                draft.gaps.append(self._user_gap(user, GapCode.SEAT_SHORTAGE, ERROR, sku_id, message))
            elif sku_id in direct:
                if want.disabled is not None and want.disabled != direct[sku_id]:
                    draft.adds[sku_id] = want.disabled  # only the disabled plans change
            elif sku_id not in inherited:  # a license a group already gives needs no direct copy
                draft.adds[sku_id] = want.disabled if want.disabled is not None else frozenset()

    def _prune(
        self, user: TenantUser, wants: Mapping[str, Want], direct: Direct, inherited: Inherited, draft: _Draft
    ) -> None:
        # a stand-alone calling plan that conflicts with one being added goes only as the other half of that swap
        incoming = frozenset().union(
            *(self.voice.exclusive_calling_plans(s) for s in wants if s not in direct and s not in inherited)
        )
        for sku_id in self.p.managed_by_name:
            if sku_id in wants or sku_id in self.p.unsafe_to_prune:
                continue
            if sku_id in direct and incoming and self.voice.is_standalone_calling_plan(sku_id):
                held = self.voice.exclusive_calling_plans(sku_id, direct[sku_id])
                if held and not held <= incoming:
                    continue
            if sku_id in direct:
                draft.removes[sku_id] = _PRUNE
            if sku_id in inherited:  # held both ways too: the direct copy goes, the inherited one stays
                message = "no rule gives this user the license, but it comes from a group: remove them from the group"
                draft.gaps.append(self._user_gap(user, GapCode.INHERITED_LICENSE_NOT_REMOVED, WARNING, sku_id, message))

    def _calling_plan_conflicts(
        self, user: TenantUser, wants: Mapping[str, Want], direct: Direct, inherited: Inherited, draft: _Draft
    ) -> None:
        """Swap a stand-alone calling plan for the wanted one in one call; refuse anything else that conflicts."""
        adding = {
            sku: plans
            for sku, off in draft.adds.items()
            if sku not in direct and (plans := self.voice.exclusive_calling_plans(sku, off))
        }
        if not adding:
            return
        wanted_plans = frozenset().union(*adding.values())
        held_wanted = [sku for sku in wants if sku in direct or sku in inherited]
        for sku in held_wanted:
            wanted_plans |= self.voice.exclusive_calling_plans(sku, direct.get(sku, frozenset()))
        if len(wanted_plans) > 1:
            names = ", ".join(
                sorted(self.p.part_number(s) for s in wants if self.voice.exclusive_calling_plans(s, frozenset()))
            )
            message = (
                f"the rules give this user more than one calling plan ({names}); calling plans are mutually "
                "exclusive, so none is added"
            )
            self._drop_adds(user, draft, adding, GapCode.MUTUALLY_EXCLUSIVE_LICENSES, message)
            return
        swap_in = next(iter(adding))
        blockers = []
        for sku_id in sorted({*direct, *inherited}):
            held = self.voice.exclusive_calling_plans(sku_id, direct.get(sku_id, frozenset()))
            if not held or held <= wanted_plans or sku_id in draft.removes:
                continue
            swappable = (
                sku_id not in inherited
                and sku_id in self.p.managed
                and sku_id not in wants
                and self.voice.is_standalone_calling_plan(sku_id)
            )
            if swappable:
                draft.removes[sku_id] = swap_in  # removed in the same assignLicense, so the number stays
            else:
                blockers.append(sku_id)
        if blockers:
            how = ", ".join(
                f"{self.p.part_number(s)} ({self._why_not_swappable(s, wants, inherited)})"
                for s in sorted(blockers, key=self.p.part_number)
            )
            message = f"already holds calling plan {how}, which cannot be swapped: the new calling plan is not added"
            self._drop_adds(user, draft, adding, GapCode.MUTUALLY_EXCLUSIVE_LICENSES, message)

    def _why_not_swappable(self, sku_id: str, wants: Mapping[str, Want], inherited: Inherited) -> str:
        if sku_id in inherited:
            return "through a group"
        if not self.voice.is_standalone_calling_plan(sku_id):
            return "part of a bundle"
        if sku_id not in self.p.managed:
            return "not managed by this configuration"
        return "also given by a rule"

    def _drop_adds(self, user: TenantUser, draft: _Draft, skus: Iterable[str], code: GapCode, message: str) -> None:
        for sku_id in sorted(skus, key=self.p.part_number):
            if draft.adds.pop(sku_id, None) is not None:
                draft.gaps.append(self._user_gap(user, code, ERROR, sku_id, message))
            for removed, why in list(draft.removes.items()):
                if why == sku_id:  # the swap this add was part of goes with it
                    del draft.removes[removed]

    # ---- trimming to what is safe ------------------------------------------------------------------------------

    def _protect(self, user: TenantUser, before: VoiceProfile, direct: Direct, draft: _Draft) -> bool:
        """Withhold what would lose a number or break a dependency; True when a number loss remains planned."""
        while True:  # every pass drops part of the draft or returns, so this ends
            after = self.voice.profile(_end_holding(user, draft))
            if loses_phone_number(before, after) and not self.policy.allow_number_loss:
                withheld = self._withhold(draft, direct, number_capabilities_lost(before, after))
                names = ", ".join(self.p.part_number(s) for s in withheld)
                message = (
                    f"removing {names} would take the user's last phone-system or calling-plan service plan and "
                    "with it their phone number: withheld (policy.allowNumberLoss is false)"
                )
                sku = withheld[0] if len(withheld) == 1 else None
                draft.gaps.append(self._user_gap(user, GapCode.PHONE_NUMBER_AT_RISK, WARNING, sku, message))
            elif calling_plan_without_phone_system(after) and not calling_plan_without_phone_system(before):
                self._keep_dependency(
                    user,
                    draft,
                    direct,
                    Capability.CALLING_PLAN,
                    frozenset({Capability.PHONE_SYSTEM}),
                    GapCode.CALLING_PLAN_WITHOUT_PHONE_SYSTEM,
                    "a Calling Plan needs Phone System",
                )
            elif credits_without_prerequisite(after) and not credits_without_prerequisite(before):
                self._keep_dependency(
                    user,
                    draft,
                    direct,
                    Capability.COMMUNICATIONS_CREDITS,
                    frozenset({Capability.PHONE_SYSTEM, Capability.AUDIO_CONFERENCING}),
                    GapCode.CREDITS_WITHOUT_PREREQUISITE,
                    "Communications Credits need Audio Conferencing or Phone System",
                )
            elif loses_phone_number(before, after):
                message = (
                    "DESTRUCTIVE: this change takes the user's last phone-system or calling-plan service plan; "
                    "Teams unassigns their phone number (policy.allowNumberLoss is true)"
                )
                draft.gaps.append(self._user_gap(user, GapCode.PHONE_NUMBER_AT_RISK, WARNING, None, message))
                return True
            else:
                return False

    def _withhold(self, draft: _Draft, direct: Direct, capabilities: frozenset[Capability]) -> list[str]:
        """Drop removals and plan-disabling updates that take away any of `capabilities`."""
        withheld = []
        for sku_id in list(draft.removes):
            if self.voice.capabilities(sku_id, direct.get(sku_id, frozenset())) & capabilities:
                del draft.removes[sku_id]
                withheld.append(sku_id)
        for sku_id, off in list(draft.adds.items()):
            if sku_id in direct:
                lost = self.voice.capabilities(sku_id, direct[sku_id]) - self.voice.capabilities(sku_id, off)
                if lost & capabilities:
                    del draft.adds[sku_id]
                    withheld.append(sku_id)
        return withheld

    def _keep_dependency(
        self,
        user: TenantUser,
        draft: _Draft,
        direct: Direct,
        dependent: Capability,
        prerequisites: frozenset[Capability],
        code: GapCode,
        why: str,
    ) -> None:
        """Graph would refuse (or the user could not use) the dependent plan: drop its add, else keep its base."""
        adding = [sku for sku, off in draft.adds.items() if dependent in self.voice.capabilities(sku, off)]
        if adding:
            self._drop_adds(user, draft, adding, code, f"{why} and the user would have none: not added")
            return
        withheld = self._withhold(draft, direct, prerequisites)
        names = ", ".join(self.p.part_number(s) for s in withheld)
        message = f"{why}: removing {names} would leave it without one, so the removal is withheld"
        draft.gaps.append(self._user_gap(user, code, ERROR, None, message))

    def _usage_location(self, user: TenantUser, draft: _Draft, *, required: bool = True) -> str | None:
        if not draft.adds or user.usage_location:
            return None
        for order in self.selected_by.get(user.id, []):
            if self.rules[order].usage_location:
                return self.rules[order].usage_location
        if self.p.desired.default_usage_location:
            return self.p.desired.default_usage_location
        if not required:  # a user who is skipped anyway is reported as such, not as an error
            return None
        names = ", ".join(self.p.part_number(s) for s in sorted(draft.adds, key=self.p.part_number))
        message = (
            f"needs {names} but has no usage location and none is configured (defaults.usageLocation or the "
            "rule's usageLocation): nothing is changed for this user"
        )
        draft.gaps.append(self._user_gap(user, GapCode.USAGE_LOCATION_MISSING, ERROR, None, message))
        draft.adds.clear()
        draft.removes.clear()
        return None

    def _skip_reason(self, user: TenantUser) -> tuple[GapCode, str] | None:
        protected = self.policy.protected_users
        if user.user_principal_name.lower() in protected or user.id in protected:
            return GapCode.PROTECTED_USER_SKIPPED, "protected user (policy.protectedUsers)"
        if not user.account_enabled and not self.policy.include_disabled_accounts:
            return GapCode.DISABLED_ACCOUNT_SKIPPED, "account is disabled (policy.includeDisabledAccounts is false)"
        return None

    # ---- judging the end state ---------------------------------------------------------------------------------

    def _report_only_gaps(self, user: TenantUser) -> list[Gap]:
        """Gaps of a user nothing happens to (`plan` memoises them for users alike)."""
        return self._state_gaps(user, _holding(user), False, set())

    def _state_gaps(self, user: TenantUser, holding: Holding, selected: bool, reported: set[GapCode]) -> list[Gap]:
        gaps: list[Gap] = []

        def add(code: GapCode, severity: Severity, sku: str | None, message: str) -> None:
            if code not in reported:
                gaps.append(self._user_gap(user, code, severity, sku, message))

        for assignment in user.licenses:
            if assignment.error and (assignment.sku_id in self.p.managed or self.voice.voice_plans(assignment.sku_id)):
                group = assignment.assigned_by_group
                source = f"group '{self.p.group_names.get(group, group)}'" if group else "direct assignment"
                state = assignment.state or "Error"
                add(GapCode.GROUP_LICENSE_ERROR, ERROR, assignment.sku_id, f"{source}: {state}, {assignment.error}")
        profile = self.voice.profile(holding)
        if not profile.has_voice:
            return gaps
        if calling_plan_without_phone_system(profile):
            add(GapCode.CALLING_PLAN_WITHOUT_PHONE_SYSTEM, ERROR, None, "holds a Calling Plan but no Phone System plan")
        if credits_without_prerequisite(profile):
            message = "holds Communications Credits without Audio Conferencing or Phone System"
            add(GapCode.CREDITS_WITHOUT_PREREQUISITE, ERROR, None, message)
        if len(profile.exclusive_calling_plans) > 1:
            message = "holds more than one calling plan; they are mutually exclusive and only a stand-alone one swaps"
            add(GapCode.MUTUALLY_EXCLUSIVE_LICENSES, ERROR, None, message)
        if self._lacks_calling_plan(user, holding, profile, selected):
            message = (
                "has Phone System but no Calling Plan: no PSTN calls unless the rule sets voiceRouting: "
                "directRouting or operatorConnect"
            )
            add(GapCode.PHONE_SYSTEM_WITHOUT_CALLING_PLAN, WARNING, None, message)
        if selected and (profile.calling_plan or profile.audio_conferencing) and not profile.credits:
            message = (
                "has a Calling Plan or Audio Conferencing but no Communications Credits: calls past the included "
                "minutes and toll-free dial-in fail without them"
            )
            add(GapCode.CREDITS_RECOMMENDED, INFO, None, message)
        for sku_id, provider in self.voice.redundant_skus(holding):
            message = f"{self.p.part_number(provider)} already gives every voice plan of {self.p.part_number(sku_id)}"
            add(GapCode.REDUNDANT_LICENSE, INFO, sku_id, message)
        return gaps

    def _lacks_calling_plan(self, user: TenantUser, holding: Holding, profile: VoiceProfile, selected: bool) -> bool:
        """Phone System without a way to the PSTN; suites like E5 only count when a phone-system rule selects them."""
        if not profile.phone_system or profile.calling_plan or profile.resource_account_only:
            return False
        orders = self.selected_by.get(user.id, [])
        if any(self.rules[i].voice_routing != "callingPlan" for i in orders):
            return False
        # a conferencing-only rule says nothing; nor does any rule for a user it will not change (skipped)
        phone_rule = selected and any(i in self.p.phone_system_rules for i in orders)
        return phone_rule or any(
            self.voice.is_standalone_voice_sku(sku) and Capability.PHONE_SYSTEM in self.voice.capabilities(sku, off)
            for sku, off in holding.items()
        )

    def _availability_gaps(self, user: TenantUser, country: str | None, draft: _Draft) -> list[Gap]:
        gaps = []
        for sku_id in sorted(draft.adds, key=self.p.part_number):
            capabilities = self.voice.capabilities(sku_id, draft.adds[sku_id])
            for capability in unavailable_in(country, capabilities, self.p.availability, self.p.desired.availability):
                message = (
                    f"Microsoft's country table lists {capability.value} as not offered in {country}; planned anyway "
                    "(the table is dated: correct it under 'availability' if it is wrong)"
                )
                gaps.append(self._user_gap(user, GapCode.NOT_AVAILABLE_IN_USAGE_LOCATION, WARNING, sku_id, message))
        return gaps

    def _user_gap(self, user: TenantUser, code: GapCode, severity: Severity, sku_id: str | None, message: str) -> Gap:
        return Gap(code, severity, user.user_principal_name, self.p.part_number(sku_id) if sku_id else None, message)


def _holding(user: TenantUser) -> dict[str, frozenset[str]]:
    """SKU -> effectively disabled plans: a plan is on if any assignment of that SKU leaves it on."""
    holding: dict[str, frozenset[str]] = {}
    for assignment in user.licenses:
        if not assignment.grants_plans:
            continue
        previous = holding.get(assignment.sku_id)
        holding[assignment.sku_id] = (
            assignment.disabled_plans if previous is None else previous & assignment.disabled_plans
        )
    return holding


def _end_holding(user: TenantUser, draft: _Draft) -> dict[str, frozenset[str]]:
    """`_holding` once the draft is applied: the same rules, so an empty draft changes nothing."""
    end = dict(draft.adds)  # an add for a SKU held directly replaces that assignment's disabled plans
    for assignment in user.licenses:
        sku = assignment.sku_id
        if not assignment.grants_plans or (assignment.is_direct and (sku in draft.removes or sku in draft.adds)):
            continue
        end[sku] = end[sku] & assignment.disabled_plans if sku in end else assignment.disabled_plans
    return end


def _describe(change: UserChange) -> str:
    parts = []
    if change.set_usage_location:
        parts.append(f"set usage location {change.set_usage_location}")
    if change.add_licenses:
        parts.append("added " + ", ".join(a.sku_part_number for a in change.add_licenses))
    if change.remove_licenses:
        parts.append("removed " + ", ".join(r.sku_part_number for r in change.remove_licenses))
    return "; ".join(parts)
