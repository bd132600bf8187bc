"""Graph's wire formats, as plain functions and data: $batch requests and answers, error bodies, header values."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import httpx

from teamslicensing.errors import GraphError, RetryableError
from teamslicensing.reference.permissions import refusal_hint

TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class BatchRequest:
    id: str
    method: str
    url: str  # relative to the Graph version root, e.g. /users/{id}/assignLicense
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None  # e.g. ConsistencyLevel for an advanced query, sent with this item only


@dataclass(frozen=True)
class BatchResponse:
    id: str
    status: int
    body: Any
    request_id: str | None
    attempts: int = 1  # 0: never sent (a stop held it back before it left)
    headers: dict[str, str] = field(default_factory=dict)
    trusted: bool = True  # False: no answer, or one we cannot rely on (missing, duplicated, 5xx for the batch)
    note: str | None = None  # ours, beside Graph's message: e.g. why a refused token was not renewed

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.trusted

    @property
    def error_message(self) -> str:
        if not self.trusted and self.status == 0:
            return error_text(self.body) or "no answer came (the connection dropped after the request was sent)"
        if not self.trusted:
            return "the answer cannot be trusted (an item missing or answered twice, or the batch failed)"
        message = error_text(self.body) or f"HTTP {self.status}"
        return f"{message} ({self.note})" if self.note else message


def origin(url: str | httpx.URL) -> str:
    parts = url if isinstance(url, httpx.URL) else httpx.URL(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}".lower()


def short_path(url: str) -> str:
    """A URL for a progress line: the path without the query (which may be long), relative to the version root."""
    return httpx.URL(url).path if url.startswith(("http://", "https://")) else url.split("?")[0]


def number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number >= 0 else None


def status_of(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def batch_items(response: httpx.Response) -> list[Any]:
    """The `responses` of a $batch answer; a body that is not Graph's shape answers nothing (items settle as
    unanswered rather than crash the run)."""
    try:
        document = json.loads(response.content)
    except ValueError:
        return []
    items = document.get("responses") if isinstance(document, dict) else None
    return items if isinstance(items, list) else []


def request_id_of(headers: httpx.Headers) -> str | None:
    value = headers.get("request-id") or headers.get("client-request-id")
    return str(value) if value else None


def error_parts(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return f"HTTP{response.status_code}", response.text[:200] or response.reason_phrase
    return str(error.get("code", f"HTTP{response.status_code}")), str(error.get("message", ""))


def refusal(response: httpx.Response, method: str, url: str) -> GraphError:
    """The error Graph's refusal of `method url` becomes: RetryableError for 429 and 5xx, else GraphError; a 403
    says which permission grants the request (the permission table, `reference.permissions`)."""
    request_id = request_id_of(response.headers)
    code, message = error_parts(response)
    if response.status_code == 429 or response.status_code in TRANSIENT_STATUSES:
        retry_after = number(response.headers.get("retry-after"))
        return RetryableError(response.status_code, code, message, request_id, retry_after)
    if response.status_code == 403:
        message = f"{message.rstrip('.')}. {refusal_hint(method, url)}"
    return GraphError(response.status_code, code, message, request_id)


def error_text(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or body["error"].get("code") or "")
    return ""


def batch_item(request: BatchRequest) -> dict[str, Any]:
    item: dict[str, Any] = {"id": request.id, "method": request.method, "url": request.url}
    if request.body is not None:
        item["headers"] = {"Content-Type": "application/json"}
        item["body"] = request.body
    if request.headers:
        item["headers"] = {**item.get("headers", {}), **request.headers}
    return item
