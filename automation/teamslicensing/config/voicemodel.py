"""The configuration's phone-number and Teams-policy keys: a rule's `phoneNumber` and `policies`, the top-level
`numbers` (exact numbers for named users, from a CSV file or inline rows).

Graph assigns numbers and policies in the global cloud only (the teamsAdministration namespace is absent from the
US Government and China clouds' metadata); the loader accepts the keys everywhere and the plan refuses them where
the tenant's cloud lacks them (NUMBERS_NOT_IN_CLOUD), since the file does not say which cloud it is for.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

NumberType = Literal["callingPlan", "directRouting", "operatorConnect"]

# E.164 as Graph's numberAssignments spell it: '+', a country code that does not start with 0, at most 15 digits
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")

# Policy types as Teams PowerShell names them (Grant-Cs<type>): Microsoft publishes no list of the types
# userAssignments/assign takes, so any name is sent as written and Graph's answer decides; a name close to one of
# these but not one of them is a typo caught here, before any write.
KNOWN_POLICY_TYPES = (
    "CallingLineIdentity",
    "OnlineVoiceRoutingPolicy",
    "OnlineVoicemailPolicy",
    "TeamsCallHoldPolicy",
    "TeamsCallingPolicy",
    "TeamsCallParkPolicy",
    "TeamsEmergencyCallingPolicy",
    "TeamsEmergencyCallRoutingPolicy",
    "TeamsMeetingBroadcastPolicy",
    "TeamsMeetingPolicy",
    "TeamsSharedCallingRoutingPolicy",
    "TeamsVoiceApplicationsPolicy",
    "TenantDialPlan",
)
_POLICY_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def telephone_number(value: str) -> str:
    """A number as Graph's inventory spells it; spaces, dashes, dots and brackets people paste are refused with
    the form to write, not silently taken out (the number must match the inventory's exactly)."""
    if _E164.match(value):
        return value
    digits = re.sub(r"[\s\-().]", "", value)
    hint = f"; write '{digits}'" if _E164.match(digits) else ""
    raise ValueError(f"'{value}' is not an E.164 telephone number (+ and up to 15 digits, e.g. +14255550100){hint}")


def policy_type(value: str) -> str:
    """A Teams policy type: a known one in its own spelling, or any other name Graph may know."""
    for known in KNOWN_POLICY_TYPES:
        if value.lower() == known.lower():
            return known
    if not _POLICY_TYPE.match(value):
        raise ValueError(f"'{value}' is not a policy type name (letters and digits, e.g. TeamsCallingPolicy)")
    close = difflib.get_close_matches(value, KNOWN_POLICY_TYPES, n=1, cutoff=0.85)
    if close:
        raise ValueError(f"unknown policy type '{value}'; did you mean '{close[0]}'?")
    return value


TelephoneNumber = Annotated[str, AfterValidator(telephone_number)]
PolicyType = Annotated[str, AfterValidator(policy_type)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, alias_generator=to_camel, populate_by_name=True)


class PhoneNumberRule(_Model):
    type: NumberType = Field(description="The kind of number to give: callingPlan, directRouting or operatorConnect.")
    from_: Literal["inventory"] = Field(
        "inventory",
        alias="from",
        description="Where numbers come from: a free number of that type in the tenant's inventory, in the user's "
        "usage location (its isoCountryCode), lowest first.",
    )
    city: str | None = Field(None, min_length=1, description="Only numbers of this city, as the inventory spells it.")
    location_id: str | None = Field(
        None, min_length=1, description="The emergency location id given with each number assigned (assignNumber)."
    )


class NumberRow(_Model):
    user_principal_name: str = Field(min_length=1, description="The user, by userPrincipalName or object id.")
    telephone_number: TelephoneNumber = Field(description="The number, E.164 (+ and digits), as the inventory has it.")
    number_type: NumberType = Field(description="callingPlan, directRouting or operatorConnect.")
    location_id: str | None = Field(None, min_length=1, description="Its emergency location id.")


class NumbersSection(_Model):
    file: str | None = Field(
        None,
        min_length=1,
        description="A CSV file (userPrincipalName,telephoneNumber,numberType[,locationId]) relative to this "
        "configuration file.",
    )
    rows: list[NumberRow] = Field(
        default_factory=list,
        description="The same rows inline (the runbook's configuration is one YAML text, with no file beside it).",
    )
    # a file or rows, not both: checked with the rows' other meaning checks (config/numbers.py), which run even
    # when a row's own shape is wrong
    model_config = ConfigDict(json_schema_extra={"not": {"required": ["file", "rows"]}})


Policies = dict[PolicyType, Annotated[str, Field(min_length=1)]]
