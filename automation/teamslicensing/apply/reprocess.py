"""`reprocess`: ask Entra to evaluate members' group licenses again, 20 users per `$batch`, audited like writes
(kind "reprocess": recorded before it is sent) and bounded by the same stop switch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from teamslicensing.apply.audit import AuditError, AuditLog
from teamslicensing.apply.stop import StopSwitch
from teamslicensing.errors import AuthenticationError, GraphError
from teamslicensing.model.outcome import APPLIED, FAILED, UNKNOWN, StopReason, UserResult
from teamslicensing.plan.reprocess import ReprocessTarget

if TYPE_CHECKING:
    from teamslicensing.apply.executor import WriteBackend

BATCH = 20


async def reprocess_users(
    targets: Sequence[ReprocessTarget], backend: WriteBackend, audit: AuditLog, switch: StopSwitch
) -> list[UserResult]:
    results: list[UserResult] = []
    for start in range(0, len(targets), BATCH):
        if not switch.may_start_batch():
            break
        chunk = [(t.user_id, t.user_principal_name) for t in targets[start : start + BATCH]]
        try:
            audit.reprocess_intents(chunk)
        except AuditError as exc:
            switch.request(StopReason.AUDIT_FAILED, str(exc))
            break
        try:
            attempts = await backend.reprocess([user_id for user_id, _ in chunk], switch.keep_trying)
        except AuthenticationError as exc:
            switch.request(StopReason.GRAPH_ERROR, str(exc))
            break
        except GraphError as exc:
            results += [UserResult(user_id, upn, UNKNOWN, f"no answer ({exc})") for user_id, upn in chunk]
            continue
        try:
            audit.reprocess_results(zip(chunk, attempts, strict=True))
        except AuditError as exc:
            switch.request(StopReason.AUDIT_FAILED, str(exc))
        for (user_id, upn), attempt in zip(chunk, attempts, strict=True):
            status = APPLIED if attempt.ok else UNKNOWN if attempt.status == 0 else FAILED
            results.append(UserResult(user_id, upn, status, None if attempt.ok else attempt.error_message))
    return results
