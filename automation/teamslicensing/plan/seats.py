"""Seats, the planner's last stage: each managed SKU's seats are given in rule order, then userPrincipalName; users
left out are planned again without that SKU until nothing changes; then one seat line (and shortage gap) per SKU."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from teamslicensing.model.plan import Gap, GapCode, SeatLine, Severity
from teamslicensing.model.tenant import TenantSku
from teamslicensing.model.words import counted
from teamslicensing.plan.context import Outcome, Want


@dataclass(frozen=True)
class SeatAllocation:
    denied: Mapping[str, frozenset[str]]  # user id -> SKUs no seat was left for
    requested: Counter[str]  # SKU -> new direct assignments given a seat
    freed: Counter[str]  # SKU -> assignments the planned removals free
    freed_first: Counter[str]  # those freed by removal-only changes, written before any add: what adds may use


def allocate_seats(
    outcomes: dict[str, Outcome],
    wants: Mapping[str, Mapping[str, Want]],
    skus: Iterable[TenantSku],
    group_seats: Counter[str],
    replan: Callable[[str, frozenset[str]], Outcome],
    upn_of: Callable[[str], str],
) -> SeatAllocation:
    """Give each SKU's seats in rule order, then userPrincipalName; re-plan (`replan`, into `outcomes`) whoever is
    left out. Group license writes take their seats first (`group_seats`).

    A user left out of one SKU may drop another that depends on it (a calling plan without Phone System), and a
    dropped swap frees nothing: seats a re-plan leaves unused go back to the next users left out of them. Each
    (user, SKU) pair gets a seat back at most once and denials otherwise only grow, so this ends; usually after
    one re-plan of the users left out.
    """
    skus = tuple(skus)
    denied: dict[str, set[str]] = defaultdict(set)
    given_back: dict[str, set[str]] = defaultdict(set)
    counted = {user_id for user_id, outcome in outcomes.items() if outcome.new_seats or outcome.freed}

    def again(user_id: str) -> None:
        outcome = outcomes[user_id] = replan(user_id, frozenset(denied[user_id]))
        if outcome.new_seats or outcome.freed:
            counted.add(user_id)
        else:
            counted.discard(user_id)

    while True:
        tally = _tally(counted, outcomes, wants, upn_of)
        capacity = {
            sku.sku_id: max(sku.available + tally.freed_first[sku.sku_id] - group_seats[sku.sku_id], 0) for sku in skus
        }
        newly: dict[str, set[str]] = defaultdict(set)
        for sku_id, queue in tally.requests.items():
            for _, _, user_id in sorted(queue)[capacity[sku_id] :]:
                newly[user_id].add(sku_id)
        if newly:
            for user_id, lost in newly.items():
                denied[user_id] |= lost
                again(user_id)
            continue
        regranted = _spare_seats(denied, given_back, capacity, tally.requests, wants, upn_of)
        if not regranted:
            requested = Counter({sku: len(queue) for sku, queue in tally.requests.items()})
            denials = {u: frozenset(s) for u, s in denied.items()}
            return SeatAllocation(denials, requested, tally.freed, tally.freed_first)
        for user_id in sorted(regranted):
            denied[user_id] -= regranted[user_id]
            given_back[user_id] |= regranted[user_id]
            again(user_id)


_Queue = list[tuple[int, str, str]]  # (rule order, userPrincipalName, user id): who gets a seat first


@dataclass(frozen=True)
class _Tally:
    requests: dict[str, _Queue]  # SKU -> users whose change takes a seat of it
    freed: Counter[str]
    freed_first: Counter[str]


def _tally(
    counted: Iterable[str],
    outcomes: Mapping[str, Outcome],
    wants: Mapping[str, Mapping[str, Want]],
    upn_of: Callable[[str], str],
) -> _Tally:
    """The seats the current outcomes take and free (only users whose change takes or frees one are counted)."""
    requests: dict[str, _Queue] = defaultdict(list)
    freed: Counter[str] = Counter()
    freed_first: Counter[str] = Counter()
    for user_id in counted:
        outcome = outcomes[user_id]
        for sku_id in outcome.new_seats:
            requests[sku_id].append((wants[user_id][sku_id].order, upn_of(user_id), user_id))
        freed.update(outcome.freed)
        if outcome.change is not None and not outcome.change.add_licenses:
            # the executor writes removal-only changes before anything that adds; a swap's freed seat comes
            # free with its own write, no earlier than the adds beside it: promised to nobody
            freed_first.update(outcome.freed)
    return _Tally(requests, freed, freed_first)


def _spare_seats(
    denied: Mapping[str, set[str]],
    given_back: Mapping[str, set[str]],
    capacity: Mapping[str, int],
    requests: Mapping[str, _Queue],
    wants: Mapping[str, Mapping[str, Want]],
    upn_of: Callable[[str], str],
) -> dict[str, set[str]]:
    """Seats a re-plan left unused, given back in order to users left out of them (each pair at most once)."""
    waiting: dict[str, _Queue] = defaultdict(list)
    for user_id, lost in denied.items():
        for sku_id in lost - given_back[user_id]:
            waiting[sku_id].append((wants[user_id][sku_id].order, upn_of(user_id), user_id))
    regranted: dict[str, set[str]] = defaultdict(set)
    for sku_id in sorted(waiting):
        spare = max(capacity[sku_id] - len(requests.get(sku_id, ())), 0)
        for _, _, user_id in sorted(waiting[sku_id])[:spare]:
            regranted[user_id].add(sku_id)
    return regranted


def seat_lines(
    skus: Iterable[TenantSku], allocation: SeatAllocation, group_seats: Counter[str], redundant: Counter[str]
) -> tuple[tuple[SeatLine, ...], list[Gap]]:
    """One seat line per managed SKU, and a SEAT_SHORTAGE gap for each SKU that direct adds were denied."""
    shortfall = Counter(sku for skus_denied in allocation.denied.values() for sku in skus_denied)
    lines = []
    gaps = []
    for sku in skus:
        sku_id = sku.sku_id
        available = sku.available + allocation.freed_first[sku_id]
        by_groups = group_seats[sku_id]  # served before any direct add (they took the capacity first)
        # the direct adds denied, and the group members Entra will leave in CountViolation
        short = shortfall[sku_id] + max(by_groups - max(available, 0), 0)
        lines.append(
            SeatLine(
                sku_id=sku_id,
                sku_part_number=sku.part_number,
                enabled=sku.enabled,
                consumed=sku.consumed,
                to_add=allocation.requested[sku_id] + by_groups,
                to_remove=allocation.freed[sku_id],
                available=available,
                shortfall=short,
                redundant=redundant[sku_id],
            )
        )
        if shortfall[sku_id]:  # a group's own shortage is its gap, naming the group (groupchanges)
            wanted = allocation.requested[sku_id] + shortfall[sku_id] + by_groups
            through = f" ({by_groups} through group license writes)" if by_groups else ""
            message = (
                f"{short} more {sku.part_number} {'seat' if short == 1 else 'seats'} needed: "
                f"{counted(wanted, 'new assignment')} wanted{through}, "
                f"{counted(max(available, 0), 'seat')} available"
            )
            gaps.append(Gap(GapCode.SEAT_SHORTAGE, Severity.ERROR, None, sku.part_number, message, None, sku_id))
    return tuple(lines), gaps
