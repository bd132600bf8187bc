"""A run's Teams writes: phone numbers and policies (docs/how-to/phone-numbers-and-policies.md).

Order. The numbers changes take away are freed first, before any license write: a leaver's number goes back to the
inventory instead of being lost with the license, and a number moved from a leaver to a joiner is free when the
joiner's turn comes (a user whose number could not be freed gets no license write: removing the license would take
the number with it). After the licenses and usage locations: policies, each (type, name) resolved to its id once
with getPolicyId; then the numbers given, one that waits for a license this run wrote only once that license is
read back Active (`licensewait`).

One request per number or policy (each its own answer, audit record and undo), 20 to a `$batch`, every intent on disk
before its batch leaves. A number write answers 202 and its operation is followed to its end (`operations`): a
failed one is that user's failure with Graph's statusDetail, never sent again; one that waited for a license this
run wrote, refused while Teams does not show that license yet (Entra's Active is not Teams'), is
NUMBER_WAITS_FOR_LICENSE: the next run assigns it. A write without an answer to rely on is unknown: plan again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from teamslicensing.apply.audit import AuditError
from teamslicensing.apply.batches import send_audited
from teamslicensing.apply.licensewait import licenses_active
from teamslicensing.apply.operations import OperationFeed, follow
from teamslicensing.apply.run import WriteRun
from teamslicensing.apply.stop import bounded
from teamslicensing.errors import AuthenticationError, GraphError
from teamslicensing.graph.requests import write_request
from teamslicensing.model.outcome import (
    FAILED,
    IN_SYNC,
    NOT_ATTEMPTED,
    UNKNOWN,
    OperationState,
    UserResult,
    Write,
    WriteAttempt,
    WriteKind,
)
from teamslicensing.model.plan import UserChange
from teamslicensing.model.tenant import PolicyLookup, policy_key
from teamslicensing.model.voicechange import NumberAction, NumberChange, PolicyAction

WAITS = "NUMBER_WAITS_FOR_LICENSE"
GIVE_BACK = "given back"  # the source of a replaced number assigned again after its replacement failed
DONE, REFUSED, UNKNOWN_END = "done", "refused", "unknown"  # how a Teams write ended
_WORST = {FAILED: 0, UNKNOWN: 1, NOT_ATTEMPTED: 2, IN_SYNC: 3}
_KINDS = {NumberAction.ASSIGN: WriteKind.NUMBER_ASSIGN, NumberAction.UPDATE: WriteKind.NUMBER_UPDATE}


def teams_writes(change: UserChange) -> int:
    return len(change.number_changes) + len(change.policy_changes)


@dataclass
class TeamsWrites:
    """The Teams writes of one run, over its `WriteRun`: `free_numbers` before the licenses, `write_rest` after."""

    run: WriteRun
    changes: list[UserChange]
    not_freed: set[str] = field(default_factory=set)  # numbers a change frees that were not freed

    @classmethod
    def of(cls, run: WriteRun, changes: Sequence[UserChange]) -> TeamsWrites:
        mine = [change for change in changes if teams_writes(change)]
        run.voice_left.update({change.user_id: teams_writes(change) for change in mine})
        return cls(run, mine)

    async def free_numbers(self) -> None:
        """The numbers leavers (and undo) free, before any license write; not a replaced number (`write_rest`)."""
        writes = [
            Write(WriteKind.NUMBER_UNASSIGN, change, number=number)
            for change in self.changes
            for number in change.number_changes
            if number.action is NumberAction.UNASSIGN and not number.replaced
        ]
        self.not_freed = {write.number.number for write in writes if write.number is not None}
        for write, ended in await self._send(writes):
            if ended == DONE and write.number is not None:
                self.not_freed.discard(write.number.number)

    async def write_rest(self) -> None:
        """Policies, then the numbers given, for the users nothing has failed for so far. A number an exact row
        replaces is freed just before its user's new one is sent, and given back if that one fails."""
        ready = [change for change in self.changes if self._may_go_on(change)]
        await self._policies(ready)
        waiting = [c for c in ready if any(_waits(n) for n in c.number_changes)]
        active = await licenses_active(self.run, waiting) if waiting else set()
        writes = [write for change in ready for write in self._number_writes(change, active)]
        writes = await self._teams_shows_licenses(writes)
        replacing = [
            Write(WriteKind.NUMBER_UNASSIGN, write.change, number=old)
            for write in writes
            if write.kind is WriteKind.NUMBER_ASSIGN
            for old in write.change.number_changes
            if old.replaced
        ]
        freed = await self._send(replacing)
        kept = {write.change.user_id for write, ended in freed if ended != DONE}  # Graph would refuse the new one
        given = await self._send([write for write in writes if write.change.user_id not in kept])
        sent = {w.change.user_id for w, _ in given}
        failed = {w.change.user_id for w, ended in given if w.kind is WriteKind.NUMBER_ASSIGN and ended == REFUSED}
        for write, ended in freed:
            if ended == DONE and write.change.user_id not in sent and write.number is not None:
                why = f"{write.number.number} was freed and the run stopped before the new number was sent"
                settle(self.run, write.change, NOT_ATTEMPTED, f"{why}: the next run assigns it")
        await self._give_back([write for write, ended in freed if ended == DONE and write.change.user_id in failed])

    def _number_writes(self, change: UserChange, active: set[str]) -> Iterator[Write]:
        """The user's numbers to give or update now; those that wait (or were not freed) are settled instead."""
        for number in change.number_changes:
            if number.action is NumberAction.UNASSIGN:
                continue
            stopping = self.run.switch.stop is not None  # then nothing more is sent, whatever the reason
            if _waits(number) and change.user_id not in active:
                why = "the license this run wrote was not read back Active in time: the next run assigns it"
                if not stopping:
                    settle(self.run, change, NOT_ATTEMPTED, f"{WAITS}: {number.number}: {why}")
            elif number.number in self.not_freed:
                why = f"{number.number} was not freed by the user who held it: the next run assigns it"
                if not stopping:
                    settle(self.run, change, NOT_ATTEMPTED, why)
            else:
                yield Write(_KINDS[number.action], change, number=number)

    async def _teams_shows_licenses(self, writes: list[Write]) -> list[Write]:
        """`writes` but those of users whose new number replaces one and waited for a license Teams does not show
        yet (settled NUMBER_WAITS_FOR_LICENSE): their old number is not freed for an assignment Teams would refuse.
        When Teams cannot be read, they go on (a refused new number gives the old one back)."""
        replacing = {
            w.change.user_id for w in writes if _waited(w) and any(n.replaced for n in w.change.number_changes)
        }
        if not replacing:
            return writes
        features = await self._features(sorted(replacing))
        held_back = set()
        for write in writes:
            shown = features.get(write.change.user_id.lower())
            if write.change.user_id in replacing and _waited(write) and shown is not None:
                assert write.number is not None
                if _feature_needed(write.number) not in shown:
                    why = "Teams does not show the license this run wrote yet: the next run replaces the number"
                    settle(self.run, write.change, NOT_ATTEMPTED, f"{WAITS}: {write.number.number}: {why}")
                    held_back.add(write.change.user_id)
        return [write for write in writes if write.change.user_id not in held_back]

    async def _give_back(self, freed: list[Write]) -> None:
        """The replaced numbers of users whose new number was refused, assigned to them again (audited like any
        write), with the emergency location they had."""
        back = []
        for write in freed:
            old = write.number
            assert old is not None
            again = NumberChange(NumberAction.ASSIGN, old.number, old.number_type, old.location_id, source=GIVE_BACK)
            back.append(Write(WriteKind.NUMBER_ASSIGN, write.change, number=again))
        for write, ended in await self._send(back):
            assert write.number is not None
            if ended == DONE:  # the user's result stays what the refused number made it (failed, or waiting)
                known = self.run.results.get(write.change.user_id)
                status = known.status if known is not None else FAILED
                settle(self.run, write.change, status, f"{write.number.number}, which it replaced, was given back")
            else:
                why = f"{write.number.number}, which it replaced, could not be given back: the user has no number"
                settle(self.run, write.change, FAILED, why)

    def _may_go_on(self, change: UserChange) -> bool:
        """No write of the user's failed, and the license and usage-location writes they needed were made."""
        settled = self.run.results.get(change.user_id)
        if settled is not None and settled.status != IN_SYNC:
            return False
        kinds = [WriteKind.USAGE_LOCATION] if change.set_usage_location else []
        kinds += [WriteKind.LICENSES] if change.changes_licenses else []
        return all((a := self.run.final.get((change.user_id, k))) is not None and a.ok for k in kinds)

    async def _policies(self, changes: list[UserChange]) -> None:
        wanted = sorted(
            {
                policy_key(p.policy_type, p.policy_name): (p.policy_type, p.policy_name)
                for c in changes
                for p in c.policy_changes
                if p.action is PolicyAction.ASSIGN
            }.values()
        )
        lookups = await self._lookups(changes, wanted) if wanted else {}
        if lookups is None:
            return
        writes = []
        for change in changes:
            for policy in change.policy_changes:
                if policy.action is PolicyAction.UNASSIGN:
                    writes.append(Write(WriteKind.POLICY_UNASSIGN, change, policy=policy))
                    continue
                lookup = lookups.get(policy_key(policy.policy_type, policy.policy_name))
                if lookup is None or lookup.policy_id is None:
                    settle(self.run, change, FAILED, _not_found(policy.policy_type, policy.policy_name, lookup))
                else:
                    writes.append(Write(WriteKind.POLICY_ASSIGN, change, policy=policy, policy_id=lookup.policy_id))
        await self._send(writes)

    async def _lookups(
        self, changes: list[UserChange], wanted: list[tuple[str, str]]
    ) -> dict[tuple[str, str], PolicyLookup] | None:
        """getPolicyId's answers; None when the run stopped first or Graph would not answer (then every user with
        a policy to assign has failed, with Graph's reason)."""
        if not self.run.switch.may_start_batch():
            return None
        looking = asyncio.ensure_future(self.run.backend.policy_ids(wanted))
        if not await bounded(looking, self.run.switch, self.run.switch.read_back_window, None, writes=False):
            return None
        try:
            return dict(looking.result())
        except (GraphError, AuthenticationError) as exc:
            message = exc.message if isinstance(exc, GraphError) else str(exc)
            for change in changes:
                if any(p.action is PolicyAction.ASSIGN for p in change.policy_changes):
                    settle(self.run, change, FAILED, f"getPolicyId: {message}")
            return None

    async def _send(self, writes: list[Write]) -> list[tuple[Write, str]]:
        """Send `writes`; settle each; follow the operations of the accepted number writes. Returns each write
        sent with how it ended: DONE, REFUSED (Graph said no, or its operation failed) or UNKNOWN."""
        if not writes:
            return []
        run = self.run

        def intents(chunk: Sequence[Write]) -> None:
            try:
                run.audit.intents(chunk)
            except AuditError as exc:
                run.audit_failed(str(exc))
                raise

        feed = OperationFeed()

        def results(answers: Iterable[tuple[Write, WriteAttempt]]) -> None:
            answers = list(answers)
            try:
                run.audit.results(answers)
            except AuditError as exc:
                run.audit_failed(str(exc))
                raise
            for write, attempt in answers:  # followed while the rest are sent
                if attempt.ok and write.kind.is_operation and attempt.location:
                    feed.add(write, attempt.location)

        async def send(chunk: Sequence[Write], keep_trying: Callable[[], bool]) -> list[WriteAttempt]:
            attempts = await run.backend.write(chunk, _unheard, keep_trying, _unheard)
            run.note(len(chunk))
            return attempts

        following = asyncio.ensure_future(follow(run, feed))
        try:
            sent = await send_audited(writes, write_request, intents, send, results, run.switch)
        except BaseException:
            feed.close()
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            raise
        feed.close()
        ended: list[tuple[Write, str]] = []
        for write, attempt in sent:
            run.voice_sent.add(write.change.user_id)
            if not (attempt.ok and write.kind.is_operation and attempt.location):
                _answered(run, write, attempt)
                how = DONE if attempt.ok and not write.kind.is_operation else UNKNOWN_END
                ended.append((write, REFUSED if not attempt.ok and not attempt.uncertain else how))
        followed = await following
        refused = [w.change.user_id for w, state in followed if state.status == "failed" and _waited(w)]
        features = await self._features(refused) if refused else {}
        for write, state in followed:
            _ended(run, write, state, features.get(write.change.user_id.lower()))
            how = {"succeeded": DONE, "failed": REFUSED}.get(state.status, UNKNOWN_END)
            ended.append((write, how))
        return ended

    async def _features(self, user_ids: list[str]) -> dict[str, frozenset[str]]:
        """What Teams shows of the users' licenses now ({} when it cannot be read within the stop's bounds)."""
        reading = asyncio.ensure_future(self.run.backend.teams_features(sorted(set(user_ids))))
        if not await bounded(reading, self.run.switch, self.run.switch.read_back_window, None, writes=False):
            return {}
        try:
            return reading.result()
        except (GraphError, AuthenticationError):
            return {}


def _waits(number: NumberChange) -> bool:
    return number.after_license and number.action is NumberAction.ASSIGN


def _unheard(_: Any) -> None:
    """The rounds of a Teams write's $batch: its final answer is recorded, not each round's."""


def settle(run: WriteRun, change: UserChange, status: str, reason: str) -> None:
    """The user's result, the worse of what it was and `status`, with every reason said."""
    known = run.results.get(change.user_id)
    if known is not None and known.status != IN_SYNC:
        worse = min((known.status, status), key=lambda s: _WORST.get(s, 3))
        reason = f"{known.reason}; {reason}" if known.reason else reason
        status = worse
    run.results[change.user_id] = UserResult(change.user_id, change.user_principal_name, status, reason)


def _answered(run: WriteRun, write: Write, attempt: WriteAttempt) -> None:
    if attempt.ok and not write.kind.is_operation:
        run.voice_left[write.change.user_id] -= 1
    elif attempt.ok:
        settle(run, write.change, UNKNOWN, f"{describe(write)}: accepted without an operation to follow: plan again")
    elif attempt.uncertain:
        why = f"no answer to rely on ({attempt.error_message or attempt.status}); never sent again blindly: plan again"
        settle(run, write.change, UNKNOWN, f"{describe(write)}: {why}")
    else:
        settle(run, write.change, FAILED, f"{describe(write)}: HTTP {attempt.status}: {attempt.error_message}")


def _ended(run: WriteRun, write: Write, state: OperationState, features: frozenset[str] | None) -> None:
    """Settle a number write by its operation's end. A refused assignment that waited for a license this run wrote
    is NUMBER_WAITS_FOR_LICENSE when Teams does not show that license yet (its featureTypes: `CallingPlan` for a
    Calling Plan number, the docs' own example; `PhoneSystem` for the others, which Microsoft does not list)."""
    if state.status == "succeeded":
        run.voice_left[write.change.user_id] -= 1
        return
    detail = state.detail or "no statusDetail"
    number = write.number
    waited = state.status == "failed" and number is not None and _waited(write)
    if waited and number is not None and features is not None and _feature_needed(number) not in features:
        why = f"Teams refused it ({detail}): it does not show the license this run wrote yet; the next run assigns it"
        settle(run, write.change, NOT_ATTEMPTED, f"{WAITS}: {number.number}: {why}")
        return
    if state.status == "failed":
        settle(run, write.change, FAILED, f"{describe(write)}: the operation failed: {detail}")
    else:
        settle(run, write.change, UNKNOWN, f"{describe(write)}: accepted, its operation {state.status}: {detail}")


def _feature_needed(number: NumberChange) -> str:
    return "callingplan" if number.number_type.lower() == "callingplan" else "phonesystem"


def _waited(write: Write) -> bool:
    return write.kind is WriteKind.NUMBER_ASSIGN and write.number is not None and write.number.after_license


def describe(write: Write) -> str:
    if write.policy is not None:
        verb = "unassign" if write.kind is WriteKind.POLICY_UNASSIGN else "assign"
        return f"{verb} policy {write.policy.policy_type} = {write.policy.policy_name}"
    assert write.number is not None
    action = {WriteKind.NUMBER_ASSIGN: "assignNumber", WriteKind.NUMBER_UNASSIGN: "unassignNumber"}
    return f"{action.get(write.kind, 'updateNumber')} {write.number.number} ({write.number.number_type})"


def _not_found(policy_type: str, name: str, lookup: PolicyLookup | None) -> str:
    if lookup is not None and len(lookup.found) > 1:
        found = f"{len(lookup.found)} {policy_type} policies named '{name}'"
        return f"POLICY_NOT_FOUND: getPolicyId found {found}, so which one is meant is unknown: not assigned"
    return f"POLICY_NOT_FOUND: Teams has no {policy_type} named '{name}' (getPolicyId found none): not assigned"
