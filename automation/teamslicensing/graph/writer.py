"""The executor's writes sent to Graph: each a JSON `$batch` item, answered per item."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from teamslicensing.graph.client import BATCH_LIMIT, BatchRequest, BatchResponse, Graph
from teamslicensing.graph.requests import write_request
from teamslicensing.model.outcome import Write, WriteAttempt


class GraphWriter:
    """A write backend over an open `Graph`: up to `batch_size` writes per `$batch`, item ids local to the batch."""

    batch_size = BATCH_LIMIT

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    async def write(
        self, writes: Sequence[Write], on_attempt: Callable[[Write, WriteAttempt], None] | None = None
    ) -> list[WriteAttempt]:
        requests = [BatchRequest(str(n), *write_request(write)) for n, write in enumerate(writes)]
        by_id = {request.id: write for request, write in zip(requests, writes, strict=True)}

        def seen(request: BatchRequest, response: BatchResponse) -> None:
            if on_attempt is not None:
                on_attempt(by_id[request.id], _attempt(request, response))

        answers = await self.graph.batch(requests, seen)
        return [_attempt(request, answer) for request, answer in zip(requests, answers, strict=True)]


def _attempt(request: BatchRequest, response: BatchResponse) -> WriteAttempt:
    body = response.body
    licenses = body.get("assignedLicenses") if isinstance(body, dict) else None
    return WriteAttempt(
        method=request.method,
        url=request.url,
        body=request.body,
        status=response.status,
        error_message=None if response.ok else response.error_message,
        request_id=response.request_id,
        attempt=response.attempts,
        assigned_licenses=licenses if isinstance(licenses, list) else None,
    )
