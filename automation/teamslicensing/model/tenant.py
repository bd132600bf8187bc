"""The tenant as observed: slim, immutable types that every tenant source (snapshot, Graph) produces.

Only what planning needs is kept, once: a 100,000-user tenant must fit beside its own JSON in memory, so these are
slotted dataclasses, repeated strings (SKU and plan ids) are shared, and user attributes are kept only for the
attribute names the rules select on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from teamslicensing.model.capability import Capability
from teamslicensing.model.desired import LicenseRef

NO_ATTRIBUTES: Mapping[str, str] = MappingProxyType({})
# licenseAssignmentState.state values of an assignment that is on record but gives nothing and holds no seat
INACTIVE_LICENSE_STATES = frozenset({"Error", "Disabled"})
CLOUD_NAMES = ("global", "usgov", "usgovdod", "china")  # national clouds, as --cloud and snapshots name them

# capabilityStatus values of GET /subscribedSkus (Graph v1.0 subscribedSku: Enabled, Warning, Suspended, Deleted,
# LockedOut) of a subscription that hands out licenses and whose plans work; any other (and any value Microsoft adds
# later) does not, and gives no coverage, prerequisite or seat
ACTIVE_STATUSES = frozenset({"Enabled", "Warning"})

# Graph's $select names for the user properties planning reads (rule attributes are added per configuration): the
# tenant read asks for these, and the permissions table says they are what a user read returns
USER_FIELDS = (
    "id",
    "userPrincipalName",
    "displayName",
    "accountEnabled",
    "usageLocation",
    "assignedLicenses",
    "licenseAssignmentStates",
)


@dataclass(frozen=True, slots=True)
class TenantServicePlan:
    id: str  # lowercase GUID
    name: str
    capability: Capability | None
    exclusive: bool = False  # a calling plan Microsoft lists as exclusive (MCOPSTN1/2/5), classified by the source
    pay_as_you_go: bool = False  # a per-zone pay-as-you-go calling plan (MCOPSTN_PAYG_*), classified by the source

    @property
    def is_exclusive_calling_plan(self) -> bool:
        """A user may hold at most one of these."""
        return self.capability is Capability.CALLING_PLAN and self.exclusive


@dataclass(frozen=True, slots=True)
class TenantSku:
    """One subscribedSku: a product the tenant pays for, its seats and the service plans it carries."""

    sku_id: str  # lowercase GUID
    part_number: str
    applies_to: str
    capability_status: str
    enabled: int  # prepaidUnits.enabled
    consumed: int
    service_plans: tuple[TenantServicePlan, ...]
    account_id: str | None = None  # the tenant the subscription belongs to (subscribedSku.accountId)

    @property
    def available(self) -> int:
        return self.enabled - self.consumed

    @property
    def is_active(self) -> bool:
        """The one test of a subscription that counts: Enabled, or Warning (its grace period)."""
        return self.capability_status in ACTIVE_STATUSES

    @property
    def applies_to_users(self) -> bool:
        """Assignable to users (appliesTo "User"), not a tenant-wide ("Company") subscription."""
        return self.applies_to.lower() == "user"

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset(p.capability for p in self.service_plans if p.capability is not None)


@dataclass(frozen=True, slots=True)
class LicenseAssignment:
    """One licenseAssignmentState: a SKU held directly (`assigned_by_group` None) or inherited from a group."""

    sku_id: str
    disabled_plans: frozenset[str]  # lowercase service plan ids
    assigned_by_group: str | None = None
    state: str | None = None  # Active, ActiveWithError, Disabled, Error
    error: str | None = None  # None when Graph says "None"

    @property
    def is_direct(self) -> bool:
        return self.assigned_by_group is None

    @property
    def grants_plans(self) -> bool:
        """An assignment in state Error or Disabled is on record but gives the user nothing."""
        return self.state not in INACTIVE_LICENSE_STATES


@dataclass(frozen=True, slots=True)
class TenantUser:
    id: str  # lowercase GUID
    user_principal_name: str
    display_name: str
    account_enabled: bool
    usage_location: str | None
    licenses: tuple[LicenseAssignment, ...] = ()
    attributes: Mapping[str, str] = field(default_factory=lambda: NO_ATTRIBUTES)

    def direct_licenses(self) -> dict[str, frozenset[str]]:
        return {a.sku_id: a.disabled_plans for a in self.licenses if a.assigned_by_group is None}

    def inherited_licenses(self) -> dict[str, LicenseAssignment]:
        """SKU id -> one inherited assignment (the first group's) for every SKU held through a group."""
        inherited: dict[str, LicenseAssignment] = {}
        for assignment in self.licenses:
            if assignment.assigned_by_group is not None:
                inherited.setdefault(assignment.sku_id, assignment)
        return inherited


@dataclass(frozen=True, slots=True)
class TenantGroup:
    id: str  # lowercase GUID
    display_name: str
    members: frozenset[str]  # lowercase user ids, transitive
    members_complete: bool = True  # False when the member list was cut short (a page cap, an error)
    # group-based licensing, read for the groups of groupLicenses: the group's own assignedLicenses (None: not
    # read), its direct user members (Entra licenses only those; None: not read) and licenseProcessingState
    licenses: tuple[LicenseAssignment, ...] | None = None
    direct_members: frozenset[str] | None = None
    processing_state: str | None = None  # QueuedForProcessing, ProcessingInProgress, ProcessingComplete

    @property
    def licensed_members(self) -> frozenset[str]:
        """Whom the group's licenses reach: its direct members (all members when those were not read)."""
        return self.direct_members if self.direct_members is not None else self.members


# numberType values (lower case) of numbers that reach the PSTN through a carrier, not a Calling Plan; any other
# (callingPlan, internalError, and unknownFutureValue for a type Graph adds later: v1.0's CSDL) may need the plan
CARRIER_NUMBER_TYPES = frozenset({"directrouting", "operatorconnect"})


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A Teams number assigned to a user or resource account (Graph numberAssignments, rev. 2025-07)."""

    number: str  # E.164, with '+'
    number_type: str  # callingPlan, directRouting, operatorConnect, internalError or unknownFutureValue
    user_id: str  # lowercase object id of the user or resource account
    assignment_status: str = "userAssigned"  # userAssigned, or voiceApplicationAssigned: a resource account's
    category: str | None = None  # assignmentCategory: primary, private or alternate (None: not said)
    country: str | None = None  # isoCountryCode
    location_id: str | None = None  # the emergency location it was given

    @property
    def is_calling_plan_service_number(self) -> bool:
        """A Calling Plan number an auto attendant's or call queue's resource account holds."""
        held_by_application = self.assignment_status.lower() == "voiceapplicationassigned"
        return held_by_application and self.number_type.lower() == "callingplan"

    def __str__(self) -> str:
        return f"{self.number} ({self.number_type})"


@dataclass(frozen=True, slots=True)
class FreeNumber:
    """A number of the inventory no one holds (assignmentStatus unassigned): what a rule's phoneNumber draws on."""

    number: str  # E.164, with '+'
    number_type: str  # callingPlan, directRouting, operatorConnect, ...
    country: str | None  # isoCountryCode, upper case
    city: str | None
    capabilities: frozenset[str] = frozenset()  # numberCapability values, lower case; empty: Graph did not say
    location_id: str | None = None  # the emergency location the number already has

    @property
    def for_users(self) -> bool:
        """Whether a user may be given it (userAssignment among its capabilities, or none listed)."""
        return not self.capabilities or "userassignment" in self.capabilities


@dataclass(frozen=True, slots=True)
class AssignedNumber:
    """A number a user holds, as their Teams configuration lists it (teamsUserConfiguration.telephoneNumbers)."""

    number: str  # E.164, with '+'
    category: str  # primary, private, alternate (or unknownFutureValue)


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """The policy of one type in effect for a user, and how it got there (effectivePolicyAssignments)."""

    policy_type: str  # as Graph spells it, e.g. TeamsCallingPolicy
    name: str  # the policy's display name, e.g. AllowCalling
    policy_id: str
    assignment_type: str  # direct, group (or unknownFutureValue)
    group_id: str | None = None  # the group it comes through, for a group assignment


@dataclass(frozen=True, slots=True)
class TeamsUserConfiguration:
    """A user's Teams voice configuration as observed (Graph's userConfigurations, global cloud only)."""

    user_id: str  # lowercase object id
    numbers: tuple[AssignedNumber, ...] = ()
    enterprise_voice: bool | None = None  # isEnterpriseVoiceEnabled; None when Graph does not say
    policies: tuple[EffectivePolicy, ...] = ()

    def policy(self, policy_type: str) -> EffectivePolicy | None:
        """The policy of `policy_type` in effect (types compare without regard to case); None: the org default."""
        wanted = policy_type.lower()
        return next((p for p in self.policies if p.policy_type.lower() == wanted), None)

    @property
    def policy_names(self) -> dict[str, str]:
        """Policy type -> the name of the policy in effect, for the types a direct or group assignment sets."""
        return {p.policy_type: p.name for p in self.policies}


@dataclass(frozen=True, slots=True)
class PolicyLookup:
    """What Graph's getPolicyId answered for one policy type and name: the policies it found (none: no such
    policy of that type), as `(name as Graph wrote it, policyId)`."""

    policy_type: str
    name: str
    found: tuple[tuple[str, str], ...] = ()

    @property
    def policy_id(self) -> str | None:
        """The id, when exactly one policy answered to the name."""
        return self.found[0][1] if len(self.found) == 1 else None


def policy_key(policy_type: str, name: str) -> tuple[str, str]:
    """How lookups are found: type and name without regard to case, and without the `Tag:` Graph puts before a
    name (its getPolicyId example answers `Tag:AllOn` for `AllOn`)."""
    bare = name.strip()
    bare = bare[4:] if bare.lower().startswith("tag:") else bare
    return policy_type.strip().lower(), bare.lower()


@dataclass(frozen=True, slots=True)
class UnreadableUser:
    """A user the source returned but planning cannot read safely: left out of every change (USER_UNREADABLE)."""

    user_id: str | None  # lowercase object id, when the object has one
    user_principal_name: str | None
    reason: str  # what is missing, e.g. "'accountEnabled' is null"


@dataclass(frozen=True, slots=True)
class ReadScope:
    """A live read that fetched only the users a plan can touch (policy.read scoped): how many of how many."""

    users_read: int
    users_in_tenant: int | None  # Graph's count (eventually consistent), None when it could not be had
    reason: str  # why the read was scoped: "policy.read: scoped", or the count above the auto threshold


@dataclass(frozen=True, repr=False)
class Tenant:
    skus: tuple[TenantSku, ...]
    users: tuple[TenantUser, ...]
    groups: tuple[TenantGroup, ...]
    cloud: str = "global"  # the national cloud the tenant lives in: global, usgov (GCC High), usgovdod, china
    # the Teams number inventory: None when it was not read (a snapshot without it, no permission, a national
    # cloud), then `numbers_unavailable` says why when a read was tried; a tuple when it was read
    numbers: tuple[PhoneNumber, ...] | None = None
    numbers_unavailable: str | None = None
    free_numbers: tuple[FreeNumber, ...] = ()  # the inventory's unassigned numbers (read with `numbers`)
    tenant_id: str | None = None  # lowercase directory (tenant) id, when the source says which tenant it is
    tenant_name: str | None = None  # the organization's display name, when the source has it (a snapshot may)
    unreadable: tuple[UnreadableUser, ...] = ()  # users left out: they are in the tenant, but not readable
    scope: ReadScope | None = None  # set when only the users the plan can touch were read; None: every user
    # display names of other groups users inherit licenses from (live reads look them up; snapshots list all)
    group_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # each user's Teams configuration by lowercase user id (a user Graph did not list has none): None when not read
    # (a snapshot without it, no permission, a national cloud), then `teams_unavailable` says why if a read was tried
    teams_users: Mapping[str, TeamsUserConfiguration] | None = None
    teams_unavailable: str | None = None
    # getPolicyId answers by `policy_key`: None when none was asked (then `policies_unavailable` says why if tried)
    policies: Mapping[tuple[str, str], PolicyLookup] | None = None
    policies_unavailable: str | None = None
    sku_by_id: Mapping[str, TenantSku] = field(init=False, repr=False, compare=False)
    numbers_by_user: Mapping[str, tuple[PhoneNumber, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sku_by_id", MappingProxyType({sku.sku_id: sku for sku in self.skus}))
        by_user: dict[str, list[PhoneNumber]] = {}
        for number in self.numbers or ():
            by_user.setdefault(number.user_id, []).append(number)
        object.__setattr__(self, "numbers_by_user", MappingProxyType({k: tuple(v) for k, v in by_user.items()}))

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run formats the repr of its main task, result included, when it restores the
        # SIGINT handler (seen on CPython 3.11); a full repr of a 100,000-user tenant was a 95 MB string.
        numbers = "not read" if self.numbers is None else len(self.numbers)
        return (
            f"Tenant({self.tenant_id or 'unknown tenant'}, {self.cloud}: {len(self.users)} users, "
            f"{len(self.groups)} groups, {len(self.skus)} SKUs, numbers {numbers})"
        )

    @property
    def has_active_credits(self) -> bool:
        """An active Communications Credits subscription (MCOPSTNC, MCOPSTNPP): calls past the pools are paid."""
        return any(s.is_active and Capability.COMMUNICATIONS_CREDITS in s.capabilities for s in self.skus)


def sku_for(ref: LicenseRef, skus: Iterable[TenantSku]) -> TenantSku | None:
    """The tenant's subscription a configured license names: by skuId, else by part number, else by one of the
    catalogue's ids for that part number (a part number Microsoft renamed)."""
    skus = tuple(skus)
    if ref.is_guid:
        return next((sku for sku in skus if sku.sku_id == ref.ref), None)
    wanted = ref.ref.lower()
    by_name = next((sku for sku in skus if sku.part_number.lower() == wanted), None)
    if by_name is not None:
        return by_name
    by_id = {sku.sku_id: sku for sku in skus}
    return next((by_id[i] for i in ref.sku_ids if i in by_id), None)
