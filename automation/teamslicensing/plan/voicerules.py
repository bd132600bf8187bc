"""Teams voice rules over one user's licenses, at service-plan level: pure functions, no I/O.

A user's licenses are a `Holding`: SKU id -> disabled service plan ids. What the user can do is the union of the
enabled plans of every SKU held, so suites count (E5 carries Phone System and Audio Conferencing) and a plan
disabled on one SKU may still come from another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from teamslicensing.model.capability import VOICE_CAPABILITIES, Capability
from teamslicensing.model.desired import CountryOverride
from teamslicensing.model.tenant import TenantServicePlan, TenantSku
from teamslicensing.reference.addons import is_voice_addon
from teamslicensing.reference.availability import CountryAvailability, offers

Holding = Mapping[str, frozenset[str]]

# capabilities whose country availability Microsoft publishes and the planner warns about
COUNTRY_DEPENDENT = (Capability.CALLING_PLAN, Capability.AUDIO_CONFERENCING, Capability.COMMUNICATIONS_CREDITS)
_PAY_PER_MINUTE_CONFERENCING = "MCOMEETACPEA"  # Audio Conferencing pay-per-minute: needs Credits set up


@dataclass(frozen=True, slots=True)
class VoiceProfile:
    """What a set of licenses lets a user do on the phone."""

    phone_system: bool  # Teams Phone Standard (MCOEV and its kin), not the resource-account plan
    resource_account: bool  # the Teams Phone Resource Account plan (auto attendants, call queues)
    exclusive_calling_plans: frozenset[str]  # plan ids; more than one is a conflict
    calling_plan: bool  # any calling plan, pay-as-you-go included
    audio_conferencing: bool
    credits: bool
    teams: bool = False  # the Teams service itself (not voice, but what Teams Phone is licensed on)
    calling_plans: frozenset[str] = frozenset()  # every calling plan's id, pay-as-you-go included
    pay_as_you_go: bool = False  # a pay-as-you-go calling plan among them
    pay_per_minute: bool = False  # a license billed per minute against Credits: PAYG calling, MCOMEETACPEA

    @property
    def has_voice(self) -> bool:
        return (
            self.phone_system or self.resource_account or self.calling_plan or self.audio_conferencing or self.credits
        )

    @property
    def resource_account_only(self) -> bool:
        return self.resource_account and not self.phone_system

    @property
    def number_plan(self) -> bool:
        """A plan a phone number hangs on: Phone System, or the resource-account plan for a service number."""
        return self.phone_system or self.resource_account


NO_VOICE = VoiceProfile(False, False, frozenset(), False, False, False)


class VoiceRules:
    """Voice facts about a tenant's SKUs, memoised: 100k users share a handful of license combinations.

    Only a subscription that can hand out licenses (`TenantSku.is_active`: Enabled or Warning) gives anything to
    judge a change by: a Suspended, LockedOut or Deleted one covers no other license, satisfies no prerequisite and
    makes nothing redundant. What a user holds from one still counts as theirs when a change would take it away
    (`numbers_lost`): its license may still carry their number."""

    def __init__(self, skus: Mapping[str, TenantSku]) -> None:
        self._skus = skus
        self._inactive = frozenset(sku_id for sku_id, sku in skus.items() if not sku.is_active)
        self._plans: dict[tuple[str, frozenset[str]], tuple[TenantServicePlan, ...]] = {}
        self._profiles: dict[tuple[frozenset[tuple[str, frozenset[str]]], bool], VoiceProfile] = {}
        self._redundant: dict[tuple[tuple[str, frozenset[str]], ...], list[tuple[str, str]]] = {}

    def plan_ids(self, sku_id: str) -> frozenset[str]:
        """Every service plan id the SKU carries (voice or not)."""
        sku = self._skus.get(sku_id)
        return frozenset(plan.id for plan in sku.service_plans) if sku else frozenset()

    def voice_plans(self, sku_id: str, disabled: frozenset[str] = frozenset()) -> tuple[TenantServicePlan, ...]:
        """The SKU's voice service plans that are enabled (not in `disabled`)."""
        return tuple(plan for plan in self.classified_plans(sku_id, disabled) if plan.capability in VOICE_CAPABILITIES)

    def classified_plans(self, sku_id: str, disabled: frozenset[str] = frozenset()) -> tuple[TenantServicePlan, ...]:
        """The SKU's enabled service plans that grant a capability: voice, and the Teams service."""
        key = (sku_id, disabled)
        plans = self._plans.get(key)
        if plans is None:
            sku = self._skus.get(sku_id)
            plans = tuple(
                plan
                for plan in (sku.service_plans if sku else ())
                if plan.capability is not None and plan.id not in disabled
            )
            self._plans[key] = plans
        return plans

    def lost_plans(self, start: Holding, end: Holding) -> frozenset[str]:
        """Service plans (any kind) `start` enables and `end` does not, except a calling plan replaced by another
        in the same write (a swap keeps the user calling)."""
        before = self._enabled(start)
        after = self._enabled(end)
        lost = frozenset(before) - frozenset(after)
        swapped = {pid for pid in lost if before[pid] is Capability.CALLING_PLAN}
        if swapped and Capability.CALLING_PLAN in after.values():
            lost -= swapped
        return lost

    def _enabled(self, holding: Holding) -> dict[str, Capability | None]:
        enabled: dict[str, Capability | None] = {}
        for sku_id, off in holding.items():
            sku = self._skus.get(sku_id)
            for plan in sku.service_plans if sku else ():
                if plan.id not in off:
                    enabled[plan.id] = plan.capability
        return enabled

    def capabilities(self, sku_id: str, disabled: frozenset[str] = frozenset()) -> frozenset[Capability]:
        return frozenset(plan.capability for plan in self.voice_plans(sku_id, disabled) if plan.capability)

    def profile(self, holding: Holding, *, active: bool = False) -> VoiceProfile:
        """What `holding` lets the user do; with `active`, only what active subscriptions give."""
        key = (frozenset(holding.items()), active)
        found = self._profiles.get(key)
        if found is None:
            found = self._profile(
                [
                    plan
                    for sku, off in holding.items()
                    if not (active and sku in self._inactive)
                    for plan in self.classified_plans(sku, off)
                ]
            )
            self._profiles[key] = found
        return found

    def is_active(self, sku_id: str) -> bool:
        """The SKU's subscription can hand out licenses (and so gives coverage and prerequisites)."""
        return sku_id not in self._inactive

    def numbers_lost(self, start: Holding, end: Holding) -> frozenset[Capability]:
        """The number-carrying kinds (`number_capabilities_lost`) going from `start` to `end` takes: judged on all
        that is held (a license of a suspended subscription may still carry the number) and on what active
        subscriptions give (a suspended suite keeps nobody's phone working once the direct copy is gone)."""
        return number_capabilities_lost(self.profile(start), self.profile(end)) | number_capabilities_lost(
            self.profile(start, active=True), self.profile(end, active=True)
        )

    @staticmethod
    def _profile(plans: list[TenantServicePlan]) -> VoiceProfile:
        if not plans:
            return NO_VOICE
        kinds = {p.capability for p in plans}
        return VoiceProfile(
            phone_system=Capability.PHONE_SYSTEM in kinds,
            resource_account=Capability.RESOURCE_ACCOUNT in kinds,
            exclusive_calling_plans=frozenset(p.id for p in plans if p.is_exclusive_calling_plan),
            calling_plan=Capability.CALLING_PLAN in kinds,
            audio_conferencing=Capability.AUDIO_CONFERENCING in kinds,
            credits=Capability.COMMUNICATIONS_CREDITS in kinds,
            teams=Capability.TEAMS in kinds,
            calling_plans=frozenset(p.id for p in plans if p.capability is Capability.CALLING_PLAN),
            pay_as_you_go=any(p.pay_as_you_go for p in plans if p.capability is Capability.CALLING_PLAN),
            pay_per_minute=any(p.pay_as_you_go or p.name.upper() == _PAY_PER_MINUTE_CONFERENCING for p in plans),
        )

    def is_standalone_voice_sku(self, sku_id: str) -> bool:
        """An add-on that sells voice alone (MCOEV, MCOPSTN1, MCOMEETADV…), as opposed to a suite such as E5 or a
        bundle carrying the Teams service (`reference.addons`: SMS units and Exchange Foundation ride along)."""
        sku = self._skus.get(sku_id)
        return sku is not None and is_voice_addon((plan.name, plan.capability) for plan in sku.service_plans)

    def is_standalone_calling_plan(self, sku_id: str) -> bool:
        """A stand-alone SKU whose only voice plan is one calling plan: the kind a swap may remove."""
        plans = self.voice_plans(sku_id)
        return (
            self.is_standalone_voice_sku(sku_id) and len(plans) == 1 and plans[0].capability is Capability.CALLING_PLAN
        )

    def exclusive_calling_plans(self, sku_id: str, disabled: frozenset[str] = frozenset()) -> frozenset[str]:
        return frozenset(p.id for p in self.voice_plans(sku_id, disabled) if p.is_exclusive_calling_plan)

    def redundant_skus(self, holding: Holding) -> list[tuple[str, str]]:
        """Stand-alone voice SKUs whose every enabled voice plan another held SKU already gives: (sku, provider)."""
        key = tuple(holding.items())  # in order: the first provider found is the one named
        found = self._redundant.get(key)
        if found is None:
            found = self._redundant[key] = self._redundant_skus(holding)
        return found

    def only_voice_plans(self, sku_id: str, disabled: frozenset[str] = frozenset()) -> bool:
        """Every enabled plan of the SKU is a voice plan (no SMS units or other plans riding along)."""
        sku = self._skus.get(sku_id)
        enabled = [plan for plan in (sku.service_plans if sku else ()) if plan.id not in disabled]
        return bool(enabled) and all(plan.capability in VOICE_CAPABILITIES for plan in enabled)

    def covering_sku(self, sku_id: str, disabled: frozenset[str], holding: Holding) -> str | None:
        """A SKU of `holding` (other than `sku_id`) whose enabled plans already give every enabled voice plan of
        `sku_id`; None when the SKU would add something."""
        plans = self.voice_plans(sku_id, disabled)
        if not plans:
            return None
        providers = {other: off for other, off in holding.items() if other != sku_id and self.is_active(other)}
        provided = [plan for other, off in providers.items() for plan in self.voice_plans(other, off)]
        if not all(_covers(tuple(provided), plan) for plan in plans):
            return None
        return next(
            other
            for other, off in providers.items()
            if any(_covers(self.voice_plans(other, off), plan) for plan in plans)
        )

    def _redundant_skus(self, holding: Holding) -> list[tuple[str, str]]:
        found = []
        for sku_id, disabled in holding.items():
            plans = self.voice_plans(sku_id, disabled)
            if not plans or not self.is_standalone_voice_sku(sku_id):
                continue
            for other, other_disabled in holding.items():
                if other == sku_id or not self.is_active(other):
                    continue
                others = self.voice_plans(other, other_disabled)
                if all(_covers(others, plan) for plan in plans):
                    found.append((sku_id, other))
                    break
        return found


def _covers(plans: tuple[TenantServicePlan, ...], wanted: TenantServicePlan) -> bool:
    if wanted.capability is Capability.CALLING_PLAN:  # calling plans differ in minutes and reach: same plan only
        return any(plan.id == wanted.id for plan in plans)
    return any(plan.capability is wanted.capability for plan in plans)


def number_capabilities_lost(before: VoiceProfile, after: VoiceProfile) -> frozenset[Capability]:
    """The number-carrying kinds `before` had and `after` has none of: the phone plan (Phone System, or the
    resource-account plan of a service number) and/or the Calling Plan."""
    lost: set[Capability] = set()
    if before.number_plan and not after.number_plan:
        lost.update(
            kind
            for kind, held in (
                (Capability.PHONE_SYSTEM, before.phone_system),
                (Capability.RESOURCE_ACCOUNT, before.resource_account),
            )
            if held
        )
    if before.calling_plan and not after.calling_plan:
        lost.add(Capability.CALLING_PLAN)
    return frozenset(lost)


def calling_plan_without_phone_system(profile: VoiceProfile) -> bool:
    """A Calling Plan rides on Phone System, or on the resource-account plan of an auto attendant or call queue."""
    return profile.calling_plan and not profile.number_plan


# what Credits need beside them (see credits_without_prerequisite)
CREDITS_PREREQUISITES = frozenset(
    {Capability.AUDIO_CONFERENCING, Capability.CALLING_PLAN, Capability.PHONE_SYSTEM, Capability.RESOURCE_ACCOUNT}
)


def credits_without_prerequisite(profile: VoiceProfile) -> bool:
    # "Set up Communications Credits" (2024-11 revision): Credits serve users with Audio Conferencing and/or a
    # Calling Plan (pay-as-you-go included); Phone System and resource accounts (toll-free service numbers) are
    # accepted too, as the service accepts them (OfficeDocs-SkypeForBusiness#9437).
    return profile.credits and not (profile.audio_conferencing or profile.calling_plan or profile.number_plan)


def unavailable_in(
    country: str | None,
    capabilities: frozenset[Capability],
    table: Mapping[str, CountryAvailability],
    overrides: Mapping[str, CountryOverride],
) -> list[Capability]:
    """Capabilities the (dated) country table says `country` does not offer; configuration overrides win."""
    if not country:
        return []
    override = overrides.get(country)
    missing = []
    for capability in COUNTRY_DEPENDENT:
        if capability not in capabilities:
            continue
        offered = override.offered.get(capability) if override else None
        if offered is None:
            offered = offers(table, country, capability)
        if offered is False:
            missing.append(capability)
    return missing
