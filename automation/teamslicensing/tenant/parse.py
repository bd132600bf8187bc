"""Pure parsers from Microsoft Graph's JSON objects (subscribedSku, user, group) to the tenant types.

Shared by every tenant source: a snapshot file holds Graph's own JSON, and the live reader parses page bytes with
the same functions. A malformed object raises `ObjectError` with the field at fault; the caller adds where the
object was.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, cast

from teamslicensing.model.capability import is_guid
from teamslicensing.model.tenant import (
    NO_ATTRIBUTES,
    USER_FIELDS,
    FreeNumber,
    LicenseAssignment,
    PhoneNumber,
    TenantGroup,
    TenantServicePlan,
    TenantSku,
    TenantUser,
    UnreadableUser,
)
from teamslicensing.reference.catalog import is_exclusive_calling_plan, is_pay_as_you_go_calling_plan, plan_capability

EXTENSION_ATTRIBUTES = frozenset(f"extensionAttribute{n}" for n in range(1, 16))


class ObjectError(ValueError):
    """A Graph object lacks a field or has one of the wrong type."""


class UnreadableField(ObjectError):
    """A user Graph returned with a field null that planning needs (Graph does not promise these fields): the user is
    left out of every change with USER_UNREADABLE, never a failed run. Decided per field (docs/reference/snapshots.md):
    a null `userPrincipalName` or `accountEnabled`, or a license entry without `skuId`, makes protection and prune
    decisions unsafe; a null `usageLocation` or `displayName` is read as none and planned as usual."""

    def __init__(self, field: str) -> None:
        super().__init__(f"'{field}' is null")
        self.field = field


class Interner:
    """Shares one object per distinct value among the users of one tenant read.

    100k users hold the same few SKU, plan and group ids, the same few license lists and attribute values: each
    distinct string, license assignment, list of assignments and set of attributes exists once, whoever holds
    it, and a user id is one string object in the user and in every group that lists it. Besides memory, this
    keeps the tenant to about one container per user for the garbage collector to walk while the planner runs.
    """

    __slots__ = ("_assignments", "_attribute_sets", "_ids", "_licenses", "_plan_sets", "_strings")

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        self._ids: dict[str, str] = {}  # an id as written -> its canonical (trimmed, lowercase) shared string
        self._assignments: dict[LicenseAssignment, LicenseAssignment] = {}
        # a user's license entries as written -> the parsed tuple; only lists that parsed are kept
        self._licenses: dict[tuple[_RawLicense, ...], tuple[LicenseAssignment, ...]] = {}
        self._attribute_sets: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
        self._plan_sets: dict[frozenset[str], frozenset[str]] = {}

    def __call__(self, text: str) -> str:
        return self._strings.setdefault(text, text)

    def plan_set(self, plans: frozenset[str]) -> frozenset[str]:
        return self._plan_sets.setdefault(plans, plans)

    def object_id(self, text: str) -> str:
        """`text` trimmed and lowercased, as one shared string per id."""
        canonical = self._ids.get(text)
        if canonical is None:
            canonical = self._ids[text] = self(text.strip().lower())
        return canonical


# (skuId, disabledPlans, assignedByGroup, state, error) exactly as a license entry holds them
_RawLicense = tuple[Any, tuple[Any, ...], Any, Any, Any]


def _text(obj: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ObjectError(f"missing '{key}'")
        return None
    if not isinstance(value, str):
        raise ObjectError(f"'{key}' must be a string, not {type(value).__name__}")
    return value


def _required(obj: Mapping[str, Any], key: str) -> str:
    value = _text(obj, key)
    assert value is not None
    return value


def _count(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ObjectError(f"'{key}' must be an integer")
    return value


def parse_subscribed_sku(obj: Any) -> TenantSku:
    if not isinstance(obj, dict):
        raise ObjectError("expected an object")
    prepaid = obj.get("prepaidUnits") or {}
    if not isinstance(prepaid, dict):
        raise ObjectError("'prepaidUnits' must be an object")
    plans = obj.get("servicePlans") or []
    if not isinstance(plans, list):
        raise ObjectError("'servicePlans' must be a list")
    service_plans = []
    for plan in plans:
        if not isinstance(plan, dict):
            raise ObjectError("'servicePlans' entries must be objects")
        plan_id = _required(plan, "servicePlanId").strip().lower()
        name = _text(plan, "servicePlanName", required=False) or plan_id
        capability = plan_capability(name, plan_id)
        exclusive, payg = is_exclusive_calling_plan(name, plan_id), is_pay_as_you_go_calling_plan(name)
        service_plans.append(TenantServicePlan(plan_id, name, capability, exclusive, payg))
    return TenantSku(
        sku_id=_required(obj, "skuId").strip().lower(),
        part_number=_required(obj, "skuPartNumber").strip(),
        applies_to=_text(obj, "appliesTo", required=False) or "User",
        # nullable in Graph's metadata: a subscription whose state is not given is not believed active
        capability_status=_text(obj, "capabilityStatus", required=False) or "",
        enabled=_count(prepaid, "enabled"),
        consumed=_count(obj, "consumedUnits"),
        service_plans=tuple(service_plans),
        account_id=_account(obj.get("accountId")),
    )


def _account(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and is_guid(value) else None


def parse_user(obj: Any, attributes: Collection[str] = (), intern: Interner | None = None) -> TenantUser:
    """Parse a Graph user; keep only the selectable `attributes` the rules use."""
    if not isinstance(obj, dict):
        raise ObjectError("expected an object")
    share = intern or Interner()
    enabled = obj.get("accountEnabled", True)
    if obj.get("userPrincipalName", "") is None:
        raise UnreadableField("userPrincipalName")
    if enabled is None:
        raise UnreadableField("accountEnabled")
    if not isinstance(enabled, bool):
        raise ObjectError("'accountEnabled' must be true or false")
    usage_location = _text(obj, "usageLocation", required=False)
    return TenantUser(
        id=share.object_id(_required(obj, "id")),
        user_principal_name=_required(obj, "userPrincipalName"),
        display_name=_text(obj, "displayName", required=False) or "",
        account_enabled=enabled,
        usage_location=share(usage_location.upper()) if usage_location else None,
        licenses=_licenses(obj, share),
        attributes=_attributes(obj, attributes, share) if attributes else NO_ATTRIBUTES,
    )


def _licenses(obj: Mapping[str, Any], share: Interner) -> tuple[LicenseAssignment, ...]:
    states = obj.get("licenseAssignmentStates")
    if states is None:  # older exports and $select without states: everything counts as direct
        states = obj.get("assignedLicenses") or []
    if not isinstance(states, list):
        raise ObjectError("'licenseAssignmentStates' must be a list")
    if not states:
        return ()
    key = _raw_licenses(states)
    if key is not None:
        known = share._licenses.get(key)
        if known is not None:  # equal entries parse alike, and only lists that parsed are kept: no check needed
            return known
    assignments = share._assignments
    parsed = tuple(assignments.setdefault(a, a) for a in (_assignment(state, share) for state in states))
    if key is not None:
        share._licenses[key] = parsed
    return parsed


def _raw_licenses(states: list[Any]) -> tuple[_RawLicense, ...] | None:
    """The entries as a hashable key, or None when one is malformed (parsing then says how)."""
    keys = []
    for state in states:
        if not isinstance(state, dict):
            return None
        disabled = state.get("disabledPlans") or []
        if not isinstance(disabled, list):  # tuple("abc") would pass for a list of plans
            return None
        get = state.get
        keys.append((get("skuId"), tuple(disabled), get("assignedByGroup"), get("state"), get("error")))
    key = tuple(keys)
    try:
        hash(key)
    except TypeError:  # an object or a list where a string belongs
        return None
    return key


def _assignment(state: Any, share: Interner) -> LicenseAssignment:
    if not isinstance(state, dict):
        raise ObjectError("license entries must be objects")
    disabled = state.get("disabledPlans") or []
    if not isinstance(disabled, list) or not all(isinstance(p, str) for p in disabled):
        raise ObjectError("'disabledPlans' must be a list of service plan ids")
    if state.get("skuId", "") is None:
        raise UnreadableField("skuId of a license")
    group = _text(state, "assignedByGroup", required=False)
    error = _text(state, "error", required=False)
    return LicenseAssignment(
        sku_id=share(_required(state, "skuId").strip().lower()),
        disabled_plans=share.plan_set(frozenset(share(p.strip().lower()) for p in disabled)),
        assigned_by_group=share(group.lower()) if group else None,
        state=_text(state, "state", required=False),
        error=None if error in (None, "None") else error,
    )


def _attributes(obj: Mapping[str, Any], names: Collection[str], share: Interner) -> Mapping[str, str]:
    extension = obj.get("onPremisesExtensionAttributes") or {}
    found: list[tuple[str, str]] = []
    for name in names:
        source = extension if name in EXTENSION_ATTRIBUTES and isinstance(extension, dict) else obj
        value = source.get(name)
        if isinstance(value, str) and value:
            found.append((name, value))
    if not found:
        return NO_ATTRIBUTES
    key = tuple(found)
    shared = share._attribute_sets.get(key)
    if shared is None:  # shared by every user with the same values (typed read-only: never changed)
        shared = share._attribute_sets[key] = {name: share(value) for name, value in found}
    return shared


def parse_group(obj: Any, intern: Interner | None = None) -> TenantGroup:
    if not isinstance(obj, dict):
        raise ObjectError("expected an object")
    share = intern or Interner()
    members = obj.get("members") or []
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise ObjectError("'members' must be a list of user ids")
    known = frozenset(map(share._ids.get, members))  # the users' own id strings, when all are users read
    ids: frozenset[str] = frozenset(map(share.object_id, members)) if None in known else cast("frozenset[str]", known)
    licenses = obj.get("assignedLicenses")
    if licenses is not None and not isinstance(licenses, list):
        raise ObjectError("'assignedLicenses' must be a list")
    direct = obj.get("directMembers")
    if direct is not None and (not isinstance(direct, list) or not all(isinstance(m, str) for m in direct)):
        raise ObjectError("'directMembers' must be a list of user ids")
    processing = obj.get("licenseProcessingState")
    return TenantGroup(
        id=_required(obj, "id").strip().lower(),
        display_name=_text(obj, "displayName", required=False) or "",
        members=ids,
        licenses=None if licenses is None else tuple(_assignment(entry, share) for entry in licenses),
        direct_members=None if direct is None else frozenset(map(share.object_id, direct)),
        processing_state=_text(processing, "state", required=False) if isinstance(processing, dict) else None,
    )


def user_select(attributes: Collection[str]) -> list[str]:
    """The $select list for /users: planning fields plus the attributes rules select on."""
    extra = sorted({"onPremisesExtensionAttributes" if a in EXTENSION_ATTRIBUTES else a for a in attributes})
    return [*USER_FIELDS, *(a for a in extra if a not in USER_FIELDS)]


# assignmentStatus values of a number held by a user or a resource account (the others: unassigned, a conference
# bridge, a Teams shared-calling policy, errors)
_HELD_BY_ACCOUNT = frozenset({"userassigned", "voiceapplicationassigned"})


def parse_number_assignment(obj: Any) -> PhoneNumber | None:
    """One numberAssignment; None when no user or resource account holds the number."""
    if not isinstance(obj, dict):
        raise ObjectError("expected an object")
    status = _text(obj, "assignmentStatus", required=False) or ""
    target = _text(obj, "assignmentTargetId", required=False)
    if status.lower() not in _HELD_BY_ACCOUNT or not target:
        return None
    country = _text(obj, "isoCountryCode", required=False)
    return PhoneNumber(
        number=_required(obj, "telephoneNumber").strip(),
        number_type=_text(obj, "numberType", required=False) or "unknown",
        user_id=target.strip().lower(),
        assignment_status=status,
        category=_text(obj, "assignmentCategory", required=False),
        country=country.strip().upper() if country else None,
        location_id=_text(obj, "locationId", required=False) or None,
    )


def parse_inventory_entry(obj: Any) -> PhoneNumber | FreeNumber | None:
    """One numberAssignment: held by a user or resource account, free, or neither (a conference bridge's...)."""
    return parse_number_assignment(obj) or parse_free_number(obj)


def parse_free_number(obj: Any) -> FreeNumber | None:
    """One numberAssignment no one holds (assignmentStatus unassigned); None for any other."""
    if not isinstance(obj, dict):
        raise ObjectError("expected an object")
    if (_text(obj, "assignmentStatus", required=False) or "").lower() != "unassigned":
        return None
    capabilities = obj.get("capabilities")
    if capabilities is not None and not (
        isinstance(capabilities, list) and all(isinstance(c, str) for c in capabilities)
    ):
        raise ObjectError("'capabilities' is not a list of strings")
    country, city = _text(obj, "isoCountryCode", required=False), _text(obj, "city", required=False)
    return FreeNumber(
        number=_required(obj, "telephoneNumber").strip(),
        number_type=_text(obj, "numberType", required=False) or "unknown",
        country=country.strip().upper() if country else None,
        city=city.strip() if city else None,
        capabilities=frozenset(c.lower() for c in capabilities or ()),
        location_id=_text(obj, "locationId", required=False) or None,
    )


def unreadable_user(obj: Any, problem: ObjectError) -> UnreadableUser:
    """What can be told of a user object that did not parse, for USER_UNREADABLE."""
    fields = obj if isinstance(obj, dict) else {}
    user_id, upn = fields.get("id"), fields.get("userPrincipalName")
    return UnreadableUser(
        user_id.strip().lower() if isinstance(user_id, str) and user_id.strip() else None,
        upn if isinstance(upn, str) and upn.strip() else None,
        str(problem),
    )
