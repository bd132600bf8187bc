"""Which Teams voice capability a service plan grants, by Microsoft's names and ids for it, and which calling plans
are exclusive or pay-as-you-go: the catalogue's classification of one plan (`catalog` re-exports these)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from teamslicensing.model.capability import Capability, normalise_guid


def normalise_name(name: str) -> str:
    """A plan or SKU name as the tables key it: whitespace runs collapsed (CSV copies hold tabs and non-breaking
    spaces inside values), upper case."""
    return " ".join(name.split()).upper()


# Names as Graph returns them in subscribedSkus[].servicePlans[].servicePlanName; the CSV uses the same.
# Keys are upper-cased because tenants and CSV copies disagree on case (MCOMEETADV_AR_GCCHigh).
_CAPABILITY_BY_PLAN_NAME: Mapping[str, Capability] = MappingProxyType(
    {
        # Teams Phone (formerly Phone System / Cloud PBX) and its SMB variant.
        "MCOEV": Capability.PHONE_SYSTEM,
        "MCOEV_GOV": Capability.PHONE_SYSTEM,
        "MCOEVSMB": Capability.PHONE_SYSTEM,
        # Teams Phone Resource Account: for auto attendants and call queues, never a person's Phone System
        # (Teams docs, manage-resource-accounts / virtual-user, 2025).
        "MCOEV_VIRTUALUSER": Capability.RESOURCE_ACCOUNT,
        "MCOEV_VIRTUALUSER_GOV": Capability.RESOURCE_ACCOUNT,
        # Calling Plans. MCOPSTNEAU is Telstra's Australian plan; the long name is how one MCOPSTN5 SKU spells its
        # plan (no code name at all).
        "MCOPSTN1": Capability.CALLING_PLAN,
        "MCOPSTN1_GOV": Capability.CALLING_PLAN,
        "MCOPSTN2": Capability.CALLING_PLAN,
        "MCOPSTN5": Capability.CALLING_PLAN,
        "MCOPSTN6": Capability.CALLING_PLAN,
        "MCOPSTN8": Capability.CALLING_PLAN,
        "MCOPSTNEAU": Capability.CALLING_PLAN,
        "PSTN5_US": Capability.CALLING_PLAN,
        "SKYPE FOR BUSINESS PSTN CALLING DOMESTIC SMALL": Capability.CALLING_PLAN,
        # Audio Conferencing: full, GCC/GCC High, pay-per-minute, and dial-out to select geographies.
        "MCOMEETADV": Capability.AUDIO_CONFERENCING,
        "MCOMEETADV_GOV": Capability.AUDIO_CONFERENCING,
        "MCOMEETADV_AR_GCCHIGH": Capability.AUDIO_CONFERENCING,
        "MCOMEETACPEA": Capability.AUDIO_CONFERENCING,
        "MCOMEETBASIC": Capability.AUDIO_CONFERENCING,
        "MCOMEETBASIC_GOV": Capability.AUDIO_CONFERENCING,
        "MCOPSTNC": Capability.COMMUNICATIONS_CREDITS,
        # MCOPSTN3 is sold as MCOPSTNPP, the Communications Credits SKU of the Teams add-on licensing docs
        # (assign-teams-add-on-licenses, 2024-03); Microsoft's CSV calls it "PSTN Usage Calling Plan".
        "MCOPSTN3": Capability.COMMUNICATIONS_CREDITS,
        # The Teams service: the prerequisite of Teams Phone. Commercial, GCC, GCC High and DoD; Teams Essentials
        # (TeamsEss, sold to small businesses without TEAMS1) is the Teams service of its SKU.
        "TEAMS1": Capability.TEAMS,
        "TEAMS_GOV": Capability.TEAMS,
        "TEAMS_AR_GCCHIGH": Capability.TEAMS,
        "TEAMS_AR_DOD": Capability.TEAMS,
        "TEAMSESS": Capability.TEAMS,
        "MCO_TEAMS_IW": Capability.TEAMS,  # "Microsoft Teams" of the trial and exploratory SKUs
        # Deliberately absent, so they classify as None:
        # - MCOFMC1 (Teams Phone Mobile) is an operator-delivered SIM service, not the MCOEV plan that
        #   Enterprise Voice and Calling Plans require; counting it would hide a missing Teams Phone.
        # - MCOSMS* are SMS bundles; they ride along in calling-plan SKUs but grant no voice.
        # - MCOSTANDARD/MCOIMP/MCOLITE/MCOVOICECONF are Skype for Business Online plans (IM/meetings).
        # - MCOACBYOT_GCCHigh ("Audio Conferencing - GCCHigh Tenant") is a tenant license that makes Audio
        #   Conferencing run over Direct Routing in GCC High; it gives no user Audio Conferencing.
        # - TEAMS_FREE, MCOFREE, MCO_VIRTUAL_APPT and TEAMSPRO_* (Teams Premium), Teams_Room* and MCOBASIC
        #   (Skype Meetings) carry no PSTN capability and are not the Teams service Teams Phone is licensed on.
    }
)

# Same plans by id, so a plan whose name a CSV copy or tenant mangles is still recognised.
_CAPABILITY_BY_PLAN_ID: Mapping[str, Capability] = MappingProxyType(
    {
        "4828c8ec-dc2e-4779-b502-87ac9ce28ab7": Capability.PHONE_SYSTEM,  # MCOEV
        "db23fce2-a974-42ef-9002-d78dd42a0f22": Capability.PHONE_SYSTEM,  # MCOEV_GOV
        "f47330e9-c134-43b3-9993-e7f004506889": Capability.RESOURCE_ACCOUNT,  # MCOEV_VIRTUALUSER
        "0628a73f-3b4a-4989-bd7b-0f8823144313": Capability.RESOURCE_ACCOUNT,  # MCOEV_VIRTUALUSER_GOV
        "ed777b71-af04-42ca-9798-84344c66f7c6": Capability.PHONE_SYSTEM,  # MCOEVSMB
        "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8": Capability.CALLING_PLAN,  # MCOPSTN1
        "3c8a8792-7866-409b-bb61-1b20ace0368b": Capability.CALLING_PLAN,  # MCOPSTN1_GOV
        "5a10155d-f5c1-411a-a8ec-e99aae125390": Capability.CALLING_PLAN,  # MCOPSTN2
        "6b340437-d6f9-4dc5-8cc2-99163f7f83d6": Capability.COMMUNICATIONS_CREDITS,  # MCOPSTN3 (MCOPSTNPP)
        "54a152dc-90de-4996-93d2-bc47e670fc06": Capability.CALLING_PLAN,  # MCOPSTN5
        "346d83bf-6fe6-42ca-b424-b9300d2e21bf": Capability.CALLING_PLAN,  # MCOPSTN6
        "16935b20-87c0-4908-934a-22aa267d0d26": Capability.CALLING_PLAN,  # MCOPSTN8
        "7861360b-dc3b-4eba-a3fc-0d323a035746": Capability.CALLING_PLAN,  # MCOPSTNEAU
        "1346d5e6-15a6-4b88-9693-806ff7296a7a": Capability.CALLING_PLAN,  # PSTN5_US
        "9a0125a5-c8f8-4526-b231-49e2abe0ebce": Capability.CALLING_PLAN,  # ...PSTN Calling Domestic Small
        "156a1efe-17cd-4b03-9f17-2eb512298fb3": Capability.CALLING_PLAN,  # MCOPSTN_PAYG_1
        "3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40": Capability.AUDIO_CONFERENCING,  # MCOMEETADV
        "f544b08d-1645-4287-82de-8d91f37c02a1": Capability.AUDIO_CONFERENCING,  # MCOMEETADV_GOV
        "f1e3613f-3818-4254-9b5e-f02d803384e0": Capability.AUDIO_CONFERENCING,  # MCOMEETADV_AR_GCCHigh
        "bb038288-76ab-49d6-afc1-eaa6c222c65a": Capability.AUDIO_CONFERENCING,  # MCOMEETACPEA
        "9974d6cf-cd24-4ba2-921c-e2aa687da846": Capability.AUDIO_CONFERENCING,  # MCOMEETBASIC
        "986d454b-9027-4d9f-880b-f1b68f920cc4": Capability.AUDIO_CONFERENCING,  # MCOMEETBASIC_GOV
        "505e180f-f7e0-4b65-91d4-00d670bbd18c": Capability.COMMUNICATIONS_CREDITS,  # MCOPSTNC
        "57ff2da0-773e-42df-b2af-ffb7a2317929": Capability.TEAMS,  # TEAMS1
        "304767db-7d23-49e8-a945-4a7eb65f9f28": Capability.TEAMS,  # TEAMS_GOV
        "9953b155-8aef-4c56-92f3-72b0487fce41": Capability.TEAMS,  # TEAMS_AR_GCCHIGH
        "fd500458-c24c-478e-856c-a6067a8376cd": Capability.TEAMS,  # TEAMS_AR_DOD
        "f4f2f6de-6830-442b-a433-e92249faebe2": Capability.TEAMS,  # TeamsEss
        "42a3ec34-28ba-46b6-992f-db53a675ac5b": Capability.TEAMS,  # MCO_TEAMS_IW
    }
)

# Pay-as-you-go calling plans come one per country zone (MCOPSTN_PAYG_1, _2, _3, ...); Microsoft adds
# zones without notice, so match the family rather than list the zones. Kept narrow: MCOSMS_PAYG_* is SMS.
_PAYG_CALLING_PLAN = re.compile(r"MCOPSTN_PAYG_[A-Z0-9_]+")

# "MCOPSTN1, MCOPSTN2 and MCOPSTN5 cannot be assigned together" is the whole of Microsoft's exclusivity list for
# calling plans (Entra doc "Product names and service plan identifiers", rev. 2025-10-29, which warns it is not
# kept current). Other calling plans stack (an international add-on on a domestic plan, PAYG zones, MCOPSTN6/8).
_EXCLUSIVE_CALLING_PLAN_IDS = frozenset(
    {
        "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8",  # MCOPSTN1
        "5a10155d-f5c1-411a-a8ec-e99aae125390",  # MCOPSTN2
        "54a152dc-90de-4996-93d2-bc47e670fc06",  # MCOPSTN5
        "9a0125a5-c8f8-4526-b231-49e2abe0ebce",  # MCOPSTN5 as one SKU spells it (PSTN Calling Domestic Small)
    }
)
_EXCLUSIVE_CALLING_PLAN_NAMES = frozenset(
    {"MCOPSTN1", "MCOPSTN2", "MCOPSTN5", "SKYPE FOR BUSINESS PSTN CALLING DOMESTIC SMALL"}
)


def is_exclusive_calling_plan(service_plan_name: str, service_plan_id: str | None = None) -> bool:
    """True for the calling plans Microsoft lists as mutually exclusive (a user holds at most one of them)."""
    if service_plan_id is not None and normalise_guid(service_plan_id) in _EXCLUSIVE_CALLING_PLAN_IDS:
        return True
    return normalise_name(service_plan_name) in _EXCLUSIVE_CALLING_PLAN_NAMES


def is_pay_as_you_go_calling_plan(service_plan_name: str) -> bool:
    """True for the per-zone pay-as-you-go Calling Plan service plans (MCOPSTN_PAYG_*)."""
    return _PAYG_CALLING_PLAN.fullmatch(normalise_name(service_plan_name)) is not None


def plan_capability(service_plan_name: str, service_plan_id: str | None = None) -> Capability | None:
    """Classify one service plan; None when it grants no Teams voice capability.

    The id, when known, wins over the name; an unknown id falls back to the name so plans from a tenant's
    subscribedSkus that this CSV copy predates still classify.
    """
    if service_plan_id is not None:
        by_id = _CAPABILITY_BY_PLAN_ID.get(normalise_guid(service_plan_id))
        if by_id is not None:
            return by_id
    name = normalise_name(service_plan_name)
    by_name = _CAPABILITY_BY_PLAN_NAME.get(name)
    if by_name is not None:
        return by_name
    if _PAYG_CALLING_PLAN.fullmatch(name):
        return Capability.CALLING_PLAN
    return None
