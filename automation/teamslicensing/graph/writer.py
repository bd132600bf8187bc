"""The executor's writes sent to Graph: each a JSON `$batch` item, answered per item; and the read-back of users
whose writes got no trustworthy answer, as one `$batch` of GETs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from teamslicensing.graph.client import BATCH_LIMIT, DEFAULT_CONCURRENCY, Graph
from teamslicensing.graph.requests import group_license_request, reprocess_request, write_request
from teamslicensing.graph.wire import BatchRequest, BatchResponse
from teamslicensing.model.outcome import Write, WriteAttempt
from teamslicensing.model.plan import GroupChange
from teamslicensing.reference.permissions import refusal_hint

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
    )
