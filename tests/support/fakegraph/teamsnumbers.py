"""Teams phone numbers as Graph v1.0 serves them (global cloud): the inventory (`numberAssignments`, paged with
`$top` and `$skip`, one by id), `assignNumber` and `unassignNumber` (202 Accepted, a `Location` of the operation,
no body), the operation (`telephoneNumberLongRunningOperation`) and `updateNumber` (200, synchronous).

An operation moves one state per GET of it: `notStarted`, then `running` (`operation_steps - 1` times), then
`succeeded` or `failed`; the service's checks run and the inventory changes only when it ends (`finish_operations`
ends every open one, as time passing would). Graph documents no `statusDetail` text; these are the texts Teams
PowerShell's Set-CsPhoneNumberAssignment gave for the same backend's refusals (MicrosoftDocs/office-docs-powershell
#8905, #9281, #9432), and the fake's own words for the emergency-location and country rules, marked below.

An assignment fails when the number is not in the inventory with that numberType, cannot be given to users, is held
by someone else, when the user holds another primary number (an assumption: Graph says nothing of replacing one),
lacks the licenses Teams sees (Phone System for any number, and an active Calling Plan for a Calling Plan number),
when a Calling Plan number's country is not the user's usage location, or when a US or Canadian Calling Plan number
would have no emergency location (Microsoft's "Considerations for Calling Plans": there the location is required
when the number is assigned) or names one the tenant does not have.
"""

from __future__ import annotations

from typing import Any

from tests.support.fakegraph.common import (
    NUMBER_ASSIGNMENTS,
    NUMBER_PAGE_DEFAULT,
    NUMBER_PAGE_MAX,
    Json,
    _bad_request,
    _error,
    _Reply,
)
from tests.support.fakegraph.teamsstate import (
    CREDITS_PLANS,
    Operation,
    TeamsState,
    e164,
    now,
    operation_id,
    parameters,
)

OPERATIONS = "/admin/teams/telephoneNumberManagement/operations"
NOT_FOUND = "Telephone Number '{number}' is not found from tenant '{tenant}'."  # #8905
TAKEN = "Telephone Number '{number}' has already been assigned to another user."  # #9432
LACKS = "User '{user}' lacks appropriate licenses to assign a '{kind}' number."  # #8905, #9281
NO_USER = "User '{user}' was not found."
NOT_ASSIGNED = "Telephone Number '{number}' is not assigned."  # the fake's own words
NOT_FOR_USERS = "Telephone Number '{number}' cannot be assigned to a user."  # the fake's own words
HAS_PRIMARY = "User '{user}' already has a primary telephone number '{other}'."  # the fake's own words
WRONG_COUNTRY = (  # the fake's own words: Calling Plan numbers serve users of their own country
    "Telephone Number '{number}' is in '{country}' and cannot be assigned to a user whose usage location is '{usage}'."
)
NEEDS_LOCATION = "An emergency location is required to assign a Calling Plan number in '{country}'."  # fake's words
NO_LOCATION = "Location '{location}' was not found."  # the fake's own words
KEEPS_LOCATION = "The emergency location of a Calling Plan number cannot be removed."  # Set-CsPhoneNumberAssignment
LOCATION_AT_ASSIGNMENT = frozenset({"US", "CA"})  # "Considerations for Calling Plans" (ms.date 2024-05-08)
KIND_NAMES = {"callingplan": "CallingPlan", "directrouting": "DirectRouting", "operatorconnect": "OperatorConnect"}


class TeamsNumberRoutes(TeamsState):
    """numberAssignments, their three actions, and the operations."""

    def finish_operations(self) -> None:
        """End every open operation now, in the order they were made (the service works whether or not anyone
        polls)."""
        for operation in self._operations.values():
            if operation.status in ("notStarted", "running"):
                self._settle(operation)

    def _number_list(self, query: dict[str, str]) -> _Reply:
        """The inventory, paged the way the docs describe it: `$top` (500 by default, 1,000 at most) and `$skip`,
        no @odata.nextLink."""
        try:
            top = int(query.get("top", NUMBER_PAGE_DEFAULT))
            skip = int(query.get("skip", 0))
        except ValueError:
            return _bad_request("Invalid $top or $skip.")
        if not 1 <= top <= NUMBER_PAGE_MAX or skip < 0:
            return _bad_request(f"$top must be between 1 and {NUMBER_PAGE_MAX}; $skip must not be negative.")
        if "filter" in query:  # documented, but not modelled here: refused rather than ignored
            return _error(400, "Request_UnsupportedQuery", "Unsupported Query.")
        context = f"{self.base_url}/$metadata#admin/teams/telephoneNumberManagement/numberAssignments"
        numbers = self._numbers
        page = numbers[skip : skip + top] if isinstance(numbers, list) else numbers
        return _Reply(200, {"@odata.context": context, "value": page})

    def _number_by_id(self, key: str) -> _Reply:
        entry = next((n for n in self._number_index.values() if str(n.get("id")) == key), None)
        if entry is None:
            return _error(404, "NotFound", f"Number assignment '{key}' was not found.")
        context = f"{self.base_url}/$metadata#admin/teams/telephoneNumberManagement/numberAssignments/$entity"
        return _Reply(200, {"@odata.context": context, **entry})

    def _start(self, action: str, body: Any, bad_body: bool) -> _Reply:
        """assignNumber or unassignNumber: the body checked now, the work done by the operation."""
        checked = parameters(action, body, bad_body)
        if isinstance(checked, _Reply):
            return checked
        if action == "unassignNumber":  # nullable in the CSDL, required on the docs page: the service needs both
            missing = [n for n in ("telephoneNumber", "numberType") if checked.get(n) is None]
            if missing:
                return _bad_request(f"The parameter(s) {', '.join(missing)} must be given.", "BadRequest")
        kind = "Assignment" if action == "assignNumber" else "Unassignment"
        operation = Operation(
            id=operation_id(kind, self._rng.getrandbits(128)),
            kind="assign" if action == "assignNumber" else "unassign",
            number=e164(checked["telephoneNumber"]),
            number_type=checked.get("numberType"),
            target=checked.get("assignmentTargetId"),
            category=checked.get("assignmentCategory"),
            location=checked.get("locationId"),
        )
        self._operations[operation.id] = operation
        return _Reply(202, None, {"Location": f"{self.base_url}{OPERATIONS}('{operation.id}')"})

    def _operation_read(self, key: str) -> _Reply:
        operation = self._operations.get(key)
        if operation is None:
            return _error(404, "NotFound", f"Operation '{key}' was not found.")
        operation.polls += 1
        if operation.status in ("notStarted", "running"):
            step = operation.polls - 1
            if step >= self.operation_steps:
                self._settle(operation)
            else:
                operation.status = "notStarted" if step == 0 else "running"
        detail: Json = {"status": operation.status}
        if operation.resource is not None:
            detail["resourceLocation"] = operation.resource
        if operation.detail is not None:
            detail["statusDetail"] = operation.detail
        body = {
            "@odata.context": f"{self.base_url}/$metadata#admin/teams/telephoneNumberManagement/operations/$entity",
            "id": operation.id,
            "createdDateTime": operation.created,
            "status": operation.status,
            "numbers": [detail],
        }
        return _Reply(200, body)

    def _settle(self, operation: Operation) -> None:
        refusal = (
            self._assignment_refusal(operation) if operation.kind == "assign" else self._unassign_refusal(operation)
        )
        if refusal is not None:
            operation.status, operation.detail = "failed", refusal
            return
        entry = self._number_index[operation.number]
        if operation.kind == "assign":
            assert operation.target is not None
            entry.update(
                assignmentTargetId=operation.target,
                assignmentCategory=operation.category or "primary",
                assignmentStatus="userAssigned",
                activationState="activated",
            )
            holding = self._held.setdefault(operation.target.lower(), [])
            if operation.number not in holding:
                holding.append(operation.number)
            if operation.location:
                entry["locationId"] = operation.location
            configuration = self.configuration(operation.target)
            configuration.enterprise_voice = True  # as Set-CsPhoneNumberAssignment does: an assumption for Graph
            configuration.modified = now()
            self._teams_changed = True
        else:
            holder = self._holder(entry)
            entry.update(assignmentTargetId=None, assignmentCategory=None, assignmentStatus="unassigned")
            if holder is not None and operation.number in self._held.get(holder, []):
                self._held[holder].remove(operation.number)
            if holder is not None:
                self.configuration(holder).modified = now()
        operation.status = "succeeded"
        operation.resource = f"{self.base_url}{NUMBER_ASSIGNMENTS}/{entry.get('id') or operation.number}"

    def _assignment_refusal(self, operation: Operation) -> str | None:
        number, target = operation.number, str(operation.target)
        entry = self._number_index.get(number)
        if entry is None or str(entry.get("numberType", "")).lower() != str(operation.number_type).lower():
            return NOT_FOUND.format(number=number, tenant=self._tenant_id())
        if "userAssignment" not in entry.get("capabilities", ["userAssignment"]):
            return NOT_FOR_USERS.format(number=number)
        holder = self._holder(entry)
        if holder is not None and holder != target.lower():
            return TAKEN.format(number=number)
        user = self.user(target)
        if user is None:
            return NO_USER.format(user=target)
        if holder is None and (operation.category or "primary") == "primary":
            held = self.numbers_held(target)
            other = next((n for n in held if self._primary_of(self._number_index[n]) == target.lower()), None)
            if other is not None:
                return HAS_PRIMARY.format(user=target, other=other)
        kind = str(entry.get("numberType"))
        plans = self._teams_plans(user)
        phone = any(p.startswith("MCOEV") for p in plans)
        calling = any(p.startswith("MCOPSTN") and p not in CREDITS_PLANS for p in plans)
        if not phone or (kind == "callingPlan" and not calling):
            return LACKS.format(user=target, kind=KIND_NAMES.get(kind.lower(), kind))
        return self._place_refusal(operation, entry, user)

    def _place_refusal(self, operation: Operation, entry: Json, user: Json) -> str | None:
        """The country and emergency-location rules of an assignment."""
        country = str(entry.get("isoCountryCode") or "").upper()
        calling_plan = entry.get("numberType") == "callingPlan"
        usage = str(user.get("usageLocation") or "").upper()
        if calling_plan and country and usage != country:
            return WRONG_COUNTRY.format(number=operation.number, country=country, usage=usage or "none")
        if operation.location and operation.location.lower() not in self._locations:
            return NO_LOCATION.format(location=operation.location)
        if calling_plan and country in LOCATION_AT_ASSIGNMENT and not (operation.location or entry.get("locationId")):
            return NEEDS_LOCATION.format(country=country)
        return None

    def _primary_of(self, entry: Json) -> str | None:
        return self._holder(entry) if (entry.get("assignmentCategory") or "primary") == "primary" else None

    def _unassign_refusal(self, operation: Operation) -> str | None:
        entry = self._number_index.get(operation.number)
        if entry is None or str(entry.get("numberType", "")).lower() != str(operation.number_type).lower():
            return NOT_FOUND.format(number=operation.number, tenant=self._tenant_id())
        return NOT_ASSIGNED.format(number=operation.number) if self._holder(entry) is None else None

    def _update_number(self, body: Any, bad_body: bool) -> _Reply:
        """updateNumber: locationId, networkSiteId and reverseNumberLookupOptions; null or left out keeps a value,
        "" clears it (the docs page); 200 with no body."""
        checked = parameters("updateNumber", body, bad_body)
        if isinstance(checked, _Reply):
            return checked
        number = e164(checked["telephoneNumber"])
        entry = self._number_index.get(number)
        if entry is None:
            return _error(404, "NotFound", NOT_FOUND.format(number=number, tenant=self._tenant_id()))
        location, site, options = (
            checked.get(k) for k in ("locationId", "networkSiteId", "reverseNumberLookupOptions")
        )
        if location == "" and entry.get("numberType") == "callingPlan":
            return _bad_request(KEEPS_LOCATION, "BadRequest")
        if location and location.lower() not in self._locations:
            return _bad_request(NO_LOCATION.format(location=location), "BadRequest")
        allowed = [m for m in self._enum_members("reverseNumberLookupOption") if m != "unknownFutureValue"]
        wrong = [o for o in options or [] if o not in allowed]
        if wrong:
            return _bad_request(f"'{wrong[0]}' is not a reverse number lookup option: {', '.join(allowed)}.")
        if location is not None:
            entry["locationId"] = location or None
        if site is not None:
            entry["networkSiteId"] = site or None
        if options is not None:
            entry["reverseNumberLookupOptions"] = list(options)
        return _Reply(200)

    @staticmethod
    def _enum_members(enum: str) -> list[str]:
        from tests.support.graphmetadata.conformance import model

        members: list[str] = model().enums[f"microsoft.graph.teamsAdministration.{enum}"]["members"]
        return members
