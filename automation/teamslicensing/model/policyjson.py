"""The configuration's policy as JSON, whole: a saved plan records it, and `apply PLANFILE` judges every change
with it (or with a reviewed configuration's, which must be the same file). `policy_from_json` reads it back."""

from __future__ import annotations

from datetime import date
from typing import Any

from teamslicensing.model.capability import Capability
from teamslicensing.model.desired import Acknowledgement, DesiredPolicy, LicenseRef


def policy_json(policy: DesiredPolicy) -> dict[str, Any]:
    return {
        "prune": policy.prune,
        "pruneAlso": [_ref_json(ref) for ref in policy.prune_also],
        "maxChanges": policy.max_changes,
        "maxRemovals": policy.max_removals,
        "emptyGroupsAllowed": sorted(policy.empty_groups_allowed),
        "protectedUsers": sorted(policy.protected_users),
        "protectedGroups": list(policy.protected_groups),
        "includeDisabledAccounts": policy.include_disabled_accounts,
        "allowNumberLoss": policy.allow_number_loss,
        "assignCovered": policy.assign_covered,
        "removeRedundant": policy.remove_redundant,
        "funding": policy.funding,
        "read": policy.read,
        "acknowledge": [
            {"code": a.code, "until": a.until.isoformat(), "reason": a.reason, "user": a.user, "sku": a.sku}
            for a in policy.acknowledge
        ],
    }


def policy_from_json(document: dict[str, Any]) -> DesiredPolicy:
    """The policy a `policy_json` document describes; KeyError, TypeError or ValueError when it is not one."""
    funding, read = str(document["funding"]), str(document["read"])
    if funding not in ("credits", "postpaid") or read not in ("auto", "scoped", "all"):
        raise ValueError(f"unknown funding {funding!r} or read {read!r}")
    return DesiredPolicy(
        prune=_bool(document["prune"]),
        prune_also=tuple(_ref(entry) for entry in document["pruneAlso"]),
        max_changes=_count(document["maxChanges"]),
        max_removals=_count(document["maxRemovals"]),
        empty_groups_allowed=frozenset(map(str, document["emptyGroupsAllowed"])),
        protected_users=frozenset(str(u).lower() for u in document["protectedUsers"]),
        protected_groups=tuple(map(str, document["protectedGroups"])),
        include_disabled_accounts=_bool(document["includeDisabledAccounts"]),
        allow_number_loss=_bool(document["allowNumberLoss"]),
        assign_covered=_bool(document["assignCovered"]),
        remove_redundant=_bool(document["removeRedundant"]),
        funding=funding,  # type: ignore[arg-type]  # checked above
        read=read,  # type: ignore[arg-type]  # checked above
        acknowledge=tuple(
            Acknowledgement(
                code=str(a["code"]),
                until=date.fromisoformat(str(a["until"])),
                reason=str(a["reason"]),
                user=None if a.get("user") is None else str(a["user"]),
                sku=None if a.get("sku") is None else str(a["sku"]),
            )
            for a in document["acknowledge"]
        ),
    )


def _ref_json(ref: LicenseRef) -> dict[str, Any]:
    return {"ref": ref.ref, "skuIds": list(ref.sku_ids), "capabilities": sorted(c.value for c in ref.capabilities)}


def _ref(entry: dict[str, Any]) -> LicenseRef:
    return LicenseRef(
        str(entry["ref"]),
        tuple(str(i).lower() for i in entry["skuIds"]),
        frozenset(Capability(c) for c in entry["capabilities"]),
    )


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, not {value!r}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number ≥ 0, not {value!r}")
    return value
