"""One JSON `$batch` sent round after round until each of its items settles (`Graph.batch`).

Graph answers each item on its own, throttling included (docs/explanation/facts.md, *$batch*). An item is sent again
when that is safe: a 429 (Graph did not act on it), a read's 5xx, an item refused for its token once a fresh token was
fetched (a 401 means nothing was done). A write answered 5xx, missing from the answer or answered twice, or in a
`$batch` that got no usable answer, may have been carried out: it settles untrusted, for the caller to read back before
it decides to send it again.

Items are retried within the one retry policy (`retries`): its attempts, its time per request, the run's waiting.
A stop (`keep_trying()` False) is looked at before every round and again after each thing a round waits for (a
batch slot, the warm-up, the pacer, Retry-After and backoff), so nothing leaves once it came: items pending then
settle with their last answer, and items never sent with `NOT_SENT` (no attempt; `on_send` never saw them). The
run's waiting time running out between rounds settles the pending items the same way, keeping what earlier rounds
settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import httpx

from teamslicensing.errors import AuthenticationError, GraphError, RetryableError
from teamslicensing.graph.pacing import WritePacer, own_quota, pause
from teamslicensing.graph.retries import RetryPolicy
from teamslicensing.graph.tokens import NOT_RENEWABLE, REFUSED_AGAIN, claims_challenge
from teamslicensing.graph.wire import (
    TRANSIENT_STATUSES,
    BatchRequest,
    BatchResponse,
    batch_item,
    batch_items,
    mapping,
    number,
    request_id_of,
    status_of,
)


class BatchTransport(Protocol):
    """What a `$batch` run uses of the Graph client (`graph.client.Graph`): its sending, its one retry policy,
    its write pace and its token renewal."""

    pacer: WritePacer
    slots: asyncio.Semaphore  # batches in flight
    warmup: asyncio.Lock  # held by the one write batch in flight while the pacer warms up
    pace_writes: bool
    retry: RetryPolicy
    write_requests: int
    retries: int

    @property
    def tokens_refreshable(self) -> bool: ...

    async def renew_token(self, refused: str, claims: str | None) -> None: ...

    async def send(
        self,
        method: str,
        url: str,
        body: Any = None,
        extra_headers: dict[str, str] | None = None,
        tokens_used: list[str] | None = None,
    ) -> httpx.Response: ...

    async def with_retries(
        self,
        send: Callable[[], Awaitable[httpx.Response]],
        *,
        repeatable: bool = True,
        keep_trying: Callable[[], bool] | None = None,
    ) -> httpx.Response: ...


Answers = list[tuple[BatchRequest, BatchResponse]]
NOT_SENT = "not sent: the run was stopping before it left"  # the note of an item settled without an attempt
STOPPED = "not sent again: the run was stopping"  # the note of an item settled with its last answer at a stop


@dataclasses.dataclass
class _Round:
    """What one round of answers asks for next: the longest wait, and the claims of items refused for their token
    (None for a plain refusal)."""

    waits: list[float] = dataclasses.field(default_factory=list)
    refused: list[str | None] = dataclasses.field(default_factory=list)


class BatchRun:
    """The items of one `Graph.batch` call across its rounds."""

    def __init__(
        self,
        graph: BatchTransport,
        requests: Sequence[BatchRequest],
        on_round: Callable[[Answers], None] | None,
        keep_trying: Callable[[], bool] | None,
        on_send: Callable[[Sequence[BatchRequest]], None] | None,
    ) -> None:
        self.graph = graph
        self.requests = requests
        self.on_round, self.keep_trying, self.on_send = on_round, keep_trying, on_send
        self.pending = {request.id: request for request in requests}
        self.attempts = dict.fromkeys(self.pending, 0)
        self.failures = dict.fromkeys(self.pending, 0)  # transient failures; 429s are bounded by time, not by count
        self.renewed: set[str] = set()  # items sent again with a fresh token after a 401: once each
        self.settled: dict[str, BatchResponse] = {}
        self.last: dict[str, BatchResponse] = {}  # each item's latest answer, for a stop between rounds
        self.started = time.monotonic()
        self.writes = any(r.method != "GET" for r in requests)

    async def run(self) -> list[BatchResponse]:
        while self.pending:
            try:
                sent = await self._send_round()
            except (GraphError, AuthenticationError) as exc:
                if not self.settled:  # refused as a whole before anything settled: nothing in it was done
                    raise
                self._refused_late(exc)  # what earlier rounds settled stands (some of it done)
                break
            if sent is None:  # no usable answer to the whole batch: every item settled for the caller to read back
                break
            response, token = sent
            next_round = self._take(response)
            if next_round.refused:  # one fresh token for the round, asked with the first challenge's claims
                try:
                    await self.graph.renew_token(token, next((c for c in next_round.refused if c), None))
                except AuthenticationError as exc:  # the refused items end refused, Graph's answer and why
                    note = f"no fresh token could be had: {exc}"
                    self.settled.update((rid, dataclasses.replace(self.last[rid], note=note)) for rid in self.pending)
                    break
            if self.pending and next_round.waits and not await self._wait(max(next_round.waits)):
                break
        return [self.settled[request.id] for request in self.requests]

    def _hold_back(self, note: str) -> None:
        """Send no more: each pending item settles with its last answer (`note` beside it), or as never sent."""
        for rid in self.pending:
            last = self.last.get(rid)
            if last is None:
                self.settled[rid] = BatchResponse(rid, 0, None, None, attempts=0, note=NOT_SENT)
            else:
                self.settled[rid] = dataclasses.replace(last, note=last.note or note)

    def _stopping(self) -> bool:
        return self.keep_trying is not None and not self.keep_trying()

    async def _send_round(self) -> tuple[httpx.Response, str] | None:
        """Send the pending items once (their retries of the whole `$batch` included); None when they settled
        without an answer to read: held back by a stop, or lost after they were sent."""
        graph = self.graph
        warming = self.writes and graph.pace_writes and graph.pacer.warming
        if self._stopping():  # before waiting for anything: a stop between rounds (after a renewal, say)
            self._hold_back(STOPPED)
            return None
        async with graph.slots, graph.warmup if warming else contextlib.nullcontext():
            metered = sum(1 for r in self.pending.values() if r.method != "GET") if graph.pace_writes else 0
            turn = await graph.pacer.before_send(metered, self._stopping)
            if not turn or self._stopping():  # the stop came while this round waited its turn: it does not leave
                self._hold_back(STOPPED)
                return None
            body = {"requests": [batch_item(r) for r in self.pending.values()]}
            if self.on_send is not None:
                self.on_send(list(self.pending.values()))
            graph.write_requests += 1
            used: list[str] = []  # the token each attempt carried; the last one got the answer
            send = functools.partial(graph.send, "POST", "/$batch", body, None, used)
            try:
                response = await graph.with_retries(send, repeatable=not self.writes, keep_trying=self.keep_trying)
            except RetryableError as exc:
                held = STOPPED if self._stopping() else graph.retry.spent
                if exc.status == 429 and self.writes and held is not None:
                    self._throttled_at_stop(exc, held)  # throttled as a whole, not sent again: none of it was done
                    return None
                if not self.writes or exc.status == 429:
                    raise
                self._lost(exc)
                return None
        return response, used[-1]

    def _throttled_at_stop(self, exc: RetryableError, note: str) -> None:
        """The whole `$batch` was answered 429 (Graph did nothing with it) and it is not sent again (`note` says
        why): each pending item settles with that answer."""
        answers = [
            (r, BatchResponse(r.id, 429, None, exc.request_id, self.attempts[r.id] + 1, note=note))
            for r in self.pending.values()
        ]
        if self.on_round is not None:
            self.on_round(answers)
        self.settled.update((r.id, answer) for r, answer in answers)

    def _lost(self, exc: RetryableError) -> None:
        """Sent, perhaps applied, then no usable answer: every item is for the caller to read back."""
        lost = [
            (r, BatchResponse(r.id, exc.status, None, exc.request_id, self.attempts[r.id] + 1, trusted=False))
            for r in self.pending.values()
        ]
        if self.on_round is not None:
            self.on_round(lost)
        self.settled.update((r.id, answer) for r, answer in lost)

    def _take(self, response: httpx.Response) -> _Round:
        """Read one round's answers: settle what is final, keep the rest pending with what it asks for."""
        answered: dict[str, list[Any]] = {}
        for item in batch_items(response):
            answered.setdefault(str(item.get("id")), []).append(item)
        next_round = _Round()
        round_answers: Answers = []
        for request_id in list(self.pending):
            answer = self._answer(request_id, answered.get(request_id, []), response)
            answer = self._decide(request_id, answer, next_round)
            round_answers.append((self.pending[request_id], answer))
            self.last[request_id] = answer
            if request_id in self.settled:
                del self.pending[request_id]
        if self.writes:  # the rate learnt from our own quota's refusals, and the limit header, per item
            written = [a for r, a in round_answers if r.method != "GET"]
            self.graph.pacer.observe(
                sum(1 for a in written if a.ok),
                sum(1 for a in written if a.status == 429 and own_quota(a.headers)),
                [{k.lower(): v for k, v in response.headers.items()}, *(a.headers for a in written)],
            )
        if self.on_round is not None:
            self.on_round(round_answers)
        return next_round

    def _answer(self, request_id: str, items: list[Any], response: httpx.Response) -> BatchResponse:
        self.attempts[request_id] += 1
        item = items[0] if len(items) == 1 and isinstance(items[0], dict) else {}
        headers = {str(k).lower(): str(v) for k, v in (mapping(item.get("headers"))).items()}
        return BatchResponse(
            request_id,
            status_of(item.get("status")),
            item.get("body"),
            headers.get("request-id") or request_id_of(response.headers),
            self.attempts[request_id],
            headers,
            len(items) == 1 or self.pending[request_id].method == "GET",
        )

    def _decide(self, request_id: str, answer: BatchResponse, next_round: _Round) -> BatchResponse:
        """Settle `answer`, or keep its item pending for another round (adding what that round needs); the answer
        as the caller is to see it."""
        status = answer.status
        is_read = self.pending[request_id].method == "GET"
        throttled = status == 429
        transient = status == 0 or status in TRANSIENT_STATUSES
        self.failures[request_id] += transient
        if transient and not is_read:  # a 5xx or no answer may follow a write Graph made: read back, not guessed
            answer = dataclasses.replace(answer, trusted=False)
        if status == 401 and answer.trusted:
            return self._refused(request_id, answer, next_round)
        # a read is repeated freely; a write only when it surely did not happen (429)
        may_repeat = answer.trusted and (throttled or is_read)
        policy = self.graph.retry
        if (
            (throttled or transient)
            and may_repeat
            and policy.within(self.failures[request_id], self.started)
            and not self._stopping()
        ):
            wait = policy.delay(number(answer.headers.get("retry-after")), self.attempts[request_id])
            next_round.waits.append(wait)
            if throttled:  # whoever's quota it was, Graph said when: nobody sends before
                self.graph.pacer.throttled(wait)
            return answer
        self.settled[request_id] = answer
        return answer

    def _refused(self, request_id: str, answer: BatchResponse, next_round: _Round) -> BatchResponse:
        """An item refused for its token: Graph did nothing with it, so it goes again once with a fresh token."""
        if request_id not in self.renewed and self.graph.tokens_refreshable and not self._stopping():
            self.renewed.add(request_id)
            next_round.refused.append(claims_challenge(answer.headers))
            return answer
        if request_id in self.renewed:
            answer = dataclasses.replace(answer, note=REFUSED_AGAIN)
        elif not self.graph.tokens_refreshable:
            answer = dataclasses.replace(answer, note=NOT_RENEWABLE)
        self.settled[request_id] = answer
        return answer

    def _refused_late(self, exc: GraphError | AuthenticationError) -> None:
        """A later round refused as a whole (401 past its renewal, 403, no token): its items were not done."""
        error = exc if isinstance(exc, GraphError) else GraphError(401, "NoToken", str(exc))
        refused = [
            (r, BatchResponse(r.id, error.status, None, error.request_id, self.attempts[r.id] + 1, note=str(error)))
            for r in self.pending.values()
        ]
        if self.on_round is not None:
            self.on_round(refused)
        self.settled.update((r.id, answer) for r, answer in refused)

    async def _wait(self, seconds: float) -> bool:
        """Wait before the next round; False when a stop came meanwhile, or the run may wait no more (items still
        pending settle with their last answer; what earlier rounds settled stands)."""
        self.graph.retries += len(self.pending)
        policy = self.graph.retry
        wait = policy.take(seconds, f"Graph throttled {len(self.pending)} of a batch's items")
        if wait is None:  # the run's waiting time is spent (`spent` says so, and the caller is told)
            self._hold_back(policy.spent or STOPPED)
            return False
        if not await pause(wait, self._stopping) or self._stopping():  # every item still pending added its wait
            self._hold_back(STOPPED)  # a stop came during the wait: send no more
            return False
        return True
