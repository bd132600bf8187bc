"""`reprocess`: ask Entra to evaluate members' group licenses again, 20 users per `$batch`, audited like writes
(kind "reprocess": recorded before it is sent) and bounded by the same stop switch."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from teamslicensing.apply.audit import AuditLog
from teamslicensing.apply.batches import send_audited, status_of
from teamslicensing.apply.run import WriteBackend
from teamslicensing.apply.stop import StopSwitch, watch_waiting
from teamslicensing.graph.requests import reprocess_request
from teamslicensing.model.outcome import UserResult, WriteAttempt
from teamslicensing.plan.reprocess import ReprocessTarget


async def reprocess_users(
    targets: Sequence[ReprocessTarget], backend: WriteBackend, audit: AuditLog, switch: StopSwitch
) -> list[UserResult]:
    watch_waiting(switch, backend)

    async def send(chunk: Sequence[ReprocessTarget], keep_trying: Callable[[], bool]) -> list[WriteAttempt]:
        return await backend.reprocess([target.user_id for target in chunk], keep_trying)

    sent = await send_audited(
        targets,
        lambda target: reprocess_request(target.user_id),
        lambda chunk: audit.reprocess_intents([(t.user_id, t.user_principal_name) for t in chunk]),
        send,
        lambda answers: audit.reprocess_results(((t.user_id, t.user_principal_name), a) for t, a in answers),
        switch,
    )
    return [
        UserResult(t.user_id, t.user_principal_name, status_of(a), None if a.ok else a.error_message) for t, a in sent
    ]
