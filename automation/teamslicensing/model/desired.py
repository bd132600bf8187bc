"""The desired state as the planner reads it: rules resolved to licenses, selectors normalised, policy with defaults.

Built by `config` from the YAML file; stdlib types only, so the pure core never loads pydantic or yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Literal

from teamslicensing.model.capability import Capability, is_guid
from teamslicensing.model.cost import SkuPrice

# user properties a rule may select on (Graph names; extension attributes live under onPremisesExtensionAttributes)
SELECTABLE_ATTRIBUTES: tuple[str, ...] = (
    "department",
    "usageLocation",
    "country",
    "jobTitle",
    "companyName",
    "officeLocation",
    "city",
    "state",
    "employeeType",
    *(f"extensionAttribute{n}" for n in range(1, 16)),
)
VoiceRouting = Literal["callingPlan", "directRouting", "operatorConnect"]
Funding = Literal["credits", "postpaid"]  # prepaid Communications Credits, or new-commerce (NCE) overage billing
# which users a live read fetches: only those the plan can touch, every user, or scoped above SCOPED_ABOVE users
ReadMode = Literal["auto", "scoped", "all"]
SCOPED_ABOVE = 20_000  # policy.read auto: a tenant with more users is read scoped
DEFAULT_MAX_CHANGES = 200  # policy.maxChanges when the file says nothing
DEFAULT_MAX_REMOVALS = 50  # policy.maxRemovals when the file says nothing


@dataclass(frozen=True)
class LicenseRef:
    """A license as the config names it, resolved as far as the catalogue allows (the tenant decides the rest)."""

    ref: str  # the skuPartNumber or GUID after alias expansion
    sku_ids: tuple[str, ...]  # lowercase skuIds the catalogue knows for it (the GUID itself for a GUID)
    capabilities: frozenset[Capability] = frozenset()  # voice capabilities the catalogue knows it to grant

    @property
    def is_guid(self) -> bool:
        return is_guid(self.ref)


@dataclass(frozen=True)
class UserSelector:
    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()  # lowercase
    attributes: tuple[tuple[str, frozenset[str]], ...] = ()  # lowercase values

    @property
    def is_empty(self) -> bool:
        return not (self.groups or self.users or self.attributes)


@dataclass(frozen=True)
class NumberWant:
    """A rule's phoneNumber: one free number of this type from the inventory, in the user's usage location."""

    number_type: str  # callingPlan, directRouting or operatorConnect (Graph's numberType)
    city: str | None = None  # only numbers of this city, as the inventory spells it
    location_id: str | None = None  # the emergency location given with assignNumber


@dataclass(frozen=True)
class ExactNumber:
    """A `numbers` row: this user is to hold this number (a row wins over a rule's phoneNumber)."""

    user: str  # lowercase UPN or object id, as written
    number: str  # E.164, as the inventory spells it
    number_type: str
    location_id: str | None = None


@dataclass(frozen=True)
class DesiredRule:
    name: str
    select: UserSelector
    exclude: UserSelector
    assign: tuple[LicenseRef, ...]
    disabled_plans: Mapping[LicenseRef, tuple[str, ...]]  # only licenses the rule declares plans for
    usage_location: str | None
    voice_routing: VoiceRouting
    usage_location_from: str | None = None  # a user attribute naming the country (code or English name)
    phone_number: NumberWant | None = None
    policies: tuple[tuple[str, str], ...] = ()  # (policy type, policy name), in the file's order


@dataclass(frozen=True)
class DesiredGroupLicense:
    """A group whose license assignments the file manages (Entra group-based licensing of its direct members)."""

    group: str  # display name or object id, as written
    assign: tuple[LicenseRef, ...]
    disabled_plans: Mapping[LicenseRef, tuple[str, ...]]  # only licenses the entry declares plans for
    migrate_direct: bool = False  # remove members' direct copies once the group's copy is Active for them
    usage_location: str | None = None
    usage_location_from: str | None = None


@dataclass(frozen=True)
class Acknowledgement:
    """policy.acknowledge: a known exception, shown as info until `until` (then ACKNOWLEDGEMENT_EXPIRED)."""

    code: str
    until: date
    reason: str
    user: str | None = None  # lowercase UPN or id; None: any user
    sku: str | None = None  # part number, case kept; None: any


@dataclass(frozen=True)
class DesiredPolicy:
    prune: bool = False
    prune_also: tuple[LicenseRef, ...] = ()  # managed licenses beyond voice add-ons that prune may remove too
    max_changes: int = DEFAULT_MAX_CHANGES
    max_removals: int = DEFAULT_MAX_REMOVALS  # users whose removals take service plans away, at most
    empty_groups_allowed: frozenset[str] = frozenset()  # lowercase names or ids that may read as empty
    protected_users: frozenset[str] = frozenset()  # lowercase UPNs or ids
    protected_groups: tuple[str, ...] = ()  # names or ids, as written; their transitive members are protected
    include_disabled_accounts: bool = False
    allow_number_loss: bool = False
    assign_covered: bool = False  # add a rule's SKU even when other licenses already give all its voice plans
    remove_redundant: bool = False  # with prune: remove a direct stand-alone SKU other licenses make redundant
    funding: Funding = "credits"  # how pay-per-minute calls are paid: Credits, or NCE overage (no Credits at all)
    read: ReadMode = "auto"  # which users a live read fetches (snapshots hold every user anyway)
    acknowledge: tuple[Acknowledgement, ...] = ()
    unassign_numbers: bool = False  # with prune and allowNumberLoss: free a leaver's number before the license goes


@dataclass(frozen=True)
class CountryOverride:
    """The configuration's correction of the shipped country table: capability -> offered, for those it names."""

    offered: Mapping[Capability, bool] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class MinutesOverride:
    """An `includedMinutes` entry: a pool of minutes per licence and month for a licenseCapability code, or (the
    configuration's first form, `partial`) one allowance of the pool the shipped table has there."""

    plan: str  # licenseCapability code, upper case (MCOPSTN1, MCOPSTN2, MCOMEETADD...)
    countries: tuple[str, ...]  # ISO codes, "*" for any other, "TENANT" for a tenant-wide pool
    allowances: tuple[tuple[str, int], ...]  # (destination, minutes per licence)
    shared: bool = False  # the countries share one pool (US and Puerto Rico)
    either_or: bool | None = None  # the allowances are one: used up when either is reached
    partial: bool = False


@dataclass(frozen=True)
class DesiredState:
    source: str
    default_usage_location: str | None
    policy: DesiredPolicy
    rules: tuple[DesiredRule, ...]
    availability: Mapping[str, CountryOverride]  # ISO country code -> override
    default_usage_location_from: str | None = None  # a user attribute naming the country, for every rule
    tenant_id: str | None = None  # lowercase GUID: the only tenant this configuration may run against
    group_licenses: tuple[DesiredGroupLicense, ...] = ()
    included_minutes: tuple[MinutesOverride, ...] = ()  # corrections to the shipped minutes table
    numbers: tuple[ExactNumber, ...] = ()  # exact numbers for named users
    prices: tuple[SkuPrice, ...] = ()  # monthly prices per license, for the plan's cost

    @property
    def manages_numbers(self) -> bool:
        """Whether the file declares numbers (a rule's phoneNumber, `numbers` rows, or policy.unassignNumbers)."""
        return bool(self.numbers) or self.policy.unassign_numbers or any(r.phone_number for r in self.rules)

    @property
    def manages_policies(self) -> bool:
        return any(rule.policies for rule in self.rules)

    @property
    def usage_location_attributes(self) -> tuple[str, ...]:
        """The attributes any usage location is taken from, sorted."""
        named = {rule.usage_location_from for rule in self.rules} | {self.default_usage_location_from}
        named |= {entry.usage_location_from for entry in self.group_licenses}
        return tuple(sorted(name for name in named if name))

    @property
    def selected_attributes(self) -> frozenset[str]:
        """User attribute names the rules select or exclude on: all a tenant source needs to read."""
        selected = {
            name for rule in self.rules for selector in (rule.select, rule.exclude) for name, _ in selector.attributes
        }
        return frozenset(selected | set(self.usage_location_attributes))

    @property
    def group_names(self) -> tuple[str, ...]:
        """Every group rules select or exclude, and every protected group (names or ids, as written), sorted: what a
        source must read."""
        named = {name for rule in self.rules for selector in (rule.select, rule.exclude) for name in selector.groups}
        named |= {entry.group for entry in self.group_licenses}
        return tuple(sorted(named | set(self.policy.protected_groups)))

    @property
    def licensed_group_names(self) -> tuple[str, ...]:
        """The groups of groupLicenses (names or ids, as written), sorted: their licenses and direct members."""
        return tuple(sorted({entry.group for entry in self.group_licenses}))

    @property
    def selecting_group_names(self) -> tuple[str, ...]:
        """Groups some rule selects on (not only excludes): their members are users the plan may change."""
        return tuple(sorted({name for rule in self.rules for name in rule.select.groups}))

    @property
    def named_users(self) -> tuple[str, ...]:
        """Users the file names (rules' select lists, policy.protectedUsers, `numbers` rows): lowercase UPNs or ids,
        sorted."""
        named = {name for rule in self.rules for name in rule.select.users} | {row.user for row in self.numbers}
        return tuple(sorted(named | self.policy.protected_users))

    @property
    def managed_licenses(self) -> tuple[LicenseRef, ...]:
        seen: dict[LicenseRef, None] = {}
        for rule in self.rules:
            seen.update(dict.fromkeys(rule.assign))
        for entry in self.group_licenses:  # a SKU groups give is managed too: prune removes stray direct copies
            seen.update(dict.fromkeys(entry.assign))
        return tuple(seen)
