"""The planner: desired state + observed tenant -> `Plan`. Pure: no I/O, clock, environment or globals.

Stages, in order:
1. resolve the licenses rules assign against the tenant's subscriptions (tenant-wide gaps);
2. resolve each rule's selection to user ids (groups transitively, users, attribute indexes);
3. plan every user on their own (`_UserPlanner`): adds, prune removals, calling-plan swaps, then withhold what
   would take a phone number, break a dependency or lack a usage location, then judge the end state;
4. hand out seats per SKU in rule order then userPrincipalName, re-planning users left without one until stable.
"""

from __future__ import annotations

import dataclasses
import gc
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from teamslicensing.availability import CountryAvailability
from teamslicensing.catalog import Capability
from teamslicensing.config import DesiredRule, DesiredState, LicenseRef, UserSelector
from teamslicensing.errors import InputError, Problem
from teamslicensing.plan import Gap, GapCode, LicenseAdd, LicenseRemove, Plan, SeatLine, Severity, UserChange
from teamslicensing.rules import (
    Holding,
    VoiceProfile,
    VoiceRules,
    calling_plan_without_phone_system,
    credits_without_prerequisite,
    loses_phone_number,
    number_capabilities_lost,
    unavailable_in,
)
from teamslicensing.tenant import LicenseAssignment, Tenant, TenantSku, TenantUser

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
_PRUNE = "prune"

Direct = Mapping[str, frozenset[str]]
Inherited = Mapping[str, LicenseAssignment]


class PlanInputError(InputError):
    """The configuration names something the tenant's own data contradicts (e.g. a plan a SKU lacks)."""

    kind = "configuration for this tenant"


@dataclass(frozen=True, slots=True)
class Want:
    """One SKU a user should hold, merged over every rule that selects them."""

    disabled: frozenset[str] | None  # None: no rule declares disabled plans for it
    order: int  # index of the first rule that assigns it (seat priority)


@dataclass
class _Outcome:
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


def plan(desired: DesiredState, tenant: Tenant, availability: Mapping[str, CountryAvailability] | None = None) -> Plan:
    """Compute the plan that brings `tenant` to `desired`, with every gap and the seat count."""
    paused = gc.isenabled()
    gc.disable()  # everything built here is acyclic; the collector's passes would walk the whole tenant
    try:
        return _Planner(desired, tenant, availability or {}).run()
    finally:
        if paused:
            gc.enable()


class _Planner:
    def __init__(self, desired: DesiredState, tenant: Tenant, availability: Mapping[str, CountryAvailability]) -> None:
        self.desired = desired
        self.tenant = tenant
        self.availability = availability
        self.voice = VoiceRules(tenant.sku_by_id)
        self.gaps: list[Gap] = []
        self.sku_of: dict[LicenseRef, TenantSku] = {}
        self.assignable: set[str] = set()
        self.managed: frozenset[str] = frozenset()
        self.managed_by_name: list[str] = []
        self.unsafe_to_prune: set[str] = set()
        self.phone_system_rules: set[int] = set()  # rules that assign a SKU carrying Phone System
        self.users_by_id = {user.id: user for user in tenant.users}
        self.group_names = {group.id: group.display_name for group in tenant.groups}

    def run(self) -> Plan:
        self._resolve_licenses()
        wants, selected_by = self._select()
        user_planner = _UserPlanner(self, wants, selected_by)
        relevant = [u for u in self.tenant.users if u.id in selected_by or user_planner.may_matter(u.licenses)]
        users = sorted(relevant, key=lambda u: (u.user_principal_name.lower(), u.id))
        outcomes = {user.id: user_planner.plan(user, frozenset()) for user in users}
        denied, requested, freed = self._allocate_seats(outcomes, wants, user_planner)
        return self._assemble(users, outcomes, denied, requested, freed)

    # ---- stage 1: licenses -------------------------------------------------------------------------------------

    def _resolve_licenses(self) -> None:
        by_part_number = {sku.part_number.lower(): sku for sku in self.tenant.skus}
        for ref in self.desired.managed_licenses:
            sku = self.tenant.sku_by_id.get(ref.ref) if ref.is_guid else by_part_number.get(ref.ref.lower())
            if sku is None:  # a part number Microsoft renamed: fall back on the catalogue's ids
                sku = next((self.tenant.sku_by_id[i] for i in ref.sku_ids if i in self.tenant.sku_by_id), None)
            if sku is None:
                self._missing_sku(ref)
                continue
            self.sku_of[ref] = sku
            if sku.applies_to.lower() != "user":
                message = f"{sku.part_number} applies to '{sku.applies_to}', not to users: it cannot be assigned"
                self._tenant_gap(GapCode.SKU_NOT_IN_TENANT, ERROR, sku.part_number, message)
            elif not sku.is_active:
                message = f"the {sku.part_number} subscription is {sku.capability_status}: nothing is assigned from it"
                self._tenant_gap(GapCode.SUBSCRIPTION_NOT_ACTIVE, ERROR, sku.part_number, message)
                if Capability.COMMUNICATIONS_CREDITS in sku.capabilities:
                    self._missing_sku(ref)  # a lapsed Credits subscription is as good as none
            else:
                if sku.capability_status == "Warning":
                    message = f"the {sku.part_number} subscription is in its Warning (grace) period: renew it"
                    self._tenant_gap(GapCode.SUBSCRIPTION_NOT_ACTIVE, WARNING, sku.part_number, message)
                self.assignable.add(sku.sku_id)
        self.managed = frozenset(sku.sku_id for sku in self.sku_of.values())
        self.managed_by_name = sorted(self.managed, key=self.part_number)  # prune's order, sorted once

    def _missing_sku(self, ref: LicenseRef) -> None:
        if Capability.COMMUNICATIONS_CREDITS in ref.capabilities:
            message = (
                "a rule assigns Communications Credits but the tenant has no active MCOPSTNC subscription: buy "
                "(or renew) the add-on and fund it in the Teams admin center; Graph cannot"
            )
            self._tenant_gap(GapCode.TENANT_HAS_NO_CREDITS_SUBSCRIPTION, ERROR, ref.ref, message)
        else:
            message = f"a rule assigns {ref.ref} but the tenant has no subscription for it"
            self._tenant_gap(GapCode.SKU_NOT_IN_TENANT, ERROR, ref.ref, message)

    def _disabled_plan_ids(self, rule: DesiredRule, ref: LicenseRef, sku: TenantSku) -> frozenset[str] | None:
        names = rule.disabled_plans.get(ref)
        if names is None:
            return None
        by_name = {plan.name.lower(): plan.id for plan in sku.service_plans}
        ids = {plan.id for plan in sku.service_plans}
        resolved: set[str] = set()
        unknown = []
        for name in names:
            key = name.strip().lower()
            if key in ids or key in by_name:
                resolved.add(by_name.get(key, key))
            else:
                unknown.append(name)
        if unknown:
            message = f"rule '{rule.name}': {sku.part_number} has no service plan {', '.join(unknown)} in this tenant"
            raise PlanInputError([Problem(self.desired.source, 0, 0, message)])
        return frozenset(resolved)

    # ---- stage 2: selection ------------------------------------------------------------------------------------

    def _select(self) -> tuple[dict[str, dict[str, Want]], dict[str, list[int]]]:
        resolver = _Selection(self.tenant, self.users_by_id, self.desired.selected_attributes)
        wants: dict[str, dict[str, Want]] = defaultdict(dict)
        selected_by: dict[str, list[int]] = defaultdict(list)
        for order, rule in enumerate(self.desired.rules):
            chosen, select_problems = resolver.members(rule.select, users_must_exist=True)
            excluded, exclude_problems = resolver.members(rule.exclude, users_must_exist=False)
            skus = [(ref, self.sku_of[ref]) for ref in rule.assign if ref in self.sku_of]
            if any(Capability.PHONE_SYSTEM in sku.capabilities for _, sku in skus):
                self.phone_system_rules.add(order)
            for code, subject, why in select_problems:
                self._report_selection_problem(rule, code, subject, why, "selects")
            for code, subject, why in exclude_problems:
                self._report_selection_problem(rule, code, subject, why, "excludes")
            if any(code is GapCode.GROUP_NOT_FOUND for code, _, _ in select_problems + exclude_problems):
                # an unreadable selection must not strip anybody: its licenses are not pruned this run
                self.unsafe_to_prune.update(sku.sku_id for _, sku in skus)
            if exclude_problems:
                continue  # who must be left out is unknown, so the rule assigns nothing this run
            declared = [(sku, self._disabled_plan_ids(rule, ref, sku)) for ref, sku in skus]
            for user_id in chosen - excluded:
                selected_by[user_id].append(order)
                user_wants = wants[user_id]
                for sku, disabled in declared:  # unassignable SKUs too: wanted still means "do not prune"
                    user_wants[sku.sku_id] = _merge_want(user_wants.get(sku.sku_id), disabled, order)
        return wants, selected_by

    def _report_selection_problem(self, rule: DesiredRule, code: GapCode, subject: str, why: str, role: str) -> None:
        if code is GapCode.USER_NOT_FOUND:
            self._gap(code, ERROR, subject, None, f"rule '{rule.name}' names a user the tenant does not have")
            return
        consequence = "; the rule assigns nothing until this is fixed" if role == "excludes" else ""
        message = f"rule '{rule.name}' {role} group '{subject}': {why}; use the group's object id{consequence}"
        self._tenant_gap(code, ERROR, None, message)

    # ---- stage 4: seats ----------------------------------------------------------------------------------------

    def _allocate_seats(
        self, outcomes: dict[str, _Outcome], wants: Mapping[str, Mapping[str, Want]], user_planner: _UserPlanner
    ) -> tuple[dict[str, set[str]], Counter[str], Counter[str]]:
        """Give each SKU's seats in rule order, then userPrincipalName; re-plan whoever is left out.

        A user left out of one SKU may drop another that depends on it (a calling plan without Phone System), and a
        dropped swap frees nothing: seats a re-plan leaves unused go back to the next users left out of them. Each
        (user, SKU) pair gets a seat back at most once and denials otherwise only grow, so this ends; usually after
        one re-plan of the users left out.
        """
        denied: dict[str, set[str]] = defaultdict(set)
        given_back: dict[str, set[str]] = defaultdict(set)
        counted = {user_id for user_id, outcome in outcomes.items() if outcome.new_seats or outcome.freed}
        upns: dict[str, str] = {}

        def upn_key(user_id: str) -> str:
            upn = upns.get(user_id)
            if upn is None:
                upn = upns[user_id] = self.users_by_id[user_id].user_principal_name.lower()
            return upn

        def replan(user_id: str) -> None:
            outcome = outcomes[user_id] = user_planner.plan(self.users_by_id[user_id], frozenset(denied[user_id]))
            if outcome.new_seats or outcome.freed:
                counted.add(user_id)
            else:
                counted.discard(user_id)

        while True:
            requests: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
            freed: Counter[str] = Counter()
            for user_id in counted:  # only users whose change takes or frees a seat
                outcome = outcomes[user_id]
                if outcome.new_seats:
                    upn = upn_key(user_id)
                    for sku_id in outcome.new_seats:
                        requests[sku_id].append((wants[user_id][sku_id].order, upn, user_id))
                for sku_id in outcome.freed:
                    freed[sku_id] += 1
            capacity = {sku.sku_id: max(sku.available + freed[sku.sku_id], 0) for sku in self.sku_of.values()}
            newly: dict[str, set[str]] = defaultdict(set)
            for sku_id, queue in requests.items():
                for _, _, user_id in sorted(queue)[capacity[sku_id] :]:
                    newly[user_id].add(sku_id)
            if newly:
                for user_id, skus in newly.items():
                    denied[user_id] |= skus
                    replan(user_id)
                continue
            waiting: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
            for user_id, skus in denied.items():
                upn = upn_key(user_id)
                for sku_id in skus - given_back[user_id]:
                    waiting[sku_id].append((wants[user_id][sku_id].order, upn, user_id))
            regranted: dict[str, set[str]] = defaultdict(set)
            for sku_id in sorted(waiting):
                spare = max(capacity[sku_id] - len(requests.get(sku_id, ())), 0)
                for _, _, user_id in sorted(waiting[sku_id])[:spare]:
                    regranted[user_id].add(sku_id)
            if not regranted:
                return denied, Counter({sku: len(queue) for sku, queue in requests.items()}), freed
            for user_id in sorted(regranted):
                denied[user_id] -= regranted[user_id]
                given_back[user_id] |= regranted[user_id]
                replan(user_id)

    def _assemble(
        self,
        users: list[TenantUser],
        outcomes: Mapping[str, _Outcome],
        denied: Mapping[str, set[str]],
        requested: Counter[str],
        freed: Counter[str],
    ) -> Plan:
        changes = []
        gaps = list(self.gaps)
        for user in users:
            outcome = outcomes.get(user.id)
            if outcome is not None:
                if outcome.change is not None:
                    changes.append(outcome.change)
                gaps.extend(outcome.gaps)
        shortfall = Counter(sku for skus in denied.values() for sku in skus)
        seats = []
        for sku_id in dict.fromkeys(sku.sku_id for sku in self.sku_of.values()):
            sku = self.tenant.sku_by_id[sku_id]
            available = sku.available + freed[sku_id]
            seats.append(
                SeatLine(
                    sku_id=sku_id,
                    sku_part_number=sku.part_number,
                    enabled=sku.enabled,
                    consumed=sku.consumed,
                    to_add=requested[sku_id],
                    to_remove=freed[sku_id],
                    available=available,
                    shortfall=shortfall[sku_id],
                )
            )
            if shortfall[sku_id]:
                wanted = requested[sku_id] + shortfall[sku_id]
                message = (
                    f"{shortfall[sku_id]} more {sku.part_number} seat(s) needed: {wanted} new assignment(s) wanted, "
                    f"{max(available, 0)} seat(s) available"
                )
                gaps.append(Gap(GapCode.SEAT_SHORTAGE, ERROR, None, sku.part_number, message))
        gaps.sort(key=Gap.sort_key)
        return Plan(changes=tuple(changes), gaps=tuple(gaps), seats=tuple(seats))

    # ---- helpers -----------------------------------------------------------------------------------------------

    def part_number(self, sku_id: str) -> str:
        sku = self.tenant.sku_by_id.get(sku_id)
        return sku.part_number if sku else sku_id

    def _gap(self, code: GapCode, severity: Severity, upn: str | None, sku: str | None, message: str) -> None:
        self.gaps.append(Gap(code, severity, upn, sku, message))

    def _tenant_gap(self, code: GapCode, severity: Severity, sku: str | None, message: str) -> None:
        self._gap(code, severity, None, sku, message)


def _merge_want(previous: Want | None, disabled: frozenset[str] | None, order: int) -> Want:
    if previous is None:
        return Want(disabled, order)
    if disabled is None:
        return previous
    # a plan stays off only if every rule that declares plans for this SKU turns it off
    merged = disabled if previous.disabled is None else previous.disabled & disabled
    return Want(merged, previous.order)


class _Selection:
    """Resolves selectors to user ids: groups by id or unique name, users by id or UPN, attributes by index."""

    def __init__(self, tenant: Tenant, users_by_id: Mapping[str, TenantUser], attributes: frozenset[str]) -> None:
        self.users_by_id = users_by_id
        self.groups_by_id = {group.id: group for group in tenant.groups}
        self.groups_by_name: dict[str, list[str]] = defaultdict(list)
        for group in tenant.groups:
            self.groups_by_name[group.display_name.lower()].append(group.id)
        self.users_by_upn = {user.user_principal_name.lower(): user.id for user in tenant.users}
        self._members: dict[str, frozenset[str]] = {}
        self._attribute_index: dict[str, dict[str, set[str]]] | None = None
        self._wanted_attributes = attributes  # indexed together, in one pass, on first use

    def members(
        self, selector: UserSelector, *, users_must_exist: bool
    ) -> tuple[set[str], list[tuple[GapCode, str, str]]]:
        found: set[str] = set()
        problems: list[tuple[GapCode, str, str]] = []
        for name in selector.groups:
            key = name.lower()
            ids = [key] if key in self.groups_by_id else self.groups_by_name.get(key, [])
            if len(ids) == 1:
                found |= self._user_members(ids[0])
            else:
                why = "no group has that name or id" if not ids else f"{len(ids)} groups share that name"
                problems.append((GapCode.GROUP_NOT_FOUND, name, why))
        for name in selector.users:
            user_id = name if name in self.users_by_id else self.users_by_upn.get(name)
            if user_id is not None:
                found.add(user_id)
            elif users_must_exist:
                problems.append((GapCode.USER_NOT_FOUND, name, "not found"))
        if selector.attributes:
            found |= self._matching(selector.attributes)
        return found, problems

    def _user_members(self, group_id: str) -> frozenset[str]:
        """A group's members that are users we read (a snapshot may list others); filtered once per group."""
        members = self._members.get(group_id)
        if members is None:
            everyone = self.groups_by_id[group_id].members
            members = self._members[group_id] = frozenset(m for m in everyone if m in self.users_by_id)
        return members

    def _index_attributes(self) -> dict[str, dict[str, set[str]]]:
        """attribute -> lowercase value -> user ids, for every attribute the rules use, in one pass over users."""
        names = sorted(self._wanted_attributes)
        indexes: dict[str, dict[str, set[str]]] = {name: defaultdict(set) for name in names}
        normal: dict[str, str] = {}  # 100k users share a few hundred values: normalise each once
        location = indexes.get("usageLocation")
        for user in self.users_by_id.values():
            for name, value in user.attributes.items():  # sources keep only the attributes rules use
                by_value = indexes.get(name)
                if by_value is not None and value:
                    key = normal.get(value)
                    if key is None:
                        key = normal[value] = value.strip().lower()
                    by_value[key].add(user.id)
            if location is not None and user.usage_location:
                location[user.usage_location.lower()].add(user.id)
        return indexes

    def _matching(self, attributes: tuple[tuple[str, frozenset[str]], ...]) -> set[str]:
        if self._attribute_index is None:
            self._attribute_index = self._index_attributes()
        result: set[str] | None = None
        for name, values in attributes:
            by_value = self._attribute_index.get(name, {})
            ids: set[str] = set().union(*(by_value.get(value, ()) for value in values))
            result = ids if result is None else result & ids
        return result or set()


class _UserPlanner:
    """Plans one user at a time; `denied` names SKUs the seat count could not give them."""

    def __init__(
        self, planner: _Planner, wants: Mapping[str, Mapping[str, Want]], selected_by: Mapping[str, list[int]]
    ) -> None:
        self.p = planner
        self.voice = planner.voice
        self.policy = planner.desired.policy
        self.rules = planner.desired.rules
        self.wants = wants
        self.selected_by = selected_by
        self._holds_managed: dict[tuple[LicenseAssignment, ...], bool] = {}
        self._memo: dict[tuple[object, ...], _Outcome] = {}
        self._matters: dict[tuple[LicenseAssignment, ...], bool] = {}
        self._report_cache: dict[tuple[LicenseAssignment, ...], list[tuple[GapCode, Severity, str | None, str]]] = {}

    def may_matter(self, licenses: tuple[LicenseAssignment, ...]) -> bool:
        """Whether an unselected user with these licenses can change or have a gap: a managed SKU, a voice plan
        or an assignment error. Most of a tenant (E3 and nothing else) cannot; memoised per license list."""
        if not licenses:
            return False
        found = self._matters.get(licenses)
        if found is None:
            found = self._matters[licenses] = any(
                a.error or a.sku_id in self.p.managed or self.voice.voice_plans(a.sku_id) for a in licenses
            )
        return found

    def plan(self, user: TenantUser, denied: frozenset[str]) -> _Outcome:
        """Users alike in everything planning reads get alike outcomes: plan one, restamp it for the others."""
        protected = self.policy.protected_users
        key = (
            user.licenses,
            tuple(self.selected_by.get(user.id, ())),
            user.usage_location,
            user.account_enabled,
            user.id in protected or user.user_principal_name.lower() in protected,
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
        return _Outcome(change, gaps, template.new_seats, template.freed)

    def _plan(self, user: TenantUser, denied: frozenset[str]) -> _Outcome:
        selected = user.id in self.selected_by
        if not selected:
            holds = self._holds_managed.get(user.licenses)  # users share a few thousand license lists
            if holds is None:
                holds = self._holds_managed[user.licenses] = not self.p.managed.isdisjoint(
                    a.sku_id for a in user.licenses
                )
            if not holds:
                return _Outcome(None, self._report_only_gaps(user))
        wants = self.wants.get(user.id, {})
        direct = user.direct_licenses()
        inherited = user.inherited_licenses()
        draft = _Draft()
        self._desired_adds(user, wants, direct, inherited, denied, draft)
        if self.policy.prune:
            self._prune(user, wants, direct, inherited, draft)
        self._calling_plan_conflicts(user, wants, direct, inherited, draft)
        destructive = self._protect(user, self.voice.profile(_holding(user)), direct, draft)
        skip = self._skip_reason(user) if draft.adds or draft.removes else None
        usage_location = self._usage_location(user, draft, required=skip is None)
        reported = {gap.code for gap in draft.gaps}
        if not draft.adds and not draft.removes:
            return _Outcome(None, draft.gaps + self._state_gaps(user, _holding(user), selected, reported))
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
            return _Outcome(None, [self._user_gap(user, code, INFO, None, message), *self._report_only_gaps(user)])
        end = _end_holding(user, draft)
        gaps = draft.gaps + self._state_gaps(user, end, selected, reported)
        gaps += self._availability_gaps(user, usage_location or user.usage_location, draft)
        new_seats = tuple(sku for sku in draft.adds if sku not in direct and sku not in inherited)
        freed = tuple(sku for sku in draft.removes if sku not in inherited)
        return _Outcome(change, gaps, new_seats, freed)

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
        """Gaps of a user nothing happens to; memoised by license set, since most users share a few."""
        cached = self._report_cache.get(user.licenses)
        if cached is None:
            gaps = self._state_gaps(user, _holding(user), False, set())
            cached = [(g.code, g.severity, g.sku_part_number, g.message) for g in gaps]
            self._report_cache[user.licenses] = cached
        return [Gap(code, severity, user.user_principal_name, sku, message) for code, severity, sku, message in cached]

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
        phone_rule = any(i in self.p.phone_system_rules for i in orders)  # a conferencing-only rule says nothing
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
