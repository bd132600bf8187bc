"""A stateful fake Microsoft Graph tenant for respx, behaving as `GRAPH-FACTS.md` documents Graph.

Built from a snapshot document (the format of `config/examples/contoso-tenant.json`) and independent of the product
code, so that end-to-end tests and the benchmark check the product against Graph's documented behaviour rather than
against itself. It serves:

- `GET /subscribedSkus`, `GET /users` (`$select`, `$top` ≤ 999, `$filter=prop eq '…'`, `@odata.nextLink` paging),
  `GET /users/{id|upn}`, `GET /groups` (`$filter=displayName eq '…'`), `GET /groups/{id}`,
  `GET /groups/{id}/transitiveMembers[/microsoft.graph.user]` (paged; the document's members are transitive users);
- `POST /users/{id|upn}/assignLicense` with Graph's validations and texts, `PATCH /users/{id|upn}`;
- `POST /$batch` (≤ 20 items, relative URLs, per-item status and throttling, `dependsOn` → 424);
- Graph's identity write quota as a sliding window, scripted 429s and 503/504s, per-request latency.

Usage, with or without pytest::

    fake = FakeGraph(document, write_quota=(3000, 1.5))
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        ...  # talk to https://graph.microsoft.com/v1.0 with any httpx client
    fake.document()  # the tenant as it is now, as a snapshot document

Handlers are dict lookups by id and lower-case UPN; pages are slices by index. The input document is not modified:
users are copied shallowly, and a user's license lists are replaced, never changed in place.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import random
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlencode, urlsplit

import httpx
import respx

__all__ = ["BATCH_LIMIT", "MAX_PAGE_SIZE", "FakeGraph"]

Json = dict[str, Any]

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
READ_ONLY_USER_PROPERTIES = frozenset({"id", "assignedLicenses", "assignedPlans", "licenseAssignmentStates"})
# Calling plans that "cannot be assigned together" (Entra service-plan reference; GRAPH-FACTS)
EXCLUSIVE_CALLING_PLANS = frozenset({"MCOPSTN1", "MCOPSTN2", "MCOPSTN5"})
CREDITS_PLAN = "MCOPSTNC"
USAGE_LOCATION = re.compile(r"[A-Z]{2}")
EQ_FILTER = re.compile(r"\s*([A-Za-z][\w]*)\s+eq\s+'((?:[^']|'')*)'\s*", re.IGNORECASE)
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


class FakeGraph:
    """A Graph tenant in memory: reads, license writes, $batch, throttling and scripted faults."""

    def __init__(
        self,
        document: dict[str, Any],
        *,
        base_url: str = "https://graph.microsoft.com/v1.0",
        page_size_limit: int = MAX_PAGE_SIZE,
        latency: float = 0.0,
        write_quota: tuple[int, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        apply_throttled_writes: bool = False,
        fractional_retry_after: bool = False,
        enforce_dependencies: bool = True,
        seed: int = 0,
    ) -> None:
        """`page_size_limit` caps every page below the client's `$top` (Graph may return fewer than asked).

        `latency`: seconds each HTTP request takes (asyncio.sleep on async clients, time.sleep on sync ones).
        `write_quota=(W, T)`: at most W writes in any T seconds of `clock`; Graph's is (3000, 150.0), per app+tenant.
        `apply_throttled_writes`: a throttled write still takes effect (Graph may do that), yet answers 429.
        `fractional_retry_after`: Retry-After in milliseconds precision instead of whole seconds (≥ 1), for quotas
        scaled down in time. `enforce_dependencies=False` drops the Calling Plan/Credits dependency checks (Graph's
        enforcement of them is unconfirmed, GRAPH-FACTS). `seed` fixes the order of $batch responses.
        """
        if page_size_limit < 1:
            raise ValueError("page_size_limit must be at least 1")
        if write_quota is not None and (write_quota[0] < 1 or write_quota[1] <= 0):
            raise ValueError("write_quota is (writes ≥ 1, seconds > 0)")
        self.base_url = base_url.rstrip("/")
        self._base_path = httpx.URL(self.base_url).path.rstrip("/")
        self.page_size_limit = page_size_limit
        self.latency = latency
        self.write_quota = write_quota
        self.apply_throttled_writes = apply_throttled_writes
        self.fractional_retry_after = fractional_retry_after
        self.enforce_dependencies = enforce_dependencies
        self._clock = clock
        self._rng = random.Random(seed)
        self.requests: list[tuple[str, str]] = []
        self.writes: list[dict[str, Any]] = []
        self._write_times: deque[float] = deque()
        self._outright: deque[float] = deque()  # scripted whole-request 429s (their Retry-After)
        self._item_throttles: deque[float] = deque()  # scripted 429s for the next operations
        self._failures: deque[int] = deque()  # scripted 503/504s for the next HTTP requests
        self._extra = {k: v for k, v in document.items() if k not in ("subscribedSkus", "users", "groups")}
        self._load_skus(document.get("subscribedSkus") or [])
        self._load_users(document.get("users") or [])
        self._load_groups(document.get("groups") or [])

    # ---- loading ---------------------------------------------------------------------------------------------

    def _load_skus(self, skus: Iterable[Json]) -> None:
        self._skus: dict[str, Json] = {}
        self._consumed: dict[str, int] = {}
        self._plans: dict[str, tuple[tuple[str, str], ...]] = {}  # sku -> ((plan id, plan name), ...)
        self._plan_ids_by_name: dict[str, list[str]] = {}
        for raw in skus:
            key = str(raw["skuId"]).strip().lower()
            self._skus[key] = dict(raw)
            self._consumed[key] = int(raw.get("consumedUnits") or 0)
            plans = []
            for plan in raw.get("servicePlans") or []:
                plan_id = str(plan["servicePlanId"]).strip().lower()
                name = str(plan.get("servicePlanName") or plan_id).strip()
                plans.append((plan_id, name))
                known = self._plan_ids_by_name.setdefault(name, [])
                if plan_id not in known:
                    known.append(plan_id)
            self._plans[key] = tuple(plans)

    def _load_users(self, users: Iterable[Json]) -> None:
        self._users: list[Json] = []
        self._user_index: dict[str, int] = {}
        keys: set[str] = set()
        for raw in users:
            user = dict(raw)
            keys.update(user)
            if user.get("licenseAssignmentStates") is None:  # older exports: every license counts as direct
                user["licenseAssignmentStates"] = [
                    {
                        "skuId": a["skuId"],
                        "disabledPlans": list(a.get("disabledPlans") or []),
                        "assignedByGroup": None,
                        "state": "Active",
                        "error": "None",
                    }
                    for a in user.get("assignedLicenses") or []
                ]
            if user.get("assignedLicenses") is None:
                states = user["licenseAssignmentStates"]
                user["assignedLicenses"] = self._assigned(states, [], {_key(s) for s in states})
            position = len(self._users)
            self._users.append(user)
            self._user_index[str(user["id"]).lower()] = position
            upn = user.get("userPrincipalName")
            if isinstance(upn, str):
                self._user_index.setdefault(upn.lower(), position)
        self._user_properties = {name.lower(): name for name in USER_PROPERTIES | keys}

    def _load_groups(self, groups: Iterable[Json]) -> None:
        self._groups: list[Json] = []
        self._group_index: dict[str, Json] = {}
        self._groups_by_name: dict[str, list[Json]] = {}
        self._members: dict[str, list[str]] = {}
        for raw in groups:
            group = {k: v for k, v in raw.items() if k != "members"}
            key = str(group["id"]).lower()
            self._groups.append(group)
            self._group_index[key] = group
            self._members[key] = [str(m) for m in raw.get("members") or []]
            name = group.get("displayName")
            if isinstance(name, str):
                self._groups_by_name.setdefault(name.lower(), []).append(group)

    # ---- the public surface ----------------------------------------------------------------------------------

    def mount(self, router: respx.MockRouter) -> None:
        """Answer every request under `base_url` on `router` (any other host or path is left to the router)."""
        url = httpx.URL(self.base_url)
        lookups: dict[str, Any] = {
            "scheme": url.scheme,
            "host": url.host,
            "path__regex": rf"^{re.escape(self._base_path)}(/.*)?$",
        }
        if url.port is not None:
            lookups["port"] = url.port
        router.route(**lookups).mock(side_effect=self._side_effect)

    def throttle_next(self, n: int, *, retry_after: float = 1.0, outright: bool = False) -> None:
        """429 with `Retry-After: retry_after` for the next `n` HTTP requests (`outright=True`, a $batch as a
        whole included), or else for the next `n` operations: $batch items, and requests sent on their own."""
        target = self._outright if outright else self._item_throttles
        target.extend([retry_after] * n)

    def fail_next(self, n: int, status: int = 503) -> None:
        """A transient `status` (503 or 504) for the next `n` HTTP requests; nothing in them takes effect."""
        self._failures.extend([status] * n)

    def document(self) -> dict[str, Any]:
        """The tenant now, as a snapshot document (nested lists are shared with the fake: treat as read-only)."""
        skus = []
        for key, sku in self._skus.items():
            copy = dict(sku)
            copy["consumedUnits"] = self._consumed[key]
            skus.append(copy)
        groups = [{**group, "members": list(self._members[str(group["id"]).lower()])} for group in self._groups]
        return {
            **self._extra,
            "subscribedSkus": skus,
            "users": [dict(user) for user in self._users],
            "groups": groups,
        }

    def user(self, reference: str) -> Json | None:
        """The current user object by id or UPN (case-insensitive), for assertions; None if unknown."""
        position = self._user_index.get(reference.lower())
        return None if position is None else self._users[position]

    def consumed_units(self, sku_id: str) -> int:
        return self._consumed[sku_id.lower()]

    # ---- HTTP ------------------------------------------------------------------------------------------------

    def _side_effect(self, request: httpx.Request) -> Any:
        if self.latency <= 0:
            return self.handle(request)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a sync client: block like a slow network would
            time.sleep(self.latency)
            return self.handle(request)
        return self._delayed(request)

    async def _delayed(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.latency)
        return self.handle(request)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one HTTP request (also usable as an `httpx.MockTransport` handler)."""
        path = request.url.path
        if path.startswith(self._base_path):
            path = path[len(self._base_path) :]
        path = path or "/"
        raw_query = request.url.query.decode("ascii", "replace")
        self.requests.append((request.method, path + ("?" + unquote_plus(raw_query) if raw_query else "")))
        request_id = _fresh_id()
        client_request_id = request.headers.get("client-request-id") or request_id
        reply = self._http(request, path, raw_query)
        return self._response(reply, request_id, client_request_id)

    def _http(self, request: httpx.Request, path: str, raw_query: str) -> _Reply:
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if self._outright:
            wait = self._outright.popleft()
            return _error(429, "TooManyRequests", "Too many requests.", {"Retry-After": _seconds(wait)})
        if self._failures:
            status = self._failures.popleft()
            code = {503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(status, "UnknownError")
            return _error(status, code, "The service is temporarily unavailable. Please retry.")
        body, bad = _json_body(request.content)
        if path.rstrip("/") == "/$batch":
            if request.method != "POST":
                return _method_not_allowed()
            return self._batch(body) if not bad else _bad_request(BAD_BATCH, "BadRequest")
        return self._operation(request.method, path, raw_query, body, bad, in_batch=False)

    def _response(self, reply: _Reply, request_id: str, client_request_id: str) -> httpx.Response:
        headers = {"request-id": request_id, "client-request-id": client_request_id, **reply.headers}
        headers.update(self._usage_headers())
        if reply.body is None:
            return httpx.Response(reply.status, headers=headers)
        self._fill_inner_error(reply.body, request_id, client_request_id)
        return httpx.Response(reply.status, headers=headers, json=reply.body)

    @staticmethod
    def _fill_inner_error(body: Any, request_id: str, client_request_id: str) -> None:
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body["error"]["innerError"] = {
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }

    # ---- one operation: a request on its own or one $batch item --------------------------------------------

    def _operation(
        self, method: str, path: str, raw_query: str, body: Any, bad_body: bool, *, in_batch: bool
    ) -> _Reply:
        write = method in WRITE_METHODS
        throttled: _Reply | None = None
        if self._item_throttles:  # scripted: each $batch item is throttled on its own (GRAPH-FACTS)
            wait = self._item_throttles.popleft()
            throttled = _error(429, "TooManyRequests", "Too many requests.", {"Retry-After": _seconds(wait)})
        elif write:
            wait_for_slot = self._take_write_slot()
            if wait_for_slot is not None:
                throttled = _error(
                    429, "TooManyRequests", "Too many requests.", {"Retry-After": self._retry_after(wait_for_slot)}
                )
        if throttled is not None:
            applied = False
            if write and self.apply_throttled_writes:  # a throttled write may still take effect (GRAPH-FACTS)
                applied = self._dispatch(method, path, raw_query, body, bad_body).status < 400
            if write:
                self._log_write(method, path, raw_query, body, throttled.status, applied, in_batch)
            return throttled
        reply = self._dispatch(method, path, raw_query, body, bad_body)
        if write:
            self._log_write(method, path, raw_query, body, reply.status, reply.status < 400, in_batch)
        return reply

    def _log_write(
        self, method: str, path: str, raw_query: str, body: Any, status: int, applied: bool, in_batch: bool
    ) -> None:
        url = path + ("?" + unquote_plus(raw_query) if raw_query else "")
        self.writes.append(
            {"method": method, "url": url, "body": body, "status": status, "applied": applied, "batch": in_batch}
        )

    # ---- the write quota -------------------------------------------------------------------------------------

    def _prune(self, now: float) -> None:
        assert self.write_quota is not None
        window = self.write_quota[1]
        times = self._write_times
        while times and times[0] <= now - window:
            times.popleft()

    def _take_write_slot(self) -> float | None:
        """Record one write; or, past the quota, the seconds until the oldest write leaves the window."""
        if self.write_quota is None:
            return None
        limit, window = self.write_quota
        now = self._clock()
        self._prune(now)
        if len(self._write_times) < limit:
            self._write_times.append(now)
            return None
        return self._write_times[0] + window - now

    def _retry_after(self, seconds: float) -> str:
        if self.fractional_retry_after:
            return f"{max(seconds, 0.001):.3f}"
        return str(max(1, math.ceil(seconds)))

    def _usage_headers(self) -> dict[str, str]:
        if self.write_quota is None:
            return {}
        self._prune(self._clock())
        usage = len(self._write_times) / self.write_quota[0]
        if usage < THROTTLE_WARNING:
            return {}
        # Graph: "returned only when the application consumed more than 0.8 of its limit; the value ranges from
        # 0.8 to 1.8" -- a fraction, not a percent (Graph throttling-limits, identity and access)
        return {"x-ms-throttle-limit-percentage": f"{min(usage, 1.8):.2f}"}

    # ---- routing ---------------------------------------------------------------------------------------------

    def _dispatch(self, method: str, path: str, raw_query: str, body: Any, bad_body: bool) -> _Reply:
        segments = [s for s in path.split("/") if s]
        query = _query(raw_query)
        head = segments[0] if segments else ""
        count = len(segments)
        if head == "subscribedSkus" and count == 1:
            return self._subscribed_skus(query) if method == "GET" else _method_not_allowed()
        if head == "users":
            if count == 1:
                return self._list_users(query, raw_query) if method == "GET" else _method_not_allowed()
            if count == 2:
                if method == "GET":
                    return self._get_user(segments[1], query)
                if method == "PATCH":
                    return self._patch_user(segments[1], body, bad_body)
                return _method_not_allowed()
            if count == 3 and segments[2] in ("assignLicense", "microsoft.graph.assignLicense"):
                if method != "POST":
                    return _method_not_allowed()
                return self._assign_license(segments[1], body, bad_body)
        if head == "groups":
            if count == 1:
                return self._list_groups(query, raw_query) if method == "GET" else _method_not_allowed()
            if count == 2:
                return self._get_group(segments[1], query) if method == "GET" else _method_not_allowed()
            if segments[2] in ("transitiveMembers", "members") and (
                count == 3 or (count == 4 and segments[3] == "microsoft.graph.user")
            ):
                if method != "GET":
                    return _method_not_allowed()
                return self._members_of(segments[1], "/".join(segments), query, raw_query)
        segment = "" if not segments else head if head not in ("users", "groups", "subscribedSkus") else segments[-1]
        # Graph itself answers 400 "Resource not found for the segment" here; the fake answers 404 for any route
        # it does not serve, so that a route missing from the fake cannot pass for a client error
        return _error(404, "NotFound", f"Resource not found for the segment '{segment}'.")

    # ---- reads -----------------------------------------------------------------------------------------------

    def _subscribed_skus(self, query: dict[str, str]) -> _Reply:
        skus = []
        for key, sku in self._skus.items():
            copy = dict(sku)
            copy["consumedUnits"] = self._consumed[key]
            skus.append(copy)
        select = query.get("select")
        if select:
            names = [n.strip() for n in select.split(",") if n.strip()]
            skus = [{**({"id": s["id"]} if "id" in s else {}), **{n: s.get(n) for n in names}} for s in skus]
        return _Reply(200, {"@odata.context": f"{self.base_url}/$metadata#subscribedSkus", "value": skus})

    def _user_fields(self, query: dict[str, str]) -> tuple[str, ...] | _Reply:
        select = query.get("select")
        if not select:
            return DEFAULT_USER_PROPERTIES
        fields = ["id"]
        for name in select.split(","):
            name = name.strip()
            if not name:
                continue
            canonical = self._user_properties.get(name.lower())
            if canonical is None and not name.lower().startswith("extension_"):
                return _bad_request(f"Could not find a property named '{name}' on type 'microsoft.graph.user'.")
            canonical = canonical or name
            if canonical not in fields:
                fields.append(canonical)
        return tuple(fields)

    def _page_size(self, query: dict[str, str]) -> int | _Reply:
        top = query.get("top")
        if top is None:
            return min(DEFAULT_PAGE_SIZE, self.page_size_limit)
        try:
            size = int(top)
        except ValueError:
            return _bad_request(f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.")
        if not 1 <= size <= MAX_PAGE_SIZE:
            return _error(
                400,
                "Request_UnsupportedQuery",
                f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.",
            )
        return min(size, self.page_size_limit)

    @staticmethod
    def _offset(query: dict[str, str]) -> int | _Reply:
        token = query.get("skiptoken")
        if token is None:
            return 0
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            if text.startswith(SKIPTOKEN_PREFIX):
                return int(text[len(SKIPTOKEN_PREFIX) :])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            pass
        return _error(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        )

    def _page(
        self,
        path: str,
        raw_query: str,
        query: dict[str, str],
        items: Sequence[Any],
        render: Callable[[Any], Json],
        context: str,
    ) -> _Reply:
        size = self._page_size(query)
        if isinstance(size, _Reply):
            return size
        offset = self._offset(query)
        if isinstance(offset, _Reply):
            return offset
        chunk = items[offset : offset + size]
        body: Json = {"@odata.context": f"{self.base_url}/$metadata#{context}", "value": [render(x) for x in chunk]}
        if offset + size < len(items):
            body["@odata.nextLink"] = self._next_link(path, raw_query, offset + size)
        return _Reply(200, body)

    def _next_link(self, path: str, raw_query: str, offset: int) -> str:
        """The same request with a $skiptoken: an absolute URL, as Graph gives it."""
        pairs = [
            (k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if k.lower().lstrip("$") != "skiptoken"
        ]
        token = base64.urlsafe_b64encode(f"{SKIPTOKEN_PREFIX}{offset}".encode()).decode().rstrip("=")
        pairs.append(("$skiptoken", token))
        query = urlencode(pairs, quote_via=quote, safe="$,'()@")
        return f"{self.base_url}{quote(path, safe='/@.')}?{query}"

    def _list_users(self, query: dict[str, str], raw_query: str) -> _Reply:
        fields = self._user_fields(query)
        if isinstance(fields, _Reply):
            return fields
        users: Sequence[Json] = self._users
        if "filter" in query:
            matched = self._filter_users(query["filter"])
            if isinstance(matched, _Reply):
                return matched
            users = matched

        def render(user: Json) -> Json:
            return {name: user.get(name) for name in fields}

        return self._page("/users", raw_query, query, users, render, f"users({','.join(fields)})")

    def _filter_users(self, expression: str) -> list[Json] | _Reply:
        match = EQ_FILTER.fullmatch(expression)
        if match is None:
            return _error(400, "Request_UnsupportedQuery", "Unsupported Query.")
        name, value = match.group(1), match.group(2).replace("''", "'")
        canonical = self._user_properties.get(name.lower())
        if canonical is None:
            return _bad_request(f"Could not find a property named '{name}' on type 'microsoft.graph.user'.")
        if canonical in ("id", "userPrincipalName"):
            position = self._user_index.get(value.lower())
            user = None if position is None else self._users[position]
            return [user] if user is not None and str(user.get(canonical, "")).lower() == value.lower() else []
        folded = value.lower()
        return [u for u in self._users if isinstance(u.get(canonical), str) and u[canonical].lower() == folded]

    def _get_user(self, reference: str, query: dict[str, str]) -> _Reply:
        user = self.user(reference)
        if user is None:
            return _not_found(reference)
        fields = self._user_fields(query)
        if isinstance(fields, _Reply):
            return fields
        return _Reply(200, self._user_body(user, fields))

    def _user_body(self, user: Json, fields: Sequence[str] = DEFAULT_USER_PROPERTIES) -> Json:
        return {"@odata.context": f"{self.base_url}/$metadata#users/$entity", **{n: user.get(n) for n in fields}}

    def _group_fields(self, query: dict[str, str]) -> tuple[str, ...] | None:
        select = query.get("select")
        if not select:
            return None
        names = [n.strip() for n in select.split(",") if n.strip()]
        return tuple(dict.fromkeys(["id", *names]))

    def _render_group(self, group: Json, fields: tuple[str, ...] | None) -> Json:
        return dict(group) if fields is None else {n: group.get(n) for n in fields}

    def _list_groups(self, query: dict[str, str], raw_query: str) -> _Reply:
        fields = self._group_fields(query)
        groups: Sequence[Json] = self._groups
        if "filter" in query:
            match = EQ_FILTER.fullmatch(query["filter"])
            if match is None or match.group(1).lower() not in ("displayname", "id"):
                return _error(400, "Request_UnsupportedQuery", "Unsupported Query.")
            value = match.group(2).replace("''", "'").lower()  # OData: '' is an escaped quote (GRAPH-FACTS)
            if match.group(1).lower() == "id":
                found = self._group_index.get(value)
                groups = [found] if found is not None else []
            else:  # eq on displayName ignores case, as Entra ID does
                groups = self._groups_by_name.get(value, [])
        return self._page("/groups", raw_query, query, groups, lambda g: self._render_group(g, fields), "groups")

    def _get_group(self, reference: str, query: dict[str, str]) -> _Reply:
        group = self._group_index.get(reference.lower())
        if group is None:
            return _not_found(reference)
        body = {"@odata.context": f"{self.base_url}/$metadata#groups/$entity"}
        body.update(self._render_group(group, self._group_fields(query)))
        return _Reply(200, body)

    def _members_of(self, group_id: str, path: str, query: dict[str, str], raw_query: str) -> _Reply:
        members = self._members.get(group_id.lower())
        if members is None:
            return _not_found(group_id)
        fields = self._user_fields(query)
        if isinstance(fields, _Reply):
            return fields
        cast = path.endswith("microsoft.graph.user")

        def render(member_id: str) -> Json:
            position = self._user_index.get(member_id.lower())
            user: Json = self._users[position] if position is not None else {"id": member_id}
            item: Json = {} if cast else {"@odata.type": "#microsoft.graph.user"}
            item.update({name: user.get(name) for name in fields})
            return item

        # the document's member lists are transitive user members, so direct members are served the same
        return self._page("/" + path, raw_query, query, members, render, f"users({','.join(fields)})")

    # ---- writes ----------------------------------------------------------------------------------------------

    def _patch_user(self, reference: str, body: Any, bad_body: bool) -> _Reply:
        user = self.user(reference)
        if user is None:
            return _not_found(reference)
        if bad_body or not isinstance(body, dict):
            return _bad_request(BAD_JSON, "BadRequest")
        changes: Json = {}
        for name, value in body.items():
            canonical = self._user_properties.get(name.lower())
            if canonical is None:
                return _bad_request(f"Property '{name}' does not exist as a declared property or extension property.")
            if canonical in READ_ONLY_USER_PROPERTIES:
                return _bad_request(f"Property '{canonical}' is read-only and cannot be set.")
            if (
                canonical == "usageLocation"
                and value is not None
                and not (isinstance(value, str) and USAGE_LOCATION.fullmatch(value))
            ):
                return _bad_request("Invalid value specified for property 'usageLocation' of resource 'User'.")
            changes[canonical] = value
        user.update(changes)
        return _Reply(204)

    def _assign_license(self, reference: str, body: Any, bad_body: bool) -> _Reply:
        user = self.user(reference)
        if user is None:
            return _not_found(reference)
        if bad_body or not isinstance(body, dict):
            return _bad_request(BAD_JSON, "BadRequest")
        # both arrays are required, even when one is empty (GRAPH-FACTS; msgraph-sdk-powershell#3361)
        missing = [name for name in ("addLicenses", "removeLicenses") if body.get(name) is None]
        if missing:
            return _bad_request(MISSING_PARAMETERS.format(names=", ".join(missing)))
        parsed = _license_changes(body["addLicenses"], body["removeLicenses"])
        if isinstance(parsed, _Reply):
            return parsed
        adds, removes = parsed
        if not adds and not removes:
            return _bad_request(NO_CHANGES)
        # validations in the order the brief fixes: SKU, usage location, seats, removals, exclusivity, dependencies
        for given in [*(sku for sku, _ in adds.values()), *removes.values()]:
            if given.strip().lower() not in self._skus:
                return _bad_request(INVALID_LICENSE.format(sku=given))
        if adds and not user.get("usageLocation"):
            return _bad_request(INVALID_USAGE_LOCATION)
        states: list[Json] = user["licenseAssignmentStates"]
        new_states = self._end_states(states, adds, removes)
        for key in adds:
            if not _holds(states, key) and _holds(new_states, key):
                enabled = int((self._skus[key].get("prepaidUnits") or {}).get("enabled") or 0)
                if self._consumed[key] + 1 > enabled:  # free seats = prepaidUnits.enabled - consumedUnits
                    return _bad_request(NO_SEATS.format(sku=self._skus[key]["skuId"]))
        for key in removes:
            direct = any(_key(s) == key and s.get("assignedByGroup") is None for s in states)
            if not direct:
                inherited = any(_key(s) == key for s in states)
                return _bad_request(INHERITED if inherited else NOT_HELD)
        plans = self._enabled_plans(new_states)
        conflict = self._exclusive_conflict(plans)
        if conflict is not None:
            return _bad_request(EXCLUSIVE.format(first=conflict[0], second=conflict[1]))
        if self.enforce_dependencies:
            dependency = self._missing_dependency(plans)
            if dependency is not None:
                return _bad_request(DEPENDS.format(plan=dependency[0], needs=", ".join(dependency[1])))
        touched = set(adds) | set(removes)
        for key in touched:
            self._consumed[key] += int(_holds(new_states, key)) - int(_holds(states, key))
        user["licenseAssignmentStates"] = new_states
        user["assignedLicenses"] = self._assigned(new_states, user.get("assignedLicenses") or [], touched)
        return _Reply(200, self._user_body(user))

    def _end_states(
        self, states: list[Json], adds: dict[str, tuple[str, list[str]]], removes: dict[str, str]
    ) -> list[Json]:
        """The user's states after the call: direct ones removed or replaced; group ones untouched."""
        result: list[Json] = []
        replaced: set[str] = set()
        for state in states:
            key = _key(state)
            if state.get("assignedByGroup") is None:
                if key in removes:
                    continue
                if key in adds:
                    # disabledPlans replaces the SKU's list; [] re-enables every plan (GRAPH-FACTS)
                    result.append({**state, "disabledPlans": list(adds[key][1]), "state": "Active", "error": "None"})
                    replaced.add(key)
                    continue
            result.append(state)
        for key, (_, disabled) in adds.items():
            if key not in replaced:
                result.append(
                    {
                        "skuId": self._skus[key]["skuId"],
                        "disabledPlans": list(disabled),
                        "assignedByGroup": None,
                        "state": "Active",
                        "error": "None",
                    }
                )
        return result

    @staticmethod
    def _assigned(states: list[Json], previous: list[Json], touched: set[str]) -> list[Json]:
        """assignedLicenses: one entry per SKU held; a plan is disabled only if every assignment disables it."""
        entries: dict[str, Json] = {}
        for state in states:
            key = _key(state)
            disabled = [str(p) for p in state.get("disabledPlans") or []]
            entry = entries.get(key)
            if entry is None:
                entries[key] = {"skuId": state["skuId"], "disabledPlans": disabled}
            else:
                keep = {p.lower() for p in disabled}
                entry["disabledPlans"] = [p for p in entry["disabledPlans"] if p.lower() in keep]
        result: list[Json] = []
        seen: set[str] = set()
        for old in previous:  # untouched entries stay as they were, and every entry keeps its place
            key = _key(old)
            if key in seen:
                continue
            if key not in touched:
                result.append(old)
                seen.add(key)
            elif key in entries:
                result.append(entries[key])
                seen.add(key)
        result.extend(entry for key, entry in entries.items() if key not in seen and key in touched)
        return result

    def _enabled_plans(self, states: list[Json]) -> dict[str, str]:
        """Plan id -> name of every plan in effect: SKU plans minus disabledPlans, group-inherited included."""
        plans: dict[str, str] = {}
        for state in states:
            if state.get("state") in INACTIVE_STATES:
                continue
            disabled = {str(p).lower() for p in state.get("disabledPlans") or []}
            for plan_id, name in self._plans.get(_key(state), ()):
                if plan_id not in disabled:
                    plans.setdefault(plan_id, name)
        return plans

    @staticmethod
    def _exclusive_conflict(plans: dict[str, str]) -> tuple[str, str] | None:
        calling = [plan_id for plan_id, name in plans.items() if name in EXCLUSIVE_CALLING_PLANS]
        names = {plans[p] for p in calling}
        if len(names) < 2:
            return None
        first = calling[0]
        second = next(p for p in calling if plans[p] != plans[first])
        return first, second

    def _missing_dependency(self, plans: dict[str, str]) -> tuple[str, list[str]] | None:
        names = set(plans.values())
        phone = any(n.startswith("MCOEV") for n in names)
        audio = any(n.startswith("MCOMEETADV") for n in names)
        for plan_id, name in plans.items():
            if name.startswith("MCOPSTN") and name != CREDITS_PLAN and not phone:  # Calling Plan needs Phone System
                return plan_id, self._plan_ids(lambda n: n.startswith("MCOEV"), "MCOEV")
            if name == CREDITS_PLAN and not (phone or audio):  # Credits need Audio Conferencing or Phone System
                return plan_id, self._plan_ids(lambda n: n.startswith(("MCOMEETADV", "MCOEV")), "MCOMEETADV, MCOEV")
        return None

    def _plan_ids(self, wanted: Callable[[str], bool], fallback: str) -> list[str]:
        ids = [i for name, found in self._plan_ids_by_name.items() if wanted(name) for i in found]
        return ids or [fallback]

    # ---- $batch ----------------------------------------------------------------------------------------------

    def _batch(self, body: Any) -> _Reply:
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            return _bad_request(BAD_BATCH, "BadRequest")
        items: list[Any] = body["requests"]
        if not items:
            return _bad_request(BAD_BATCH, "BadRequest")
        if len(items) > BATCH_LIMIT:  # JSON batching: at most 20 requests (GRAPH-FACTS)
            return _bad_request("Number of requests inside batch exceeds the limit.", "BadRequest")
        by_id: dict[str, Json] = {}
        for item in items:
            problem = _batch_item_problem(item)
            if problem is not None:
                return _bad_request(problem, "BadRequest")
            if item["id"] in by_id:
                return _bad_request(f"Batch contains duplicate request id '{item['id']}'.", "BadRequest")
            by_id[item["id"]] = item
        for item in items:
            for dependency in item.get("dependsOn") or []:
                if dependency not in by_id:
                    return _bad_request(
                        f"Request '{item['id']}' depends on unknown request '{dependency}'.", "BadRequest"
                    )
        order = _dependency_order(items, by_id)
        if order is None:
            return _bad_request("Batch dependsOn contains a cycle.", "BadRequest")
        results: dict[str, _Reply] = {}
        for item in order:
            failed = [d for d in item.get("dependsOn") or [] if results[d].status >= 400]
            if failed:
                results[item["id"]] = _error(424, "FailedDependency", f"Dependent request '{failed[0]}' failed.")
                continue
            parts = urlsplit(item["url"])
            path = unquote(parts.path)
            path = path if path.startswith("/") else "/" + path
            if path.rstrip("/") == "/$batch":
                results[item["id"]] = _bad_request("Nested batch requests are not supported.", "BadRequest")
                continue
            results[item["id"]] = self._operation(
                item["method"].upper(), path, parts.query, item.get("body"), False, in_batch=True
            )
        responses = [self._batch_response(item_id, reply) for item_id, reply in results.items()]
        self._rng.shuffle(responses)  # Graph answers in any order: clients must match on id
        return _Reply(200, {"responses": responses})

    def _batch_response(self, item_id: str, reply: _Reply) -> Json:
        headers = dict(reply.headers)
        headers.update(self._usage_headers())
        answer: Json = {"id": item_id, "status": reply.status, "headers": headers}
        if reply.body is not None:
            headers["Content-Type"] = "application/json"
            self._fill_inner_error(reply.body, _fresh_id(), _fresh_id())
            answer["body"] = reply.body
        return answer


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
        item_id = item["id"]
        if item_id in done:
            return True
        if item_id in visiting:
            return False
        visiting.add(item_id)
        for dependency in item.get("dependsOn") or []:
            if not visit(by_id[dependency]):
                return False
        visiting.discard(item_id)
        done.add(item_id)
        order.append(item)
        return True

    for item in items:
        if not visit(item):
            return None
    return order
