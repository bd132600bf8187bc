"""Stage 5b: phone numbers, once every user's licenses are settled (after the seats).

A `numbers` row gives a named user an exact number; a rule's `phoneNumber` gives each user it selects who has no
primary number of that type one free number of the inventory, in the country of their (planned) usage location,
lowest first, each number at most once per plan, users in rule order then userPrincipalName. A number needs the
license behind it: Phone System, and a Calling Plan for a Calling Plan number; one the plan itself adds is written
first, so the number waits for it. Calling Plan numbers in the US and Canada need an emergency location when they
are assigned (Microsoft, "Emergency calling considerations for Calling Plans", 2024-05-08).

With prune, allowNumberLoss and unassignNumbers all set, a user whose last Phone System or Calling Plan this plan
removes has their numbers unassigned first: they go back to the inventory instead of being lost with the license.
A user a rule protects, or the plan skips, is never numbered or unnumbered.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from teamslicensing.model.desired import ExactNumber, NumberWant
from teamslicensing.model.plan import Gap, GapCode, Severity, UserChange
from teamslicensing.model.tenant import FreeNumber, PhoneNumber, TenantUser
from teamslicensing.model.voicechange import EXACT_ROW, LEAVER, NumberAction, NumberChange, NumberPool
from teamslicensing.plan.context import Outcome, user_gap
from teamslicensing.plan.facts import PlanFacts
from teamslicensing.plan.holding import Draft, end_holding, holding_of

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
EMERGENCY_LOCATION_AT_ASSIGNMENT = frozenset({"US", "CA"})  # Calling Plan numbers there need one when assigned


@dataclass(frozen=True)
class Numbering:
    """What stage 5b plans: number changes by user id, gaps, and the pools per country and type."""

    changes: Mapping[str, tuple[NumberChange, ...]] = field(default_factory=dict)
    gaps: tuple[Gap, ...] = ()
    pools: tuple[NumberPool, ...] = ()


@dataclass(frozen=True)
class _Want:
    number_type: str
    location_id: str | None
    source: str  # the rule's name, or "numbers"
    city: str | None = None
    exact: str | None = None  # a row's number


@dataclass
class _Inventory:
    """The inventory as this plan spends it: free numbers not yet given, who holds which, what leaves."""

    free: list[FreeNumber]  # lowest first
    holders: Mapping[str, PhoneNumber]
    freed: set[str] = field(default_factory=set)  # numbers this plan unassigns first
    reserved: frozenset[str] = frozenset()  # numbers `numbers` rows name: never drawn for a rule
    taken: set[str] = field(default_factory=set)
    needed: Counter[tuple[str, str]] = field(default_factory=Counter)
    short: Counter[tuple[str, str]] = field(default_factory=Counter)
    # the numbers a kind of want may draw, lowest first, and how far it has drawn: a plan numbering thousands of
    # users walks each list once instead of the whole inventory per user
    _pools: dict[tuple[str, str, str | None, bool], tuple[list[str], list[int]]] = field(default_factory=dict)

    def draw(self, want: _Want, country: str, *, located: bool) -> FreeNumber | None:
        """The lowest free number for `want` in `country` (with `located`, only one carrying an emergency
        location), taken; None when there is none, counted short."""
        key = (country, want.number_type)
        self.needed[key] += 1
        numbers, cursor = self._pool(want, country, located)
        while cursor[0] < len(numbers) and numbers[cursor[0]] in self.taken:
            cursor[0] += 1  # taken for good: a plan never gives a number back
        if cursor[0] == len(numbers):
            self.short[key] += 1
            return None
        found = self.by_number[numbers[cursor[0]]]
        self.taken.add(found.number)
        return found

    def any_fits(self, want: _Want, country: str) -> bool:
        numbers, _ = self._pool(want, country, False)
        return any(number not in self.taken for number in numbers)

    @functools.cached_property
    def by_number(self) -> dict[str, FreeNumber]:
        return {number.number: number for number in self.free}

    def _pool(self, want: _Want, country: str, located: bool) -> tuple[list[str], list[int]]:
        city = want.city.lower() if want.city is not None else None
        key = (country, want.number_type.lower(), city, located)
        if key not in self._pools:
            fits = [n.number for n in self.free if self._fits(n, want, country) and (n.location_id or not located)]
            self._pools[key] = (fits, [0])
        return self._pools[key]

    def _fits(self, number: FreeNumber, want: _Want, country: str) -> bool:
        """Whether `number` suits `want` whatever the plan has drawn so far."""
        return (
            number.number not in self.reserved
            and number.number_type.lower() == want.number_type.lower()
            and number.country == country
            and number.for_users
            and (want.city is None or (number.city or "").lower() == want.city.lower())
        )


def plan_numbers(
    facts: PlanFacts,
    selected_by: Mapping[str, tuple[int, ...]],
    order: Sequence[TenantUser],
    outcomes: Mapping[str, Outcome],
) -> Numbering:
    """Stage 5b. `order`: the users the rules select, in rule order then userPrincipalName; `selected_by`: the
    rules selecting each, by index."""
    desired, tenant = facts.desired, facts.tenant
    if not desired.manages_numbers:
        return Numbering()
    if tenant.numbers is None:
        why = tenant.numbers_unavailable or "the source has no numberAssignments"
        message = f"the Teams number inventory was not read ({why}): no number is assigned or unassigned"
        return Numbering(gaps=(Gap(GapCode.NUMBER_INVENTORY_UNAVAILABLE, ERROR, None, None, message),))
    inventory = _Inventory(
        free=sorted(tenant.free_numbers, key=lambda n: n.number),
        holders={number.number: number for number in tenant.numbers},
        reserved=frozenset(row.number for row in desired.numbers),
    )
    changes: dict[str, list[NumberChange]] = {}
    gaps: list[Gap] = []
    for user_id, change in _unassignments(facts, outcomes):
        changes[user_id] = [change]
        inventory.freed.add(change.number)
    rows = {row.user: row for row in desired.numbers}
    for user in order:
        outcome = outcomes.get(user.id)
        if outcome is None or outcome.skip is not None or user.id in changes:
            continue
        want, differ = _want_of(facts, user, rows, selected_by.get(user.id, ()))
        gaps.extend(differ)
        if want is None:
            continue
        planned, found = _number_for(facts, user, outcome, want, inventory)
        gaps.extend(found)
        if planned:
            changes[user.id] = planned
    return Numbering({k: tuple(v) for k, v in changes.items()}, tuple(gaps), _pools(tenant.free_numbers, inventory))


def _unassignments(facts: PlanFacts, outcomes: Mapping[str, Outcome]) -> Iterator[tuple[str, NumberChange]]:
    """A leaver's numbers, unassigned before the license they need goes (never a skipped or protected user's)."""
    policy = facts.desired.policy
    if not (policy.prune and policy.allow_number_loss and policy.unassign_numbers):
        return
    for user_id, outcome in outcomes.items():
        change = outcome.change
        if change is None or outcome.skip is not None or not change.destructive:
            continue
        for held in facts.tenant.numbers_by_user.get(user_id, ()):
            if str(held) in change.phone_numbers:  # "+1… (callingPlan)", as the change names it
                yield user_id, NumberChange(NumberAction.UNASSIGN, held.number, held.number_type, source=LEAVER)


def _want_of(
    facts: PlanFacts, user: TenantUser, rows: Mapping[str, ExactNumber], rules: tuple[int, ...]
) -> tuple[_Want | None, tuple[Gap, ...]]:
    """A row naming the user (by UPN or id) wins over the first rule selecting them that gives a number; a later
    rule giving another kind of number is said (VOICE_RULES_DIFFER), since an emergency location may ride on it."""
    row = rows.get(user.user_principal_name.lower()) or rows.get(user.id)
    if row is not None:
        return _Want(row.number_type, row.location_id, EXACT_ROW, exact=row.number), ()
    giving = [facts.desired.rules[i] for i in sorted(rules) if facts.desired.rules[i].phone_number is not None]
    if not giving:
        return None, ()
    first = giving[0]
    want: NumberWant | None = first.phone_number
    assert want is not None
    others = [r.name for r in giving[1:] if r.phone_number is not None and _kind(r.phone_number) != _kind(want)]
    gaps: tuple[Gap, ...] = ()
    if others:
        named = ", ".join(f"'{name}'" for name in others)
        message = (
            f"rules '{first.name}' and {named} give the user different phone numbers (type, city or emergency "
            f"location): '{first.name}', first in the file, is followed"
        )
        gaps = (user_gap(facts, user, GapCode.VOICE_RULES_DIFFER, WARNING, None, message),)
    return _Want(want.number_type, want.location_id, first.name, city=want.city), gaps


def _kind(want: NumberWant) -> tuple[str, str, str | None]:
    return want.number_type.lower(), (want.city or "").lower(), want.location_id


def _number_for(
    facts: PlanFacts, user: TenantUser, outcome: Outcome, want: _Want, inventory: _Inventory
) -> tuple[list[NumberChange], list[Gap]]:
    """The user's number changes and gaps: nothing when they already hold what is wanted."""
    held = facts.tenant.numbers_by_user.get(user.id, ())
    primary = [n for n in held if (n.category or "primary").lower() == "primary"]
    if want.exact is not None and any(n.number == want.exact for n in held):
        return [], []
    if want.exact is None and any(n.number_type.lower() == want.number_type.lower() for n in primary):
        return [], []
    if want.exact is None and primary:
        held_now = ", ".join(f"{n.number} ({n.number_type})" for n in primary)
        message = (
            f"holds the primary number {held_now}; rule '{want.source}' gives a {want.number_type} number, which "
            "would take it: nothing assigned (a `numbers` row with the new number replaces it)"
        )
        return [], [user_gap(facts, user, GapCode.NUMBER_TYPE_CONFLICT, ERROR, None, message)]
    country = (outcome.change.set_usage_location if outcome.change else None) or user.usage_location or ""
    waits, gap = _license_state(facts, user, outcome.change, want)
    if gap is not None and not waits:
        return [], [gap]
    chosen, number_gap = _chosen(facts, user, want, country, inventory)
    if chosen is None:
        return [], [number_gap] if number_gap else []
    number, location = chosen
    # an exact row replaces the user's primary number: freed just before the new one is assigned (given back, with
    # its emergency location, if that fails); a rule never gets here holding one
    changes = [
        NumberChange(NumberAction.UNASSIGN, old.number, old.number_type, old.location_id, source=EXACT_ROW)
        for old in primary
    ]
    changes.append(NumberChange(NumberAction.ASSIGN, number, want.number_type, location, waits, want.source))
    return changes, [gap] if gap is not None else []


def _chosen(
    facts: PlanFacts, user: TenantUser, want: _Want, country: str, inventory: _Inventory
) -> tuple[tuple[str, str | None] | None, Gap | None]:
    """The number to give, with its emergency location; or why there is none."""
    located = _needs_location(want, country) and not want.location_id  # only a number that has one will do
    if want.exact is None:
        free = inventory.draw(want, country, located=located)
        if free is not None:
            return (free.number, want.location_id or free.location_id), None
        if located and inventory.any_fits(want, country):
            return None, _no_location(facts, user, f"no free Calling Plan number in {country} has one", country)
        where = f"{want.number_type} numbers in {country or 'no usage location'}"
        city = f" ({want.city})" if want.city else ""
        message = f"no free {where}{city} left in the inventory for rule '{want.source}': no number assigned"
        return None, user_gap(facts, user, GapCode.NO_FREE_NUMBER, ERROR, None, message)
    holder = inventory.holders.get(want.exact)
    if holder is not None and want.exact not in inventory.freed:
        message = f"{want.exact} (numbers) is held by another user or resource account ({holder.user_id}): not assigned"
        return None, user_gap(facts, user, GapCode.NUMBER_IN_USE, ERROR, None, message)
    free_number = inventory.by_number.get(want.exact)
    if (free_number is None and want.exact not in inventory.freed) or want.exact in inventory.taken:
        message = f"{want.exact} (numbers) is not a free number of the tenant's inventory: not assigned"
        return None, user_gap(facts, user, GapCode.NUMBER_NOT_IN_INVENTORY, ERROR, None, message)
    location = want.location_id or (free_number.location_id if free_number else None)
    if _needs_location(want, country) and not location:
        return None, _no_location(facts, user, f"{want.exact} has none and its row gives none", country)
    inventory.taken.add(want.exact)
    return (want.exact, location), None


def _needs_location(want: _Want, country: str) -> bool:
    return want.number_type.lower() == "callingplan" and country in EMERGENCY_LOCATION_AT_ASSIGNMENT


def _no_location(facts: PlanFacts, user: TenantUser, why: str, country: str) -> Gap:
    message = (
        f"a Calling Plan number in {country} needs an emergency location when it is assigned, and {why}: give "
        "phoneNumber.locationId (or the row's locationId), or set one on the numbers; not assigned"
    )
    return user_gap(facts, user, GapCode.EMERGENCY_LOCATION_MISSING, ERROR, None, message)


def _license_state(
    facts: PlanFacts, user: TenantUser, change: UserChange | None, want: _Want
) -> tuple[bool, Gap | None]:
    """Whether the number waits for a license this plan adds (True), and the gap that says so; (False, gap) when
    the user will not hold the license the number needs at all."""
    calling_plan = want.number_type.lower() == "callingplan"
    now = facts.voice.profile(holding_of(user), active=True)
    if now.phone_system and (now.calling_plan or not calling_plan):
        return False, None
    needs = "Phone System and a Calling Plan" if calling_plan else "Phone System"
    end = now
    if change is not None and change.changes_licenses:
        draft = Draft(
            adds={a.sku_id: frozenset(a.disabled_plans) for a in change.add_licenses},
            removes={r.sku_id: r.reason.value if r.reason else "" for r in change.remove_licenses},
        )
        end = facts.voice.profile(end_holding(user, draft), active=True)
    if end.phone_system and (end.calling_plan or not calling_plan):
        message = (
            f"the number is assigned once the license this plan adds ({needs}) is read back Active, in the same "
            "apply or the next run"
        )
        return True, user_gap(facts, user, GapCode.NUMBER_WAITS_FOR_LICENSE, INFO, None, message)
    given = "the `numbers` row gives" if want.exact is not None else f"rule '{want.source}' gives"
    message = (
        f"the {want.number_type} number {given} needs {needs}, which the user will not hold after this plan: no "
        "number is assigned"
    )
    return False, user_gap(facts, user, GapCode.NUMBER_LICENSE_MISSING, ERROR, None, message)


def _pools(free: Sequence[FreeNumber], inventory: _Inventory) -> tuple[NumberPool, ...]:
    counts = Counter((n.country or "", n.number_type) for n in free if n.for_users)
    keys = sorted(inventory.needed)
    return tuple(NumberPool(c, t, counts[(c, t)], inventory.needed[(c, t)], inventory.short[(c, t)]) for c, t in keys)
