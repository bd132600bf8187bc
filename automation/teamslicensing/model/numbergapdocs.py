"""What the phone-number and Teams-policy gap codes mean and what to do about them (merged into `gapdocs`)."""

from __future__ import annotations

from teamslicensing.model.gapdoc import GapDoc
from teamslicensing.model.plan import GapCode, Severity

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


NUMBER_GAP_DOCS: dict[GapCode, GapDoc] = {
    GapCode.NO_FREE_NUMBER: GapDoc(
        (ERROR,),
        "A rule's `phoneNumber` found no free number of its type in the user's usage location (and `city`) for "
        "this user: the inventory is exhausted there. The plan's numbers table says how many are short.",
        "Acquire or port in numbers of that type and country (Teams admin center), or narrow the rule.",
    ),
    GapCode.NUMBER_IN_USE: GapDoc(
        (ERROR,),
        "A `numbers` row names a number another user or resource account holds, and this plan does not free "
        "it. Nothing is assigned to the row's user.",
        "Correct the row, or free the number first (unassign it from its holder).",
    ),
    GapCode.NUMBER_NOT_IN_INVENTORY: GapDoc(
        (ERROR,),
        "A `numbers` row names a number the tenant's inventory does not have as a free number (a typo, or a "
        "number not yet acquired or ported), or one another row already took.",
        "Check the number against the Teams admin center's phone numbers; correct the row.",
    ),
    GapCode.NUMBER_WAITS_FOR_LICENSE: GapDoc(
        (INFO,),
        "A number needs Phone System (and, for a Calling Plan number, a Calling Plan). This plan adds that "
        "license, so the number is planned after it and assigned once the license is read back Active (in the same "
        "apply, or the next run). In an apply's result, a "
        "user left `notAttempted` with this code had the license written, but it was not Active in time, or Teams "
        "refused the number while it did not show the license yet (exit 4).",
        "Nothing: run apply again later.",
    ),
    GapCode.NUMBER_LICENSE_MISSING: GapDoc(
        (ERROR,),
        "A number a `numbers` row or a rule's `phoneNumber` gives needs Phone System (and, for a Calling Plan "
        "number, a Calling Plan), and the user will not hold it after this plan: no rule gives it, or its add is "
        "withheld (seats, a protected SKU, another gap of the user). No number is planned; waiting will not help.",
        "Give the user the license the number needs (a rule's `assign`), or resolve the gap that withholds it; or "
        "remove the row.",
    ),
    GapCode.NUMBER_TYPE_CONFLICT: GapDoc(
        (ERROR,),
        "A rule's `phoneNumber` asks for a number of one type, and the user already holds a primary number of "
        "another type. A user has one primary number: giving the rule's would take the one they have, which a "
        "rule never does. Nothing is assigned.",
        "To move the user to the rule's type, give them the exact new number in a `numbers` row (the old one is "
        "then freed just before the new one is assigned, and given back if that fails); or select them with a "
        "rule of the type they hold.",
    ),
    GapCode.VOICE_RULES_DIFFER: GapDoc(
        (WARNING,),
        "Two rules that select the same user declare different things for them: a `phoneNumber` (type, city or "
        "emergency location) or a policy of the same type under another name. The first rule in the file wins, "
        "the other's is ignored for this user; the gap names both.",
        "Make the rules agree, or exclude the user from one of them.",
    ),
    GapCode.EMERGENCY_LOCATION_MISSING: GapDoc(
        (ERROR,),
        "A Calling Plan number in the United States or Canada needs an emergency location when it is assigned "
        "(Microsoft, emergency calling for Calling Plans), and neither the rule or row nor the number gives one. "
        "Nothing is assigned.",
        "Give `phoneNumber.locationId` (or the row's `locationId`), or set a location on the numbers.",
    ),
    GapCode.POLICY_NOT_FOUND: GapDoc(
        (ERROR,),
        "Teams has no policy of that type with that name (getPolicyId found none, or several): that policy is not "
        "assigned; the user's other changes go ahead. A plan finds it from a snapshot's look-ups; a live plan "
        "compares names only (the look-up needs the write permission), so `apply` finds it, and the user's result "
        "is `failed` with this code.",
        "Correct the name in the rule's `policies` (as the Teams admin center shows it), or create the policy.",
    ),
    GapCode.NUMBERS_NOT_IN_CLOUD: GapDoc(
        (ERROR,),
        "The configuration declares numbers or policies, and the tenant is in a national cloud (US Government, "
        "China) whose Graph has no Teams administration API: nothing about numbers or policies is planned.",
        "Remove `phoneNumber`, `policies` and `numbers` for that tenant and use Teams PowerShell there.",
    ),
    GapCode.TEAMS_CONFIGURATION_UNAVAILABLE: GapDoc(
        (WARNING,),
        "The users' Teams configurations (userConfigurations: the policies in effect) could not be read, so "
        "no policy is compared or assigned this run.",
        "Grant `TeamsUserConfiguration.Read.All` (`grant-permissions.sh --mode policies`).",
    ),
}
