"""What the fake's parts share: Graph's limits and texts, one reply before it becomes HTTP, query parsing,
license-change parsing and `$batch` item checks."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from tests.support.graphmetadata.conformance import model

Json = dict[str, Any]

NUMBER_ASSIGNMENTS = "/admin/teams/telephoneNumberManagement/numberAssignments"  # Teams numbers (global cloud)
NUMBER_PAGE_DEFAULT, NUMBER_PAGE_MAX = 500, 1000  # numberAssignments: $top default and maximum (rev. 2025-07-23)
BATCH_LIMIT = 20  # JSON $batch takes at most 20 requests (GRAPH-FACTS: paging, batching, throttling)
MAX_PAGE_SIZE = 999  # $top maximum for /users and transitiveMembers (GRAPH-FACTS)
DEFAULT_PAGE_SIZE = 100  # what Graph returns per page without $top
THROTTLE_WARNING = 0.8  # x-ms-throttle-limit-percentage appears from 0.8 of a limit; its value runs 0.8 to 1.8
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
INACTIVE_STATES = frozenset({"Error", "Disabled"})  # license states whose plans are not in effect and use no seat

# Graph's default property set for a user when no $select is given: no licenses, no extension attributes
DEFAULT_USER_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
# v1.0 user properties: $select of anything else is refused, as Graph does (extension_* names are allowed)
USER_PROPERTIES = frozenset(
    {
        "aboutMe",
        "accountEnabled",
        "ageGroup",
        "assignedLicenses",
        "assignedPlans",
        "authorizationInfo",
        "birthday",
        "businessPhones",
        "city",
        "companyName",
        "consentProvidedForMinor",
        "country",
        "createdDateTime",
        "creationType",
        "customSecurityAttributes",
        "deletedDateTime",
        "department",
        "displayName",
        "employeeHireDate",
        "employeeId",
        "employeeLeaveDateTime",
        "employeeOrgData",
        "employeeType",
        "externalUserState",
        "externalUserStateChangeDateTime",
        "faxNumber",
        "givenName",
        "hireDate",
        "id",
        "identities",
        "imAddresses",
        "interests",
        "isManagementRestricted",
        "isResourceAccount",
        "jobTitle",
        "lastPasswordChangeDateTime",
        "legalAgeGroupClassification",
        "licenseAssignmentStates",
        "mail",
        "mailNickname",
        "mailboxSettings",
        "mobilePhone",
        "mySite",
        "officeLocation",
        "onPremisesDistinguishedName",
        "onPremisesDomainName",
        "onPremisesExtensionAttributes",
        "onPremisesImmutableId",
        "onPremisesLastSyncDateTime",
        "onPremisesProvisioningErrors",
        "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier",
        "onPremisesSyncEnabled",
        "onPremisesUserPrincipalName",
        "otherMails",
        "passwordPolicies",
        "passwordProfile",
        "pastProjects",
        "postalCode",
        "preferredDataLocation",
        "preferredLanguage",
        "preferredName",
        "provisionedPlans",
        "proxyAddresses",
        "responsibilities",
        "schools",
        "securityIdentifier",
        "serviceProvisioningErrors",
        "showInAddressList",
        "signInActivity",
        "signInSessionsValidFromDateTime",
        "skills",
        "state",
        "streetAddress",
        "surname",
        "usageLocation",
        "userPrincipalName",
        "userType",
    }
)
# user properties that are collections in v1.0's CSDL: Graph sends [] for none, never null
USER_COLLECTIONS = frozenset(
    spec["name"]
    for spec in model().properties("microsoft.graph.user").values()
    if spec["type"].startswith("Collection(")
)
READ_ONLY_USER_PROPERTIES = frozenset({"id", "assignedLicenses", "assignedPlans", "licenseAssignmentStates"})
# Calling plans that "cannot be assigned together" (Entra service-plan reference; GRAPH-FACTS)
EXCLUSIVE_CALLING_PLANS = frozenset({"MCOPSTN1", "MCOPSTN2", "MCOPSTN5"})
CREDITS_PLAN = "MCOPSTNC"
USAGE_LOCATION = re.compile(r"[A-Z]{2}")
EQ_FILTER = re.compile(r"\s*([A-Za-z][\w/]*)\s+eq\s+'((?:[^']|'')*)'\s*", re.IGNORECASE)
SKIPTOKEN_PREFIX = "fakegraph:"

# Graph's error texts (GRAPH-FACTS "400 Request_BadRequest texts seen in the wild", plus tracker reports)
MISSING_PARAMETERS = (
    "One or more parameters of the operation 'assignLicense' are missing from the request payload. "
    "The missing parameters are: {names}."  # msgraph-sdk-powershell#3361
)
NO_CHANGES = "No license changes provided. At least one license to add or remove must be specified."  # #3286
INVALID_LICENSE = "License {sku} does not correspond to a valid company License."
INVALID_USAGE_LOCATION = "License assignment cannot be done for user with invalid usage location."
NO_SEATS = "Subscription with SKU {sku} does not have any available licenses."
INHERITED = "User license is inherited from a group membership and it cannot be removed directly from the user."
NOT_HELD = "User does not have a corresponding license."  # OfficeDocs-Enterprise#873
EXCLUSIVE = "License assignment failed because service plans {first}, {second} are mutually exclusive."
DEPENDS = "License assignment failed because service plan {plan} depends on the service plan(s) {needs}."
BAD_JSON = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
)
BAD_BATCH = "Invalid batch payload format."  # what Graph answers for absolute item URLs (docs-contrib#8576)


@dataclass
class _Reply:
    """One answer, before it becomes an HTTP response or a $batch item."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # the connection drops instead of this answer being sent


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, {"error": {"code": code, "message": message, "innerError": {}}}, headers or {})


def _bad_request(message: str, code: str = "Request_BadRequest") -> _Reply:
    return _error(400, code, message)


def _not_found(reference: str) -> _Reply:
    message = f"Resource '{reference}' does not exist or one of its queried reference-property objects are not present."
    return _error(404, "Request_ResourceNotFound", message)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0")


def _fresh_id() -> str:
    return str(uuid.uuid4())


# ---- helpers ---------------------------------------------------------------------------------------------------


def _key(license_state: Json) -> str:
    return str(license_state["skuId"]).strip().lower()


def _holds(states: list[Json], key: str) -> bool:
    """Whether `states` use a seat of SKU `key`: one seat however many assignments (direct and inherited)."""
    return any(_key(s) == key and s.get("state") not in INACTIVE_STATES for s in states)


def _method_not_allowed() -> _Reply:
    return _error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


def _json_body(content: bytes) -> tuple[Any, bool]:
    """(parsed body or None, whether it was not JSON)."""
    if not content:
        return None, False
    try:
        return json.loads(content), False
    except ValueError:
        return None, True


def _query(raw_query: str) -> dict[str, str]:
    """Query options by lower-case name without `$` (v1.0 accepts `select` and `$select` alike)."""
    return {k.lower().lstrip("$"): v for k, v in parse_qsl(raw_query, keep_blank_values=True)}


def _license_changes(add: Any, remove: Any) -> tuple[dict[str, tuple[str, list[str]]], dict[str, str]] | _Reply:
    """addLicenses as {sku key: (skuId as given, disabledPlans)}, removeLicenses as {sku key: skuId as given}."""
    if not isinstance(add, list) or not isinstance(remove, list):
        return _bad_request("addLicenses and removeLicenses must be arrays.")
    adds: dict[str, tuple[str, list[str]]] = {}
    for entry in add:
        if not isinstance(entry, dict) or not isinstance(entry.get("skuId"), str):
            return _bad_request("Each addLicenses entry must be an object with a skuId.")
        disabled = entry.get("disabledPlans") or []
        if not isinstance(disabled, list) or not all(isinstance(p, str) for p in disabled):
            return _bad_request("disabledPlans must be an array of service plan ids.")
        key = entry["skuId"].strip().lower()
        if key in adds:  # the fake's own check: a client sending this has a bug
            return _bad_request(f"License {entry['skuId']} appears more than once in addLicenses.")
        adds[key] = (entry["skuId"], [str(p) for p in disabled])
    removes: dict[str, str] = {}
    for sku in remove:
        if not isinstance(sku, str):
            return _bad_request("removeLicenses must be an array of skuIds.")
        key = sku.strip().lower()
        if key in adds:  # the fake's own check, as above
            return _bad_request(f"License {sku} is both added and removed.")
        removes[key] = sku
    return adds, removes


def _batch_item_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return BAD_BATCH
    if not isinstance(item.get("id"), str) or not item["id"]:
        return "Each batch request needs a string id."
    if not isinstance(item.get("method"), str) or not isinstance(item.get("url"), str):
        return f"Request '{item['id']}' needs a method and a url."
    url: str = item["url"]
    if "://" in url or url.startswith("//"):  # Graph takes only URLs relative to the version root
        return BAD_BATCH
    depends = item.get("dependsOn")
    if depends is not None and (not isinstance(depends, list) or not all(isinstance(d, str) for d in depends)):
        return f"Request '{item['id']}': dependsOn must be an array of request ids."
    if item.get("body") is not None:
        headers = item.get("headers") or {}
        if not isinstance(headers, dict) or not any(str(k).lower() == "content-type" for k in headers):
            # JSON batching: "the headers object must contain a value for Content-Type" when a body is present
            return f"Request '{item['id']}' has a body but no Content-Type header."
    return None


def _dependency_order(items: list[Json], by_id: dict[str, Json]) -> list[Json] | None:
    """Items in request order, each after what it depends on; None on a cycle."""
    order: list[Json] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(item: Json) -> bool:
        item_id = str(item["id"]).lower()
        if item_id in done:
            return True
        if item_id in visiting:
            return False
        visiting.add(item_id)
        for dependency in item.get("dependsOn") or []:
            if not visit(by_id[str(dependency).lower()]):
                return False
        visiting.discard(item_id)
        done.add(item_id)
        order.append(item)
        return True

    for item in items:
        if not visit(item):
            return None
    return order
