"""What every gap code means and what to do about it: the documentation's gap table is generated from this.

Scripts match on the codes (`GapCode`), people read these words. Each entry names the severities the code is raised
with (one code may be an error in one situation and a warning in another), when it is raised, and the fix. A test
keeps it complete: every `GapCode` has an entry, and every severity the package raises a code with is listed here.
"""

from __future__ import annotations

from teamslicensing.model.gapdoc import GapDoc
from teamslicensing.model.numbergapdocs import NUMBER_GAP_DOCS
from teamslicensing.model.plan import GapCode, Severity

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


GAP_DOCS: dict[GapCode, GapDoc] = {
    GapCode.USAGE_LOCATION_MISSING: GapDoc(
        (ERROR,),
        "A user needs a license, has no usage location, and none is configured (nor does `usageLocationFrom` name "
        "a country); also a saved plan's or an undo's change that adds licenses to a user without one. Nothing is "
        "changed for the user.",
        "Set `defaults.usageLocation`, the rule's `usageLocation`, or `usageLocationFrom` naming an attribute that "
        "holds the country; or set the user's usage location in Entra.",
    ),
    GapCode.SKU_NOT_IN_TENANT: GapDoc(
        (ERROR,),
        "A rule assigns a SKU the tenant has no subscription for; or a saved plan adds a SKU the configuration does "
        "not assign.",
        "Buy the subscription, or correct the alias in `licenses`; plan again for a saved plan.",
    ),
    GapCode.SUBSCRIPTION_NOT_ACTIVE: GapDoc(
        (ERROR, WARNING),
        "The subscription is Suspended, LockedOut or Deleted (error: nothing is assigned from it, and it is never "
        "pruned from users a rule still selects) or in Warning (warning: it still assigns).",
        "Renew or reactivate the subscription in the Microsoft 365 admin center.",
    ),
    GapCode.SEAT_SHORTAGE: GapDoc(
        (ERROR,),
        "Not enough seats: one gap per SKU with the shortfall, and one per user left out (rule order, then UPN, "
        "decides who is left out). For a managed group the write still goes (it cannot be partial) and the gap "
        "says how many members Entra will leave in `CountViolation`. An undo restore whose add needs a seat the "
        "kept restores do not free is withheld with it too.",
        "Buy seats or free them (prune, `policy.removeRedundant`); then run `apply` again, and `reprocess` for "
        "group members in `CountViolation`.",
    ),
    GapCode.CALLING_PLAN_WITHOUT_PHONE_SYSTEM: GapDoc(
        (ERROR,),
        "A Calling Plan without a Phone System plan (or, on an auto attendant or call queue, the resource-account "
        "plan) in the user's planned end state.",
        "Assign Phone System (`MCOEV`, or a suite carrying it) in the same rule as the Calling Plan.",
    ),
    GapCode.CREDITS_WITHOUT_PREREQUISITE: GapDoc(
        (ERROR,),
        "Communications Credits (`MCOPSTNC`, or `MCOPSTNPP`) without Audio Conferencing, a Calling Plan "
        "(pay-as-you-go included), Phone System or a resource-account plan.",
        "Assign one of those with the Credits, or stop assigning Credits to the user.",
    ),
    GapCode.CREDITS_WITHOUT_PSTN_USE: GapDoc(
        (WARNING,),
        "Credits with Phone System only: no Calling Plan, no Audio Conferencing, not a resource account. Direct "
        "Routing and Operator Connect calls are billed by the carrier, so the Credits serve no call.",
        "Remove the Credits license, or add the Calling Plan or Audio Conferencing it is meant to fund.",
    ),
    GapCode.TENANT_HAS_NO_CREDITS_SUBSCRIPTION: GapDoc(
        (ERROR,),
        "A rule assigns Credits but the tenant has no active subscription for that SKU. Not reported under "
        "`policy.funding: postpaid`.",
        "Buy (or renew) the Communications Credits add-on and fund it in the Teams admin center (Graph cannot); "
        "on new-commerce calling subscriptions set `policy.funding: postpaid`.",
    ),
    GapCode.TEAMS_LICENSE_MISSING: GapDoc(
        (ERROR, WARNING),
        "A person a rule selects would end with Phone System, a Calling Plan or Audio Conferencing but no Teams "
        "plan (resource accounts exempt): error, and none of that user's voice licenses is added. A user no rule "
        "selects holding a stand-alone voice SKU without Teams: warning.",
        "Assign a Teams license first, e.g. a rule assigning `Microsoft_Teams_Enterprise_New` or a suite with "
        "Teams; a rule may assign it in the same plan.",
    ),
    GapCode.PHONE_SYSTEM_WITHOUT_CALLING_PLAN: GapDoc(
        (WARNING,),
        "Phone System without a Calling Plan: no PSTN calls through Microsoft.",
        "Assign a Calling Plan, or set the rule's `voiceRouting: directRouting` or `operatorConnect`.",
    ),
    GapCode.CREDITS_RECOMMENDED: GapDoc(
        (INFO,),
        "A rule's user, or a holder of a stand-alone calling-plan or audio-conferencing SKU, whose end state has a "
        "Calling Plan or Audio Conferencing and no Credits: calls past the included minutes would fail. Not when a "
        "rule assigns them Credits, not under `policy.funding: postpaid`.",
        "Assign `MCOPSTNC` to users who dial out beyond their plan (`teams-licensing usage` says how much), or "
        "accept it.",
    ),
    GapCode.UNFUNDED_USAGE_LICENSE: GapDoc(
        (WARNING,),
        "A pay-per-minute license (pay-as-you-go Calling Plan, `MCOMEETACPEA`) while the tenant has no active "
        "Credits subscription (`MCOPSTNC` or `MCOPSTNPP`) and `policy.funding` is `credits`.",
        "Buy and fund Communications Credits, or set `policy.funding: postpaid` on a new-commerce tenant.",
    ),
    GapCode.GROUP_LICENSE_ERROR: GapDoc(
        (ERROR,),
        "A license assignment carries an error (`CountViolation`, `MutuallyExclusiveViolation`, "
        "`DependencyViolation`, `ProhibitedInUsageLocationViolation`, `UniquenessViolation`, `Other`); the gap "
        "names the group, the SKU and Entra's error.",
        "Fix the cause (buy seats, set a usage location, remove the conflicting license), then "
        "`teams-licensing reprocess CONFIG` (or `--group`, `--user`).",
    ),
    GapCode.INHERITED_LICENSE_NOT_REMOVED: GapDoc(
        (WARNING,),
        "Prune wanted to remove a license the user inherits from a group: only direct assignments are removed.",
        "Remove the user from the group named in the message, or change the group's licenses.",
    ),
    GapCode.PROTECTED_USER_SKIPPED: GapDoc(
        (INFO,),
        "A protected user (`policy.protectedUsers`, or a member of `policy.protectedGroups`) would otherwise "
        "change; they are only reported.",
        "Nothing, if the protection is meant; otherwise take them out of the protected list.",
    ),
    GapCode.DISABLED_ACCOUNT_SKIPPED: GapDoc(
        (INFO,),
        "A disabled account would otherwise change.",
        "Nothing; set `policy.includeDisabledAccounts: true` to change disabled accounts too.",
    ),
    GapCode.ALREADY_COVERED: GapDoc(
        (INFO,),
        "A rule's SKU is not added because the user's planned end state already has every voice plan of it from "
        "another SKU (a suite, a bundle, a group); no seat is used.",
        "Nothing; `policy.assignCovered: true` assigns it anyway, as declared.",
    ),
    GapCode.REDUNDANT_LICENSE: GapDoc(
        (INFO,),
        "A stand-alone SKU whose voice plans another SKU already gives (`MCOEV` beside E5).",
        "With `policy.prune`, `policy.removeRedundant: true` removes direct copies this configuration manages and "
        "frees their seats.",
    ),
    GapCode.PRUNE_LIMITED_TO_VOICE: GapDoc(
        (INFO,),
        "With `prune`: a managed SKU beyond voice (a suite or bundle, not in `policy.pruneAlso`) that users no rule "
        "gives it to, or a managed group whose entry no longer names it, keep (the message counts them and says how "
        "to opt in). A change that would remove such a SKU, or one the configuration does not manage (from a saved "
        "plan, or a group license write), is withheld whole with it; an undo's restores are not held to prune's "
        "reach.",
        "Name the SKU in `policy.pruneAlso` if prune should remove it; every such removal counts against "
        "`maxRemovals`.",
    ),
    GapCode.MUTUALLY_EXCLUSIVE_LICENSES: GapDoc(
        (ERROR,),
        "Two of the calling plans Microsoft lists as exclusive (`MCOPSTN1`, `MCOPSTN2`, `MCOPSTN5`) that cannot be "
        "swapped: the rules give a user more than one, or the user holds one in a bundle. None is added.",
        "Give each user one calling plan: narrow the rules, or remove the bundled plan first.",
    ),
    GapCode.CALLING_PLANS_STACKED: GapDoc(
        (WARNING,),
        "Two or more calling plans Microsoft does not list as exclusive: the minutes are paid twice, unless one is "
        "an add-on meant to stack.",
        "Remove the plan the user does not need, unless it is an add-on meant to stack.",
    ),
    GapCode.RESOURCE_ACCOUNT_LICENSE_CONFLICT: GapDoc(
        (ERROR,),
        "A resource account (holds or is given the Resource Account license) would hold Teams Phone Standard too: "
        "`MCOEV` is not added to it. A rule giving the Resource Account license to a holder of stand-alone `MCOEV` "
        "this configuration manages swaps the two in one `assignLicense` instead, while `MCOEV` from a suite, a "
        "group or another rule blocks it.",
        "Remove Teams Phone Standard from the resource account (Microsoft: never on a resource account).",
    ),
    GapCode.RESOURCE_ACCOUNT_NEEDS_PAYG: GapDoc(
        (WARNING,),
        "A resource account holding a Calling Plan service number (the number inventory: `numberType: "
        "callingPlan`, `assignmentStatus: voiceApplicationAssigned`) or a Calling Plan license, and no "
        "pay-as-you-go Calling Plan: since 2025-11-01 its outbound (on-behalf-of) calls need one and funding. The "
        "number is named; without the inventory only the license is seen.",
        "Assign a pay-as-you-go Calling Plan and fund Communications Credits (or NCE overage).",
    ),
    GapCode.PHONE_NUMBER_AT_RISK: GapDoc(
        (WARNING,),
        "A removal would take the user's last Phone System or Calling Plan, and with it their phone number: "
        "withheld. Judged with the number inventory when it was read (the number is named), else from licenses. "
        "Cannot be acknowledged.",
        "Keep the license, or move the number first; `policy.allowNumberLoss: true` (for undo: "
        "`--allow-number-loss`) lets the removal through, marked destructive.",
    ),
    GapCode.NOT_AVAILABLE_IN_USAGE_LOCATION: GapDoc(
        (WARNING,),
        "Microsoft's country table says the user's country lacks that capability; the change is still planned.",
        "Check the country's current availability; correct the table under `availability` if it is wrong.",
    ),
    GapCode.NUMBER_INVENTORY_UNAVAILABLE: GapDoc(
        (ERROR, INFO),
        "The Teams number inventory could not be read (no `TeamsTelephoneNumber.Read.All`, a national cloud, a "
        "page not of the shape Microsoft documents) or lists no number while users hold Calling Plans: number "
        "protection falls back to the license-based guess (info). An error when the configuration declares "
        "numbers: none is assigned or unassigned.",
        "Grant `TeamsTelephoneNumber.Read.All` (`grant-permissions.sh --mode inventory`), in the global cloud.",
    ),
    GapCode.USER_NOT_FOUND: GapDoc(
        (ERROR,),
        "A rule names a user the tenant does not have; or a saved plan's user is no longer there.",
        "Correct the UPN or id in the rule.",
    ),
    GapCode.GROUP_NOT_FOUND: GapDoc(
        (ERROR,),
        "A rule names a group the tenant does not have, or a name two groups share (or a name over 256 "
        "characters). The rule's licenses are not pruned that run; an exclude group not found makes its rule "
        "assign nothing.",
        "Use the group's object id, or correct the name.",
    ),
    GapCode.PROTECTED_USER_NOT_FOUND: GapDoc(
        (ERROR,),
        "A `policy.protectedUsers` entry matches no user, or a `policy.protectedGroups` group is not found (or "
        "its name is shared): a typo would leave the person meant unprotected. `apply` writes nothing while it "
        "stands; it cannot be acknowledged.",
        "Correct the entry (UPN, object id, or the group's object id).",
    ),
    GapCode.READ_SCOPED: GapDoc(
        (INFO,),
        "The live read was scoped (`policy.read: scoped`, or `auto` on a tenant of more than 20,000 users); it "
        "names how many users were read of how many. Users outside the scope (selected by no rule, holding no "
        "managed license) were not judged, so gaps only a full audit finds on them are not reported.",
        "Nothing; `policy.read: all` or `--read all` gives the full audit.",
    ),
    GapCode.MIGRATION_WAITING: GapDoc(
        (INFO,),
        "`migrateDirect`: a member's direct copy of a SKU stays until Graph shows the same SKU inherited from that "
        "group, `Active`, with at least the same plans (not yet processed by Entra, in error, or disabling more "
        "plans).",
        "Nothing: the next run goes on. If it persists, look for a `GROUP_LICENSE_ERROR` on the member.",
    ),
    GapCode.GROUP_LICENSE_NOT_INHERITED: GapDoc(
        (WARNING,),
        "A member of a `groupLicenses` group only through a nested group: Entra licenses direct members only, so "
        "the group's licenses do not reach them.",
        "Add the user to the group directly, or select the group in a rule (transitively) for a direct copy.",
    ),
    GapCode.GROUP_LICENSE_PENDING: GapDoc(
        (INFO,),
        "Entra is still processing a managed group's licenses (`licenseProcessingState`); members' results are "
        "read on the next run.",
        "Nothing; `apply --wait DURATION` waits for it.",
    ),
    GapCode.USAGE_LOCATION_FROM_TENANT: GapDoc(
        (INFO,),
        "A member of a `groupLicenses` group has no usage location and neither the entry nor `defaults` set one: "
        "Entra licenses them with the tenant's country, and a Calling Plan follows it.",
        "Set the entry's `usageLocation` or `usageLocationFrom` (or `defaults`) if the tenant's country is wrong "
        "for them.",
    ),
    GapCode.POOL_FORECAST_EXHAUSTED: GapDoc(
        (WARNING,),
        "A pool of included minutes (a calling plan's in a country, or in the US and Puerto Rico together, or the "
        "tenant's Audio Conferencing dial-out pool) is forecast, at the pace read this month carried over the whole "
        "month, to run out before the month ends (an either/or allowance when either limit is): calls past it are "
        "paid from Communications Credits (or NCE overage). When the window began after the month's 1st, the "
        "message says which days were not read.",
        "Fund Credits (see the funding recommendation) or add licenses to the pool.",
        usage=True,
    ),
    GapCode.CREDITS_NEEDED_BY_USAGE: GapDoc(
        (WARNING,),
        "A user in a pool forecast to run out has no Communications Credits license: their calls past the pool "
        "will fail (calls blocked that way leave no call record, so the forecast is the signal). Off with "
        "`policy.funding: postpaid`.",
        "Assign `MCOPSTNC` to the user and fund Credits.",
        usage=True,
    ),
    GapCode.TOLL_FREE_WITHOUT_CREDITS: GapDoc(
        (ERROR,),
        "Toll-free inbound calls reached a resource account (named, from the number inventory) while the tenant "
        "has no active Communications Credits subscription. Off with `policy.funding: postpaid`.",
        "Buy and fund Communications Credits: toll-free numbers need them.",
        usage=True,
    ),
    GapCode.RECLAIMABLE_LICENSE: GapDoc(
        (INFO,),
        "A Calling Plan holder with no Teams number (the inventory was read) and no PSTN call in the window: the "
        "seat could be freed.",
        "Remove the Calling Plan if the user does not need it (take them out of the rule).",
        usage=True,
    ),
    GapCode.CALL_ROWS_UNREADABLE: GapDoc(
        (WARNING,),
        "Call rows without an `id` or a readable `startDateTime` were read; they are not counted (spend and "
        "minutes may be understated) and the gap says how many.",
        "Nothing to fix in the tenant; treat the figures as a lower bound.",
        usage=True,
    ),
    GapCode.CALL_CAPABILITY_UNKNOWN: GapDoc(
        (WARNING,),
        "Call rows carry a `licenseCapability` code the tool's table of Microsoft's codes does not know: counted "
        "and listed, drawn from no pool (a pool may be fuller than shown).",
        "Nothing in the tenant; report the code so the shipped table can learn it.",
        usage=True,
    ),
    GapCode.ACKNOWLEDGEMENT_EXPIRED: GapDoc(
        (WARNING,),
        "A `policy.acknowledge` entry is past its `until` date: the gaps it matched count again as they are.",
        "Renew the entry with a new date, or remove it.",
    ),
    GapCode.USER_UNREADABLE: GapDoc(
        (WARNING,),
        "The tenant source returned a user with a field planning needs null (`userPrincipalName`, "
        "`accountEnabled`, a license entry's `skuId`; live reads: any field it cannot read): the user is left out "
        "of every change and not judged, never a failed run. A null `usageLocation` or `displayName` is read as "
        "none.",
        "Look at the user in Entra; the next run judges them once they read whole.",
    ),
    GapCode.SELECTION_SUSPECT: GapDoc(
        (WARNING,),
        "A group a rule selects (or a protected group) reads as empty, or its member list was cut short: "
        "replication lag and failed reads look like that, so that rule's licenses (for a protected group: all "
        "managed licenses) are not removed from anybody this run. An exclude group cut short makes its rule assign "
        "nothing.",
        "If the group is empty on purpose, list it in `policy.emptyGroupsAllowed`; otherwise run again later.",
    ),
}


GAP_DOCS.update(NUMBER_GAP_DOCS)


def documented(code: GapCode) -> GapDoc:
    return GAP_DOCS[code]
