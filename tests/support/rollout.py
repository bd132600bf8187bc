"""A synthetic tenant for fault tests: N users in one group, each holding Teams and Phone System, each needing a
Calling Plan (one assignLicense per user), in Graph's own JSON."""

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


def rollout_document(users: int, *, holding_calling_plan: int = 0) -> dict[str, Any]:
    """`users` users; the first `holding_calling_plan` of them already hold MCOPSTN1."""

    def sku(sku_id: str, part: str, plans: list[tuple[str, str]], consumed: int) -> dict[str, Any]:
        return {
            "skuId": sku_id,
            "skuPartNumber": part,
            "appliesTo": "User",
            "capabilityStatus": "Enabled",
            "accountId": TENANT_ID,
            "consumedUnits": consumed,
            "prepaidUnits": {"enabled": users * 2, "suspended": 0, "warning": 0},
            "servicePlans": [
                {"servicePlanId": pid, "servicePlanName": name, "provisioningStatus": "Success"} for pid, name in plans
            ],
        }

    people = []
    for n in range(users):
        held = [{"skuId": TEAMS, "disabledPlans": []}, {"skuId": MCOEV, "disabledPlans": []}]
        if n < holding_calling_plan:
            held.append({"skuId": MCOPSTN1, "disabledPlans": []})
        people.append(
            {
                "id": user_id(n),
                "userPrincipalName": f"user{n:06d}@contoso.com",
                "displayName": f"User {n}",
                "accountEnabled": True,
                "usageLocation": "US",
                "assignedLicenses": held,
                "licenseAssignmentStates": [
                    {**h, "assignedByGroup": None, "state": "Active", "error": "None"} for h in held
                ],
            }
        )
    return {
        "tenantId": TENANT_ID,
        "subscribedSkus": [
            sku(TEAMS, "Microsoft_Teams_Enterprise_New", [("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1")], users),
            sku(MCOEV, "MCOEV", [("4828c8ec-dc2e-4779-b502-87ac9ce28ab7", "MCOEV")], users),
            sku(MCOPSTN1, "MCOPSTN1", [("4ed3ff63-69d7-4fb7-b984-5aec7f605ca8", "MCOPSTN1")], holding_calling_plan),
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
