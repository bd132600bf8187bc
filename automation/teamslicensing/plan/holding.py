"""What a user holds (`holding_of`), the change being trimmed down to what is safe (`Draft`, a new value from each
stage) and what the user would hold once it is made (`end_holding`): the one definition every stage, the judgement
and number protection share."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from teamslicensing.model.plan import Gap
from teamslicensing.model.tenant import LicenseAssignment, TenantUser

Direct = Mapping[str, frozenset[str]]
Inherited = Mapping[str, LicenseAssignment]
Holding = Mapping[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class Draft:
    """A user's change while it is trimmed down to what is safe: each stage returns a new one."""

    adds: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)  # sku -> disabled plans to send
    removes: Mapping[str, str] = dataclasses.field(default_factory=dict)  # sku -> PRUNE..., or the sku swapped in
    gaps: tuple[Gap, ...] = ()
    withheld: bool = False  # a gap dropped part of what was wanted (an add, a removal, a swap)

    @property
    def is_empty(self) -> bool:
        return not self.adds and not self.removes

    def adding(self, sku_id: str, disabled: frozenset[str]) -> Draft:
        return dataclasses.replace(self, adds={**self.adds, sku_id: disabled})

    def removing(self, sku_id: str, why: str) -> Draft:
        return dataclasses.replace(self, removes={**self.removes, sku_id: why})

    def noting(self, *gaps: Gap, withheld: bool = False) -> Draft:
        return dataclasses.replace(self, gaps=(*self.gaps, *gaps), withheld=self.withheld or withheld)

    def without(self, adds: Iterable[str] = (), removes: Iterable[str] = ()) -> Draft:
        """The draft with these adds (and the swaps riding on them: removals recorded against them) and these
        removals dropped."""
        dropped_adds, dropped_removes = frozenset(adds), frozenset(removes)
        return dataclasses.replace(
            self,
            adds={s: off for s, off in self.adds.items() if s not in dropped_adds},
            removes={s: why for s, why in self.removes.items() if s not in dropped_removes and why not in dropped_adds},
        )

    def cleared(self, gap: Gap) -> Draft:
        """Nothing changes for the user, and `gap` says why."""
        return Draft(gaps=(*self.gaps, gap), withheld=True)


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
