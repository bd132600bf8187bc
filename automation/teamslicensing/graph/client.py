"""Microsoft Graph behind one small interface: `Graph.get_json`, `Graph.pages` and `Graph.batch`.

Paging, JSON `$batch`, throttling and the one retry layer of the program live here (endpoints, clouds and tokens in
`connection`). The rest of the code sees parsed JSON and `BatchResponse`s, never httpx.

msgraph-core supplies the HTTP client and its middleware (redirects, user agent, telemetry headers) but not its
retry handler: we leave it out so attempts never multiply, and retry here with tenacity. Bulk pages are read as
bytes and parsed with `json.loads`, because kiota's typed models cost seconds per 999 users (see GRAPH-FACTS).

Errors: `GraphError` (status, code, message, request id) for anything Graph refused; `RetryableError` for 429 and
transient failures, carrying `retry_after` when Graph said how long to wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_delay
from tenacity.stop import stop_base

from teamslicensing.errors import GraphError, RetryableError
from teamslicensing.graph.connection import (
    Connection,
    TokenProvider,
    graph_http_client,
    token_provider,
    token_tenant,
)
from teamslicensing.graph.pacing import WritePacer
from teamslicensing.graph.wire import (
    TRANSIENT_STATUSES,
    BatchRequest,
    BatchResponse,
    batch_item,
    batch_items,
    mapping,
    number,
    origin,
    refusal,
    request_id_of,
    short_path,
    status_of,
)

BATCH_LIMIT = 20  # Graph's maximum number of requests in one JSON $batch
DEFAULT_CONCURRENCY = 4  # batches in flight at once
# GETs in flight at once: a scoped read starts a query per 15 named users, a few hundred at once in a large file;
# sent together they would wait on the HTTP pool (and its timeout) and hit Graph in one burst
READ_CONCURRENCY = 8
MAX_ATTEMPTS = 8
MAX_TOTAL_WAIT = 15 * 60.0  # seconds one request may spend retrying before we give up on it
MAX_PAGES = 5000  # pages of one collection: 5 million objects at 999 a page; past that, something is looping
MAX_RETRY_AFTER = 300.0  # one Retry-After is honoured up to 5 minutes (a larger one is capped, and said)
MAX_RUN_WAIT = 3600.0  # seconds a run may spend waiting for Retry-After and backoff in all, before giving up
SLOW_REQUEST = 20.0  # a request slower than this is mentioned, so a long read is never silent


class _StopAfterFailures(stop_base):
    """Give up after `limit` transient failures; a throttling storm may last minutes, so 429s are bounded by
    the total wait instead of by count."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures = 0

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if not (isinstance(exc, RetryableError) and exc.status == 429):
            self.failures += 1
        return self.failures >= self.limit


class Graph:
    """An open connection to Graph. Use as `async with Graph(connection) as graph:`; `batch` makes it a
    `WriteBackend`."""

    def __init__(
        self,
        connection: Connection,
        *,
        client: httpx.AsyncClient | None = None,
        token: TokenProvider | None = None,
        access_token: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_attempts: int = MAX_ATTEMPTS,
        max_total_wait: float = MAX_TOTAL_WAIT,
        backoff_base: float = 1.0,
        notice: Callable[[str], None] | None = None,
        max_pages: int = MAX_PAGES,
        pace_writes: bool = True,
    ) -> None:
        self.connection = connection
        self.backoff_base = backoff_base  # seconds; the first backoff is up to twice this, doubling per attempt
        self._client = client
        self._own_client: httpx.AsyncClient | None = None
        self._token = token
        self._access_token = access_token  # a bearer token given by the caller, sent only to connection.graph_url
        self._close_token: Callable[[], Awaitable[None]] | None = None
        self._pacer = WritePacer()
        self._slots = asyncio.Semaphore(concurrency)
        self._reading = asyncio.Semaphore(READ_CONCURRENCY)  # held while a GET is on the wire, not while it waits
        self._warmup = asyncio.Lock()  # held by the one write batch in flight while the pacer warms up
        self.max_attempts = max_attempts
        self.max_total_wait = max_total_wait
        self.write_requests = 0
        self.retries = 0
        self.tenant_id: str | None = None  # the tenant the token was issued for, once a request was sent
        self.notice = notice  # where progress lines go (slow answers, long waits); None: nowhere
        self._last_notice = -1e9
        self.max_retry_after = MAX_RETRY_AFTER
        self.max_pages = max_pages
        self.pace_writes = pace_writes  # False: only Retry-After holds writes back (the benchmark's baseline)
        self.max_run_wait = MAX_RUN_WAIT
        self.waited = 0.0  # seconds spent waiting for Retry-After and backoff so far

    async def __aenter__(self) -> Graph:
        if self._client is None:
            self._client = self._own_client = graph_http_client(self.connection)
        if self._token is None:
            self._token, self._close_token = token_provider(self.connection, self._access_token)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._own_client is not None:  # a client handed in belongs to the caller
            await self._own_client.aclose()
        if self._close_token is not None:
            await self._close_token()

    # ---- reads -------------------------------------------------------------------------------------------------

    async def get_json(self, url: str, headers: dict[str, str] | None = None) -> Any:
        async def send() -> httpx.Response:
            async with self._reading:
                return await self._send("GET", url, None, headers)

        response = await self._with_retries(send)
        try:
            return json.loads(response.content)
        except (ValueError, RecursionError) as exc:  # an HTML error page from a proxy, a body cut short
            kind = response.headers.get("content-type", "no content type")
            raise GraphError(
                response.status_code,
                "InvalidResponse",
                f"the answer to GET {url.split('?')[0]} is not JSON ({kind}, {len(response.content)} bytes): "
                "is --graph-url a Graph endpoint, and is a proxy in the way?",
                request_id_of(response.headers),
            ) from exc

    async def pages(
        self, url: str, headers: dict[str, str] | None = None, max_pages: int | None = None
    ) -> AsyncIterator[list[Any]]:
        """Yield the `value` of each page, following `@odata.nextLink`; one page in memory at a time.

        Bounded: a nextLink to another origin is refused (the token goes to the Graph origin only), a nextLink
        seen before is a loop, and more than `max_pages` pages is an error, never a silent cut. `headers` (e.g.
        ConsistencyLevel for advanced queries) are sent again with every page. Each list is emptied when the next
        page is asked for (keep its items, not the list): a consumer's loop variable would otherwise hold the last
        page while the next one arrives, two pages per reader, and a scoped read runs a dozen readers at once."""
        next_url: str | None = url
        seen: set[str] = set()
        pages = 0
        max_pages = max_pages or self.max_pages
        where = url.split("?")[0]
        while next_url:
            if next_url in seen:
                raise GraphError(0, "PagingLoop", f"Graph sent a nextLink for {where} it had sent before: stopped")
            seen.add(next_url)
            pages += 1
            if pages > max_pages:
                raise GraphError(0, "TooManyPages", f"{where}: more than {max_pages} pages; stopped reading")
            page = await self.get_json(next_url, headers)
            value = page.get("value") if isinstance(page, dict) else None
            if not isinstance(value, list):
                raise GraphError(0, "InvalidResponse", f"the answer for {where} has no 'value' list")
            yield value
            link = page.get("@odata.nextLink")
            value.clear()
            del page, value
            if link is not None and not isinstance(link, str):
                raise GraphError(0, "InvalidResponse", f"the answer for {where} has a nextLink that is not a URL")
            next_url = link

    async def gets(self, ids: Sequence[str], url: str) -> AsyncIterator[tuple[str, BatchResponse]]:
        """A GET of `url` (with `{}` for the id) for each id, BATCH_LIMIT to a `$batch`: (id, answer) in order."""
        for start in range(0, len(ids), BATCH_LIMIT):
            chunk = ids[start : start + BATCH_LIMIT]
            requests = [BatchRequest(str(n), "GET", url.format(each)) for n, each in enumerate(chunk)]
            for each, answer in zip(chunk, await self.batch(requests), strict=True):
                yield each, answer

    # ---- writes ------------------------------------------------------------------------------------------------

    async def batch(
        self,
        requests: Sequence[BatchRequest],
        on_round: Callable[[list[tuple[BatchRequest, BatchResponse]]], None] | None = None,
        keep_trying: Callable[[], bool] | None = None,
        on_send: Callable[[Sequence[BatchRequest]], None] | None = None,
    ) -> list[BatchResponse]:
        """Send up to 20 requests as one JSON $batch; retry throttled and transient items until they settle.

        `on_round` sees every round of answers as it comes (the audit log's result records); `on_send` every round
        just before it leaves (after the pacing wait), so a caller cut off at a stop knows what Graph received.
        Once `keep_trying()` is False, items still pending settle with their last answer instead of being retried.

        A write whose answer cannot be trusted is never re-sent blindly: an item missing from the answer or
        answered twice, and the whole $batch dropped after it was sent or answered 5xx, settle as
        `trustworthy=False` (status 0 when no answer came), for the caller to read back. Reads are retried.

        Our own batch bodies, not msgraph-core's BatchRequestContent: its items carry absolute URLs
        (msgraph-sdk-python#1015), POST/PATCH items were reported failing (#1120), dependsOn is serialised as
        depends_on (#996), inner 429s are not retried, and our ids are replaced by random UUIDs.
        """
        if len(requests) > BATCH_LIMIT:
            raise ValueError(f"a $batch takes at most {BATCH_LIMIT} requests")
        pending = {request.id: request for request in requests}
        attempts = dict.fromkeys(pending, 0)
        failures = dict.fromkeys(pending, 0)  # transient failures; 429s are bounded by time, not by count
        settled: dict[str, BatchResponse] = {}
        last: dict[str, BatchResponse] = {}  # each item's latest answer, for a stop between rounds
        started = time.monotonic()
        writes = any(r.method != "GET" for r in requests)
        while pending:
            warming = writes and self.pace_writes and self._pacer.warming
            async with self._slots, self._warmup if warming else contextlib.nullcontext():
                metered = sum(1 for r in pending.values() if r.method != "GET") if self.pace_writes else 0
                await self._pacer.before_send(metered)
                body = {"requests": [batch_item(r) for r in pending.values()]}
                if on_send is not None:
                    on_send(list(pending.values()))
                self.write_requests += 1
                send = functools.partial(self._send, "POST", "/$batch", body)
                try:
                    response = await self._with_retries(send, repeatable=not writes)
                except RetryableError as exc:
                    if not writes or exc.status == 429:
                        raise
                    # sent, perhaps applied, then no usable answer: every item is for the caller to read back
                    lost = [
                        (r, BatchResponse(r.id, exc.status, None, exc.request_id, attempts[r.id] + 1, trusted=False))
                        for r in pending.values()
                    ]
                    if on_round is not None:
                        on_round(lost)
                    settled.update((r.id, answer) for r, answer in lost)
                    break
            answered: dict[str, list[Any]] = {}
            for item in batch_items(response):
                answered.setdefault(str(item.get("id")), []).append(item)
            waits = []
            round_answers = []
            for request_id in list(pending):
                attempts[request_id] += 1
                items = answered.get(request_id, [])
                item = items[0] if len(items) == 1 and isinstance(items[0], dict) else {}
                trusted = len(items) == 1 or pending[request_id].method == "GET"
                status = status_of(item.get("status"))
                headers = {str(k).lower(): str(v) for k, v in (mapping(item.get("headers"))).items()}
                answer = BatchResponse(
                    request_id,
                    status,
                    item.get("body"),
                    headers.get("request-id") or request_id_of(response.headers),
                    attempts[request_id],
                    headers,
                    trusted,
                )
                throttled = status == 429
                transient = status == 0 or status in TRANSIENT_STATUSES
                failures[request_id] += transient
                out_of_time = time.monotonic() - started > self.max_total_wait
                # a read is repeated freely; a write only when it surely did not happen (429): a 5xx or no answer
                # may follow a write Graph made, so the caller reads the user back instead of guessing
                is_read = pending[request_id].method == "GET"
                may_repeat = trusted and (throttled or is_read)
                if transient and not is_read:
                    answer = dataclasses.replace(answer, trusted=False)
                round_answers.append((pending[request_id], answer))
                last[request_id] = answer
                stopping = keep_trying is not None and not keep_trying()
                if (
                    (throttled or transient)
                    and may_repeat
                    and failures[request_id] < self.max_attempts
                    and not out_of_time
                    and not stopping
                ):
                    asked = number(headers.get("retry-after"))
                    waits.append(asked if asked is not None else self._backoff(attempts[request_id]))
                    if throttled:
                        self._pacer.throttled(min(waits[-1], self.max_retry_after))
                    continue
                settled[request_id] = answer
                del pending[request_id]
            if writes:  # the rate learnt from the refusals, and the limit header where Graph sends it: per item
                written = [a for r, a in round_answers if r.method != "GET"]
                self._pacer.observe(
                    sum(1 for a in written if a.ok),
                    sum(1 for a in written if a.status == 429),
                    [{k.lower(): v for k, v in response.headers.items()}, *(a.headers for a in written)],
                )
            if on_round is not None:
                on_round(round_answers)
            if pending:
                self.retries += len(pending)
                wait = self._waiting(max(waits), f"Graph throttled {len(pending)} item(s) of a batch")
                await asyncio.sleep(wait)  # every item still pending added its wait
                if keep_trying is not None and not keep_trying():  # a stop came during the wait: send no more
                    settled.update((rid, last[rid]) for rid in pending)
                    break
        return [settled[request.id] for request in requests]

    # ---- one HTTP request, and the one retry layer -------------------------------------------------------------

    async def _with_retries(
        self, send: Callable[[], Awaitable[httpx.Response]], *, repeatable: bool = True
    ) -> httpx.Response:
        """Send with retries. `repeatable=False` (a $batch of writes): only what surely did not reach Graph is
        sent again (a 429, a connection never made); anything else is raised for the caller to verify."""

        def worth_retrying(exc: BaseException) -> bool:
            if not isinstance(exc, RetryableError):
                return False
            return repeatable or exc.status == 429 or not exc.maybe_sent

        retrying = AsyncRetrying(
            retry=retry_if_exception(worth_retrying),
            wait=self._wait_for,
            stop=_StopAfterFailures(self.max_attempts) | stop_after_delay(self.max_total_wait),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._pacer.before_send(0)  # a Retry-After pause holds reads too
                return await send()
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _wait_for(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            return self._waiting(exc.retry_after, f"Graph asked to wait (HTTP {exc.status})")
        return self._waiting(self._backoff(state.attempt_number), f"retrying after {exc}" if exc else "retrying")

    def _waiting(self, seconds: float, why: str) -> float:
        """Account for one wait: capped at MAX_RETRY_AFTER, counted against MAX_RUN_WAIT, said when it is long."""
        wait = min(seconds, self.max_retry_after)
        if self.waited + wait > self.max_run_wait:
            raise GraphError(
                429,
                "WaitedTooLong",
                f"Graph kept this run waiting {self.waited / 60:.0f} min in all ({why}); giving up rather than "
                "stalling: run again later",
            )
        self.waited += wait
        if wait >= 5:
            capped = f" (it asked for {seconds:.0f} s; capped)" if seconds > wait else ""
            self._say(f"{why}: waiting {wait:.0f} s{capped}")
        return wait

    def _say(self, line: str) -> None:
        if self.notice is not None:
            now = time.monotonic()
            if now - self._last_notice >= 10.0:  # a storm of waits is one line every 10 s, not hundreds
                self._last_notice = now
                self.notice(line)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped at a minute."""
        return random.uniform(0, min(60.0, self.backoff_base * 2.0**attempt))

    def _before_sleep(self, state: RetryCallState) -> None:
        self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.status != 429:  # a timeout or a 5xx: said, so never silent
            self._say(
                f"Graph did not answer ({exc.code}: {exc.message[:80]}); attempt {state.attempt_number}, retrying"
            )
        if isinstance(exc, RetryableError) and exc.status == 429 and exc.retry_after:
            self._pacer.throttled(min(exc.retry_after, self.max_retry_after))

    async def _send(
        self, method: str, url: str, body: Any = None, extra_headers: dict[str, str] | None = None
    ) -> httpx.Response:
        assert self._client is not None, "use Graph as an async context manager"
        assert self._token is not None
        target = url if url.startswith(("http://", "https://")) else self.connection.graph_url + url
        if origin(target) != origin(self.connection.graph_url):  # checked before a token is even fetched
            raise GraphError(
                0,
                "ForeignOrigin",
                f"Graph pointed at {origin(target)}, which is not the Graph endpoint in use "
                f"({origin(self.connection.graph_url)}): not followed, and no token was sent there",
            )
        token = await self._token()
        if self.tenant_id is None:
            self.tenant_id = token_tenant(token)
        headers = {**(extra_headers or {}), "Authorization": f"Bearer {token}", "Accept": "application/json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body).encode()
        started = time.monotonic()
        try:
            response = await self._client.request(method, target, headers=headers, content=content)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError) as exc:
            # the request never reached Graph
            raise RetryableError(0, type(exc).__name__, str(exc) or "connection failed", maybe_sent=False) from exc
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:  # nothing sent, and never will be
            raise GraphError(0, type(exc).__name__, f"cannot send to {short_path(url)}: {exc}") from exc
        except httpx.RequestError as exc:  # timeouts, resets, protocol and decoding errors: it may have arrived
            raise RetryableError(0, type(exc).__name__, str(exc) or "connection dropped") from exc
        took = time.monotonic() - started
        if took > SLOW_REQUEST:
            self._say(f"Graph took {took:.0f} s to answer {method} {short_path(url)}")
        if 300 <= response.status_code < 400:  # Graph's API does not redirect: a proxy or portal is in the way
            where = response.headers.get("location", "elsewhere")
            raise GraphError(
                response.status_code,
                "Redirected",
                f"{method} {short_path(url)} was redirected to {where}: not followed (and no token sent there); is "
                "--graph-url a Graph endpoint, and is a proxy in the way?",
                request_id_of(response.headers),
            )
        if response.status_code < 400:
            return response
        raise refusal(response, method, url)
