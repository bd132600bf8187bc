"""The planner: desired state + observed tenant -> `Plan`. Pure: no I/O, clock, environment or globals.

Stages, in order:
1. resolve the licenses rules assign against the tenant's subscriptions (tenant-wide gaps);
2. resolve each rule's selection to user ids (groups transitively, users, attribute indexes);
3. plan every user on their own (`userplan.UserPlanner`): adds, prune removals, calling-plan swaps, then withhold what
   would take a phone number, break a dependency or lack a usage location, then judge the end state;
4. hand out seats per SKU in rule order then userPrincipalName, re-planning users left without one until stable
   (`seats`);
5. pass the changes through the judgement every change meets (`judgement`), which also says what apply would
   refuse, and sum each rule's share.
"""

from __future__ import annotations

import dataclasses
import gc
from collections import Counter, defaultdict
from collections.abc import Mapping

from teamslicensing.errors import InputError, Problem
from teamslicensing.model.capability import Capability
from teamslicensing.model.desired import DesiredRule, DesiredState, LicenseRef, UserSelector
from teamslicensing.model.plan import Gap, GapCode, Plan, RuleSummary, Severity, UserChange
from teamslicensing.model.tenant import PhoneNumber, Tenant, TenantSku, TenantUser, sku_for
from teamslicensing.plan.context import Outcome, Want
from teamslicensing.plan.groupchanges import with_group_changes
from teamslicensing.plan.grouplicensing import GroupInputs, GroupPlanning, plan_group_licenses
from teamslicensing.plan.guardrails import safety_of
from teamslicensing.plan.judgement import apply_refusals, judge
from teamslicensing.plan.numberloss import believed_numbers
from teamslicensing.plan.prunereach import prunable_skus, prune_limited_gaps
from teamslicensing.plan.readgaps import read_gaps
from teamslicensing.plan.safety import skip_reason
from teamslicensing.plan.seats import allocate_seats, seat_lines
from teamslicensing.plan.selection import Selection
from teamslicensing.plan.summary import rule_summaries
from teamslicensing.plan.userplan import UserPlanner
from teamslicensing.plan.voicerules import VoiceRules
from teamslicensing.reference.availability import CountryAvailability
from teamslicensing.reference.countries import country_code

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
COVERED_ORDER = 1 << 30  # a SKU a managed group gives: after every rule in seat priority (it takes no direct seat)
COVERED = Want(None, COVERED_ORDER)  # one for every covered member: it is immutable


class PlanInputError(InputError):
    """The configuration names something the tenant's own data contradicts (e.g. a plan a SKU lacks)."""

    kind = "configuration for this tenant"


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
        self.prunable: frozenset[str] = frozenset()
        self.unsafe_to_prune: set[str] = set()
        self.phone_system_rules: set[int] = set()  # rules that assign a SKU carrying Phone System
        self.users_by_id = {user.id: user for user in tenant.users}
        self.group_names = {**tenant.group_names, **{group.id: group.display_name for group in tenant.groups}}
        self.selection = Selection(
            tenant, self.users_by_id, desired.selected_attributes, desired.policy.empty_groups_allowed
        )
        self.protected_by_group: frozenset[str] = frozenset()  # user ids, from policy.protectedGroups
        self.teams_skus: list[str] = []
        self.numbers: Mapping[str, tuple[PhoneNumber, ...]] | None = None
        self._country_names = {a.country_name.casefold(): code for code, a in availability.items() if a.country_name}
        self.credits_funded = False  # an active Credits subscription (MCOPSTNC, MCOPSTNPP), or postpaid funding
        self.migrations: Mapping[str, frozenset[str]] = {}  # user id -> direct copies a managed group's replaces
        self.sure_users: Mapping[str, TenantUser] = {}  # managed-group members as they hold licenses for sure
        self.group_seats: Counter[str] = Counter()  # seats the group writes take, before any direct add

    def run(self) -> Plan:
        self.gaps.extend(read_gaps(self.tenant))
        self._resolve_licenses()
        self._read_numbers()
        self._resolve_protection()
        groups = self._plan_groups()
        wants, selected_by = self._select()
        for user_id, covered in groups.covered.items():  # a managed group gives these: no direct add, no prune
            for sku_id in covered:
                wants[user_id].setdefault(sku_id, COVERED)
        user_planner = UserPlanner(self, wants, selected_by)
        relevant = [u for u in self.users_by_id.values() if u.id in selected_by or user_planner.may_matter(u.licenses)]
        users = sorted(relevant, key=lambda u: (u.user_principal_name.lower(), u.id))
        outcomes = {user.id: user_planner.plan(user, frozenset()) for user in users}
        managed = tuple({sku.sku_id: sku for sku in self.sku_of.values()}.values())
        allocation = allocate_seats(
            outcomes,
            wants,
            managed,
            self.group_seats,
            lambda user_id, denied: user_planner.plan(self.users_by_id[user_id], denied),
            lambda user_id: self.users_by_id[user_id].user_principal_name.lower(),
        )
        changes, gaps, redundant = self._collect(users, outcomes)
        if self.desired.policy.prune:
            limited = self.managed - self.prunable
            gaps += prune_limited_gaps(limited, self.tenant.users, wants, self.part_number)
        seats, shortages = seat_lines(managed, allocation, self.group_seats, redundant)
        gaps += shortages
        plan = with_group_changes(
            Plan(changes=tuple(changes), gaps=tuple(sorted(gaps, key=Gap.sort_key)), seats=seats),
            groups,
            self.users_by_id,
            self.tenant,
        )
        return self._judged(plan, rule_summaries(self.desired.rules, selected_by, outcomes))

    def _judged(self, plan: Plan, summaries: tuple[RuleSummary, ...]) -> Plan:
        """The plan as the judgement every change meets leaves it (the planner already kept to its rules: this
        withholds nothing unless the two disagree, and then the judgement's gap says why), with apply's refusals."""
        policy = self.desired.policy
        safety = safety_of(policy, self.tenant, self.managed, self.protected_by_group)
        judged = judge(plan.changes, self.tenant, safety, plan.group_changes, self.voice)
        gaps = tuple(sorted((*plan.gaps, *judged.gaps), key=Gap.sort_key)) if judged.gaps else plan.gaps
        kept = dataclasses.replace(
            plan, changes=judged.changes, group_changes=judged.group_changes, gaps=gaps, rule_summaries=summaries
        )
        return dataclasses.replace(kept, refusals=apply_refusals(kept, policy.max_changes, policy.max_removals))

    def _plan_groups(self) -> GroupPlanning:
        """Plan groupLicenses, then plan every direct member as Entra will leave them (the group's SKUs inherited)."""
        if not self.desired.group_licenses:
            return GroupPlanning()
        groups = plan_group_licenses(
            GroupInputs(
                desired=self.desired,
                tenant=self.tenant,
                users_by_id=self.users_by_id,
                sku_of=self.sku_of,
                assignable=frozenset(self.assignable),
                managed=self.managed,
                prunable=self.prunable,
                voice=self.voice,
                numbers=self.numbers,
                disabled_plans=self._disabled_plans_of,
                country_code=self.country_code,
                skipped=lambda user: skip_reason(self, user) is not None,
            )
        )
        self.gaps.extend(groups.gaps)
        self.users_by_id.update(groups.members_after)
        self.migrations = groups.migrations
        self.sure_users = groups.members_sure
        self.group_seats = groups.seats
        return groups

    # ---- stage 1: licenses -------------------------------------------------------------------------------------

    def _resolve_licenses(self) -> None:
        for ref in self.desired.managed_licenses:
            sku = sku_for(ref, self.tenant.skus)
            if sku is None:
                self._missing_sku(ref)
                continue
            self.sku_of[ref] = sku
            if sku.applies_to.lower() != "user":
                message = f"{sku.part_number} applies to '{sku.applies_to}', not to users: it cannot be assigned"
                self._tenant_gap(GapCode.SKU_NOT_IN_TENANT, ERROR, sku.part_number, message)
            elif not sku.is_active:
                state = sku.capability_status or "of no known state (Graph gave no capabilityStatus)"
                message = f"the {sku.part_number} subscription is {state}: nothing is assigned from it"
                self._tenant_gap(GapCode.SUBSCRIPTION_NOT_ACTIVE, ERROR, sku.part_number, message)
                if Capability.COMMUNICATIONS_CREDITS in sku.capabilities:
                    self._missing_sku(ref)  # a lapsed Credits subscription is as good as none
            else:
                if sku.capability_status == "Warning":
                    message = f"the {sku.part_number} subscription is in its Warning (grace) period: renew it"
                    self._tenant_gap(GapCode.SUBSCRIPTION_NOT_ACTIVE, WARNING, sku.part_number, message)
                self.assignable.add(sku.sku_id)
        # the tenant's SKUs that give Teams, leanest first (Teams Enterprise before a suite), for gap messages
        teams = [
            s
            for s in self.tenant.skus
            if s.is_active and Capability.TEAMS in s.capabilities and s.applies_to.lower() == "user"
        ]
        self.teams_skus = [s.part_number for s in sorted(teams, key=lambda s: (len(s.service_plans), s.part_number))]
        self.credits_funded = self.desired.policy.funding == "postpaid" or self.tenant.has_active_credits
        self.managed = frozenset(sku.sku_id for sku in self.sku_of.values())
        self.managed_by_name = sorted(self.managed, key=self.part_number)  # prune's order, sorted once
        # named by alias, part number or skuId, perhaps not as the rules name it: the tenant's own SKU decides
        also = (sku.sku_id for ref in self.desired.policy.prune_also if (sku := sku_for(ref, self.tenant.skus)))
        self.prunable = prunable_skus(self.voice, self.managed, also)

    def _missing_sku(self, ref: LicenseRef) -> None:
        if Capability.COMMUNICATIONS_CREDITS in ref.capabilities:
            if self.desired.policy.funding == "postpaid":
                return  # new-commerce tenants cannot buy Credits and pay overage instead: nothing to fix
            message = (
                f"a rule assigns Communications Credits but the tenant has no active {ref.ref} subscription: buy "
                "(or renew) the add-on and fund it in the Teams admin center (Graph cannot); on new-commerce "
                "calling subscriptions, set policy.funding: postpaid"
            )
            self._tenant_gap(GapCode.TENANT_HAS_NO_CREDITS_SUBSCRIPTION, ERROR, ref.ref, message)
        else:
            message = f"a rule assigns {ref.ref} but the tenant has no subscription for it"
            if Capability.CALLING_PLAN in ref.capabilities and self.tenant.cloud in ("usgov", "usgovdod"):
                # GCC High and DoD have no Calling Plans; GCC lives in the global cloud (MCOPSTN_1_GOV)
                message += ": Microsoft sells no Calling Plans in GCC High or DoD; use Direct Routing (voiceRouting)"
            self._tenant_gap(GapCode.SKU_NOT_IN_TENANT, ERROR, ref.ref, message)

    def _disabled_plan_ids(self, rule: DesiredRule, ref: LicenseRef, sku: TenantSku) -> frozenset[str] | None:
        return self._disabled_plans_of(f"rule '{rule.name}'", rule.disabled_plans, ref, sku)

    def _disabled_plans_of(
        self, where: str, declared: Mapping[LicenseRef, tuple[str, ...]], ref: LicenseRef, sku: TenantSku
    ) -> frozenset[str] | None:
        names = declared.get(ref)
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
            message = f"{where}: {sku.part_number} has no service plan {', '.join(unknown)} in this tenant"
            raise PlanInputError([Problem(self.desired.source, 0, 0, message)])
        return frozenset(resolved)

    def _read_numbers(self) -> None:
        """Use the Teams number inventory when it was read and is believable (`judgement.believed_numbers`); else
        number protection guesses from licenses, as it must, and says so."""
        self.numbers, why = believed_numbers(self.tenant, self.voice)
        if self.numbers is None and why:
            message = f"the Teams number inventory could not be used ({why}): number protection guesses from licenses"
            self._tenant_gap(GapCode.NUMBER_INVENTORY_UNAVAILABLE, INFO, None, message)

    def _resolve_protection(self) -> None:
        """Who is protected: protectedUsers, and the transitive members of protectedGroups. An entry that matches
        nobody is most likely a typo, and the person meant is unprotected: an error gap that blocks apply."""
        policy = self.desired.policy
        known = set(self.users_by_id) | {user.user_principal_name.lower() for user in self.tenant.users}
        known |= self.selection.unreadable  # left out of every change anyway: protected
        for entry in sorted(policy.protected_users - known):
            message = (
                "policy.protectedUsers names a user the tenant does not have (a typo leaves the person meant "
                "unprotected): correct or remove it; apply writes nothing while this stands"
            )
            self._gap(GapCode.PROTECTED_USER_NOT_FOUND, ERROR, entry, None, message)
        members, problems = self.selection.members(
            UserSelector(groups=policy.protected_groups), users_must_exist=False, empty_is_suspect=True
        )
        for code, name, why in problems:
            if code is GapCode.SELECTION_SUSPECT:  # someone meant to be protected may not be: prune nothing
                message = (
                    f"policy.protectedGroups names group '{name}': {why}; its members may not all be protected, "
                    "so nothing is removed from anybody this run (list it in policy.emptyGroupsAllowed if empty "
                    "on purpose)"
                )
                self._tenant_gap(code, WARNING, None, message)
                self.unsafe_to_prune.update(self.managed)
                continue
            message = (
                f"policy.protectedGroups names group '{name}': {why}; its members are not protected until this is "
                "fixed (use the group's object id), and apply writes nothing while this stands"
            )
            self._gap(GapCode.PROTECTED_USER_NOT_FOUND, ERROR, name, None, message)
        self.protected_by_group = frozenset(members)

    # ---- stage 2: selection ------------------------------------------------------------------------------------

    def _select(self) -> tuple[dict[str, dict[str, Want]], dict[str, list[int]]]:
        resolver = self.selection
        wants: dict[str, dict[str, Want]] = defaultdict(dict)
        selected_by: dict[str, list[int]] = defaultdict(list)
        for order, rule in enumerate(self.desired.rules):
            chosen, select_problems = resolver.members(rule.select, users_must_exist=True, empty_is_suspect=True)
            excluded, exclude_problems = resolver.members(rule.exclude, users_must_exist=False)
            skus = [(ref, self.sku_of[ref]) for ref in rule.assign if ref in self.sku_of]
            if any(Capability.PHONE_SYSTEM in sku.capabilities for _, sku in skus):
                self.phone_system_rules.add(order)
            for code, subject, why in select_problems:
                self._report_selection_problem(rule, code, subject, why, "selects")
            for code, subject, why in exclude_problems:
                self._report_selection_problem(rule, code, subject, why, "excludes")
            unreadable = (GapCode.GROUP_NOT_FOUND, GapCode.SELECTION_SUSPECT)
            if any(code in unreadable for code, _, _ in select_problems + exclude_problems):
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
        if code is GapCode.SELECTION_SUSPECT:
            allow = " (list it in policy.emptyGroupsAllowed if empty on purpose)" if role == "selects" else ""
            message = (
                f"rule '{rule.name}' {role} group '{subject}': {why}; its licenses are not removed from anybody "
                f"this run{consequence}{allow}"
            )
            self._tenant_gap(code, WARNING, None, message)
            return
        message = f"rule '{rule.name}' {role} group '{subject}': {why}; use the group's object id{consequence}"
        self._tenant_gap(code, ERROR, None, message)

    # ---- stage 4: the plan's parts -----------------------------------------------------------------------------

    def _collect(
        self, users: list[TenantUser], outcomes: Mapping[str, Outcome]
    ) -> tuple[list[UserChange], list[Gap], Counter[str]]:
        """The changes and gaps of every user planned, and the seats removing redundant direct copies would free."""
        changes = []
        gaps = list(self.gaps)
        redundant: Counter[str] = Counter()
        sku_by_part = {sku.part_number: sku.sku_id for sku in self.tenant.skus}
        for user in users:
            outcome = outcomes[user.id]
            if outcome.change is not None:
                changes.append(outcome.change)
            gaps.extend(outcome.gaps)
            for gap in outcome.gaps:
                sku_id = sku_by_part.get(gap.sku_part_number or "")
                if gap.code is GapCode.REDUNDANT_LICENSE and sku_id and _holds_only_directly(user, sku_id):
                    redundant[sku_id] += 1
        return changes, gaps, redundant

    # ---- helpers -----------------------------------------------------------------------------------------------

    def part_number(self, sku_id: str) -> str:
        sku = self.tenant.sku_by_id.get(sku_id)
        return sku.part_number if sku else sku_id

    def _gap(self, code: GapCode, severity: Severity, upn: str | None, sku: str | None, message: str) -> None:
        self.gaps.append(Gap(code, severity, upn, sku, message))

    def country_code(self, value: str) -> str | None:
        """The ISO code a usageLocationFrom attribute value means (a code, or an English country name)."""
        return country_code(value, self._country_names)

    def _tenant_gap(self, code: GapCode, severity: Severity, sku: str | None, message: str) -> None:
        self._gap(code, severity, None, sku, message)


def _holds_only_directly(user: TenantUser, sku_id: str) -> bool:
    """Removing the direct copy frees a seat only when no group gives the same SKU as well."""
    return any(a.sku_id == sku_id and a.is_direct for a in user.licenses) and not any(
        a.sku_id == sku_id and not a.is_direct for a in user.licenses
    )


def _merge_want(previous: Want | None, disabled: frozenset[str] | None, order: int) -> Want:
    if previous is None:
        return Want(disabled, order)
    if disabled is None:
        return previous
    # a plan stays off only if every rule that declares plans for this SKU turns it off
    merged = disabled if previous.disabled is None else previous.disabled & disabled
    return Want(merged, previous.order)
