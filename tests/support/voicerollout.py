"""A voice rollout in Graph's own JSON: users in the United States and the United Kingdom who hold Teams only and are
to get Phone System, a Domestic Calling Plan, a Calling Plan number of their country from the inventory and a
calling policy, all in one apply. The inventory has more free numbers than users, in both countries, and one number
someone outside the rollout holds (undo must leave it alone)."""

from __future__ import annotations

from typing import Any

from tests.support.rollout import (
    MCOEV,
    MCOEV_PLANS,
    MCOPSTN1,
    MCOPSTN1_PLANS,
    TEAMS,
    TEAMS_PLANS,
    TENANT_ID,
    sku_object,
    state,
    user_object,
)
from tests.support.teamstenant import lookup, number

LOCATION = "2b6f0c1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"  # the US office's validated emergency location
ALLOW_CALLING = "f7593e81-772a-4455-88a3-fc9e5ebc1e4a"
US_GROUP, GB_GROUP = "9a000000-0000-4000-8000-0000000000c1", "9a000000-0000-4000-8000-0000000000c2"
OUTSIDER = 99  # a user outside the rollout who holds a US number from before

CONFIG = f"""version: 1
rules:
  - name: us-voice
    select: {{groups: [Voice US]}}
    assign: [MCOEV, MCOPSTN1]
    usageLocation: US
    phoneNumber: {{type: callingPlan, locationId: {LOCATION}}}
    policies: {{TeamsCallingPolicy: AllowCalling}}
  - name: uk-voice
    select: {{groups: [Voice UK]}}
    assign: [MCOEV, MCOPSTN1]
    usageLocation: GB
    phoneNumber: {{type: callingPlan}}
    policies: {{TeamsCallingPolicy: AllowCalling}}
policy:
  maxChanges: 1000
"""


def us_number(n: int) -> str:
    return f"+1425555{n:04d}"


def gb_number(n: int) -> str:
    return f"+44207946{n:04d}"


def voice_document(us: int = 10, gb: int = 10, spare: int = 3) -> dict[str, Any]:
    """`us` users in the US group (ids 0..us-1), `gb` in the UK group, and `spare` free numbers more than they need
    in each country; the outsider holds Teams, Phone System, a Calling Plan and US number 9999."""
    people = [user_object(n, [state(TEAMS)]) for n in range(us)]
    people += [{**user_object(n, [state(TEAMS)]), "usageLocation": "GB"} for n in range(us, us + gb)]
    voice = [state(TEAMS), state(MCOEV), state(MCOPSTN1)]
    people.append(user_object(OUTSIDER, voice))
    inventory = [number(us_number(n), "callingPlan", "US") for n in range(us + spare)]
    inventory += [number(gb_number(n), "callingPlan", "GB", locationId=None) for n in range(gb + spare)]
    inventory.append(number(us_number(9999), "callingPlan", "US", people[-1]["id"], locationId=LOCATION))
    return {
        "tenantId": TENANT_ID,
        "subscribedSkus": [
            sku_object(TEAMS, "Microsoft_Teams_Enterprise_New", TEAMS_PLANS, len(people), 1000),
            sku_object(MCOEV, "MCOEV", MCOEV_PLANS, 1, 1000),
            sku_object(MCOPSTN1, "MCOPSTN1", MCOPSTN1_PLANS, 1, 1000),
        ],
        "users": people,
        "groups": [
            {"id": US_GROUP, "displayName": "Voice US", "members": [p["id"] for p in people[:us]]},
            {"id": GB_GROUP, "displayName": "Voice UK", "members": [p["id"] for p in people[us : us + gb]]},
        ],
        "numberAssignments": inventory,
        "policies": [lookup("TeamsCallingPolicy", "AllowCalling", ALLOW_CALLING)],
        "userConfigurations": [
            {
                "id": people[-1]["id"],
                "userPrincipalName": people[-1]["userPrincipalName"],
                "isEnterpriseVoiceEnabled": True,
                "telephoneNumbers": [{"telephoneNumber": us_number(9999), "assignmentCategory": "primary"}],
                "effectivePolicyAssignments": [],
            }
        ],
        "emergencyLocations": [{"locationId": LOCATION, "countryOrRegion": "US"}],
    }


def holders(document: dict[str, Any]) -> dict[str, str | None]:
    """Each inventory number's holder (None: free)."""
    return {
        n["telephoneNumber"]: n["assignmentTargetId"] if n["assignmentStatus"] != "unassigned" else None
        for n in document["numberAssignments"]
    }
