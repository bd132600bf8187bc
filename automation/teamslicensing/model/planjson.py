"""The plan as JSON: a contract scripts read (docs/reference/json-contracts.md, *The plan report*); field names never
change within a version. `plan_from_json` reads it back. Vocabulary, like the plan itself: the report renders it
(`--format json`) and a saved plan carries it (apply/planfile), so neither depends on the other."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from teamslicensing.model.cost import cost_from_json, cost_json
from teamslicensing.model.plan import (
    Action,
    Decision,
    Gap,
    GapCode,
    GroupChange,
    LicenseAdd,
    LicenseRemove,
    Plan,
    Reason,
    Refusal,
    RemovalReason,
    RuleMatch,
    RuleSummary,
    SeatLine,
    SelectedBy,
    Severity,
    UserChange,
)
from teamslicensing.model.voicejson import (
    number_change_from_json,
    number_change_json,
    number_pool_from_json,
    number_pool_json,
    policy_change_from_json,
    policy_change_json,
)

JSON_VERSION = 2


@dataclass(frozen=True)
class ReportMeta:
    """Where a report comes from: the JSON `meta` object. The plan is pure; the front end that ran it knows these."""

    tool_version: str | None = None
    generated_at: datetime | None = None
    tenant_id: str | None = None
    tenant_name: str | None = None
    source: str | None = None  # "live (global cloud)", "snapshot PATH", "saved plan PATH"

    def json(self) -> dict[str, Any]:
        when = self.generated_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if self.generated_at else None
        return {
            "tool": "teams-licensing",
            "version": self.tool_version,
            "generatedAt": when,
            "tenantId": self.tenant_id,
            "tenantName": self.tenant_name,
            "source": self.source,
        }


def plan_to_json(plan: Plan, meta: ReportMeta | None = None) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, Iterator) else value for key, value in plan_json_fields(plan, meta)}


def plan_json_fields(plan: Plan, meta: ReportMeta | None = None) -> tuple[tuple[str, Any], ...]:
    """The document's top-level fields in order, its arrays as iterators: a writer can encode a 100,000-change
    plan one element at a time instead of as one dict and one string."""
    return (
        ("version", JSON_VERSION),
        ("meta", (meta or ReportMeta()).json()),
        ("summary", summary_json(plan)),
        ("applyWouldRefuse", [refusal_json(refusal) for refusal in plan.refusals]),
        ("decisions", (decision_json(decision) for decision in plan.decisions)),
        ("changes", (change_json(change) for change in plan.changes)),
        ("groupChanges", (group_change_json(change) for change in plan.group_changes)),
        ("gaps", (gap_json(gap) for gap in plan.gaps)),
        ("seats", (seat_json(seat) for seat in plan.seats)),
        ("numberPools", [number_pool_json(pool) for pool in plan.number_pools]),
        ("ruleSummary", [rule_json(summary) for summary in plan.rule_summaries]),
        *((("cost", [cost_json(cost) for cost in plan.cost]),) if plan.cost else ()),  # absent without prices
    )


def summary_json(plan: Plan) -> dict[str, Any]:
    """The plan's counts, so a script needs no arithmetic over the arrays."""
    actions = Counter(decision.action for decision in plan.decisions)
    return {
        "decisions": {action.value: actions[action] for action in Action},
        "changes": len(plan.changes),
        "groupChanges": len(plan.group_changes),
        "licenseAdds": sum(len(c.add_licenses) for c in plan.changes),
        "licenseRemovals": sum(len(c.remove_licenses) for c in plan.changes),
        "usageLocations": sum(1 for c in plan.changes if c.set_usage_location),
        "destructive": sum(1 for c in plan.changes if c.destructive),
        "removalsBeyondVoice": sum(1 for c in plan.changes if c.removes_beyond_voice),
        "numberAssignments": sum(1 for c in plan.changes for n in c.number_changes if n.action.value == "assign"),
        "numberUnassignments": sum(1 for c in plan.changes for n in c.number_changes if n.action.value == "unassign"),
        "policyAssignments": sum(len(c.policy_changes) for c in plan.changes),
        "gaps": {severity.value: plan.gap_count(severity) for severity in Severity},
        "applyWouldRefuse": bool(plan.refusals),
    }


def decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "userId": decision.user_id,
        "userPrincipalName": decision.user_principal_name,
        "action": decision.action.value,
        "rules": [
            {"rule": match.rule, "how": [{"by": how.by, "value": how.value} for how in match.how]}
            for match in decision.rules
        ],
        "reasons": [{"code": reason.code, "message": reason.message} for reason in decision.reasons],
    }


def decision_from_json(d: dict[str, Any]) -> Decision:
    return Decision(
        user_id=str(d["userId"]),
        user_principal_name=str(d["userPrincipalName"]),
        action=Action(d["action"]),
        rules=tuple(
            RuleMatch(str(m["rule"]), tuple(SelectedBy(str(h["by"]), str(h["value"])) for h in m["how"]))
            for m in d["rules"]
        ),
        reasons=tuple(Reason(str(r["code"]), str(r["message"])) for r in d["reasons"]),
    )


def refusal_json(refusal: Refusal) -> dict[str, Any]:
    """`{"reason": "maxChanges"|"maxRemovals", "limit", "planned"}` or `{"reason": "blockingGap", "code",
    "subjects"}`: why apply would refuse the plan."""
    if refusal.code is not None:
        return {"reason": refusal.reason, "code": refusal.code.value, "subjects": list(refusal.subjects)}
    return {"reason": refusal.reason, "limit": refusal.limit, "planned": refusal.planned}


def rule_json(summary: RuleSummary) -> dict[str, Any]:
    return {
        "rule": summary.rule,
        "selected": summary.selected,
        "changed": summary.changed,
        "adds": summary.adds,
        "removals": summary.removals,
        "withheld": summary.withheld,
        "skipped": summary.skipped,
    }


def gap_json(gap: Gap) -> dict[str, Any]:
    """A gap as every JSON report writes it (plan, apply, usage)."""
    return {
        "code": gap.code.value,
        "severity": gap.severity.value,
        "userPrincipalName": gap.user_principal_name,
        "userId": gap.user_id,
        "skuPartNumber": gap.sku_part_number,
        "skuId": gap.sku_id,
        "message": gap.message,
    }


def gap_from_json(entry: dict[str, Any]) -> Gap:
    """A gap read back from a JSON report (KeyError, ValueError: not one)."""
    return Gap(
        GapCode(entry["code"]),
        Severity(entry["severity"]),
        entry["userPrincipalName"],
        entry["skuPartNumber"],
        str(entry["message"]),
        entry.get("userId"),
        entry.get("skuId"),
    )


def group_change_json(change: GroupChange) -> dict[str, Any]:
    return {
        "groupId": change.group_id,
        "groupName": change.group_name,
        "addLicenses": _adds_json(change.add_licenses),
        "removeLicenses": _removes_json(change.remove_licenses),
        "members": change.members,
        "newSeats": [{"skuId": sku_id, "members": count} for sku_id, count in change.new_seats],
        "disablesPlans": change.disables_plans,
    }


def change_json(change: UserChange) -> dict[str, Any]:
    return {
        "userId": change.user_id,
        "userPrincipalName": change.user_principal_name,
        "setUsageLocation": change.set_usage_location,
        "addLicenses": _adds_json(change.add_licenses),
        "removeLicenses": _removes_json(change.remove_licenses),
        "rules": list(change.rules),
        "destructive": change.destructive,
        "phoneNumbers": list(change.phone_numbers),
        "takesServicePlans": change.takes_plans,
        "numberChanges": [number_change_json(n) for n in change.number_changes],
        "policyChanges": [policy_change_json(p) for p in change.policy_changes],
    }


def _adds_json(adds: tuple[LicenseAdd, ...]) -> list[dict[str, Any]]:
    return [
        {"skuId": a.sku_id, "skuPartNumber": a.sku_part_number, "disabledPlans": list(a.disabled_plans)} for a in adds
    ]


def _removes_json(removes: tuple[LicenseRemove, ...]) -> list[dict[str, Any]]:
    return [
        {"skuId": r.sku_id, "skuPartNumber": r.sku_part_number, "reason": r.reason.value if r.reason else None}
        for r in removes
    ]


def seat_json(seat: SeatLine) -> dict[str, Any]:
    return {
        "skuId": seat.sku_id,
        "skuPartNumber": seat.sku_part_number,
        "enabled": seat.enabled,
        "consumed": seat.consumed,
        "toAdd": seat.to_add,
        "toRemove": seat.to_remove,
        "available": seat.available,
        "shortfall": seat.shortfall,
        "redundant": seat.redundant,
    }


def plan_from_json(document: dict[str, Any]) -> Plan:
    """The `Plan` a `plan_to_json` document describes; raises KeyError, TypeError or ValueError when it is not one."""
    if document.get("version") != JSON_VERSION:
        raise ValueError(f"plan version {document.get('version')!r}; this tool reads version {JSON_VERSION}")
    groups = tuple(group_change_from_json(c) for c in document["groupChanges"])
    changes = tuple(change_from_json(c) for c in document["changes"])
    gaps = tuple(gap_from_json(g) for g in document["gaps"])
    seats = tuple(seat_from_json(s) for s in document["seats"])
    rules = tuple(rule_from_json(r) for r in document["ruleSummary"])
    decisions = tuple(decision_from_json(d) for d in document["decisions"])
    pools = tuple(number_pool_from_json(p) for p in document.get("numberPools", []))
    cost = tuple(cost_from_json(c) for c in document.get("cost", []))
    return Plan(changes, gaps, seats, groups, rule_summaries=rules, decisions=decisions, number_pools=pools, cost=cost)


def change_from_json(c: dict[str, Any]) -> UserChange:
    return UserChange(
        user_id=str(c["userId"]).lower(),
        user_principal_name=str(c["userPrincipalName"]),
        set_usage_location=c["setUsageLocation"],
        add_licenses=_adds(c["addLicenses"]),
        remove_licenses=_removes(c["removeLicenses"]),
        rules=tuple(map(str, c["rules"])),
        destructive=bool(c["destructive"]),
        phone_numbers=tuple(map(str, c.get("phoneNumbers", []))),
        takes_plans=bool(c.get("takesServicePlans", c["destructive"])),
        number_changes=tuple(number_change_from_json(n) for n in c.get("numberChanges", [])),
        policy_changes=tuple(policy_change_from_json(p) for p in c.get("policyChanges", [])),
    )


def group_change_from_json(c: dict[str, Any]) -> GroupChange:
    return GroupChange(
        group_id=str(c["groupId"]).lower(),
        group_name=str(c["groupName"]),
        add_licenses=_adds(c["addLicenses"]),
        remove_licenses=_removes(c["removeLicenses"]),
        members=int(c["members"]),
        new_seats=tuple((str(n["skuId"]).lower(), int(n["members"])) for n in c.get("newSeats", [])),
        disables_plans=bool(c.get("disablesPlans", False)),
    )


def seat_from_json(s: dict[str, Any]) -> SeatLine:
    return SeatLine(
        str(s["skuId"]),
        str(s["skuPartNumber"]),
        int(s["enabled"]),
        int(s["consumed"]),
        int(s["toAdd"]),
        int(s["toRemove"]),
        int(s["available"]),
        int(s["shortfall"]),
        int(s.get("redundant", 0)),
    )


def rule_from_json(r: dict[str, Any]) -> RuleSummary:
    return RuleSummary(
        str(r["rule"]),
        int(r["selected"]),
        int(r["changed"]),
        int(r["adds"]),
        int(r["removals"]),
        int(r["withheld"]),
        int(r.get("skipped", 0)),  # a plan saved before skipped users were counted
    )


def _adds(entries: list[Any]) -> tuple[LicenseAdd, ...]:
    return tuple(
        LicenseAdd(str(a["skuId"]).lower(), str(a["skuPartNumber"]), tuple(map(str, a["disabledPlans"])))
        for a in entries
    )


def _removes(entries: list[Any]) -> tuple[LicenseRemove, ...]:
    return tuple(
        LicenseRemove(
            str(r["skuId"]).lower(),
            str(r["skuPartNumber"]),
            RemovalReason(r["reason"]) if r.get("reason") is not None else None,
        )
        for r in entries
    )
