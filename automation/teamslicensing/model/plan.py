"""A plan is data: what will change for whom, what cannot be done and why, and whether the seats are there.

Computed once by the planner; reports and the executor only read it. Field names follow the JSON contract.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from teamslicensing.model.cost import CurrencyCost
from teamslicensing.model.voicechange import NumberChange, NumberPool, PolicyChange


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class GapCode(str, enum.Enum):
    """Why something is wrong or was not done. The values are a contract: scripts match on them."""

    USAGE_LOCATION_MISSING = "USAGE_LOCATION_MISSING"
    SKU_NOT_IN_TENANT = "SKU_NOT_IN_TENANT"
    SUBSCRIPTION_NOT_ACTIVE = "SUBSCRIPTION_NOT_ACTIVE"
    SEAT_SHORTAGE = "SEAT_SHORTAGE"
    CALLING_PLAN_WITHOUT_PHONE_SYSTEM = "CALLING_PLAN_WITHOUT_PHONE_SYSTEM"
    CREDITS_WITHOUT_PREREQUISITE = "CREDITS_WITHOUT_PREREQUISITE"
    TENANT_HAS_NO_CREDITS_SUBSCRIPTION = "TENANT_HAS_NO_CREDITS_SUBSCRIPTION"
    PHONE_SYSTEM_WITHOUT_CALLING_PLAN = "PHONE_SYSTEM_WITHOUT_CALLING_PLAN"
    CREDITS_RECOMMENDED = "CREDITS_RECOMMENDED"
    GROUP_LICENSE_ERROR = "GROUP_LICENSE_ERROR"
    INHERITED_LICENSE_NOT_REMOVED = "INHERITED_LICENSE_NOT_REMOVED"
    PROTECTED_USER_SKIPPED = "PROTECTED_USER_SKIPPED"
    DISABLED_ACCOUNT_SKIPPED = "DISABLED_ACCOUNT_SKIPPED"
    REDUNDANT_LICENSE = "REDUNDANT_LICENSE"
    MUTUALLY_EXCLUSIVE_LICENSES = "MUTUALLY_EXCLUSIVE_LICENSES"
    PHONE_NUMBER_AT_RISK = "PHONE_NUMBER_AT_RISK"
    NOT_AVAILABLE_IN_USAGE_LOCATION = "NOT_AVAILABLE_IN_USAGE_LOCATION"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    NUMBER_INVENTORY_UNAVAILABLE = "NUMBER_INVENTORY_UNAVAILABLE"
    PROTECTED_USER_NOT_FOUND = "PROTECTED_USER_NOT_FOUND"
    CALLING_PLANS_STACKED = "CALLING_PLANS_STACKED"
    TEAMS_LICENSE_MISSING = "TEAMS_LICENSE_MISSING"
    ALREADY_COVERED = "ALREADY_COVERED"
    RESOURCE_ACCOUNT_LICENSE_CONFLICT = "RESOURCE_ACCOUNT_LICENSE_CONFLICT"
    UNFUNDED_USAGE_LICENSE = "UNFUNDED_USAGE_LICENSE"
    CREDITS_WITHOUT_PSTN_USE = "CREDITS_WITHOUT_PSTN_USE"
    RESOURCE_ACCOUNT_NEEDS_PAYG = "RESOURCE_ACCOUNT_NEEDS_PAYG"
    GROUP_NOT_FOUND = "GROUP_NOT_FOUND"
    SELECTION_SUSPECT = "SELECTION_SUSPECT"
    USER_UNREADABLE = "USER_UNREADABLE"
    READ_SCOPED = "READ_SCOPED"
    MIGRATION_WAITING = "MIGRATION_WAITING"
    GROUP_LICENSE_NOT_INHERITED = "GROUP_LICENSE_NOT_INHERITED"
    GROUP_LICENSE_PENDING = "GROUP_LICENSE_PENDING"
    USAGE_LOCATION_FROM_TENANT = "USAGE_LOCATION_FROM_TENANT"
    CREDITS_NEEDED_BY_USAGE = "CREDITS_NEEDED_BY_USAGE"
    TOLL_FREE_WITHOUT_CREDITS = "TOLL_FREE_WITHOUT_CREDITS"
    POOL_FORECAST_EXHAUSTED = "POOL_FORECAST_EXHAUSTED"
    RECLAIMABLE_LICENSE = "RECLAIMABLE_LICENSE"
    CALL_ROWS_UNREADABLE = "CALL_ROWS_UNREADABLE"
    CALL_CAPABILITY_UNKNOWN = "CALL_CAPABILITY_UNKNOWN"
    ACKNOWLEDGEMENT_EXPIRED = "ACKNOWLEDGEMENT_EXPIRED"
    PRUNE_LIMITED_TO_VOICE = "PRUNE_LIMITED_TO_VOICE"
    NO_FREE_NUMBER = "NO_FREE_NUMBER"
    NUMBER_IN_USE = "NUMBER_IN_USE"
    NUMBER_NOT_IN_INVENTORY = "NUMBER_NOT_IN_INVENTORY"
    NUMBER_WAITS_FOR_LICENSE = "NUMBER_WAITS_FOR_LICENSE"
    EMERGENCY_LOCATION_MISSING = "EMERGENCY_LOCATION_MISSING"
    POLICY_NOT_FOUND = "POLICY_NOT_FOUND"
    NUMBERS_NOT_IN_CLOUD = "NUMBERS_NOT_IN_CLOUD"
    TEAMS_CONFIGURATION_UNAVAILABLE = "TEAMS_CONFIGURATION_UNAVAILABLE"
    NUMBER_LICENSE_MISSING = "NUMBER_LICENSE_MISSING"
    NUMBER_TYPE_CONFLICT = "NUMBER_TYPE_CONFLICT"
    VOICE_RULES_DIFFER = "VOICE_RULES_DIFFER"


BLOCKING_CODES = frozenset({GapCode.PROTECTED_USER_NOT_FOUND})  # apply writes nothing while one stands
# never turned into info by policy.acknowledge: a number about to be lost, and what blocks every write
UNACKNOWLEDGEABLE = frozenset({GapCode.PHONE_NUMBER_AT_RISK, *BLOCKING_CODES})


@dataclass(frozen=True, slots=True)
class Gap:
    code: GapCode
    severity: Severity
    user_principal_name: str | None  # None for tenant-wide gaps
    sku_part_number: str | None
    message: str
    user_id: str | None = None  # the user's object id, when the gap is a user's and the user was read
    sku_id: str | None = None  # the SKU's id, when the gap names a SKU the tenant has

    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (
            self.severity.rank,
            self.code.value,
            (self.user_principal_name or "").lower(),
            self.sku_part_number or "",
            self.message,
        )


@dataclass(frozen=True, slots=True)
class LicenseAdd:
    sku_id: str
    sku_part_number: str
    disabled_plans: tuple[str, ...]  # sorted service plan ids; replaces the SKU's list when already assigned


class RemovalReason(str, enum.Enum):
    """Why a license is removed: it explains the removal, the judgement of every change decides it."""

    PRUNE = "prune"  # a managed voice add-on no rule gives the user
    PRUNE_ALSO = "pruneAlso"  # a managed license beyond voice that policy.pruneAlso lets prune remove
    SWAP = "swap"  # replaced in the same assignLicense by the license added for it (the number stays)
    REDUNDANT = "redundant"  # policy.removeRedundant: other licenses give every plan of it
    MIGRATE = "migrate"  # a direct copy a managed group's Active copy replaces (groupLicenses migrateDirect)
    UNDO = "undo"  # restoring the licenses an audited run changed


@dataclass(frozen=True, slots=True)
class LicenseRemove:
    sku_id: str
    sku_part_number: str
    reason: RemovalReason | None = None  # None: read from a plan saved before removals carried their reason


@dataclass(frozen=True, slots=True)
class UserChange:
    """Everything that changes for one user: one usage-location PATCH and one assignLicense call at most."""

    user_id: str
    user_principal_name: str
    set_usage_location: str | None
    add_licenses: tuple[LicenseAdd, ...]
    remove_licenses: tuple[LicenseRemove, ...]
    rules: tuple[str, ...]
    destructive: bool  # takes away the user's last phone-system or calling-plan service plan
    phone_numbers: tuple[str, ...] = ()  # the numbers a destructive change takes, when the inventory was read
    takes_plans: bool = False  # a removal takes away a service plan no other license keeps (swaps do not)
    number_changes: tuple[NumberChange, ...] = ()  # after licenses and usage location: unassigns first
    policy_changes: tuple[PolicyChange, ...] = ()  # after licenses, before numbers

    @property
    def changes_licenses(self) -> bool:
        return bool(self.add_licenses or self.remove_licenses)

    @property
    def removes_beyond_voice(self) -> bool:
        """Removes a license beyond voice add-ons (a suite named in policy.pruneAlso): always counted and shown."""
        return any(r.reason is RemovalReason.PRUNE_ALSO for r in self.remove_licenses)

    def applied_to(self, direct: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        """Direct assignments (sku -> disabled plans) once this change's assignLicense took effect: removals go, an
        add replaces the SKU's disabled plans. What a read-back and a saved plan's re-check compare against."""
        state = dict(direct)
        for remove in self.remove_licenses:
            state.pop(remove.sku_id, None)
        for add in self.add_licenses:
            state[add.sku_id] = frozenset(add.disabled_plans)
        return state


@dataclass(frozen=True, slots=True)
class GroupChange:
    """One group's license change (groupLicenses): one `POST /groups/{id}/assignLicense`, which Entra then applies
    to every direct member asynchronously."""

    group_id: str
    group_name: str
    add_licenses: tuple[LicenseAdd, ...]  # new SKUs, or new disabled plans for one the group has
    remove_licenses: tuple[LicenseRemove, ...]
    members: int  # direct members the change reaches
    new_seats: tuple[tuple[str, int], ...] = ()  # (sku id, members who hold it no other way) per SKU added
    disables_plans: bool = False  # an add for a SKU the group has, turning plans off that were on

    @property
    def user_id(self) -> str:
        """The object the write goes to (audit and progress lines name it like a user's)."""
        return self.group_id


@dataclass(frozen=True, slots=True)
class SeatLine:
    sku_id: str
    sku_part_number: str
    enabled: int
    consumed: int
    to_add: int  # new assignments planned
    to_remove: int  # assignments the plan frees
    available: int  # enabled - consumed + what removal-only changes free (the seats adds may use)
    shortfall: int  # new assignments wanted but left out for lack of seats
    redundant: int = 0  # direct assignments left in place whose voice plans other licenses already give


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why `apply` would refuse a plan as it stands: a limit it exceeds, or a gap that blocks every write."""

    reason: str  # "maxChanges", "maxRemovals" or "blockingGap"
    limit: int | None = None  # the limit the plan is judged with: the policy's, unless `set_by` overrides it
    planned: int | None = None  # what the plan has against it
    code: GapCode | None = None  # the blocking gap's code
    subjects: tuple[str, ...] = ()  # whom the blocking gaps name
    set_by: str | None = None  # what set the limit when not the policy (apply's --max-changes, a runbook setting)

    @property
    def limit_name(self) -> str:
        """Where the limit comes from, as the admin would change it."""
        return self.set_by or f"policy.{self.reason}"

    def describe(self) -> str:
        if self.code is not None:
            return f"{self.code.value} for {', '.join(self.subjects) or 'the tenant'}"
        planned = self.planned or 0
        if self.reason == "maxChanges":
            what = "user or group to change" if planned == 1 else "users and groups to change"
        else:
            what = "user loses service plans" if planned == 1 else "users lose service plans"
        return f"{planned:,} {what}, more than {self.limit_name} ({self.limit or 0:,})"


@dataclass(frozen=True, slots=True)
class RuleSummary:
    """One rule's share of the plan (or, as "prune", of users no rule selects)."""

    rule: str
    selected: int  # users the rule selects among those read
    changed: int  # users with a change
    adds: int  # license adds in those changes
    removals: int  # license removals in those changes
    withheld: int  # users the rule wanted changed whose change a gap held back
    skipped: int = 0  # users the rule wanted changed who are protected or disabled: not changed at all


class Action(str, enum.Enum):
    """What the plan does with one user: the decision's headline. The values are a contract."""

    CHANGE = "change"  # licenses or the usage location change
    NONE = "none"  # already as declared
    WITHHELD = "withheld"  # a change was wanted and a gap held it back (the reasons name the gap)
    PROTECTED = "protected"  # policy.protectedUsers or protectedGroups: never changed, only reported
    SKIPPED = "skipped"  # a disabled account, a user the source could not read, or one a rule excludes


@dataclass(frozen=True, slots=True)
class SelectedBy:
    """One way a rule's `select` names a user."""

    by: str  # "group" (transitive member), "attribute" or "listed" (by UPN or id)
    value: str  # the group as the file names it, "department in ['sales']", or the name as listed

    def describe(self) -> str:
        if self.by == "group":
            return f"member of group '{self.value}' (transitively)"
        if self.by == "listed":
            return "listed by name"
        return f"attributes {self.value}"


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that selects the user, and how."""

    rule: str
    how: tuple[SelectedBy, ...]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision is what it is: a gap code where a gap applies, else what the plan does and why."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The plan's word on one user a rule selects, or who holds a managed SKU: what it does, by which rules, and
    why. It explains; the judgement that made it is the planner's (apply never reads a decision)."""

    user_id: str
    user_principal_name: str
    action: Action
    rules: tuple[RuleMatch, ...]
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, repr=False)
class Plan:
    changes: tuple[UserChange, ...]
    gaps: tuple[Gap, ...]
    seats: tuple[SeatLine, ...]
    group_changes: tuple[GroupChange, ...] = ()  # written after every user's change (usage locations come first)
    refusals: tuple[Refusal, ...] = ()  # what apply would refuse, judged against the policy's limits
    rule_summaries: tuple[RuleSummary, ...] = ()
    decisions: tuple[Decision, ...] = ()  # one per user a rule selects or who holds a managed SKU, by UPN
    number_pools: tuple[NumberPool, ...] = ()  # per country and type: free, needed, short (numbered rules only)
    cost: tuple[CurrencyCost, ...] = ()  # per currency, from the configuration's prices (none: no prices given)

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run formats the repr of its main task, result included, when it restores the
        # SIGINT handler (seen on CPython 3.11); a full repr of a 100,000-user tenant was a 95 MB string.
        return (
            f"Plan({len(self.changes)} changes, {len(self.group_changes)} group changes, {len(self.gaps)} gaps, "
            f"{len(self.seats)} seat lines, {len(self.decisions)} decisions)"
        )

    @property
    def is_empty(self) -> bool:
        """True when applying the plan would write nothing."""
        return not self.changes and not self.group_changes

    @property
    def blocks_apply(self) -> tuple[Gap, ...]:
        """Gaps that make any write unsafe: a protection that names nobody may mean someone meant is unprotected."""
        return tuple(gap for gap in self.gaps if gap.code in BLOCKING_CODES)

    @property
    def has_errors(self) -> bool:
        return any(gap.severity is Severity.ERROR for gap in self.gaps)

    def gap_count(self, severity: Severity) -> int:
        return sum(1 for gap in self.gaps if gap.severity is severity)
