"""A synthetic tenant for fault tests: N users in one group, each holding Teams and Phone System, each needing a
Calling Plan (one assignLicense per user), in Graph's own JSON; and the user and SKU objects the benchmarks' larger
tenants are built of."""

from __future__ import annotations

from typing import Any

TENANT_ID = "7a1e0000-0000-4000-8000-00000000c0de"
TEAMS = "7e31c0d9-9551-471d-836f-32ee72be4a01"  # Microsoft_Teams_Enterprise_New
MCOEV = "e43b5b99-8dfb-405f-9987-dc307f34bcbd"
MCOPSTN1 = "0dab259f-bf13-4952-b7f8-7db8f131b28d"
GROUP_ID = "9a000000-0000-4000-8000-000000000001"

CONFIG = """version: 1
rules:
  - name: calling
    select: {groups: [Voice]}
    assign: [MCOEV, MCOPSTN1]
policy:
  maxChanges: 100000
"""


def user_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def state(sku_id: str, group: str | None = None, status: str = "Active", error: str = "None") -> dict[str, Any]:
    """One entry of a user's `licenseAssignmentStates`: direct, or inherited from `group`."""
    return {"skuId": sku_id, "disabledPlans": [], "assignedByGroup": group, "state": status, "error": error}


def user_object(n: int, states: list[dict[str, Any]], *, upn_digits: int = 6) -> dict[str, Any]:
    """User `n` holding `states`; `assignedLicenses` lists each SKU once, however many ways it is held."""
    skus = list(dict.fromkeys(s["skuId"] for s in states))
    return {
        "id": user_id(n),
        "userPrincipalName": f"user{n:0{upn_digits}d}@contoso.com",
        "displayName": f"User {n}",
        "accountEnabled": True,
        "usageLocation": "US",
        "assignedLicenses": [{"skuId": sku, "disabledPlans": []} for sku in skus],
        "licenseAssignmentStates": states,
    }


def sku_object(sku_id: str, part: str, plans: list[tuple[str, str]], consumed: int, enabled: int) -> dict[str, Any]:
    """A subscribed SKU with `plans` (service plan id, name), `consumed` of `enabled` units in use."""
    return {
        "skuId": sku_id,
        "skuPartNumber": part,
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "accountId": TENANT_ID,
        "consumedUnits": consumed,
        "prepaidUnits": {"enabled": enabled, "suspended": 0, "warning": 0},
        "servicePlans": [
            {"servicePlanId": pid, "servicePlanName": name, "provisioningStatus": "Success"} for pid, name in plans
        ],
    }


TEAMS_PLANS = [("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1")]
MCOEV_PLANS = [("4828c8ec-dc2e-4779-b502-87ac9ce28ab7", "MCOEV")]
MCOPSTN1_PLANS = [("4ed3ff63-69d7-4fb7-b984-5aec7f605ca8", "MCOPSTN1")]


def rollout_document(users: int, *, holding_calling_plan: int = 0) -> dict[str, Any]:
    """`users` users; the first `holding_calling_plan` of them already hold MCOPSTN1."""
    people = [
        user_object(n, [state(TEAMS), state(MCOEV), *([state(MCOPSTN1)] if n < holding_calling_plan else [])])
        for n in range(users)
    ]
    return {
        "tenantId": TENANT_ID,
        "subscribedSkus": [
            sku_object(TEAMS, "Microsoft_Teams_Enterprise_New", TEAMS_PLANS, users, users * 2),
            sku_object(MCOEV, "MCOEV", MCOEV_PLANS, users, users * 2),
            sku_object(MCOPSTN1, "MCOPSTN1", MCOPSTN1_PLANS, holding_calling_plan, users * 2),
        ],
        "users": people,
        "groups": [{"id": GROUP_ID, "displayName": "Voice", "members": [p["id"] for p in people]}],
    }


def holders(document: dict[str, Any], sku_id: str = MCOPSTN1) -> set[str]:
    """Ids of the users whose direct licenses include `sku_id`."""
    return {
        user["id"]
        for user in document["users"]
        for state in user.get("licenseAssignmentStates") or []
        if state["skuId"] == sku_id and state.get("assignedByGroup") is None
    }
