"""Gaps about the read itself rather than any rule: a scoped read (READ_SCOPED) and users the source could not read
(USER_UNREADABLE). Pure: the tenant as read in, gaps out."""

from __future__ import annotations

from teamslicensing.model.plan import Gap, GapCode, Severity
from teamslicensing.model.tenant import Tenant


def read_gaps(tenant: Tenant) -> list[Gap]:
    gaps = []
    scope = tenant.scope
    if scope is not None:
        of = f" of {scope.users_in_tenant:,}" if scope.users_in_tenant is not None else ""
        message = (
            f"scoped read ({scope.reason}): {scope.users_read:,}{of} users read, those the plan can touch (holders "
            "of managed licenses, members of the groups rules select, users matching rule attributes or named in "
            "the file); users outside that scope were not read and are not reported on: policy.read: all (or "
            "--read all) gives the full audit"
        )
        gaps.append(Gap(GapCode.READ_SCOPED, Severity.INFO, None, None, message))
    for user in tenant.unreadable:
        message = (
            f"the tenant source returned this user unreadably ({user.reason}): left out of every change this run, "
            "and not judged; check the account in the Entra admin center"
        )
        who = user.user_principal_name or user.user_id
        gaps.append(Gap(GapCode.USER_UNREADABLE, Severity.WARNING, who, None, message, user.user_id or None))
    return gaps
