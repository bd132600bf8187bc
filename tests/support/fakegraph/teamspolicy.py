"""Teams policies and user configurations as Graph v1.0 serves them (global cloud): `getPolicyId(type,name)` (a
collection of policyIdentifierDetail, the name as `Tag:{name}` the way the docs' example answers; none for a name
the tenant lacks, since the docs say only that a collection comes back), `userAssignments/assign` and `/unassign`
(204), and `userConfigurations` (paged with `$top` and `@odata.nextLink`, `$select`; one by the user's id).

A user's effective policy of a type is their direct assignment, else the group one the document gave them; a type
with neither is left out (the org-wide default has no assignmentType to show it with). assign and unassign check
every item before changing anything (Graph does not say whether a call is all or nothing: this is the stricter).
Policy types and names compare without regard to case, as Teams PowerShell identities do.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from tests.support.fakegraph.common import Json, _bad_request, _error, _Reply
from tests.support.fakegraph.teamsstate import Configuration, TeamsState, now, parameters

ARGUMENT = re.compile(r"(\w+)\s*=\s*'((?:[^']|'')*)'")
FEATURES = (("TEAMS", "Teams"), ("MCOEV", "PhoneSystem"), ("MCOMEETADV", "AudioConferencing"))
CONFIGURATION_TYPE = "#microsoft.graph.teamsAdministration.teamsUserConfiguration"


class TeamsPolicyRoutes(TeamsState):
    """getPolicyId, policy assign and unassign, userConfigurations."""

    def _get_policy_id(self, segment: str) -> _Reply:
        arguments = {k.lower(): v.replace("''", "'") for k, v in ARGUMENT.findall(unquote(segment))}
        if "type" not in arguments or "name" not in arguments:  # no overload of the function fits
            return _bad_request(f"Resource not found for the segment '{segment.split('(')[0]}'.", "BadRequest")
        kind, name = arguments["type"], arguments["name"].removeprefix("Tag:")
        rows = [
            {
                "@odata.type": "#microsoft.graph.teamsAdministration.policyIdentifierDetail",
                "name": f"Tag:{n}",
                "policyId": p,
            }
            for t, n, p in self._policies
            if t.lower() == kind.lower() and n.lower() == name.lower()
        ]
        context = f"{self.base_url}/$metadata#Collection(microsoft.graph.teamsAdministration.policyIdentifierDetail)"
        return _Reply(200, {"@odata.context": context, "value": rows})

    def _policy_write(self, action: str, body: Any, bad_body: bool) -> _Reply:
        checked = parameters(action, body, bad_body)
        if isinstance(checked, _Reply):
            return checked
        items: list[Json] = checked["value"]
        if not items:
            return _bad_request("The request must name at least one policy assignment.", "BadRequest")
        users = [self.user(str(item["userId"])) for item in items]
        for item, user in zip(items, users, strict=True):
            if user is None or str(user["id"]).lower() != str(item["userId"]).lower():  # an object id, not a UPN
                return _error(404, "NotFound", f"User '{item['userId']}' was not found.")
            if action == "assign":
                if item.get("policyId") is None:
                    return _bad_request("A policyId is required to assign a policy.", "BadRequest")
                if self._policy_name(item["policyType"], item["policyId"]) is None:
                    message = f"Policy '{item['policyId']}' of type '{item['policyType']}' was not found."
                    return _bad_request(message, "BadRequest")
        for item in items:
            configuration = self.configuration(str(item["userId"]))  # an id of a user, checked above
            kind = str(item["policyType"])
            if action == "assign":
                configuration.direct[kind.lower()] = (kind, str(item["policyId"]))
            else:
                configuration.direct.pop(kind.lower(), None)
            configuration.modified = now()
        self._teams_changed = True
        return _Reply(204)

    def _configuration_list(self, query: dict[str, str], raw_query: str) -> _Reply:
        if any(option in query for option in ("filter", "orderby", "expand", "search")):  # documented, not modelled
            return _error(400, "Request_UnsupportedQuery", "Unsupported Query.")
        fields = _fields(query)
        unknown = self._enum_unknown()

        def render(user: Json) -> Json:
            return _selected(self.rendered_configuration(user, unknown), fields)

        context = "admin/teams/userConfigurations"
        return self._page("/admin/teams/userConfigurations", raw_query, query, self._users, render, context)

    def _configuration_by_id(self, key: str, query: dict[str, str]) -> _Reply:
        user = self.user(key.strip("'"))
        if user is None or str(user["id"]).lower() != key.strip("'").lower():
            return _error(404, "NotFound", f"User configuration '{key}' was not found.")
        body = _selected(self.rendered_configuration(user, self._enum_unknown()), _fields(query))
        return _Reply(
            200, {"@odata.context": f"{self.base_url}/$metadata#admin/teams/userConfigurations/$entity", **body}
        )

    def _enum_unknown(self) -> bool:
        return "include-unknown-enum-members" in self._headers.get("prefer", "").lower()

    def rendered_configuration(self, user: Json, unknown_members: bool = True) -> Json:
        """The user's teamsUserConfiguration as Graph sends it (evolvable enum members only to who asks)."""
        user_id = str(user["id"])
        configuration = self._configurations.get(user_id.lower()) or Configuration()
        numbers = [
            {"telephoneNumber": number, "assignmentCategory": entry.get("assignmentCategory") or "primary"}
            for number in self.numbers_held(user_id)
            for entry in (self._number_index[number],)
        ]
        account = configuration.account_type
        if account == "ineligibleUser" and not unknown_members:  # after unknownFutureValue in accountType
            account = "unknownFutureValue"
        return {
            "@odata.type": CONFIGURATION_TYPE,
            "id": user_id,
            "userPrincipalName": str(user.get("userPrincipalName") or ""),
            "tenantId": self._tenant_id(),
            "accountType": account,
            "createdDateTime": configuration.created,
            "modifiedDateTime": configuration.modified,
            "isEnterpriseVoiceEnabled": configuration.enterprise_voice,
            "featureTypes": self._features(user),
            "telephoneNumbers": numbers,
            "effectivePolicyAssignments": self._effective(configuration),
        }

    def _effective(self, configuration: Configuration) -> list[Json]:
        effective = {kind: dict(given) for kind, given in configuration.group.items()}
        for kind, (policy_type, policy_id) in configuration.direct.items():
            assignment = {
                "assignmentType": "direct",
                "displayName": self._policy_name(policy_type, policy_id) or policy_id,
                "policyId": policy_id,
            }
            effective[kind] = {"policyType": policy_type, "policyAssignment": assignment}
        return [effective[kind] for kind in sorted(effective)]

    def _features(self, user: Json) -> list[str]:
        """featureTypes from the plans in effect ("Teams" and "CallingPlan" are the docs' example; the others are
        the fake's naming, as no list of values is documented)."""
        plans = self._teams_plans(user)
        found = [label for prefix, label in FEATURES if any(p.startswith(prefix) for p in plans)]
        if any(p.startswith("MCOPSTN") and p not in ("MCOPSTNC", "MCOPSTN3") for p in plans):
            found.append("CallingPlan")
        return found


def _fields(query: dict[str, str]) -> list[str] | None:
    select = query.get("select")
    return None if not select else ["id", *(n.strip() for n in select.split(",") if n.strip() and n.strip() != "id")]


def _selected(body: Json, fields: list[str] | None) -> Json:
    if fields is None:
        return body
    lowered = {key.lower(): key for key in body}
    return {lowered[name.lower()]: body[lowered[name.lower()]] for name in fields if name.lower() in lowered}
