"""The planner, driven by data: every tests/planner/cases/<case>.yaml is a story with its desired state, tenant and
plan.

A case has `description`, `config` (the desired-state file as a mapping), `tenant` and `expect`.
Tenant shorthand, expanded into Graph's own JSON with ids derived from names:
- subscribedSkus: `MCOEV` or `{part: MCOEV, enabled: 5, consumed: 1, status: Warning, appliesTo: User}`; service
  plans come from the shipped catalogue; `enabled` defaults to 100 and `consumed` to the users holding the SKU.
  A SKU users hold but the list leaves out is added, fully consumed (a tenant pays for what its users hold).
- users: `{upn, usageLocation (default US; null for none), enabled (default true), id, licenses, teams (default
  true), <attribute>...}`; a license is `MCOEV` (direct) or `{sku, group, disabledPlans: [plan names], state,
  error}`; a user inheriting from a group is a member of it; extensionAttributeN land in
  onPremisesExtensionAttributes. Users have the Teams service, as nearly all do: one whose licenses carry no Teams
  plan holds Microsoft_Teams_Enterprise_New directly, unless the case says `teams: false`.
- groups: `{name, id (default derived from the name), members: [upn...]}`.
- numbers (optional; absent: the inventory was not read): `{user: upn, number: "+1…", type: callingPlan|directRouting|
  operatorConnect, status, category (primary), country (US), city, location, capabilities}`, served as Graph's
  numberAssignments; without `user`, a free number.
- configurations (optional; absent: not read): `{upn: {policies: {type: name}}}`, served as userConfigurations
  (every user has one; a user not named has no policy assigned); policies (getPolicyId's answers): `[{type, name,
  found (default true)}]`; cloud (default global).
Expected plan: `changes: {upn: {add: [PART | {sku, disabledPlans}], remove: [PART], usageLocation, destructive,
numbers: ["assign|unassign NUMBER TYPE[ after license]"], policies: ["TYPE=NAME"], rules, reasons: {PART: why
removed}}}` (the whole set; rules and reasons compared when given), `gaps: [[CODE,
upn|null, PART|null(, severity)]]` (the whole multiset) and optional `seats: {PART: {toAdd, toRemove, available,
shortfall}}`, `applyWouldRefuse: [{reason, limit, planned} | {reason, code, subjects}]` (the whole list) and
`rules: {NAME: {selected, changed, adds, removals, withheld, skipped}}` (the rules named), `numberPools:
{"COUNTRY TYPE": {free, needed, short}}` (the whole set).
"""

from __future__ import annotations

import copy
import random
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from teamslicensing.config import load_desired_state
from teamslicensing.model.capability import Capability
from teamslicensing.model.desired import DesiredState
from teamslicensing.model.plan import GapCode, Plan
from teamslicensing.model.voicechange import NumberAction
from teamslicensing.plan.planner import plan
from teamslicensing.reference.availability import load_availability
from teamslicensing.reference.catalog import load_catalog
from teamslicensing.tenant.assign import TenantDocument
from teamslicensing.tenant.assignvoice import TeamsDocument
from teamslicensing.tenant.snapshot import parse_snapshot

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
_NAMESPACE = uuid.UUID("6f1c3c1e-5b8a-4f43-9d0e-7a4f2f0c9e11")


TEAMS_SKU = "Microsoft_Teams_Enterprise_New"  # what a case's user holds for the Teams service unless `teams: false`


def guid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name.lower()}"))


def _catalog_sku(part: str) -> Any:
    found = load_catalog().by_part_number(part)
    assert found, f"{part} is not in the catalogue"
    return found[0]


def expand_tenant(spec: dict[str, Any]) -> dict[str, Any]:
    """The case's tenant shorthand as a Graph snapshot document."""
    groups = [
        {"id": g.get("id", guid("group", g["name"])), "displayName": g["name"], "members": []}
        for g in spec.get("groups", [])
    ]
    for group, group_spec in zip(groups, spec.get("groups", []), strict=True):  # group-based licensing
        if "licenses" in group_spec:
            group["assignedLicenses"] = [_group_license(entry) for entry in group_spec["licenses"]]
        if "processing" in group_spec:
            group["licenseProcessingState"] = {"state": group_spec["processing"]}
    holders: Counter[str] = Counter()
    users = [_expand_user(user, groups, holders) for user in spec.get("users", [])]
    by_upn = {u["userPrincipalName"].lower(): u["id"] for u in users}
    for group, group_spec in zip(groups, spec.get("groups", []), strict=False):  # groups users named come last
        for upn in group_spec.get("members", []):
            member = by_upn.get(upn.lower(), guid("user", upn))
            if member not in group["members"]:
                group["members"].append(member)
        if "licenses" in group_spec:  # a licensed group: `nested` members are members, but not direct ones
            nested = {by_upn.get(upn.lower(), guid("user", upn)) for upn in group_spec.get("nested", [])}
            group["members"].extend(m for m in sorted(nested) if m not in group["members"])
            group["directMembers"] = [m for m in group["members"] if m not in nested]
    entries = [{"part": e} if isinstance(e, str) else e for e in spec.get("subscribedSkus", [])]
    listed = {_catalog_sku(e["part"]).sku_id for e in entries}
    held = [s for user in users for s in user["licenseAssignmentStates"] if s["skuId"] not in listed]
    for sku_id in dict.fromkeys(s["skuId"] for s in held):  # a tenant pays for every SKU its users hold
        sku = load_catalog().by_id(sku_id)
        assert sku is not None, f"a case holds {sku_id}, which the catalogue does not know"
        entries.append({"part": sku.part_number, "enabled": holders[sku_id]})
    skus = []
    for entry in entries:
        sku = _catalog_sku(entry["part"])
        skus.append(
            {
                "skuId": sku.sku_id,
                "skuPartNumber": sku.part_number,
                "appliesTo": entry.get("appliesTo", "User"),
                "capabilityStatus": entry.get("status", "Enabled"),
                "consumedUnits": entry.get("consumed", holders[sku.sku_id]),
                "prepaidUnits": {"enabled": entry.get("enabled", 100), "suspended": 0, "warning": 0, "lockedOut": 0},
                "servicePlans": [
                    {"servicePlanId": p.id, "servicePlanName": p.name, "provisioningStatus": "Success"}
                    for p in sku.service_plans
                ],
            }
        )
    document: dict[str, Any] = {"subscribedSkus": skus, "users": users, "groups": groups}
    if "numbers" in spec:  # the Teams number inventory, in Graph's numberAssignments shape
        document["numberAssignments"] = [
            {
                "id": guid("number", n["number"]),
                "telephoneNumber": n["number"],
                "numberType": n.get("type", "callingPlan"),
                "assignmentTargetId": by_upn[n["user"].lower()] if n.get("user") else None,
                "assignmentStatus": n.get("status", "userAssigned" if n.get("user") else "unassigned"),
                "activationState": "activated",
                "assignmentCategory": n.get("category", "primary") if n.get("user") else None,
                "isoCountryCode": n.get("country", "US"),
                "city": n.get("city"),
                "locationId": n.get("location"),
                "capabilities": n.get("capabilities", ["userAssignment"]),
            }
            for n in spec["numbers"]
        ]
    if "configurations" in spec:  # each user's Teams configuration `{upn: {policies: {type: name}}}`; absent: not read
        named = spec["configurations"] or {}
        document["userConfigurations"] = [_configuration(u, named.get(u["userPrincipalName"], {})) for u in users]
    if "policies" in spec:  # getPolicyId's answers: `[{type, name, found (default true)}]`
        document["policies"] = [
            {
                "policyType": p["type"],
                "name": p["name"],
                "value": [{"name": f"Tag:{p['name']}", "policyId": guid("policy", f"{p['type']}:{p['name']}")}]
                if p.get("found", True)
                else [],
            }
            for p in spec["policies"]
        ]
    if "cloud" in spec:
        document["cloud"] = spec["cloud"]
    return document


def _configuration(user: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """A user's teamsUserConfiguration: the policies the case gives them, as direct assignments."""
    return {
        "id": user["id"],
        "userPrincipalName": user["userPrincipalName"],
        "isEnterpriseVoiceEnabled": True,
        "telephoneNumbers": [],
        "effectivePolicyAssignments": [
            {
                "policyType": policy_type,
                "policyAssignment": {
                    "displayName": name,
                    "assignmentType": "direct",
                    "policyId": guid("policy", f"{policy_type}:{name}"),
                },
            }
            for policy_type, name in (spec.get("policies") or {}).items()
        ],
    }


def _group_license(entry: str | dict[str, Any]) -> dict[str, Any]:
    entry = {"sku": entry} if isinstance(entry, str) else entry
    sku = _catalog_sku(entry["sku"])
    plan_ids = {p.name.lower(): p.id for p in sku.service_plans}
    return {"skuId": sku.sku_id, "disabledPlans": [plan_ids[n.lower()] for n in entry.get("disabledPlans", [])]}


def _expand_user(user: dict[str, Any], groups: list[dict[str, Any]], holders: Counter[str]) -> dict[str, Any]:
    user_id = user.get("id", guid("user", user["upn"]))
    states = []
    licenses = list(user.get("licenses", []))
    if user.get("teams", True) and not any(
        Capability.TEAMS in _catalog_sku(e if isinstance(e, str) else e["sku"]).capabilities for e in licenses
    ):
        licenses.append(TEAMS_SKU)
    for entry in licenses:
        entry = {"sku": entry} if isinstance(entry, str) else entry
        sku = _catalog_sku(entry["sku"])
        plan_ids = {p.name.lower(): p.id for p in sku.service_plans}
        group = None
        if "group" in entry:  # inheriting from a group means being one of its members
            group = next((g for g in groups if g["displayName"] == entry["group"]), None)
            if group is None:
                group = {"id": guid("group", entry["group"]), "displayName": entry["group"], "members": []}
                groups.append(group)
            if user_id not in group["members"]:
                group["members"].append(user_id)
        states.append(
            {
                "skuId": sku.sku_id,
                "disabledPlans": [plan_ids[name.lower()] for name in entry.get("disabledPlans", [])],
                "assignedByGroup": group["id"] if group else None,
                "state": entry.get("state", "Active"),
                "error": entry.get("error", "None"),
            }
        )
    holders.update({s["skuId"] for s in states})
    obj: dict[str, Any] = {
        "id": user_id,
        "userPrincipalName": user["upn"],
        "displayName": user["upn"].split("@")[0].title(),
        "accountEnabled": user.get("enabled", True),
        "usageLocation": user.get("usageLocation", "US"),
        "assignedLicenses": [{"skuId": s["skuId"], "disabledPlans": s["disabledPlans"]} for s in states],
        "licenseAssignmentStates": states,
    }
    for key, value in user.items():
        if key.startswith("extensionAttribute"):
            obj.setdefault("onPremisesExtensionAttributes", {})[key] = value
        elif key not in ("upn", "id", "enabled", "usageLocation", "licenses", "teams"):
            obj[key] = value
    return obj


def load_case(path: Path, tmp_path: Path) -> tuple[dict[str, Any], DesiredState, dict[str, Any]]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(case) <= {"description", "config", "tenant", "expect"}, f"unknown keys in {path.name}"
    config_file = tmp_path / "licensing.yaml"
    config_file.write_text(yaml.safe_dump(case["config"], sort_keys=False), encoding="utf-8")
    return case, load_desired_state(config_file), expand_tenant(case["tenant"])


def run(desired: DesiredState, document: dict[str, Any]) -> Plan:
    tenant = parse_snapshot(copy.deepcopy(document), "case", desired.selected_attributes)
    return plan(desired, tenant, load_availability())


def compact(result: Plan, document: dict[str, Any]) -> dict[str, Any]:
    """The plan in the cases' own shorthand: plan names instead of ids, defaults left out."""
    names = {p["servicePlanId"]: p["servicePlanName"] for s in document["subscribedSkus"] for p in s["servicePlans"]}
    changes = {}
    for change in result.changes:
        entry: dict[str, Any] = {"rules": list(change.rules)}
        if change.add_licenses:
            entry["add"] = [
                {"sku": a.sku_part_number, "disabledPlans": sorted(names[p] for p in a.disabled_plans)}
                if a.disabled_plans
                else a.sku_part_number
                for a in change.add_licenses
            ]
        if change.remove_licenses:
            entry["remove"] = sorted(r.sku_part_number for r in change.remove_licenses)
        if change.set_usage_location:
            entry["usageLocation"] = change.set_usage_location
        if change.destructive:
            entry["destructive"] = True
        entry["reasons"] = {r.sku_part_number: r.reason.value if r.reason else None for r in change.remove_licenses}
        entry["numbers"] = [
            f"{n.action.value} {n.number} {n.number_type}{' after license' if n.after_license else ''}"
            for n in change.number_changes
        ]
        entry["policies"] = [f"{p.policy_type}={p.policy_name}" for p in change.policy_changes]
        changes[change.user_principal_name] = entry
    gaps = [[g.code.value, g.user_principal_name, g.sku_part_number, g.severity.value] for g in result.gaps]
    seats = {
        s.sku_part_number: {
            "toAdd": s.to_add,
            "toRemove": s.to_remove,
            "available": s.available,
            "shortfall": s.shortfall,
            "redundant": s.redundant,
        }
        for s in result.seats
    }
    groups = {}
    for group_change in result.group_changes:
        group_entry: dict[str, Any] = {}
        if group_change.add_licenses:
            group_entry["add"] = [
                {"sku": a.sku_part_number, "disabledPlans": sorted(names[p] for p in a.disabled_plans)}
                if a.disabled_plans
                else a.sku_part_number
                for a in group_change.add_licenses
            ]
        if group_change.remove_licenses:
            group_entry["remove"] = sorted(r.sku_part_number for r in group_change.remove_licenses)
        groups[group_change.group_name] = group_entry
    refusals = [
        {"reason": r.reason, "code": r.code.value, "subjects": list(r.subjects)}
        if r.code
        else {"reason": r.reason, "limit": r.limit, "planned": r.planned}
        for r in result.refusals
    ]
    rules = {
        r.rule: {
            "selected": r.selected,
            "changed": r.changed,
            "adds": r.adds,
            "removals": r.removals,
            "withheld": r.withheld,
            "skipped": r.skipped,
        }
        for r in result.rule_summaries
    }
    pools = {
        f"{p.iso_country_code} {p.number_type}": {"free": p.free, "needed": p.needed, "short": p.short}
        for p in result.number_pools
    }
    return {
        "changes": changes,
        "gaps": gaps,
        "seats": seats,
        "numberPools": pools,
        "groupChanges": groups,
        "applyWouldRefuse": refusals,
        "rules": rules,
    }


def _normal_change(entry: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """The entry's fields a case compares: the rules and removal reasons only where the wanted entry gives them."""
    adds = [{"sku": a, "disabledPlans": []} if isinstance(a, str) else a for a in entry.get("add", [])]
    normal = {
        "add": sorted((a["sku"], sorted(a.get("disabledPlans", []))) for a in adds),
        "remove": sorted(entry.get("remove", [])),
        "usageLocation": entry.get("usageLocation"),
        "destructive": entry.get("destructive", False),
        "numbers": entry.get("numbers", []),
        "policies": entry.get("policies", []),
    }
    optional: dict[str, Any] = {key: entry.get(key) for key in ("rules", "reasons") if key in want}
    return {**normal, **optional}


def mismatches(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    problems = []
    want_changes = want.get("changes") or {}
    for upn in sorted(set(got["changes"]) | set(want_changes)):
        g, w = got["changes"].get(upn), want_changes.get(upn)
        if g is None or w is None or _normal_change(g, w) != _normal_change(w, w):
            problems.append(f"change for {upn}: got {g}, want {w}")
    want_groups = want.get("groupChanges") or {}
    for name in sorted(set(got["groupChanges"]) | set(want_groups)):
        g, w = got["groupChanges"].get(name), want_groups.get(name)
        if g is None or w is None or _normal_change(g, {}) != _normal_change(w, {}):
            problems.append(f"group change for {name}: got {g}, want {w}")
    left = [tuple(gap) for gap in got["gaps"]]
    wanted = sorted((tuple(gap) for gap in want.get("gaps") or []), key=len, reverse=True)  # exact ones first
    for gap in wanted:
        match = next((i for i, have in enumerate(left) if have[: len(gap)] == gap), None)
        if match is None:
            problems.append(f"missing gap {list(gap)}")
        else:
            left.pop(match)
    problems += [f"unexpected gap {list(gap)}" for gap in left]
    if "numberPools" in want and got["numberPools"] != want["numberPools"]:
        problems.append(f"numberPools: got {got['numberPools']}, want {want['numberPools']}")
    for part, numbers in (want.get("seats") or {}).items():
        line = got["seats"].get(part)
        if line is None or any(line[k] != v for k, v in numbers.items()):
            problems.append(f"seats {part}: got {line}, want {numbers}")
    if "applyWouldRefuse" in want and got["applyWouldRefuse"] != want["applyWouldRefuse"]:
        problems.append(f"applyWouldRefuse: got {got['applyWouldRefuse']}, want {want['applyWouldRefuse']}")
    for name, counts in (want.get("rules") or {}).items():
        row = got["rules"].get(name)
        if row is None or any(row[k] != v for k, v in counts.items()):
            problems.append(f"rule {name}: got {row}, want {counts}")
    return problems


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_plan_case(path: Path, tmp_path: Path) -> None:
    case, desired, document = load_case(path, tmp_path)
    got = compact(run(desired, document), document)
    problems = mismatches(got, case["expect"])
    if problems:
        pytest.fail("\n".join(["", *problems, "GOT:", _dump(got), "WANT:", _dump(case["expect"])]))


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)


# ---- properties a user relies on, over every case -----------------------------------------------------------------

CONTRACT_SEVERITY = {  # the gap codes page (teamslicensing.model.gapdocs)
    "USAGE_LOCATION_MISSING": "error",
    "SKU_NOT_IN_TENANT": "error",
    "SUBSCRIPTION_NOT_ACTIVE": "error|warning",
    "SEAT_SHORTAGE": "error",
    "CALLING_PLAN_WITHOUT_PHONE_SYSTEM": "error",
    "CREDITS_WITHOUT_PREREQUISITE": "error",
    "TENANT_HAS_NO_CREDITS_SUBSCRIPTION": "error",
    "PHONE_SYSTEM_WITHOUT_CALLING_PLAN": "warning",
    "CREDITS_RECOMMENDED": "info",
    "GROUP_LICENSE_ERROR": "error",
    "INHERITED_LICENSE_NOT_REMOVED": "warning",
    "PROTECTED_USER_SKIPPED": "info",
    "DISABLED_ACCOUNT_SKIPPED": "info",
    "REDUNDANT_LICENSE": "info",
    "MUTUALLY_EXCLUSIVE_LICENSES": "error",
    "PHONE_NUMBER_AT_RISK": "warning",
    "NOT_AVAILABLE_IN_USAGE_LOCATION": "warning",
    "USER_NOT_FOUND": "error",
    "PROTECTED_USER_NOT_FOUND": "error",
    "CALLING_PLANS_STACKED": "warning",
    "CREDITS_WITHOUT_PSTN_USE": "warning",
    "RESOURCE_ACCOUNT_NEEDS_PAYG": "warning",
    "TEAMS_LICENSE_MISSING": "error|warning",
    "ALREADY_COVERED": "info",
    "RESOURCE_ACCOUNT_LICENSE_CONFLICT": "error",
    "UNFUNDED_USAGE_LICENSE": "warning",
    "NUMBER_INVENTORY_UNAVAILABLE": "error|info",
    "GROUP_NOT_FOUND": "error",
    "SELECTION_SUSPECT": "warning",
    "USER_UNREADABLE": "warning",
    "READ_SCOPED": "info",  # live reads only (tests/graph/test_scoped_reads.py), so no snapshot case has it
    "MIGRATION_WAITING": "info",
    "GROUP_LICENSE_NOT_INHERITED": "warning",
    "GROUP_LICENSE_PENDING": "info",
    "USAGE_LOCATION_FROM_TENANT": "info",
    "CREDITS_NEEDED_BY_USAGE": "warning",  # the usage report's (tests/planner/test_usage.py)
    "TOLL_FREE_WITHOUT_CREDITS": "error",
    "POOL_FORECAST_EXHAUSTED": "warning",
    "RECLAIMABLE_LICENSE": "info",
    "ACKNOWLEDGEMENT_EXPIRED": "warning",  # policy.acknowledge, after planning (tests/planner/test_acknowledge.py)
    "PRUNE_LIMITED_TO_VOICE": "info",
    "NO_FREE_NUMBER": "error",
    "NUMBER_IN_USE": "error",
    "NUMBER_NOT_IN_INVENTORY": "error",
    "NUMBER_WAITS_FOR_LICENSE": "info",
    "EMERGENCY_LOCATION_MISSING": "error",
    "POLICY_NOT_FOUND": "error",
    "NUMBERS_NOT_IN_CLOUD": "error",
    "TEAMS_CONFIGURATION_UNAVAILABLE": "warning",
    "NUMBER_LICENSE_MISSING": "error",
    "NUMBER_TYPE_CONFLICT": "error",
    "VOICE_RULES_DIFFER": "warning",
}
LIVE_ONLY = {
    "READ_SCOPED",
    "CREDITS_NEEDED_BY_USAGE",
    "TOLL_FREE_WITHOUT_CREDITS",
    "POOL_FORECAST_EXHAUSTED",
    "RECLAIMABLE_LICENSE",
    "ACKNOWLEDGEMENT_EXPIRED",
}


def test_cases_cover_every_gap_code_with_its_contract_severity(tmp_path: Path) -> None:
    seen: set[str] = set()
    for path in CASES:
        _, desired, document = load_case(path, tmp_path)
        for gap in run(desired, document).gaps:
            assert gap.severity.value in CONTRACT_SEVERITY[gap.code.value].split("|"), (path.stem, gap)
            seen.add(gap.code.value)
    assert seen == set(CONTRACT_SEVERITY) - LIVE_ONLY


def _shuffled(document: dict[str, Any], seed: int) -> dict[str, Any]:
    shuffled = copy.deepcopy(document)
    rng = random.Random(seed)
    for key in ("subscribedSkus", "users", "groups"):
        rng.shuffle(shuffled[key])
    for user in shuffled["users"]:
        rng.shuffle(user["licenseAssignmentStates"])
    for group in shuffled["groups"]:
        rng.shuffle(group["members"])
    return shuffled


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_plan_is_deterministic_whatever_the_input_order(path: Path, tmp_path: Path) -> None:
    _, desired, document = load_case(path, tmp_path)
    first = run(desired, document)
    assert run(desired, document) == first
    for seed in range(3):
        assert run(desired, _shuffled(document, seed)) == first


def apply_changes(document: dict[str, Any], result: Plan) -> dict[str, Any]:
    """What Graph would hold after the plan's assignLicense calls and usage-location updates (the product's one
    implementation of that, which `apply --snapshot` writes through too)."""
    applied = copy.deepcopy(document)
    tenant = TenantDocument(applied)
    for group_change in result.group_changes:  # Entra processes these later; a snapshot at once
        adds = [(a.sku_id, a.disabled_plans) for a in group_change.add_licenses]
        status, body = tenant.assign_group_license(
            group_change.group_id, adds, [r.sku_id for r in group_change.remove_licenses]
        )
        assert status == 202, f"{group_change.group_name}: the plan made a group write Graph would refuse: {body}"
    # the executor's order: users who only lose licenses free their seats first
    removals_first = sorted(result.changes, key=lambda c: bool(c.add_licenses))
    for change in removals_first:
        if change.set_usage_location:
            assert tenant.set_usage_location(change.user_id, change.set_usage_location)[0] == 204
        if not change.changes_licenses:
            continue
        adds = [(a.sku_id, a.disabled_plans) for a in change.add_licenses]
        status, body = tenant.assign_license(change.user_id, adds, [r.sku_id for r in change.remove_licenses])
        assert status == 200, f"{change.user_principal_name}: the plan made a write Graph would refuse: {body}"
    teams = TeamsDocument(applied)  # after every license: unassignments first, then policies and numbers
    for change in result.changes:
        for number in (n for n in change.number_changes if n.action is NumberAction.UNASSIGN):
            assert teams.unassign_number(number.number, number.number_type)[0] == 202
    for change in result.changes:
        for policy in change.policy_changes:
            policy_id = guid("policy", f"{policy.policy_type}:{policy.policy_name}")
            assert teams.assign_policy(change.user_id, policy.policy_type, policy.policy_name, policy_id)[0] == 204
        for number in (n for n in change.number_changes if n.action is NumberAction.ASSIGN):
            status, body = teams.assign_number(change.user_id, number.number, number.number_type, number.location_id)
            assert status == 202, f"{change.user_principal_name}: the plan assigned a number Teams would refuse: {body}"
    return applied


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_planning_again_after_applying_the_plan_changes_nothing(path: Path, tmp_path: Path) -> None:
    _, desired, document = load_case(path, tmp_path)
    first = run(desired, document)
    again = run(desired, apply_changes(document, first))
    if desired.group_licenses:  # a migration removes direct copies once the group's copy is Active: a run later
        again = run(desired, apply_changes(apply_changes(document, first), again))
    elif any(g.code is GapCode.SEAT_SHORTAGE for g in first.gaps) and any(c.remove_licenses for c in first.changes):
        # a seat a swap frees is promised to nobody in the run that frees it: the next run gives it out
        again = run(desired, apply_changes(apply_changes(document, first), again))
    assert again.changes == (), compact(again, document)["changes"]
    assert again.group_changes == ()


def test_a_seat_shortage_beside_a_group_write_counts_what_the_group_takes(tmp_path: Path) -> None:
    (case,) = [c for c in CASES if c.name == "group_license_seats_shared_with_rules.yaml"]
    _, desired, document = load_case(case, tmp_path)
    (gap,) = [
        g for g in run(desired, document).gaps if g.code.value == "SEAT_SHORTAGE" and g.user_principal_name is None
    ]
    assert gap.message == (
        "1 more MCOEV seat needed: 4 new assignments wanted (2 through group license writes), 3 seats available"
    )


def test_an_attribute_that_names_no_country_is_named_in_the_gap(tmp_path: Path) -> None:
    _, desired, document = load_case(Path(__file__).parent / "cases" / "usage_location_from.yaml", tmp_path)
    (gap,) = [g for g in run(desired, document).gaps if g.code.value == "USAGE_LOCATION_MISSING"]
    assert "country 'Narnia' names no country" in gap.message


def test_the_number_inventory_names_the_number_a_removal_would_take(tmp_path: Path) -> None:
    import dataclasses

    from teamslicensing.report import render

    _, desired, document = load_case(Path(__file__).parent / "cases" / "number_inventory.yaml", tmp_path)
    (gap,) = [g for g in run(desired, document).gaps if g.code.value == "PHONE_NUMBER_AT_RISK"]
    assert "+14255550101 (callingPlan)" in gap.message
    allowed = dataclasses.replace(desired, policy=dataclasses.replace(desired.policy, allow_number_loss=True))
    result = run(allowed, document)
    lu = next(c for c in result.changes if c.user_principal_name == "lu@contoso.com")
    assert lu.destructive
    assert lu.phone_numbers == ("+14255550101 (callingPlan)",)
    kai = next(c for c in result.changes if c.user_principal_name == "kai@contoso.com")
    assert not kai.destructive, "no number, nothing to lose"
    assert (
        "lu@contoso.com: removes MCOEV (Microsoft Teams Phone Standard), "
        "MCOPSTN1 (Microsoft Teams Domestic Calling Plan); loses +14255550101 (callingPlan)"
    ) in render(result, "text")
