"""A stateful fake Microsoft Graph tenant for respx, behaving as `GRAPH-FACTS.md` documents Graph.

Built from a snapshot document (the format of `config/examples/contoso-tenant.json`) and independent of the product
code, so that end-to-end tests and the benchmark check the product against Graph's documented behaviour rather than
against itself. It serves:

- `GET /subscribedSkus`, `GET /users` (`$select`, `$top` ≤ 999, `$filter=prop eq '…'`, `@odata.nextLink` paging),
  `GET /users/{id|upn}`, `GET /users/{id|upn}/transitiveMemberOf`, `GET /groups` (`$filter=displayName eq '…'`),
  `GET /groups/{id}`,
  `GET /groups/{id}/transitiveMembers[/microsoft.graph.user]` (paged; the document's members are transitive users);
- `POST /users/{id|upn}/assignLicense` with Graph's validations and texts, `PATCH /users/{id|upn}`;
- `POST /$batch` (≤ 20 items, relative URLs, per-item status and throttling, `dependsOn` → 424);
- the Teams administration API under `/admin/teams` (numbers and their operations, policies, user configurations:
  `teams`), in the global cloud only, as the national clouds' CSDL has it;
- Graph's identity write quota as a sliding window, scripted 429s and 503/504s, per-request latency;
- a token revoked before its expiry, and a seeded storm of 429s and 503s (`outages`).

Before any route, every request and `$batch` item is held against Graph v1.0 as Microsoft publishes it
(tests/support/graphmetadata): its CSDL (a request or answer it does not describe fails the test that made it) and
its permissions reference (a request none of the app's `roles` grants answers 403 Authorization_RequestDenied).

Split by concern, as mixins over one state: `store` (the tenant: loading, accessors), `reads` (GET routes and
paging), `writes` (PATCH and assignLicense), `batch` (JSON $batch), `quota` (write quota and scripted faults),
`outages` (token revocation, the storm), `teams` (/admin/teams), `common` (Graph's limits and texts, replies,
parsing); this module routes each request.

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
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_plus

import httpx
import respx

from tests.support.fakegraph.batch import BatchRoutes
from tests.support.fakegraph.calls import CallRecordRoutes
from tests.support.fakegraph.common import (
    BAD_BATCH,
    BATCH_LIMIT,
    MAX_PAGE_SIZE,
    WRITE_METHODS,
    _bad_request,
    _error,
    _fresh_id,
    _json_body,
    _method_not_allowed,
    _query,
    _Reply,
    _seconds,
)
from tests.support.fakegraph.grouplicensing import GroupLicenseRoutes
from tests.support.fakegraph.memberof import MemberOfRoutes
from tests.support.fakegraph.outages import Outages, Storm
from tests.support.fakegraph.reads import ReadRoutes
from tests.support.fakegraph.teams import TeamsRoutes
from tests.support.fakegraph.writes import WriteRoutes
from tests.support.graphmetadata import DEFAULT_ROLES, guard
from tests.support.graphmetadata.clouds import cloud_of_host, missing_segment

__all__ = ["BATCH_LIMIT", "MAX_PAGE_SIZE", "FakeGraph", "Storm"]


class FakeGraph(
    TeamsRoutes, BatchRoutes, MemberOfRoutes, ReadRoutes, WriteRoutes, GroupLicenseRoutes, CallRecordRoutes, Outages
):
    """A Graph tenant in memory: reads, license writes, $batch, throttling and scripted faults."""

    def __init__(
        self,
        document: dict[str, Any],
        *,
        base_url: str = "https://graph.microsoft.com/v1.0",
        page_size_limit: int = MAX_PAGE_SIZE,
        latency: float = 0.0,
        write_quota: tuple[int, float] | None = None,
        write_bucket: tuple[float, float] | None = None,
        tenant_write_quota: tuple[int, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        apply_throttled_writes: bool = False,
        fractional_retry_after: bool = False,
        enforce_dependencies: bool = True,
        seed: int = 0,
        roles: Iterable[str] = DEFAULT_ROLES,
        group_processing_delay: int = 0,
        cloud: str | None = None,
        operation_steps: int = 2,
        teams_provisioning_lag: int = 0,
    ) -> None:
        """`page_size_limit` caps every page below the client's `$top` (Graph may return fewer than asked).

        `latency`: seconds each HTTP request takes (asyncio.sleep on async clients, time.sleep on sync ones).
        `write_quota=(W, T)`: at most W writes in any T seconds of `clock`; Graph's is (3000, 150.0), per app+tenant.
        `write_bucket=(depth, rate)`: a token bucket instead (or as well); `tenant_write_quota=(W, T)`: the tenant's
        own window beside the app's (Graph's: 18,000 per 300 s). See `quota`.
        `apply_throttled_writes`: a throttled write still takes effect (Graph may do that), yet answers 429.
        `fractional_retry_after`: Retry-After in milliseconds precision instead of whole seconds (≥ 1), for quotas
        scaled down in time. `enforce_dependencies=False` drops the Calling Plan/Credits dependency checks (Graph's
        enforcement of them is unconfirmed, GRAPH-FACTS). `seed` fixes the order of $batch responses.
        `roles`: the app's application permissions; a request none of them grants in Microsoft's permissions
        reference answers 403 (see tests/support/graphmetadata: every request is held against the v1.0 CSDL
        first). The document's `numberAssignments` (Graph's objects) are the tenant's Teams numbers.
        `group_processing_delay`: requests handled after a group license write before Entra processes it (see
        `grouplicensing`); a group's `directMembers` (else its `members`) are the members Entra licenses.
        The document's `pstnCalls` and `directRoutingCalls` (Graph's rows) are served by the call-record functions
        (see `calls`; `load_calls` replaces them). `cloud` (else the one `base_url`'s host is in): global, usgov,
        usgovdod or china. `operation_steps`: GETs of a number operation before the one that shows it ended;
        `teams_provisioning_lag`: requests after a license write before Teams sees it (see `teams`).
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
        self.write_bucket = write_bucket  # (depth, writes per second): a token bucket, full at the start
        self.tenant_write_quota = tenant_write_quota
        self._tokens = float(write_bucket[0]) if write_bucket else 0.0
        self._refilled = clock()
        self._tenant_times: deque[float] = deque()
        self.apply_throttled_writes = apply_throttled_writes
        self.fractional_retry_after = fractional_retry_after
        self.enforce_dependencies = enforce_dependencies
        self._clock = clock
        self._rng = random.Random(seed)
        self.requests: list[tuple[str, str]] = []
        self.batched: list[tuple[str, str]] = []  # each $batch item, (method, path?query), as `requests` has them
        self.http_count = 0
        self._bearer = ""  # the token of the request being answered
        self.group_processing_delay = group_processing_delay
        self.roles = frozenset(roles)
        self._calls = {}
        self.load_calls("getPstnCalls", document.get("pstnCalls") or [])
        self.load_calls("getDirectRoutingCalls", document.get("directRoutingCalls") or [])
        self._pending_groups = []
        self._handled = 0
        # $filter -> (needs advanced query parameters, the users it selected), for the next pages of a query
        self._filter_cache: dict[str, tuple[bool, list[dict[str, Any]]]] = {}
        self.writes: list[dict[str, Any]] = []
        self._write_times: deque[float] = deque()
        self._outright: deque[float] = deque()  # scripted whole-request 429s (their Retry-After)
        self._item_throttles: deque[float] = deque()  # scripted 429s for the next operations
        self._failures: deque[int] = deque()  # scripted 503/504s for the next HTTP requests
        self._headers: dict[str, str] = {}  # the request (or $batch item) being answered, lower-case names
        self._lost_answers: deque[str] = deque()  # scripted faults after a $batch took effect (see lose_answer)
        self._extra = {k: v for k, v in document.items() if k not in ("subscribedSkus", "users", "groups")}
        self._load_skus(document.get("subscribedSkus") or [])
        self._load_users(document.get("users") or [])
        self._load_groups(document.get("groups") or [])
        self._load_teams(document, cloud or cloud_of_host(httpx.URL(self.base_url).host), operation_steps)
        self.teams_provisioning_lag = teams_provisioning_lag

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

    def _side_effect(self, request: httpx.Request) -> Any:
        if self.latency <= 0:
            response = self.handle(request)
            if getattr(response, "connection_reset", False):
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
            return response
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a sync client: block like a slow network would
            time.sleep(self.latency)
            return self.handle(request)
        return self._delayed(request)

    async def _delayed(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.latency)
        response = self.handle(request)
        if getattr(response, "connection_reset", False):
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return response

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one HTTP request (also usable as an `httpx.MockTransport` handler)."""
        path = request.url.path
        if path.startswith(self._base_path):
            path = path[len(self._base_path) :]
        path = path or "/"
        raw_query = request.url.query.decode("ascii", "replace")
        self.requests.append((request.method, path + ("?" + unquote_plus(raw_query) if raw_query else "")))
        self.http_count += 1
        request_id = _fresh_id()
        client_request_id = request.headers.get("client-request-id") or request_id
        self._headers = {k.lower(): v for k, v in request.headers.items()}
        if request.method != "GET":
            self._filter_cache.clear()  # a write may change who matches
        self._tick_group_processing()  # Entra's asynchronous processing of group license writes
        reply = self._http(request, path, raw_query)
        return self._response(reply, request_id, client_request_id, path.rstrip("/") == "/$batch")

    def _http(self, request: httpx.Request, path: str, raw_query: str) -> _Reply:
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "InvalidAuthenticationToken", "Access token is empty.")
        self._bearer = token.strip()
        is_batch = path.rstrip("/") == "/$batch"
        refused = self.refusal(self._bearer, self.http_count, is_batch)
        if refused is not None:
            return refused
        if self._outright:
            wait = self._outright.popleft()
            return _error(429, "TooManyRequests", "Too many requests.", {"Retry-After": _seconds(wait)})
        if self._failures:
            status = self._failures.popleft()
            code = {503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(status, "UnknownError")
            return _error(status, code, "The service is temporarily unavailable. Please retry.")
        body, bad = _json_body(request.content)
        outcome = self.storm_outcome(request.method, path + ("?" + raw_query if raw_query else ""), body)
        if outcome == "throttled":
            return self.storm_throttled()
        if outcome == "unavailable":
            return self.storm_unavailable()
        reply = self._answer(request, path, raw_query, body, bad)
        return self.storm_unavailable() if outcome == "applied" else reply

    def _answer(self, request: httpx.Request, path: str, raw_query: str, body: Any, bad: bool) -> _Reply:
        if path.rstrip("/") == "/$batch":
            if request.method != "POST":
                return _method_not_allowed()
            reply = self._batch(body) if not bad else _bad_request(BAD_BATCH, "BadRequest")
            writes = isinstance(body, dict) and any(
                isinstance(i, dict) and str(i.get("method", "")).upper() in WRITE_METHODS
                for i in body.get("requests") or []
            )
            if self._lost_answers and writes and reply.status == 200:
                return self._lose(reply, self._lost_answers.popleft())
            return reply
        return self._operation(request.method, path, raw_query, body, bad, in_batch=False)

    def _response(
        self, reply: _Reply, request_id: str, client_request_id: str, path_is_batch: bool = False
    ) -> httpx.Response:
        headers = {"request-id": request_id, "client-request-id": client_request_id, **reply.headers}
        if not path_is_batch:  # in a $batch the near-limit headers come inside each item, not outside
            headers.update(self._usage_headers())
        if reply.reset:
            response = httpx.Response(reply.status, headers=headers)
            response.connection_reset = True  # type: ignore[attr-defined]
            return response
        if reply.body is None:
            return httpx.Response(reply.status, headers=headers)
        if isinstance(reply.body, str):  # $count answers text/plain
            return httpx.Response(reply.status, headers=headers, text=reply.body)
        self._fill_inner_error(reply.body, request_id, client_request_id)
        return httpx.Response(reply.status, headers=headers, json=reply.body)

    def _operation(
        self, method: str, path: str, raw_query: str, body: Any, bad_body: bool, *, in_batch: bool
    ) -> _Reply:
        checked, denied = guard.admit(method, path, raw_query, body, bad_body, self.roles)
        absent = missing_segment(self.cloud, checked.target) if checked is not None else None
        if absent is not None:  # the cloud's Graph cannot resolve the path: before any permission is asked for
            return _error(400, "BadRequest", f"Resource not found for the segment '{absent}'.")
        if denied is not None:
            return _error(*denied)
        write = method in WRITE_METHODS
        if in_batch:
            weather = self._item_weather(method, path, raw_query, body, bad_body)
            if weather is not None:
                return weather
        throttled: _Reply | None = None
        if self._item_throttles:  # scripted: each $batch item is throttled on its own (GRAPH-FACTS)
            wait = self._item_throttles.popleft()
            throttled = _error(429, "TooManyRequests", "Too many requests.", {"Retry-After": _seconds(wait)})
        elif write:
            refusal = self._take_write_slot()
            if refusal is not None:
                wait, scope = refusal
                headers = {"Retry-After": self._retry_after(wait), "x-ms-throttle-scope": scope}
                throttled = _error(429, "TooManyRequests", "Too many requests.", headers)
        if throttled is not None:
            applied = False
            if write and self.apply_throttled_writes:  # a throttled write may still take effect (GRAPH-FACTS)
                applied = self._dispatch(method, path, raw_query, body, bad_body).status < 400
            if write:
                self._log_write(method, path, raw_query, body, throttled.status, applied, in_batch)
            return throttled
        reply = self._dispatch(method, path, raw_query, body, bad_body)
        guard.answered(checked, self._headers, reply.status, reply.body)
        if write:
            self._log_write(method, path, raw_query, body, reply.status, reply.status < 400, in_batch)
        return reply

    def _item_weather(self, method: str, path: str, raw_query: str, body: Any, bad_body: bool) -> _Reply | None:
        """A $batch item refused for its token, or met by the storm; None: answered as usual."""
        write = method in WRITE_METHODS
        if self.refuses_items(self._bearer):
            return self.token_refused()
        outcome = self.storm_outcome(method, path + ("?" + raw_query if raw_query else ""), body)
        if outcome is None:
            return None
        reply = self.storm_throttled() if outcome == "throttled" else self.storm_unavailable()
        applied = outcome == "applied" and self._dispatch(method, path, raw_query, body, bad_body).status < 400
        if write:
            self._log_write(method, path, raw_query, body, reply.status, applied, True)
        return reply

    def _log_write(
        self, method: str, path: str, raw_query: str, body: Any, status: int, applied: bool, in_batch: bool
    ) -> None:
        url = path + ("?" + unquote_plus(raw_query) if raw_query else "")
        self.writes.append(
            {"method": method, "url": url, "body": body, "status": status, "applied": applied, "batch": in_batch}
        )

    def _dispatch(self, method: str, path: str, raw_query: str, body: Any, bad_body: bool) -> _Reply:
        segments = [s for s in path.split("/") if s]
        query = _query(raw_query)
        head = segments[0] if segments else ""
        count = len(segments)
        if head == "communications":
            calls = self._call_records(path, query)
            if calls is not None:
                return calls if method == "GET" else _method_not_allowed()
        if head == "admin":
            teams = self._admin(method, segments, query, raw_query, body, bad_body)
            if teams is not None:
                return teams
        if head == "subscribedSkus" and count == 1:
            return self._subscribed_skus(query) if method == "GET" else _method_not_allowed()
        if head == "users":
            if count == 1:
                return self._list_users(query, raw_query) if method == "GET" else _method_not_allowed()
            if count == 2 and segments[1] == "$count":
                return self._count_users() if method == "GET" else _method_not_allowed()
            if count == 2:
                if method == "GET":
                    return self._get_user(segments[1], query)
                if method == "PATCH":
                    return self._patch_user(segments[1], body, bad_body)
                return _method_not_allowed()
            if segments[2] == "transitiveMemberOf" and (
                count == 3 or (count == 4 and segments[3] == "microsoft.graph.group")
            ):
                return (
                    self._member_of(segments[1], "/".join(segments), query, raw_query)
                    if method == "GET"
                    else _method_not_allowed()
                )
            if count == 3 and segments[2] in ("assignLicense", "microsoft.graph.assignLicense"):
                if method != "POST":
                    return _method_not_allowed()
                return self._assign_license(segments[1], body, bad_body)
            if count == 3 and segments[2] in (
                "reprocessLicenseAssignment",
                "microsoft.graph.reprocessLicenseAssignment",
            ):
                return self._reprocess(segments[1]) if method == "POST" else _method_not_allowed()
        if head == "groups":
            if count == 1:
                return self._list_groups(query, raw_query) if method == "GET" else _method_not_allowed()
            if count == 2:
                return self._get_group(segments[1], query) if method == "GET" else _method_not_allowed()
            if count == 3 and segments[2] in ("assignLicense", "microsoft.graph.assignLicense"):
                return (
                    self._assign_group_license(segments[1], body, bad_body)
                    if method == "POST"
                    else _method_not_allowed()
                )
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
