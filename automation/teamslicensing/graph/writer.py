"""The executor's writes sent to Graph: each a JSON `$batch` item, answered per item; and the read-back of users
whose writes got no trustworthy answer, as one `$batch` of GETs."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from teamslicensing.errors import GraphError
from teamslicensing.graph.client import BATCH_LIMIT, DEFAULT_CONCURRENCY, Graph
from teamslicensing.graph.connection import cloud_of
from teamslicensing.graph.requests import group_license_request, reprocess_request, write_request
from teamslicensing.graph.wire import BatchRequest, BatchResponse, origin
from teamslicensing.model.outcome import UNREADABLE, OperationState, Write, WriteAttempt
from teamslicensing.model.plan import GroupChange
from teamslicensing.model.tenant import PolicyLookup
from teamslicensing.reference.permissions import refusal_hint
from teamslicensing.tenant.teamsread import CONFIGURATIONS_URL as CONFIGURATION
from teamslicensing.tenant.teamsread import read_policy_lookups

READ_BACK_SELECT = (
    "id,userPrincipalName,displayName,accountEnabled,usageLocation,assignedLicenses,licenseAssignmentStates"
)


class GraphWriter:
    """A write backend over an open `Graph`: up to `batch_size` writes per `$batch`, item ids local to the batch."""

    batch_size = BATCH_LIMIT
    concurrency = DEFAULT_CONCURRENCY

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    async def write(
        self,
        writes: Sequence[Write],
        on_answers: Callable[[list[tuple[Write, WriteAttempt]]], None],
        keep_trying: Callable[[], bool],
        on_sent: Callable[[Sequence[Write]], None],
    ) -> list[WriteAttempt]:
        requests = [BatchRequest(str(n), *write_request(write)) for n, write in enumerate(writes)]
        by_id = {request.id: write for request, write in zip(requests, writes, strict=True)}

        def seen(answers: list[tuple[BatchRequest, BatchResponse]]) -> None:
            on_answers([(by_id[request.id], _attempt(request, response)) for request, response in answers])

        def sending(round_requests: Sequence[BatchRequest]) -> None:
            on_sent([by_id[request.id] for request in round_requests])

        answers = await self.graph.batch(requests, seen, keep_trying, sending)
        return [_attempt(request, answer) for request, answer in zip(requests, answers, strict=True)]

    def wait_spent(self) -> str | None:
        """Why this run may wait for Graph no more (its run-wide waiting time is spent), or None."""
        return self.graph.retry.spent

    def resend_delay(self, failures: int) -> float | None:
        """Seconds to wait before a write read back as not done, after `failures` answers that could not be
        trusted, is sent again: the backoff of any transient failure, within the same attempts and run-wide wait
        (None once they are spent)."""
        return self.graph.retry.resend_delay(failures)

    async def write_groups(self, changes: Sequence[GroupChange], keep_trying: Callable[[], bool]) -> list[WriteAttempt]:
        """Group license writes, up to 20 per `$batch` (the caller sends no more at once)."""
        requests = [BatchRequest(str(n), *group_license_request(change)) for n, change in enumerate(changes)]
        answers = await self.graph.batch(requests, None, keep_trying)
        return [_attempt(request, answer) for request, answer in zip(requests, answers, strict=True)]

    async def reprocess(self, user_ids: Sequence[str], keep_trying: Callable[[], bool]) -> list[WriteAttempt]:
        """`POST /users/{id}/reprocessLicenseAssignment` each, up to 20 per `$batch`."""
        requests = [BatchRequest(str(n), *reprocess_request(user_id)) for n, user_id in enumerate(user_ids)]
        answers = await self.graph.batch(requests, None, keep_trying)
        return [_attempt(request, answer) for request, answer in zip(requests, answers, strict=True)]

    async def group_states(self, group_ids: Sequence[str]) -> dict[str, str | None]:
        states: dict[str, str | None] = {}
        async for group_id, answer in self.graph.gets(group_ids, "/groups/{}?$select=id,licenseProcessingState"):
            body = answer.body if answer.ok and isinstance(answer.body, dict) else {}
            processing = body.get("licenseProcessingState")
            states[group_id] = processing.get("state") if isinstance(processing, dict) else None
        return states

    async def policy_ids(self, wanted: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], PolicyLookup]:
        lookups, why = await read_policy_lookups(self.graph, cloud_of(self.graph.connection.graph_url), wanted)
        if lookups is None:
            raise GraphError(0, "PolicyLookupFailed", why or "getPolicyId could not be read")
        return lookups

    async def operations(self, locations: Sequence[str], keep_trying: Callable[[], bool]) -> list[OperationState]:
        """GET each operation where its 202 said, 20 to a `$batch`: only a URL under the Graph endpoint in use is
        followed (its path relative to the version root, as $batch items take it); any other is UNREADABLE."""
        states: list[OperationState | None] = [None] * len(locations)
        relative: list[tuple[int, str]] = []
        for index, location in enumerate(locations):
            path = _under(location, self.graph.connection.graph_url)
            if path is None:
                states[index] = OperationState(UNREADABLE, f"Graph pointed the operation at {location}: not followed")
            else:
                relative.append((index, path))

        async def look(chunk: list[tuple[int, str]]) -> None:
            requests = [BatchRequest(str(n), "GET", path) for n, (_, path) in enumerate(chunk)]
            answers = await self.graph.batch(requests, None, keep_trying)
            for (index, _), request, answer in zip(chunk, requests, answers, strict=True):
                states[index] = _operation_state(request, answer)

        # every chunk at once: the Graph client's slots bound how many $batch requests are in flight
        chunks = [relative[start : start + BATCH_LIMIT] for start in range(0, len(relative), BATCH_LIMIT)]
        await asyncio.gather(*(look(chunk) for chunk in chunks))
        return [state or OperationState(UNREADABLE, "not read") for state in states]

    async def teams_features(self, user_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        found: dict[str, frozenset[str]] = {}
        async for user_id, answer in self.graph.gets(list(user_ids), f"{CONFIGURATION}/{{}}?$select=id,featureTypes"):
            features = answer.body.get("featureTypes") if answer.ok and isinstance(answer.body, dict) else None
            if isinstance(features, list):
                found[user_id.lower()] = frozenset(str(feature).lower() for feature in features)
        return found

    async def read_users(self, user_ids: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        async for user_id, answer in self.graph.gets(user_ids, f"/users/{{}}?$select={READ_BACK_SELECT}"):
            if answer.ok and isinstance(answer.body, dict):
                found[user_id.lower()] = answer.body
            elif answer.status != 404:
                raise_for(answer)
        return found


def raise_for(answer: BatchResponse) -> None:
    from teamslicensing.errors import GraphError

    raise GraphError(answer.status, "ReadBackFailed", answer.error_message, answer.request_id)


def _explained(request: BatchRequest, response: BatchResponse) -> str:
    """Graph's message; for a 403, with the permission that grants the request (the permission table)."""
    if response.status != 403:
        return response.error_message
    return f"{response.error_message.rstrip('.')}. {refusal_hint(request.method, request.url)}"


def _under(location: str, graph_url: str) -> str | None:
    """`location`'s path and query relative to the Graph version root in use, or None when it points elsewhere
    (another origin, or outside the version root): an operation is followed only where the token may go."""
    try:
        url = httpx.URL(location)  # parsed once: a run follows thousands of operations
        home, root = _home(graph_url)
        if origin(url) != home:
            return None
        path = url.raw_path.decode("ascii")
    except (httpx.InvalidURL, UnicodeDecodeError, ValueError):
        return None
    if not path.startswith(root + "/"):
        return None
    return path[len(root) :]


def _operation_state(request: BatchRequest, answer: BatchResponse) -> OperationState:
    """A telephoneNumberLongRunningOperation as answered: its status and its number's statusDetail; a refusal or
    a 404 makes it UNREADABLE; no usable answer (a 5xx, a stop before it was sent) leaves it to the next poll."""
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.ok and isinstance(body.get("status"), str):
        numbers = body.get("numbers")
        listed = numbers if isinstance(numbers, list) else []
        details = [n.get("statusDetail") for n in listed if isinstance(n, dict) and n.get("statusDetail")]
        return OperationState(str(body["status"]), "; ".join(map(str, details)) or None)
    if answer.trusted and 400 <= answer.status < 500 and answer.status != 429:
        return OperationState(UNREADABLE, f"HTTP {answer.status}: {_explained(request, answer)}")
    return OperationState("notRead", answer.error_message if answer.attempts else "not sent: the run is stopping")


def _attempt(request: BatchRequest, response: BatchResponse) -> WriteAttempt:
    body = response.body
    licenses = body.get("assignedLicenses") if isinstance(body, dict) else None
    return WriteAttempt(
        method=request.method,
        url=request.url,
        body=request.body,
        status=response.status,
        error_message=None if response.ok else _explained(request, response),
        request_id=response.request_id,
        attempt=response.attempts,
        assigned_licenses=licenses if isinstance(licenses, list) else None,
        trustworthy=response.trusted,
        location=response.headers.get("location") if response.status == 202 else None,
    )


@functools.lru_cache(maxsize=4)
def _home(graph_url: str) -> tuple[str, str]:
    """The Graph endpoint's origin and version root path."""
    return origin(graph_url), httpx.URL(graph_url).raw_path.decode("ascii").split("?")[0].rstrip("/")
