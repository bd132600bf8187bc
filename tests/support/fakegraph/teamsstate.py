"""What the fake's Teams administration parts share: the number inventory, the long-running number operations,
the policies and each user's Teams configuration, loaded from the document, and the checks of an action's body.

Document keys (all optional): `numberAssignments` (Graph's numberAssignment objects: the inventory),
`policies` (getPolicyId lookups as snapshots keep them: `{"policyType", "name", "value": [policyIdentifierDetail]}`;
every `value` row is a policy instance of that type), `userConfigurations` (Graph's teamsUserConfiguration
objects: each user's direct and group policy assignments, isEnterpriseVoiceEnabled, accountType and dates; their
`telephoneNumbers` must agree with the inventory, which alone is kept), and the fake's own `emergencyLocations`
(`[{"locationId", "countryOrRegion"}]`: the tenant's validated emergency locations, which Graph has no API for).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tests.support.fakegraph.common import BAD_JSON, Json, _bad_request, _Reply
from tests.support.fakegraph.reads import ReadRoutes
from tests.support.fakegraph.writes import WriteRoutes
from tests.support.graphmetadata.conformance import model

TEAMS = "microsoft.graph.teamsAdministration"
TENANT_ID = "00000000-0000-4000-8000-00000000a0a0"  # the fake tenant's id when the document names none
CREATED = "2025-01-07T09:08:50.9115993Z"  # createdDateTime of a configuration the document does not date
NUMBER_TYPES = ("directRouting", "callingPlan", "operatorConnect")
# the Calling Plan service plans (not Communications Credits, MCOPSTNC and MCOPSTN3), and Phone System
CREDITS_PLANS = frozenset({"MCOPSTNC", "MCOPSTN3"})

# Graph's OData framework texts for malformed action bodies (the same framework answers assignLicense)
MISSING = (
    "One or more parameters of the operation '{operation}' are missing from the request payload. "
    "The missing parameters are: {names}."
)
UNKNOWN_PARAMETER = (
    "The parameter '{name}' in the request payload is not a valid parameter for the operation '{operation}'."
)
NULL_VALUE = (
    "A null value was found with the expected type '{type}[Nullable=False]'. "
    "The expected type '{type}[Nullable=False]' does not allow null values."
)
NOT_PRIMITIVE = (
    "Cannot convert a primitive value to the expected type '{type}'. See the inner exception for more details."
)
NOT_ENUM = "The string '{value}' is not a valid enumeration type constant."


def e164(number: str) -> str:
    """A telephone number as the inventory records it: always with '+' (numberAssignment's docs page)."""
    text = number.strip()
    return text if text.startswith("+") else f"+{text}"


def operation_id(kind: str, rng_bits: int) -> str:
    """An opaque id shaped like the docs' examples (base64url of `Assignment|{guid}`, unpadded)."""
    text = f"{kind}|{uuid.UUID(int=rng_bits, version=4)}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@dataclass
class Operation:
    """One assignNumber or unassignNumber: its request, how often it was read, and how it ended."""

    id: str
    kind: str  # "assign" or "unassign"
    number: str  # with '+'
    number_type: str | None
    target: str | None = None
    category: str | None = None
    location: str | None = None
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    polls: int = 0
    status: str = "notStarted"
    detail: str | None = None  # statusDetail, once failed
    resource: str | None = None  # the number's numberAssignment URL, once succeeded


@dataclass
class Configuration:
    """A user's Teams configuration beyond the numbers (those come from the inventory)."""

    created: str = CREATED
    modified: str = CREATED
    account_type: str = "user"
    enterprise_voice: bool | None = False
    direct: dict[str, tuple[str, str]] = field(default_factory=dict)  # type (lower) -> (policyType, policyId)
    group: dict[str, Json] = field(default_factory=dict)  # type (lower) -> effectivePolicyAssignment as given


class TeamsState(ReadRoutes, WriteRoutes):
    """The Teams administration state, shared by the number and policy routes."""

    cloud: str
    operation_steps: int
    teams_provisioning_lag: int
    http_count: int
    _numbers: list[Any] | Any
    _number_index: dict[str, Json]
    _held: dict[str, list[str]]  # holder's lower id -> the numbers they hold (kept where numbers change hands)
    _operations: dict[str, Operation]
    _policies: list[tuple[str, str, str]]  # (policyType, name without "Tag:", policyId)
    _configurations: dict[str, Configuration]  # lower-case user id ->
    _locations: dict[str, str]  # lower-case location id -> countryOrRegion
    _teams_sees: dict[str, tuple[list[Json], int]]  # user id -> (licenses Teams still sees, until which request)
    _teams_changed: bool

    def _load_teams(self, document: dict[str, Any], cloud: str, operation_steps: int) -> None:
        self.cloud, self.operation_steps = cloud, operation_steps
        raw = document.get("numberAssignments")
        # a malformed inventory (not a list) is served as it is: the docs' own examples show `"value": {…}`
        self._numbers = [dict(n) if isinstance(n, dict) else n for n in raw] if isinstance(raw, list) else raw
        if raw is None:
            self._numbers = []
        if "numberAssignments" in document:
            self._extra["numberAssignments"] = self._numbers
        self._number_index = {}
        for entry in self._numbers if isinstance(self._numbers, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("telephoneNumber"), str):
                self._number_index[e164(entry["telephoneNumber"])] = entry
        self._held = {}
        for number, entry in self._number_index.items():
            holder = self._holder(entry)
            if holder is not None:
                self._held.setdefault(holder, []).append(number)
        self._operations = {}
        self._policies = []
        for lookup in document.get("policies") or []:
            for row in lookup.get("value") or []:
                name = str(row["name"]).removeprefix("Tag:")
                self._policies.append((str(lookup["policyType"]), name, str(row["policyId"])))
        self._locations = {
            str(place["locationId"]).lower(): str(place.get("countryOrRegion") or "")
            for place in document.get("emergencyLocations") or []
        }
        self._configurations = {}
        for seed in document.get("userConfigurations") or []:
            self._configurations[str(seed["id"]).lower()] = self._seeded(seed)
        self._teams_sees = {}
        self._teams_changed = False

    def _seeded(self, seed: Json) -> Configuration:
        user_id = str(seed["id"]).lower()
        listed = sorted(e164(n["telephoneNumber"]) for n in seed.get("telephoneNumbers") or [])
        held = sorted(self.numbers_held(user_id))
        if listed != held:
            raise ValueError(f"userConfigurations: {user_id} lists numbers {listed}, the inventory {held}")
        configuration = Configuration(
            created=str(seed.get("createdDateTime") or CREATED),
            modified=str(seed.get("modifiedDateTime") or CREATED),
            account_type=str(seed.get("accountType") or "user"),
            enterprise_voice=seed.get("isEnterpriseVoiceEnabled"),
        )
        for effective in seed.get("effectivePolicyAssignments") or []:
            kind, assignment = str(effective["policyType"]), effective["policyAssignment"]
            if assignment.get("assignmentType") == "direct":
                configuration.direct[kind.lower()] = (kind, str(assignment["policyId"]))
            else:
                configuration.group[kind.lower()] = effective
        return configuration

    def numbers_held(self, user_id: str) -> list[str]:
        """The numbers the user (or resource account) holds, as the inventory lists them."""
        return list(self._held.get(user_id.lower(), ()))

    @staticmethod
    def _holder(entry: Json) -> str | None:
        """The lower-case id of whoever holds an inventory number, or None when it is free."""
        target = entry.get("assignmentTargetId")
        if not target or str(entry.get("assignmentStatus") or "").lower() == "unassigned":
            return None
        return str(target).lower()

    def configuration(self, user_id: str) -> Configuration:
        """The user's Teams configuration (made on first use: every directory user has one)."""
        return self._configurations.setdefault(user_id.lower(), Configuration())

    def _policy_name(self, policy_type: str, policy_id: str) -> str | None:
        for kind, name, known in self._policies:
            if kind.lower() == policy_type.lower() and known == policy_id:
                return name
        return None

    def _licenses_written(self, user: Json, before: list[Json]) -> None:
        """Teams sees a user's new licenses `teams_provisioning_lag` requests after Entra holds them."""
        if self.teams_provisioning_lag > 0:
            self._teams_sees[str(user["id"]).lower()] = (before, self.http_count + self.teams_provisioning_lag)

    def _teams_plans(self, user: Json) -> set[str]:
        """The names of the service plans Teams sees in effect for `user`."""
        states = user["licenseAssignmentStates"]
        seen = self._teams_sees.get(str(user["id"]).lower())
        if seen is not None and self.http_count < seen[1]:
            states = seen[0]
        return set(self._enabled_plans(states).values())

    def _tenant_id(self) -> str:
        return str(self._extra.get("tenantId") or TENANT_ID)


def parameters(operation: str, body: Any, bad_body: bool) -> Json | _Reply:
    """An action's body checked as Graph's OData layer checks it, against the CSDL's parameters of `operation`
    (in the teamsAdministration namespace): an object, no unknown parameter, every non-nullable one present and not
    null, each value of its declared type; enum members as the CSDL lists them."""
    if bad_body or not isinstance(body, dict):
        return _bad_request(BAD_JSON, "BadRequest")
    declared = _declared(operation)
    for name in body:
        if name not in declared and not name.startswith("@odata."):
            return _bad_request(UNKNOWN_PARAMETER.format(name=name, operation=operation), "BadRequest")
    missing = [name for name, spec in declared.items() if not spec["nullable"] and name not in body]
    if missing:
        return _bad_request(MISSING.format(operation=operation, names=", ".join(missing)), "BadRequest")
    for name, spec in declared.items():
        problem = _value_problem(spec["type"], body.get(name), spec["nullable"])
        if problem is not None:
            return _bad_request(problem, "BadRequest")
    return body


def _declared(operation: str) -> dict[str, Json]:
    found = next(op for op in model().extract["operations"] if op["namespace"] == TEAMS and op["name"] == operation)
    return {p["name"]: p for p in found["parameters"]}


def _value_problem(type_name: str, value: Any, nullable: bool) -> str | None:
    if value is None:
        return None if nullable else NULL_VALUE.format(type=type_name)
    if type_name.startswith("Collection("):
        if not isinstance(value, list):
            return NOT_PRIMITIVE.format(type=type_name)
        inner = type_name[len("Collection(") : -1]
        return next((p for p in (_value_problem(inner, v, False) for v in value) if p), None)
    if type_name == "Edm.String":
        return None if isinstance(value, str) else NOT_PRIMITIVE.format(type=type_name)
    enums = model().enums
    if type_name in enums:
        members = enums[type_name]["members"]
        return None if isinstance(value, str) and value in members else NOT_ENUM.format(value=value)
    if type_name in model().structured:
        if not isinstance(value, dict):
            return NOT_PRIMITIVE.format(type=type_name)
        properties = model().properties(type_name)
        for key, item in value.items():
            spec = properties.get(key.lower())
            if spec is None and not key.startswith("@odata."):
                return f"The property '{key}' does not exist on type '{type_name}'."
            if spec is not None:
                problem = _value_problem(spec["type"], item, spec["nullable"] and key != "id")
                if problem is not None:
                    return problem
        absent = [spec["name"] for spec in properties.values() if not spec["nullable"] and spec["name"] not in value]
        absent = [name for name in absent if name != "id"]
        if absent:
            return f"The property '{absent[0]}' of type '{type_name}' is required and was not found in the payload."
    return None
