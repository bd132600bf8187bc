"""What the stages of planning one user share: the whole-tenant facts they read (`PlanContext`), the draft change
being trimmed, what a user holds, and how a user's gap is worded."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from teamslicensing.model.desired import DesiredState
from teamslicensing.model.plan import Gap, GapCode, Severity, UserChange
from teamslicensing.model.tenant import LicenseAssignment, PhoneNumber, TenantUser
from teamslicensing.plan.voicerules import VoiceRules
from teamslicensing.reference.availability import CountryAvailability

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
# why a SKU is in Draft.removes when no swap put it there (a swap records the SKU swapped in): the values are
# model.plan.RemovalReason's, which the change carries
PRUNE = "prune"  # a managed voice add-on no rule gives the user
PRUNE_ALSO = "pruneAlso"  # a managed license beyond voice that policy.pruneAlso names
REDUNDANT = "redundant"  # policy.removeRedundant
MIGRATE = "migrate"  # a direct copy whose managed group's copy is Active with the same plans (migrateDirect)

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
    prunable: frozenset[str]  # managed SKUs prune may remove: voice add-ons and policy.pruneAlso
    unsafe_to_prune: set[str]
    phone_system_rules: set[int]
    group_names: dict[str, str]
    protected_by_group: frozenset[str]  # user ids protected through policy.protectedGroups
    credits_funded: bool  # pay-per-minute calls can be paid: an active Credits subscription, or postpaid funding
    numbers: Mapping[str, tuple[PhoneNumber, ...]] | None  # user id -> Teams numbers; None: inventory not read
    teams_skus: list[str]  # part numbers of the tenant's SKUs that give Teams, leanest first, for gap messages
    migrations: Mapping[str, frozenset[str]]  # user id -> direct copies a managed group's Active copy replaces
    sure_users: Mapping[str, TenantUser]  # members of managed groups as they hold licenses for sure (no pending copy)

    def part_number(self, sku_id: str) -> str: ...

    def country_code(self, value: str) -> str | None: ...


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
    withheld: bool = False  # something the rules wanted for the user was held back by a gap
    skipped: bool = False  # the rules wanted a change, and the user is protected or disabled: not changed


@dataclass
class Draft:
    """A user's change while it is being trimmed down to what is safe."""

    adds: dict[str, frozenset[str]] = field(default_factory=dict)  # sku -> disabled plans to send
    removes: dict[str, str] = field(default_factory=dict)  # sku -> why: PRUNE..., or the sku swapped in for it
    gaps: list[Gap] = field(default_factory=list)
    withheld: bool = False  # a gap dropped part of what was wanted (an add, a removal, a swap)


def user_gap(
    ctx: PlanContext, user: TenantUser, code: GapCode, severity: Severity, sku_id: str | None, message: str
) -> Gap:
    return Gap(code, severity, user.user_principal_name, ctx.part_number(sku_id) if sku_id else None, message)


def holding_of(user: TenantUser) -> dict[str, frozenset[str]]:
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


def end_holding(user: TenantUser, draft: Draft) -> dict[str, frozenset[str]]:
    """`holding_of` once the draft is applied: the same rules, so an empty draft changes nothing."""
    end = dict(draft.adds)  # an add for a SKU held directly replaces that assignment's disabled plans
    for assignment in user.licenses:
        sku = assignment.sku_id
        if not assignment.grants_plans or (assignment.is_direct and (sku in draft.removes or sku in draft.adds)):
            continue
        end[sku] = end[sku] & assignment.disabled_plans if sku in end else assignment.disabled_plans
    return end


def configured_usage_location(
    levels: Sequence[tuple[str | None, str | None]], user: TenantUser, country_code: Callable[[str], str | None]
) -> tuple[str | None, list[str]]:
    """The usage location the file gives `user`: the first level (a rule's or entry's `usageLocationFrom`,
    `usageLocation`; then the defaults') that yields one, an attribute before a fixed code. With it, the attribute
    values met that name no country (for the message when none is found)."""
    unmapped: list[str] = []
    for attribute, fixed in levels:
        value = user.attributes.get(attribute) if attribute else None
        if value:
            code = country_code(value)
            if code is not None:
                return code, unmapped
            unmapped.append(f"{attribute} '{value}'")
        if fixed:
            return fixed, unmapped
    return None, unmapped


def teams_fix(ctx: PlanContext) -> str:
    """What would give the user Teams: the tenant's own Teams SKUs, or the product to buy."""
    offers = ctx.teams_skus
    if offers:
        return f"assign a Teams license first, e.g. a rule assigning {' or '.join(offers[:2])}"
    return "the tenant has no Teams subscription: buy Microsoft Teams Enterprise (Microsoft_Teams_Enterprise_New)"
