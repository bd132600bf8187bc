"""Pure parsers from Graph's Teams administration objects (teamsUserConfiguration, and a getPolicyId answer as a
snapshot keeps it) to the tenant types. Shapes from v1.0's CSDL (namespace microsoft.graph.teamsAdministration):
`telephoneNumbers` and `effectivePolicyAssignments` may be null (none), their entries' fields may not; the enum
values (assignmentCategory, assignmentType) are kept as strings, since Graph may add members."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from teamslicensing.model.capability import is_guid
from teamslicensing.model.tenant import AssignedNumber, EffectivePolicy, PolicyLookup, TeamsUserConfiguration
from teamslicensing.tenant.parse import Interner, ObjectError


def _string(obj: Mapping[str, Any], key: str, where: str = "") -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise ObjectError(f"'{where}{key}' must be a string, not {found}")
    return value


def _objects(obj: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The list `key` holds (null: none), each entry an object."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ObjectError(f"'{key}' must be a list")
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise ObjectError(f"'{key}[{index}]' must be an object")
    return value


def parse_user_configuration(obj: Any, intern: Interner | None = None) -> TeamsUserConfiguration:
    """One teamsUserConfiguration; its id is the user's object id."""
    if not isinstance(obj, dict):
        raise ObjectError("expected an object")
    share = intern or Interner()
    user_id = _string(obj, "id")
    if not is_guid(user_id):
        raise ObjectError(f"'id' is {user_id!r}, not a user's object id")
    voice = obj.get("isEnterpriseVoiceEnabled")
    if voice is not None and not isinstance(voice, bool):
        raise ObjectError("'isEnterpriseVoiceEnabled' must be true, false or null")
    numbers = tuple(
        AssignedNumber(
            _string(entry, "telephoneNumber", f"telephoneNumbers[{n}].").strip(),
            share(_string(entry, "assignmentCategory", f"telephoneNumbers[{n}].")),
        )
        for n, entry in enumerate(_objects(obj, "telephoneNumbers"))
    )
    policies = tuple(_effective(entry, n, share) for n, entry in enumerate(_objects(obj, "effectivePolicyAssignments")))
    return TeamsUserConfiguration(share.object_id(user_id), numbers, voice, policies)


def _effective(entry: Mapping[str, Any], index: int, share: Interner) -> EffectivePolicy:
    where = f"effectivePolicyAssignments[{index}]."
    assignment = entry.get("policyAssignment")
    if not isinstance(assignment, dict):
        raise ObjectError(f"'{where}policyAssignment' must be an object")
    inner = f"{where}policyAssignment."
    group = assignment.get("groupId")
    if group is not None and not isinstance(group, str):
        raise ObjectError(f"'{inner}groupId' must be a string or null")
    return EffectivePolicy(
        policy_type=share(_string(entry, "policyType", where)),
        name=share(_string(assignment, "displayName", inner)),
        policy_id=share(_string(assignment, "policyId", inner)),
        assignment_type=share(_string(assignment, "assignmentType", inner)),
        group_id=share.object_id(group) if group else None,
    )


def parse_policy_lookup(obj: Any) -> PolicyLookup:
    """A getPolicyId answer as snapshots keep it: `{"policyType", "name", "value": [policyIdentifierDetail]}`."""
    if not isinstance(obj, dict):
        raise ObjectError("expected an object")
    found = tuple(
        (_string(row, "name", f"value[{n}].").strip(), _string(row, "policyId", f"value[{n}]."))
        for n, row in enumerate(_objects(obj, "value"))
    )
    if not isinstance(obj.get("value"), list):
        raise ObjectError("'value' must be a list (Graph's answer; empty when no policy has the name)")
    return PolicyLookup(_string(obj, "policyType").strip(), _string(obj, "name").strip(), found)
