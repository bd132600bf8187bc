"""The plan as one CSV table for spreadsheets: a `kind` column (meta, refusal, change, groupChange, gap, cost, seat,
rule):
rows saying where the report comes from (tool, version, generatedAt, tenantId, tenantName, source), one row per
reason apply would refuse the plan, license add or removal, usage location, gap, seat line and
rule (its share of the plan: selected, changed, adds, removals, withheld, skipped)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from teamslicensing.model.outcome import ApplyResult
from teamslicensing.model.plan import Plan
from teamslicensing.model.planjson import ReportMeta
from teamslicensing.model.words import counted
from teamslicensing.reference.productnames import product_name
from teamslicensing.report.common import RULE_HEADER, refusal_text, rule_rows
from teamslicensing.report.costlines import cost_headline
from teamslicensing.report.outcomeviews import outcome_rows
from teamslicensing.report.voicelines import number_text

COLUMNS = ("kind", "user", "userId", "action", "skuPartNumber", "productName", "severity", "code", "detail")


def _row(
    kind: str, who: tuple[str, str], action: str, sku: str, detail: str, severity: str = "", code: str = ""
) -> list[str]:
    return [kind, *who, action, sku, product_name(sku) or "" if sku else "", severity, code, detail]


def plan_csv(
    plan: Plan,
    meta: ReportMeta | None = None,
    outcome: ApplyResult | None = None,
    done: tuple[str, str | None] = ("apply", None),
) -> str:
    """The table; with `outcome` (or, in `done`, why an apply or undo wrote nothing), what happened, after `meta`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_head_rows(meta, outcome, done))
    for refusal in plan.refusals:
        code = refusal.code.value if refusal.code else ""
        writer.writerow(_row("refusal", ("", ""), refusal.reason, "", refusal_text(refusal), "error", code))
    for change in plan.changes:
        who = (change.user_principal_name, change.user_id)
        rules = f"rules: {', '.join(change.rules) or 'prune'}"
        if change.set_usage_location:
            writer.writerow(_row("change", who, "usageLocation", "", change.set_usage_location))
        for add in change.add_licenses:
            plans = f"; disabled plans: {' '.join(add.disabled_plans)}" if add.disabled_plans else ""
            writer.writerow(_row("change", who, "add", add.sku_part_number, rules + plans))
        for remove in change.remove_licenses:
            loss = "; DESTRUCTIVE: " + ", ".join(change.phone_numbers) if change.destructive else ""
            why = f"; {remove.reason.value}" if remove.reason else ""
            writer.writerow(_row("change", who, "remove", remove.sku_part_number, rules + why + loss))
        for number in change.number_changes:
            writer.writerow(_row("change", who, f"{number.action.value}Number", number.number, number_text(number)))
        for policy in change.policy_changes:
            writer.writerow(_row("change", who, f"{policy.action.value}Policy", policy.policy_type, policy.policy_name))
    for group in plan.group_changes:
        who, members = (group.group_name, group.group_id), counted(group.members, "direct member")
        writer.writerows(_row("groupChange", who, "add", a.sku_part_number, members) for a in group.add_licenses)
        writer.writerows(_row("groupChange", who, "remove", r.sku_part_number, members) for r in group.remove_licenses)
    for gap in plan.gaps:
        who = (gap.user_principal_name or "", "")
        writer.writerow(
            _row("gap", who, "", gap.sku_part_number or "", gap.message, gap.severity.value, gap.code.value)
        )
    for cost in plan.cost:
        writer.writerow(_row("cost", ("", ""), cost.currency, "", cost_headline(cost)))
        for sku in cost.by_sku:
            amounts = f"price {sku.monthly}; added {sku.added}; saved {sku.saved}; redundant {sku.redundant}"
            writer.writerow(
                _row("cost", ("", ""), cost.currency, sku.sku_part_number, f"{amounts}; unused {sku.unused}")
            )
    for seat in plan.seats:
        detail = (
            f"enabled {seat.enabled}; consumed {seat.consumed}; to add {seat.to_add}; to remove {seat.to_remove}; "
            f"available {seat.available}; shortfall {seat.shortfall}; redundant {seat.redundant}"
        )
        writer.writerow(_row("seat", ("", ""), "", seat.sku_part_number, detail))
    for pool in plan.number_pools:
        detail = f"{pool.number_type}: free {pool.free}; needed {pool.needed}; short {pool.short}"
        writer.writerow(_row("numbers", ("", ""), "", pool.iso_country_code, detail))
    for rule in plan.rule_summaries:
        numbers = zip(RULE_HEADER[1:], rule_rows((rule,))[0][1:], strict=True)
        detail = f"rule {rule.rule}: " + "; ".join(f"{name} {number}" for name, number in numbers)
        writer.writerow(_row("rule", ("", ""), "", "", detail))
    return out.getvalue()


def _head_rows(
    meta: ReportMeta | None, outcome: ApplyResult | None, done: tuple[str, str | None]
) -> Iterator[list[str]]:
    """Where the report comes from (action names the field, detail holds its value), then what an apply or undo
    did, before what it planned."""
    if meta is not None:
        for field, value in meta.json().items():
            yield _row("meta", ("", ""), field, "", "" if value is None else str(value))
    if outcome is not None:
        for kind, user, status, reason in outcome_rows(outcome, done[0]):
            yield _row(kind, (user, ""), status, "", reason, "error" if status in ("failed", "unknown") else "")
    elif done[1]:
        yield _row("outcome", ("", ""), "", "", f"{done[0].capitalize()}: nothing was written: {done[1]}")
