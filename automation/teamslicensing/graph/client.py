"""Microsoft Graph behind one small interface: `Graph.get_json`, `Graph.pages` and `Graph.batch`.

Paging, throttling and the one retry layer of the program live here (its policy in `retries`, a `$batch`'s rounds in
`batching`, the write pace in `pacing`, endpoints and clouds in `connection`, tokens in `tokens`). The rest of the
code sees parsed JSON and `BatchResponse`s, never httpx.

msgraph-core supplies the HTTP client and its middleware (redirects, user agent, telemetry headers) but not its
retry handler: we leave it out so attempts never multiply, and retry here with tenacity (`retries`). Bulk pages are
read as bytes and parsed with `json.loads`, because kiota's typed models cost seconds per 999 users (GRAPH-FACTS).

Errors: `GraphError` (status, code, message, request id) for anything Graph refused; `RetryableError` for 429 and
transient failures, carrying `retry_after` when Graph said how long to wait. A 401 is answered by one fresh token
and the same request sent again; refused again, it is a `GraphError`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import httpx
from tenacity import RetryCallState

from teamslicensing.errors import GraphError, RetryableError
from teamslicensing.graph.batching import BatchRun
from teamslicensing.graph.connection import Connection, graph_http_client, token_provider, token_tenant
from teamslicensing.graph.pacing import WritePacer
from teamslicensing.graph.retries import MAX_ATTEMPTS, MAX_TOTAL_WAIT, RetryPolicy
from teamslicensing.graph.tokens import (
    NOT_RENEWABLE,
    REFUSED_AGAIN,
    TokenProvider,
    TokenRefused,
    Tokens,
    claims_challenge,
)
from teamslicensing.graph.wire import (
    BatchRequest,
    BatchResponse,
    error_parts,
    origin,
    refusal,
    request_id_of,
    short_path,
)

BATCH_LIMIT = 20  # Graph's maximum number of requests in one JSON $batch
DEFAULT_CONCURRENCY = 4  # batches in flight at once
# GETs in flight at once: a scoped read starts a query per 15 named users, a few hundred at once in a large file;
# sent together they would wait on the HTTP pool (and its timeout) and hit Graph in one burst
READ_CONCURRENCY = 8
MAX_PAGES = 5000  # pages of one collection: 5 million objects at 999 a page; past that, something is looping
SLOW_REQUEST = 20.0  # a request slower than this is mentioned, so a long read is never silent


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
        self._client = client
        self._own_client: httpx.AsyncClient | None = None
        self._tokens = Tokens(token) if token is not None else None
        self._access_token = access_token  # a bearer token given by the caller, sent only to connection.graph_url
        self.pacer = WritePacer()
        self.slots = asyncio.Semaphore(concurrency)  # batches in flight
        self._reading = asyncio.Semaphore(READ_CONCURRENCY)  # held while a GET is on the wire, not while it waits
        self.warmup = asyncio.Lock()  # held by the one write batch in flight while the pacer warms up
        self.write_requests = 0
        self.retries = 0
        self.tenant_id: str | None = None  # the tenant the token was issued for, once a request was sent
        self.notice = notice  # where progress lines go (slow answers, long waits); None: nowhere
        self._last_notice = -1e9
        self.max_pages = max_pages
        self.pace_writes = pace_writes  # False: only Retry-After holds writes back (the benchmark's baseline)
        self.retry = RetryPolicy(
            max_attempts=max_attempts, max_total_wait=max_total_wait, backoff_base=backoff_base, say=self._say
        )

    async def __aenter__(self) -> Graph:
        if self._client is None:
            self._client = self._own_client = graph_http_client(self.connection)
        if self._tokens is None:
            self._tokens = token_provider(self.connection, self._access_token)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._own_client is not None:  # a client handed in belongs to the caller
            await self._own_client.aclose()
        if self._tokens is not None:
            await self._tokens.close()

    # ---- reads -------------------------------------------------------------------------------------------------

    async def get_json(self, url: str, headers: dict[str, str] | None = None) -> Any:
        async def send() -> httpx.Response:
            async with self._reading:
                return await self.send("GET", url, None, headers)

        response = await self.with_retries(send)
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

    async def gets(
        self, ids: Sequence[str], url: str, headers: dict[str, str] | None = None
    ) -> AsyncIterator[tuple[str, BatchResponse]]:
        """A GET of `url` (with `{}` for the id) for each id, BATCH_LIMIT to a `$batch`: (id, answer) in order;
        `headers` go with each item."""
        for start in range(0, len(ids), BATCH_LIMIT):
            chunk = ids[start : start + BATCH_LIMIT]
            requests = [BatchRequest(str(n), "GET", url.format(each), headers=headers) for n, each in enumerate(chunk)]
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
        Once `keep_trying()` is False nothing more leaves and no wait goes on: items still pending settle with their
        last answer, items never sent as `NOT_SENT` (no attempt). The run's waiting spent settles them the same way.

        A write whose answer cannot be trusted is never re-sent blindly: an item missing from the answer or
        answered twice, and the whole $batch dropped after it was sent or answered 5xx, settle as
        `trustworthy=False` (status 0 when no answer came), for the caller to read back. Reads are retried.

        Our own batch bodies, not msgraph-core's BatchRequestContent: its items carry absolute URLs
        (msgraph-sdk-python#1015), POST/PATCH items were reported failing (#1120), dependsOn is serialised as
        depends_on (#996), inner 429s are not retried, and our ids are replaced by random UUIDs.
        """
        if len(requests) > BATCH_LIMIT:
            raise ValueError(f"a $batch takes at most {BATCH_LIMIT} requests")
        return await BatchRun(self, requests, on_round, keep_trying, on_send).run()

    # ---- one HTTP request, and the one retry layer -------------------------------------------------------------

    async def with_retries(
        self,
        send: Callable[[], Awaitable[httpx.Response]],
        *,
        repeatable: bool = True,
        keep_trying: Callable[[], bool] | None = None,
    ) -> httpx.Response:
        """Send with retries (`retry`, the one policy). `repeatable=False` (a $batch of writes): only what surely did
        not reach Graph is sent again (a 429, a connection never made, a token refused); anything else is raised for
        the caller to verify. A refused token is renewed once; refused again, or not renewable, the refusal is
        raised. Once `keep_trying()` is False nothing is sent again: the last failure is raised (a wait for
        Retry-After or backoff is cut short). A read the run's spent waiting time stops is `WaitedTooLong`."""
        stopping = None if keep_trying is None else lambda: not keep_trying()
        renewed = False
        while True:
            try:
                return await self._retrying(send, repeatable, stopping)
            except TokenRefused as refused:
                if renewed or not self.tokens_refreshable or (stopping is not None and stopping()):
                    raise refused.final(REFUSED_AGAIN if renewed else NOT_RENEWABLE) from None
                await self.renew_token(refused.token, refused.claims)
                renewed = True
            except RetryableError as exc:
                if repeatable and self.retry.spent is not None:  # the reader is told why, not only the last 429
                    raise GraphError(exc.status, "WaitedTooLong", self.retry.spent, exc.request_id) from exc
                raise

    async def renew_token(self, refused: str, claims: str | None) -> None:
        """Graph refused `refused` (with `claims` when it sent a claims challenge): fetch a fresh token, once for
        all the requests that met the same refusal."""
        assert self._tokens is not None
        self._say("Graph refused the access token before its expiry: fetching a fresh one")
        await self._tokens.renew(refused, claims)

    @property
    def tokens_refreshable(self) -> bool:
        return self._tokens is not None and self._tokens.refreshable

    async def _retrying(
        self,
        send: Callable[[], Awaitable[httpx.Response]],
        repeatable: bool,
        stopping: Callable[[], bool] | None,
    ) -> httpx.Response:
        retrying = self.retry.retrying(repeatable=repeatable, before_sleep=self._before_sleep, stopping=stopping)
        failed: list[RetryableError] = []  # the last failure, raised again when a stop comes before another try
        async for attempt in retrying:
            with attempt:
                waited = await self.pacer.before_send(0, stopping)  # a Retry-After pause holds reads too
                if failed and (not waited or (stopping is not None and stopping())):
                    raise failed[-1]  # the stop came during the wait: nothing is sent again
                try:
                    return await send()
                except RetryableError as exc:
                    failed[:] = [exc]
                    raise
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _say(self, line: str) -> None:
        if self.notice is not None:
            now = time.monotonic()
            if now - self._last_notice >= 10.0:  # a storm of waits is one line every 10 s, not hundreds
                self._last_notice = now
                self.notice(line)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.status != 429:  # a timeout or a 5xx: said, so never silent
            self._say(
                f"Graph did not answer ({exc.code}: {exc.message[:80]}); attempt {state.attempt_number}, retrying"
            )
        if isinstance(exc, RetryableError) and exc.status == 429 and exc.retry_after:
            self.pacer.throttled(state.upcoming_sleep)

    async def send(
        self,
        method: str,
        url: str,
        body: Any = None,
        extra_headers: dict[str, str] | None = None,
        tokens_used: list[str] | None = None,
    ) -> httpx.Response:
        """One HTTP request to Graph, its token attached (only to Graph's origin). `tokens_used` collects the token
        each call sent. A 401 is `TokenRefused`, for `with_retries` to renew the token."""
        assert self._client is not None, "use Graph as an async context manager"
        assert self._tokens is not None
        target = url if url.startswith(("http://", "https://")) else self.connection.graph_url + url
        if origin(target) != origin(self.connection.graph_url):  # checked before a token is even fetched
            raise GraphError(
                0,
                "ForeignOrigin",
                f"Graph pointed at {origin(target)}, which is not the Graph endpoint in use "
                f"({origin(self.connection.graph_url)}): not followed, and no token was sent there",
            )
        token = await self._tokens.get()
        if tokens_used is not None:
            tokens_used.append(token)
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
        if response.status_code == 401:
            code, message = error_parts(response)
            raise TokenRefused(
                code, message, request_id_of(response.headers), token, claims_challenge(response.headers)
            )
        raise refusal(response, method, url)
