"""JSON `$batch`: at most 20 items, relative URLs, dependsOn (424 on a failed dependency), per-item status and
throttling headers inside each item, answered in any order."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from tests.support.fakegraph.common import (
    BAD_BATCH,
    BATCH_LIMIT,
    Json,
    _bad_request,
    _batch_item_problem,
    _dependency_order,
    _error,
    _fresh_id,
    _Reply,
)
from tests.support.fakegraph.quota import WriteQuota


class BatchRoutes(WriteQuota):
    """POST /$batch."""

    batched: list[tuple[str, str]]

    def _operation(
        self, method: str, path: str, raw_query: str, body: Any, bad_body: bool, *, in_batch: bool
    ) -> _Reply:
        raise NotImplementedError  # FakeGraph answers one operation; a $batch item is one

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
            if str(item["id"]).lower() in by_id:  # Graph compares request ids without regard to case
                return _bad_request(f"Batch contains duplicate request id '{item['id']}'.", "BadRequest")
            by_id[str(item["id"]).lower()] = item
        for item in items:
            for dependency in item.get("dependsOn") or []:
                if str(dependency).lower() not in by_id:
                    return _bad_request(
                        f"Request '{item['id']}' depends on unknown request '{dependency}'.", "BadRequest"
                    )
        shape = _unsupported_shape(items)
        if shape is not None:
            return _bad_request(shape, "BadRequest")
        order = _dependency_order(items, by_id)
        if order is None:
            return _bad_request("Batch dependsOn contains a cycle.", "BadRequest")
        results: dict[str, _Reply] = {}
        for item in order:
            failed = [d for d in item.get("dependsOn") or [] if results[by_id[str(d).lower()]["id"]].status >= 400]
            if failed:
                results[item["id"]] = _error(424, "FailedDependency", f"Dependent request '{failed[0]}' failed.")
                continue
            parts = urlsplit(item["url"])
            path = unquote(parts.path)
            path = path if path.startswith("/") else "/" + path
            if path.rstrip("/") == "/$batch":
                results[item["id"]] = _bad_request("Nested batch requests are not supported.", "BadRequest")
                continue
            self.batched.append((item["method"].upper(), path + ("?" + unquote(parts.query) if parts.query else "")))
            outer = self._headers
            self._headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            results[item["id"]] = self._operation(
                item["method"].upper(), path, parts.query, item.get("body"), False, in_batch=True
            )
            self._headers = outer
        responses = [self._batch_response(item_id, reply) for item_id, reply in results.items()]
        self._rng.shuffle(responses)  # Graph answers in any order: clients must match on id
        return _Reply(200, {"responses": responses})

    def _lose(self, reply: _Reply, fault: str) -> _Reply:
        """The answer to a $batch whose writes took effect, spoilt as `lose_answer` scripted."""
        responses = list(reply.body["responses"])
        if fault == "reset":
            return _Reply(200, None, {}, True)
        if fault == "gateway":
            return _error(504, "GatewayTimeout", "The gateway did not receive a response in time.")
        if fault == "missing" and responses:
            responses.pop()
        elif fault == "duplicate" and responses:
            copy = dict(responses[0])
            copy["status"] = 500
            responses.append(copy)
        return _Reply(200, {"responses": responses}, reply.headers)

    def _batch_response(self, item_id: str, reply: _Reply) -> Json:
        headers = dict(reply.headers)
        headers.update(self._usage_headers())
        answer: Json = {"id": item_id, "status": reply.status, "headers": headers}
        if reply.body is not None:
            headers["Content-Type"] = "application/json"
            self._fill_inner_error(reply.body, _fresh_id(), _fresh_id())
            answer["body"] = reply.body
        return answer


def _unsupported_shape(items: list[Any]) -> str | None:
    """Graph's documented dependsOn shapes (JSON batching known issues; Microsoft Q&A 2024-02: "Batch should be
    either fully sequential or fully parallel"): each request depends on at most one other, and either none does
    (parallel), each depends on the one before it (serial), or every dependent names the same one (same)."""
    named = [[str(d).lower() for d in item.get("dependsOn") or []] for item in items]
    if any(len(dependencies) > 1 for dependencies in named):
        return "A request can depend on a single other request only."
    if not any(named):
        return None
    ids = [str(item["id"]).lower() for item in items]
    serial = all(dependencies == [ids[i - 1]] for i, dependencies in enumerate(named) if i) and not named[0]
    same = len({d for dependencies in named for d in dependencies}) == 1
    return None if serial or same else "Batch should be either fully sequential or fully parallel."
