"""What a run needs read of the tenant, as one value every source takes: the groups the selection names (and those
whose licenses are managed), the user attributes rules select on, and which users.

Users are read one of three ways: every user; only those the rules can touch (`selection` with `mode` scoped, or
auto above the tenant size where that pays); or the users named by id (a saved plan's changes, an undo's records),
read by id when that takes fewer requests than reading everyone. A snapshot is always read whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from teamslicensing.model.desired import DesiredState, ReadMode


@dataclass(frozen=True)
class TenantNeed:
    group_names: tuple[str, ...] = ()  # groups to read (names or ids, as written)
    attributes: frozenset[str] = frozenset()  # user attributes beyond the ones every read takes
    licensed: tuple[str, ...] = ()  # of those, the groups whose licenses and direct members are read
    user_ids: tuple[str, ...] | None = None  # only these users; None: as `mode` says
    selection: DesiredState | None = None  # the rules a scoped read follows
    mode: ReadMode = "all"
    user_configurations: bool = False  # each user's Teams configuration (numbers, policies in effect) too

    @classmethod
    def to_plan(cls, desired: DesiredState, mode: ReadMode | None = None) -> TenantNeed:
        """What planning `desired` reads: `mode`, else its policy.read, says whether every user or only those its
        rules can touch."""
        return cls(
            group_names=desired.group_names,
            attributes=desired.selected_attributes,
            licensed=desired.licensed_group_names,
            selection=desired,
            mode=mode or desired.policy.read,
            user_configurations=desired.manages_numbers or desired.manages_policies,
        )

    @classmethod
    def users(
        cls,
        user_ids: Iterable[str] | None,
        group_names: Iterable[str] = (),
        attributes: Iterable[str] = (),
        licensed: Iterable[str] = (),
        *,
        user_configurations: bool = False,
    ) -> TenantNeed:
        """The users named (None: every user), with the groups and attributes a check of them rests on (and, with
        `user_configurations`, their Teams configurations)."""
        return cls(
            group_names=tuple(group_names),
            attributes=frozenset(attributes),
            licensed=tuple(licensed),
            user_ids=None if user_ids is None else tuple(user_ids),
            user_configurations=user_configurations,
        )

    @property
    def scoped(self) -> bool:
        """Whether the rules decide whom to read (scoped, or auto: scoped above the size where that pays)."""
        return self.selection is not None and self.user_ids is None and self.mode != "all"
