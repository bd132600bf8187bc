"""A small tenant for the Teams administration API, in Graph's own JSON: users with and without Phone System and a
Calling Plan, a number inventory in two countries (held, free, Direct Routing, a conferencing-only number), policies
of two types, one user's Teams configuration and an emergency location. The fake's tests use it; the planner's and
apply's may build on it."""

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

ANN, BEN, CAT, DAN, EVE, FAY = (f"00000000-0000-4000-8000-{n:012d}" for n in range(6))
HELD = "+14255550100"  # ann's Calling Plan number (US), with an emergency location
FREE_US = "+14255550101"  # a free US Calling Plan number without a location
FREE_US_PLACED = "+14255550102"  # a free US Calling Plan number whose location is set
FREE_GB = "+442071230001"  # a free UK Calling Plan number (the UK sets locations when numbers are acquired)
FREE_DR = "+12065550199"  # a free Direct Routing number
CONFERENCE = "+14255550900"  # a service number: conferencing only, never a user's
LOCATION = "8f1c0f9e-5b0a-4c3e-9d55-0a4f2d9c1a01"  # the tenant's one validated emergency location (US)
GROUP = "9a000000-0000-4000-8000-0000000000aa"  # the group ann's meeting policy comes through

ALLOW_CALLING = "f7593e81-772a-4455-88a3-fc9e5ebc1e4a"
NO_CALLING = "0b1b6a66-3a2d-4c62-9d39-0f5ad8f4a8b2"
ROUTING = "VnMAaN3X2X1B9tEHx1CJWfC76PSaKEzA4NoUuqIMRUo"  # not a GUID: the docs' example id is not one either
MEETINGS = "J93PmFHwFcLZhWfYcBlv9pn-hG-kUWkcxmkDvpwgacw"


def lookup(policy_type: str, name: str, policy_id: str | None) -> dict[str, Any]:
    """A getPolicyId answer as snapshots keep it (and the fake reads policies from): none when `policy_id` is None."""
    rows = [] if policy_id is None else [{"name": f"Tag:{name}", "policyId": policy_id}]
    return {"policyType": policy_type, "name": name, "value": rows}


def number(telephone: str, kind: str, country: str, holder: str | None = None, **more: Any) -> dict[str, Any]:
    """A numberAssignment as Graph lists it."""
    entry: dict[str, Any] = {
        "id": f"id-{telephone.lstrip('+')}",
        "telephoneNumber": telephone,
        "operatorId": "7a205197-6fd1-4c5a-9eb7-e6b23aa7e1b7",
        "numberType": kind,
        "activationState": "activated",
        "capabilities": ["userAssignment"],
        "isoCountryCode": country,
        "city": "Redmond" if country == "US" else "London",
        "locationId": None,
        "civicAddressId": None,
        "networkSiteId": None,
        "assignmentTargetId": holder,
        "assignmentCategory": "primary" if holder else None,
        "assignmentStatus": "userAssigned" if holder else "unassigned",
        "numberSource": "online",
        "portInStatus": "completed",
        "reverseNumberLookupOptions": [],
        "supportedCustomerActions": ["locationUpdate", "release"],
    }
    entry.update(more)
    return entry


def inventory() -> list[dict[str, Any]]:
    return [
        number(HELD, "callingPlan", "US", ANN, locationId=LOCATION),
        number(FREE_US, "callingPlan", "US"),
        number(FREE_US_PLACED, "callingPlan", "US", locationId=LOCATION),
        number(FREE_GB, "callingPlan", "GB"),
        number(FREE_DR, "directRouting", "US"),
        number(CONFERENCE, "callingPlan", "US", capabilities=["conferenceAssignment"]),
    ]


def teams_document() -> dict[str, Any]:
    voice = [state(TEAMS), state(MCOEV), state(MCOPSTN1)]
    users = [
        user_object(0, voice),  # ann: voice, holds HELD
        user_object(1, voice),  # ben: voice, no number
        user_object(2, [state(TEAMS), state(MCOEV)]),  # cat: Phone System, no Calling Plan
        user_object(3, [state(TEAMS)]),  # dan: no Phone System
        {**user_object(4, voice), "usageLocation": "GB"},  # eve: voice, in the UK
        user_object(5, [state(TEAMS), state(MCOEV), state(MCOPSTN1, status="Error", error="CountViolation")]),  # fay
    ]
    return {
        "tenantId": TENANT_ID,
        "subscribedSkus": [
            sku_object(TEAMS, "Microsoft_Teams_Enterprise_New", TEAMS_PLANS, 6, 10),
            sku_object(MCOEV, "MCOEV", MCOEV_PLANS, 5, 10),
            sku_object(MCOPSTN1, "MCOPSTN1", MCOPSTN1_PLANS, 3, 10),
        ],
        "users": users,
        "groups": [{"id": GROUP, "displayName": "Meetings", "members": [ANN]}],
        "numberAssignments": inventory(),
        "policies": [
            lookup("TeamsCallingPolicy", "AllowCalling", ALLOW_CALLING),
            lookup("TeamsCallingPolicy", "No Calling", NO_CALLING),
            lookup("OnlineVoiceRoutingPolicy", "O'Brien Routing", ROUTING),
            lookup("TeamsMeetingPolicy", "CustomPolicy", MEETINGS),
        ],
        "userConfigurations": [
            {
                "id": ANN,
                "userPrincipalName": "user000000@contoso.com",
                "tenantId": TENANT_ID,
                "accountType": "user",
                "isEnterpriseVoiceEnabled": True,
                "telephoneNumbers": [{"telephoneNumber": HELD, "assignmentCategory": "primary"}],
                "effectivePolicyAssignments": [
                    {
                        "policyType": "TeamsMeetingPolicy",
                        "policyAssignment": {
                            "assignmentType": "group",
                            "displayName": "CustomPolicy",
                            "policyId": MEETINGS,
                            "groupId": GROUP,
                        },
                    },
                    {
                        "policyType": "TeamsCallingPolicy",
                        "policyAssignment": {
                            "assignmentType": "direct",
                            "displayName": "AllowCalling",
                            "policyId": ALLOW_CALLING,
                        },
                    },
                ],
                "featureTypes": ["Teams", "PhoneSystem", "CallingPlan"],
                "createdDateTime": "2025-01-07T09:08:50.9115993Z",
                "modifiedDateTime": "2025-01-07T09:08:50.9115993Z",
            }
        ],
        "emergencyLocations": [{"locationId": LOCATION, "countryOrRegion": "US"}],
    }
