"""How every report format shows a change's phone numbers and Teams policies and the plan's number pools."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from teamslicensing.model.plan import UserChange
from teamslicensing.model.voicechange import NumberAction, NumberChange, NumberPool, PolicyAction, PolicyChange

POOL_HEADER = ("country", "type", "free", "needed", "short")


def number_text(change: NumberChange) -> str:
    """`+ number +14255550110 (callingPlan, after the license)`, `- number …` for an unassignment."""
    sign = {NumberAction.ASSIGN: "+", NumberAction.UNASSIGN: "-", NumberAction.UPDATE: "~"}[change.action]
    notes = [change.number_type]
    if change.after_license:
        notes.append("once the license is Active")
    if change.location_id and change.action is not NumberAction.UNASSIGN:
        notes.append(f"location {change.location_id}")
    return f"{sign} number {change.number} ({', '.join(notes)})"


def policy_text(change: PolicyChange) -> str:
    """`+ policy TeamsCallingPolicy = AllowCalling`; `- policy … (its direct assignment taken back)` for an undo's."""
    if change.action is PolicyAction.UNASSIGN:
        return f"- policy {change.policy_type} = {change.policy_name} (the direct assignment taken back)"
    return f"+ policy {change.policy_type} = {change.policy_name}"


def voice_lines(change: UserChange) -> list[str]:
    """The change's number and policy lines, in the order apply writes them: unassignments, policies, numbers."""
    unassigned = [number_text(n) for n in change.number_changes if n.action is NumberAction.UNASSIGN]
    policies = [policy_text(p) for p in change.policy_changes]
    assigned = [number_text(n) for n in change.number_changes if n.action is not NumberAction.UNASSIGN]
    return [*unassigned, *policies, *assigned]


def pool_table(pools: Sequence[NumberPool], *, markdown: bool) -> Iterator[str]:
    rows = [(p.iso_country_code, p.number_type, str(p.free), str(p.needed), str(p.short)) for p in pools]
    if markdown:
        yield "| " + " | ".join(POOL_HEADER) + " |"
        yield "|" + "---|" * len(POOL_HEADER)
        yield from ("| " + " | ".join(row) + " |" for row in rows)
        return
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(POOL_HEADER)]
    for row in (POOL_HEADER, *rows):  # country and type to the left, counts to the right
        cells = zip(row, widths, strict=True)
        yield "  " + "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(cells))
