"""A deterministic tenant for `init`: voice teams whose groups hold the same stand-alone voice licenses, as a tenant
licensed by hand for years looks, with the drift such a tenant has.

- Voice teams: a group per team (`Voice - Team 007`), every member holding the team's licenses directly. Teams share
  combinations, so several groups hold the same licenses (init must make one rule per group). One team in five holds
  Teams Phone with Calling Plan with the calling plan turned off (init must keep the plan off).
- Drift inside a team's group: one member in a hundred has joined the group but holds nothing yet (init must exclude
  them by name, or it would license them).
- A dial-in desk: the users of one department hold Audio Conferencing and belong to no voice group (init must select
  them by the department).
- Stragglers: one user in 500 holds Teams Phone alone, in no voice group and no department of their own (init names
  them while they are few, else leaves them out and says so).
- Disabled accounts holding Teams Phone (init leaves them out: the planner does not change them).

Everything else holds Microsoft 365 E3 through nothing voice. `expected` says what the generator built, for tests
and the benchmark to compare with what init found.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teamslicensing.reference.catalog import CatalogSku, load_catalog

COMPACT = (",", ":")
TEAM_SIZE = 400
COMBOS: tuple[tuple[str, ...], ...] = (
    ("MCOEV", "MCOPSTN1"),
    ("MCOEV", "MCOPSTN2", "MCOPSTNC"),
    ("MCOEV",),
    ("MCOEV", "MCOPSTN1", "MCOPSTNC"),
    ("MCOTEAMS_ESSENTIALS",),  # with its calling plan (MCOPSTN1) off
)
OFF_IN_ESSENTIALS = "MCOPSTN1"
PART_NUMBERS = ("SPE_E3", "MCOEV", "MCOPSTN1", "MCOPSTN2", "MCOPSTNC", "MCOMEETADV", "MCOTEAMS_ESSENTIALS")
DIAL_IN_DEPARTMENT = "Dial-in Desk"


@dataclass
class Expected:
    """What the generator built."""

    holders: int = 0  # users holding a stand-alone voice license directly, disabled accounts included
    teams: int = 0
    drift: set[str] = field(default_factory=set)  # UPNs in a voice group who hold nothing
    stragglers: set[str] = field(default_factory=set)  # UPNs of Teams Phone holders in no voice group
    disabled_holders: set[str] = field(default_factory=set)
    dial_in: int = 0


def write_adoption_snapshot(path: Path, users: int, seed: int = 27) -> Expected:
    rng = random.Random(seed)
    catalog = load_catalog()
    skus = {pn: catalog.by_part_number(pn)[0] for pn in PART_NUMBERS}
    teams = max(2, users * 3 // 10 // TEAM_SIZE)
    expected = Expected(teams=teams)
    members: dict[str, list[str]] = {f"Voice - Team {t:03}": [] for t in range(teams)}
    consumed = dict.fromkeys(PART_NUMBERS, 0)
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"tenantName":"Fabrikam (synthetic)","users":[')
        for index in range(users):
            user, held = _user(index, rng, teams, members, expected, skus)
            for part in held:
                consumed[part] += 1
            out.write(("," if index else "") + json.dumps(user, separators=COMPACT))
        out.write('],"groups":')
        groups = [
            {"id": f"6a000000-0000-4000-8000-{t:012x}", "displayName": name, "members": ids}
            for t, (name, ids) in enumerate(members.items())
        ]
        json.dump(groups, out, separators=COMPACT)
        out.write(',"subscribedSkus":')
        json.dump([_subscribed(skus[pn], consumed[pn]) for pn in PART_NUMBERS], out, separators=COMPACT)
        out.write("}")
    return expected


def _user(
    index: int,
    rng: random.Random,
    teams: int,
    members: dict[str, list[str]],
    expected: Expected,
    skus: dict[str, CatalogSku],
) -> tuple[dict[str, Any], tuple[str, ...]]:
    user_id = f"7b000000-0000-4000-8000-{index:012x}"
    upn = f"user{index:06}@fabrikam.example"
    enabled, department = True, f"Department {rng.randrange(40):02}"
    held: tuple[str, ...] = ()
    draw = rng.random()
    if draw < 0.30:
        team = rng.randrange(teams)
        members[f"Voice - Team {team:03}"].append(user_id)
        if rng.random() < 0.01:
            expected.drift.add(upn)
        else:
            held = COMBOS[team % len(COMBOS)]
    elif draw < 0.31:
        department, held = DIAL_IN_DEPARTMENT, ("MCOMEETADV",)
        expected.dial_in += 1
    elif draw < 0.312:
        held = ("MCOEV",)
        expected.stragglers.add(upn)
    elif draw < 0.313:
        enabled, held = False, ("MCOEV",)
        expected.disabled_holders.add(upn)
    expected.holders += bool(held)
    licenses = [_license(skus[pn]) for pn in ("SPE_E3", *held)]
    document = {
        "id": user_id,
        "userPrincipalName": upn,
        "displayName": f"User {index}",
        "accountEnabled": enabled,
        "usageLocation": "US",
        "department": department,
        "assignedLicenses": licenses,
        "licenseAssignmentStates": [
            {**assigned, "assignedByGroup": None, "state": "Active", "error": "None"} for assigned in licenses
        ],
    }
    return document, ("SPE_E3", *held)


def _license(sku: CatalogSku) -> dict[str, Any]:
    off = [p.id for p in sku.service_plans if sku.part_number == "MCOTEAMS_ESSENTIALS" and p.name == OFF_IN_ESSENTIALS]
    return {"skuId": sku.sku_id, "disabledPlans": off}


def _subscribed(sku: CatalogSku, consumed: int) -> dict[str, Any]:
    return {
        "skuId": sku.sku_id,
        "skuPartNumber": sku.part_number,
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": consumed,
        "prepaidUnits": {"enabled": consumed + 50, "suspended": 0, "warning": 0},
        "servicePlans": [
            {"servicePlanId": p.id, "servicePlanName": p.name, "provisioningStatus": "Success", "appliesTo": "User"}
            for p in sku.service_plans
        ],
    }


def with_all_staff_groups(path: Path, count: int, prefix: str = "6c000000-0000-4000-8000-") -> dict[str, Any]:
    """The snapshot at `path` with `count` more groups holding every user (all-hands, site, building groups, too
    large to be a rule), written back; its document."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    everybody = [user["id"] for user in document["users"]]
    for n in range(count):
        name = "All Staff" if count == 1 else f"All Staff {n:03}"
        document["groups"].append({"id": f"{prefix}{n:012x}", "displayName": name, "members": everybody})
    path.write_text(json.dumps(document), encoding="utf-8")
    return document
