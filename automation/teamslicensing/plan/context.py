"""The values the per-user stages pass along: what the rules want of a user (`Want`), the user as every stage sees
them (`UserView`) and a user's result (`Outcome`), with the wording several stages share. The change being trimmed
(`Draft`) and what a user holds are in `holding`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from teamslicensing.model.plan import Gap, GapCode, Severity, UserChange
from teamslicensing.model.tenant import TenantUser
from teamslicensing.plan.facts import PlanFacts
from teamslicensing.plan.holding import Direct, Draft, Inherited, end_holding, holding_of

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
# why a SKU is in Draft.removes when no swap put it there (a swap records the SKU swapped in): the values are
# model.plan.RemovalReason's, which the change carries
PRUNE = "prune"  # a managed voice add-on no rule gives the user
PRUNE_ALSO = "pruneAlso"  # a managed license beyond voice that policy.pruneAlso names
REDUNDANT = "redundant"  # policy.removeRedundant
MIGRATE = "migrate"  # a direct copy whose managed group's copy is Active with the same plans (migrateDirect)

Skip = tuple[GapCode, str]  # why a user is left unchanged (protected, disabled) and how to say it


@dataclass(frozen=True, slots=True)
class Want:
    """One SKU a user should hold, merged over every rule that selects them."""

    disabled: frozenset[str] | None  # None: no rule declares disabled plans for it
    order: int  # index of the first rule that assigns it (seat priority)


@dataclass(frozen=True, slots=True)
class UserView:
    """One user as every per-user stage reads them: the whole-tenant facts, what the rules want, what they hold
    (directly, through groups, and for sure while group copies are pending) and why they are left alone, if so."""

    facts: PlanFacts
    user: TenantUser
    wants: Mapping[str, Want]
    orders: tuple[int, ...]  # the rules that select the user, by index
    skip: Skip | None
    denied: frozenset[str]  # SKUs the seat count left no seat of for this user
    direct: Direct
    inherited: Inherited
    sure: TenantUser  # as they hold licenses for sure (a managed group's pending copies left out)

    @property
    def selected(self) -> bool:
        return bool(self.orders)

    def gap(self, code: GapCode, severity: Severity, sku_id: str | None, message: str) -> Gap:
        return user_gap(self.facts, self.user, code, severity, sku_id, message)


def user_gap(
    facts: PlanFacts, user: TenantUser, code: GapCode, severity: Severity, sku_id: str | None, message: str
) -> Gap:
    part = facts.part_number(sku_id) if sku_id else None
    return Gap(code, severity, user.user_principal_name, part, message, user.id, sku_id)


@dataclass(frozen=True, slots=True)
class Outcome:
    change: UserChange | None
    gaps: tuple[Gap, ...]
    new_seats: tuple[str, ...] = ()  # SKUs this change assigns anew (each takes a seat)
    freed: tuple[str, ...] = ()  # SKUs this change removes (each frees a seat)
    withheld: bool = False  # something the rules wanted for the user was held back by a gap
    skip: Skip | None = None  # left unchanged on purpose (protected, disabled), and why

    @property
    def skipped_change(self) -> bool:
        """The rules wanted a change and `skip` left the user as is: the skip's gap says what it would have been
        (a user left alone who needed no change has no such gap)."""
        return self.skip is not None and any(gap.code is self.skip[0] for gap in self.gaps)


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


def teams_fix(facts: PlanFacts) -> str:
    """What would give the user Teams: the tenant's own Teams SKUs, or the product to buy."""
    offers = facts.teams_skus
    if offers:
        return f"assign a Teams license first, e.g. a rule assigning {' or '.join(offers[:2])}"
    return "the tenant has no Teams subscription: buy Microsoft Teams Enterprise (Microsoft_Teams_Enterprise_New)"


__all__ = [
    "ERROR",
    "INFO",
    "MIGRATE",
    "PRUNE",
    "PRUNE_ALSO",
    "REDUNDANT",
    "WARNING",
    "Direct",
    "Draft",
    "Inherited",
    "Outcome",
    "Skip",
    "UserView",
    "Want",
    "configured_usage_location",
    "end_holding",
    "holding_of",
    "teams_fix",
    "user_gap",
]
