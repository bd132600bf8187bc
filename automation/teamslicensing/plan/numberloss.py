"""Whether a change takes a phone number: the Teams number inventory when it was read and is believable, else a
guess from licenses. One definition for the planner's own trimming (`safety`), the judgement every change meets
(`verdicts`) and group license writes (`grouplicensing`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from teamslicensing.model.capability import Capability
from teamslicensing.model.tenant import CARRIER_NUMBER_TYPES, PhoneNumber, Tenant, TenantUser
from teamslicensing.model.words import counted
from teamslicensing.plan.holding import holding_of
from teamslicensing.plan.voicerules import Holding, VoiceRules

Numbers = Mapping[str, tuple[PhoneNumber, ...]]
NUMBER_KINDS = frozenset({Capability.PHONE_SYSTEM, Capability.RESOURCE_ACCOUNT})


@dataclass(frozen=True)
class NumberLoss:
    """What going from one holding to another takes: the number-carrying kinds lost, and the numbers with them."""

    lost: frozenset[Capability]
    at_risk: tuple[PhoneNumber, ...] | None  # None: the inventory was not read, so a number is assumed

    @property
    def losing(self) -> bool:
        return bool(self.lost) and (self.at_risk is None or bool(self.at_risk))

    @property
    def which(self) -> str:
        """` +1425… (callingPlan), …` for a message, when the inventory names them."""
        return f" {', '.join(str(n) for n in self.at_risk)}" if self.at_risk else ""

    @property
    def taken(self) -> tuple[str, ...]:
        return tuple(str(n) for n in self.at_risk or ()) if self.losing else ()


def number_loss(voice: VoiceRules, numbers: Numbers | None, user_id: str, start: Holding, end: Holding) -> NumberLoss:
    lost = voice.numbers_lost(start, end)
    return NumberLoss(lost, numbers_at_risk(numbers, user_id, lost) if lost else ())


def numbers_at_risk(
    numbers: Numbers | None, user_id: str, lost: frozenset[Capability]
) -> tuple[PhoneNumber, ...] | None:
    """The user's numbers that losing `lost` takes (a Calling Plan takes every number but a Direct Routing or
    Operator Connect one, which live without it: numberType is an evolvable enum, so a type Graph adds later comes
    as unknownFutureValue and counts as at risk; Phone System or the resource-account plan takes every number);
    None when the inventory (`numbers`) was not read (then assume one)."""
    if numbers is None:
        return None
    held = numbers.get(user_id, ())
    if lost & NUMBER_KINDS:
        return held
    return tuple(n for n in held if n.number_type.lower() not in CARRIER_NUMBER_TYPES)


def believed_numbers(tenant: Tenant, voice: VoiceRules) -> tuple[Numbers | None, str | None]:
    """The Teams number inventory by user when it was read and is believable, else None and why (number protection
    then guesses from licenses, as it must). A read listing no number while users hold Calling Plans is not
    believed."""
    if tenant.numbers is None:
        return None, tenant.numbers_unavailable
    if not tenant.numbers:
        holders = sum(
            1
            for user in tenant.users
            if any(
                Capability.CALLING_PLAN in voice.capabilities(a.sku_id, a.disabled_plans)
                for a in user.licenses
                if a.grants_plans
            )
        )
        if holders:
            return None, f"the inventory lists no number while {counted(holders, 'user')} hold a Calling Plan"
    return tenant.numbers_by_user, None


def member_loses_number(
    voice: VoiceRules,
    numbers: Numbers | None,
    member: TenantUser,
    group_id: str,
    sku: str,
    disabled: frozenset[str] | None,
) -> bool:
    """Whether taking the group's copy of `sku` away (or, with `disabled`, turning those plans off in it) takes the
    member's phone number, judged as a user's own removal is."""
    kept = tuple(
        (dataclasses.replace(a, disabled_plans=disabled) if disabled is not None else None)
        if a.sku_id == sku and a.assigned_by_group == group_id
        else a
        for a in member.licenses
    )
    after = holding_of(dataclasses.replace(member, licenses=tuple(a for a in kept if a)))
    return number_loss(voice, numbers, member.id, holding_of(member), after).losing
