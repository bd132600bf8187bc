"""Stage 1 of planning: the whole-tenant facts every later stage reads, resolved once from the desired state and
the tenant into one frozen value (`PlanFacts`), with the tenant-wide gaps found on the way: the licenses the rules
assign against the tenant's subscriptions, prune's reach, the Teams number inventory, and who is protected."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from teamslicensing.errors import InputError, Problem
from teamslicensing.model.capability import Capability
from teamslicensing.model.desired import DesiredState, LicenseRef, UserSelector
from teamslicensing.model.plan import Gap, GapCode, Severity
from teamslicensing.model.tenant import PhoneNumber, Tenant, TenantSku, TenantUser, sku_for
from teamslicensing.plan.numberloss import believed_numbers
from teamslicensing.plan.prunereach import prunable_skus
from teamslicensing.plan.selection import Selection
from teamslicensing.plan.voicerules import VoiceRules
from teamslicensing.reference.availability import CountryAvailability
from teamslicensing.reference.countries import country_code

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


class PlanInputError(InputError):
    """The configuration names something the tenant's own data contradicts (e.g. a plan a SKU lacks)."""

    kind = "configuration for this tenant"


@dataclass(frozen=True)
class PlanFacts:
    """What every stage after the first reads of the whole tenant; later stages add to it by replacing it."""

    desired: DesiredState
    tenant: Tenant
    availability: Mapping[str, CountryAvailability]
    voice: VoiceRules
    sku_of: Mapping[LicenseRef, TenantSku]  # each license the rules name, as the tenant has it
    assignable: frozenset[str]  # managed SKUs whose subscription hands out licenses
    managed: frozenset[str]  # every SKU the configuration assigns
    managed_by_name: tuple[str, ...]  # the same, by part number: prune's order
    prunable: frozenset[str]  # managed SKUs prune may remove: voice add-ons and policy.pruneAlso
    teams_skus: tuple[str, ...]  # part numbers of the tenant's SKUs that give Teams, leanest first, for messages
    credits_funded: bool  # pay-per-minute calls can be paid: an active Credits subscription, or postpaid funding
    numbers: Mapping[str, tuple[PhoneNumber, ...]] | None  # user id -> Teams numbers; None: inventory not believed
    protected_by_group: frozenset[str]  # user ids protected through policy.protectedGroups
    unsafe_to_prune: frozenset[str] = frozenset()  # SKUs not pruned this run: a selection could not be trusted
    group_names: Mapping[str, str] = field(default_factory=dict)  # group id -> display name, for messages
    # from stage 2 (group licenses) and 3 (selection)
    migrations: Mapping[str, frozenset[str]] = field(default_factory=dict)  # user id -> direct copies replaced
    sure_users: Mapping[str, TenantUser] = field(default_factory=dict)  # managed-group members, for sure
    phone_system_rules: frozenset[int] = frozenset()  # rules that assign a SKU carrying Phone System
    country_names: Mapping[str, str] = field(default_factory=dict)  # casefolded English name -> ISO code

    def part_number(self, sku_id: str) -> str:
        sku = self.tenant.sku_by_id.get(sku_id)
        return sku.part_number if sku else sku_id

    def country_code(self, value: str) -> str | None:
        """The ISO code a usageLocationFrom attribute value means (a code, or an English country name)."""
        return country_code(value, self.country_names)

    def disabled_plans(
        self, where: str, declared: Mapping[LicenseRef, tuple[str, ...]], ref: LicenseRef, sku: TenantSku
    ) -> frozenset[str] | None:
        """The service plan ids `declared` turns off in `sku` (None: it declares none); a name the SKU lacks is a
        configuration error for this tenant."""
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


def resolve_facts(
    desired: DesiredState, tenant: Tenant, availability: Mapping[str, CountryAvailability], selection: Selection
) -> tuple[PlanFacts, list[Gap]]:
    """Stage 1: the facts, and the tenant-wide gaps met resolving them."""
    gaps: list[Gap] = []
    voice = VoiceRules(tenant.sku_by_id)
    sku_of, assignable = _licenses(desired, tenant, gaps)
    managed = frozenset(sku.sku_id for sku in sku_of.values())
    # named by alias, part number or skuId, perhaps not as the rules name it: the tenant's own SKU decides
    also = (sku.sku_id for ref in desired.policy.prune_also if (sku := sku_for(ref, tenant.skus)))
    teams = [s for s in tenant.skus if s.is_active and Capability.TEAMS in s.capabilities and s.applies_to_users]
    numbers, why = believed_numbers(tenant, voice)
    if numbers is None and why:
        message = f"the Teams number inventory could not be used ({why}): number protection guesses from licenses"
        gaps.append(Gap(GapCode.NUMBER_INVENTORY_UNAVAILABLE, INFO, None, None, message))
    protected, unsafe = _protection(desired, tenant, selection, gaps)
    facts = PlanFacts(
        desired=desired,
        tenant=tenant,
        availability=availability,
        voice=voice,
        sku_of=sku_of,
        assignable=assignable,
        managed=managed,
        managed_by_name=tuple(sorted(managed, key=lambda s: tenant.sku_by_id[s].part_number)),
        prunable=prunable_skus(voice, managed, also),
        teams_skus=tuple(s.part_number for s in sorted(teams, key=lambda s: (len(s.service_plans), s.part_number))),
        credits_funded=desired.policy.funding == "postpaid" or tenant.has_active_credits,
        numbers=numbers,
        protected_by_group=protected,
        unsafe_to_prune=managed if unsafe else frozenset(),
        group_names={**tenant.group_names, **{group.id: group.display_name for group in tenant.groups}},
        country_names={a.country_name.casefold(): code for code, a in availability.items() if a.country_name},
    )
    return facts, gaps


def _licenses(
    desired: DesiredState, tenant: Tenant, gaps: list[Gap]
) -> tuple[dict[LicenseRef, TenantSku], frozenset[str]]:
    """Each license the rules name as the tenant has it, and those whose subscription hands out licenses."""
    sku_of: dict[LicenseRef, TenantSku] = {}
    assignable: set[str] = set()
    for ref in desired.managed_licenses:
        sku = sku_for(ref, tenant.skus)
        if sku is None:
            gaps.extend(_missing_sku(desired, tenant, ref))
            continue
        sku_of[ref] = sku
        part = sku.part_number
        if not sku.applies_to_users:
            message = f"{part} applies to '{sku.applies_to}', not to users: it cannot be assigned"
            gaps.append(_tenant_gap(GapCode.SKU_NOT_IN_TENANT, ERROR, sku, message))
        elif not sku.is_active:
            state = sku.capability_status or "of no known state (Graph gave no capabilityStatus)"
            message = f"the {part} subscription is {state}: nothing is assigned from it"
            gaps.append(_tenant_gap(GapCode.SUBSCRIPTION_NOT_ACTIVE, ERROR, sku, message))
            if Capability.COMMUNICATIONS_CREDITS in sku.capabilities:
                gaps.extend(_missing_sku(desired, tenant, ref))  # a lapsed Credits subscription is as good as none
        else:
            if sku.capability_status == "Warning":
                message = f"the {part} subscription is in its Warning (grace) period: renew it"
                gaps.append(_tenant_gap(GapCode.SUBSCRIPTION_NOT_ACTIVE, WARNING, sku, message))
            assignable.add(sku.sku_id)
    return sku_of, frozenset(assignable)


def _missing_sku(desired: DesiredState, tenant: Tenant, ref: LicenseRef) -> list[Gap]:
    if Capability.COMMUNICATIONS_CREDITS in ref.capabilities:
        if desired.policy.funding == "postpaid":
            return []  # new-commerce tenants cannot buy Credits and pay overage instead: nothing to fix
        message = (
            f"a rule assigns Communications Credits but the tenant has no active {ref.ref} subscription: buy "
            "(or renew) the add-on and fund it in the Teams admin center (Graph cannot); on new-commerce "
            "calling subscriptions, set policy.funding: postpaid"
        )
        return [Gap(GapCode.TENANT_HAS_NO_CREDITS_SUBSCRIPTION, ERROR, None, ref.ref, message)]
    message = f"a rule assigns {ref.ref} but the tenant has no subscription for it"
    if Capability.CALLING_PLAN in ref.capabilities and tenant.cloud in ("usgov", "usgovdod"):
        # GCC High and DoD have no Calling Plans; GCC lives in the global cloud (MCOPSTN_1_GOV)
        message += ": Microsoft sells no Calling Plans in GCC High or DoD; use Direct Routing (voiceRouting)"
    return [Gap(GapCode.SKU_NOT_IN_TENANT, ERROR, None, ref.ref, message)]


def _tenant_gap(code: GapCode, severity: Severity, sku: TenantSku, message: str) -> Gap:
    return Gap(code, severity, None, sku.part_number, message, None, sku.sku_id)


def _protection(
    desired: DesiredState, tenant: Tenant, selection: Selection, gaps: list[Gap]
) -> tuple[frozenset[str], bool]:
    """Who is protected through policy.protectedGroups, and whether prune must stop (a protected group could not be
    read in full). An entry that matches nobody is most likely a typo, and the person meant is unprotected: an error
    gap that blocks apply."""
    policy = desired.policy
    known = set(selection.users_by_id) | {user.user_principal_name.lower() for user in tenant.users}
    known |= selection.unreadable  # left out of every change anyway: protected
    for entry in sorted(policy.protected_users - known):
        message = (
            "policy.protectedUsers names a user the tenant does not have (a typo leaves the person meant "
            "unprotected): correct or remove it; apply writes nothing while this stands"
        )
        gaps.append(Gap(GapCode.PROTECTED_USER_NOT_FOUND, ERROR, entry, None, message))
    members, problems = selection.members(
        UserSelector(groups=policy.protected_groups), users_must_exist=False, empty_is_suspect=True
    )
    unsafe = False
    for code, name, why in problems:
        if code is GapCode.SELECTION_SUSPECT:  # someone meant to be protected may not be: prune nothing
            message = (
                f"policy.protectedGroups names group '{name}': {why}; its members may not all be protected, "
                "so nothing is removed from anybody this run (list it in policy.emptyGroupsAllowed if empty "
                "on purpose)"
            )
            gaps.append(Gap(code, WARNING, None, None, message))
            unsafe = True
            continue
        message = (
            f"policy.protectedGroups names group '{name}': {why}; its members are not protected until this is "
            "fixed (use the group's object id), and apply writes nothing while this stands"
        )
        gaps.append(Gap(GapCode.PROTECTED_USER_NOT_FOUND, ERROR, name, None, message))
    return frozenset(members), unsafe


def skip_reason(facts: PlanFacts, user: TenantUser) -> tuple[GapCode, str] | None:
    """Why the user is left unchanged whatever the rules want: protected, or a disabled account."""
    policy = facts.desired.policy
    if user.user_principal_name.lower() in policy.protected_users or user.id in policy.protected_users:
        return GapCode.PROTECTED_USER_SKIPPED, "protected user (policy.protectedUsers)"
    if user.id in facts.protected_by_group:
        return GapCode.PROTECTED_USER_SKIPPED, "member of a protected group (policy.protectedGroups)"
    if not user.account_enabled and not policy.include_disabled_accounts:
        return GapCode.DISABLED_ACCOUNT_SKIPPED, "account is disabled (policy.includeDisabledAccounts is false)"
    return None
