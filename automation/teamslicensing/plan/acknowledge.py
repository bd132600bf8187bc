"""policy.acknowledge: known exceptions reported as info until their date, so they stop failing CI. Pure.

Only the report changes: the plan is computed before and is the same (what the planner withholds stays withheld;
destructive changes are not gaps). PHONE_NUMBER_AT_RISK and the codes that block every write cannot be
acknowledged (the configuration refuses them). An entry past its date leaves its gaps as they are and is reported
itself: ACKNOWLEDGEMENT_EXPIRED (warning).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date

from teamslicensing.model.desired import Acknowledgement
from teamslicensing.model.plan import UNACKNOWLEDGEABLE, Gap, GapCode, Plan, Severity


def acknowledge(
    plan: Plan,
    entries: Sequence[Acknowledgement],
    today: date,
    upn_of: Mapping[str, str] | None = None,
    *,
    report_expired: bool = True,
) -> Plan:
    """`plan` with the gaps `entries` match turned into info (an entry in force wins over an expired one);
    `upn_of` (object id -> UPN) lets an entry name its user by id, as gaps name users by UPN."""
    if not entries:
        return plan
    names = {k.lower(): v.lower() for k, v in (upn_of or {}).items()}
    resolved = [dataclasses.replace(e, user=names.get(e.user, e.user)) if e.user else e for e in entries]
    order = sorted(range(len(resolved)), key=lambda n: resolved[n].until < today)  # in force first
    gaps: list[Gap] = []
    expired_used: set[int] = set()
    for gap in plan.gaps:
        entry = next((n for n in order if _matches(resolved[n], gap)), None)
        if entry is None or gap.code in UNACKNOWLEDGEABLE:
            gaps.append(gap)
            continue
        ack = resolved[entry]
        if ack.until < today:
            expired_used.add(entry)
            gaps.append(gap)
            continue
        message = f"acknowledged until {ack.until} ({ack.reason}), was {gap.severity.value}: {gap.message}"
        gaps.append(dataclasses.replace(gap, severity=Severity.INFO, message=message))
    for n in sorted(n for n, e in enumerate(resolved) if e.until < today and report_expired):
        ack = resolved[n]
        whom = f" for {ack.user}" if ack.user else ""
        still = "its gaps are reported as they are again" if n in expired_used else "nothing matches it any more"
        message = (
            f"policy.acknowledge {ack.code}{whom} ran out on {ack.until} ({ack.reason}): {still}; renew or remove it"
        )
        gaps.append(Gap(GapCode.ACKNOWLEDGEMENT_EXPIRED, Severity.WARNING, ack.user, ack.sku, message))
    gaps.sort(key=Gap.sort_key)
    return dataclasses.replace(plan, gaps=tuple(gaps))


def _matches(entry: Acknowledgement, gap: Gap) -> bool:
    if entry.code != gap.code.value:
        return False
    if entry.user is not None and (gap.user_principal_name or "").lower() != entry.user:
        return False
    return entry.sku is None or (gap.sku_part_number or "").lower() == entry.sku.lower()
