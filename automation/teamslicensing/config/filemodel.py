"""The configuration file's model (pydantic v2): strict types, unknown keys refused, and the JSON Schema from it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic.alias_generators import to_camel

from teamslicensing.config.voicemodel import NumbersSection, PhoneNumberRule, Policies
from teamslicensing.model.capability import is_guid
from teamslicensing.model.desired import (
    DEFAULT_MAX_CHANGES,
    DEFAULT_MAX_REMOVALS,
    SELECTABLE_ATTRIBUTES,
    Funding,
    MinutesOverride,
    ReadMode,
    VoiceRouting,
)
from teamslicensing.model.plan import UNACKNOWLEDGEABLE, GapCode
from teamslicensing.reference.countries import is_country_code


def _country_code(value: str) -> str:
    if not is_country_code(value):
        hint = f"; did you mean '{value.upper()}'?" if is_country_code(value.upper()) else ""
        if value.upper() == "UK":
            hint = "; the United Kingdom is 'GB'"
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code{hint}")
    return value


# the pattern is for the schema only (editors); the validator gives the better message ("did you mean 'US'?")
CountryCode = Annotated[str, AfterValidator(_country_code), Field(json_schema_extra={"pattern": "^[A-Z]{2}$"})]


def _tenant_id(value: str) -> str:
    if not is_guid(value):
        raise ValueError(
            f"'{value}' is not a tenant id: use the directory (tenant) id GUID from the Entra admin center"
        )
    return value.strip().lower()


TenantId = Annotated[str, AfterValidator(_tenant_id)]

# YAML 1.1 spellings of a switch admins write (`prune: yes`); only on switches, so that elsewhere `NO` stays Norway
_SWITCH_WORDS = {"yes": True, "on": True, "true": True, "no": False, "off": False, "false": False}


def _switch(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _SWITCH_WORDS:
        return _SWITCH_WORDS[value.strip().lower()]
    return value


_SWITCH_SCHEMA = {
    "anyOf": [
        {"type": "boolean"},
        {
            "type": "string",
            "pattern": "^\\s*([Yy][Ee][Ss]|[Nn][Oo]|[Oo][Nn]|[Oo][Ff][Ff]|[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\\s*$",
        },
    ]
}
Switch = Annotated[bool, BeforeValidator(_switch), WithJsonSchema(_SWITCH_SCHEMA)]
AttributeName = Literal[SELECTABLE_ATTRIBUTES]  # type: ignore[valid-type]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, alias_generator=to_camel, populate_by_name=True)


class Defaults(_Model):
    usage_location: CountryCode | None = Field(
        None, description="ISO 3166-1 alpha-2 code set on users who need a license and have none."
    )
    usage_location_from: AttributeName | None = Field(
        None,
        description="User attribute (e.g. country) holding an ISO code or English country name; wins over "
        "usageLocation, which stays the fallback.",
    )


def _acknowledgeable(value: str) -> str:
    known = {code.value for code in GapCode}
    if value not in known:
        raise ValueError(f"'{value}' is not a gap code (the documentation lists them: docs/reference/gap-codes.md)")
    if GapCode(value) in UNACKNOWLEDGEABLE:
        raise ValueError(f"{value} cannot be acknowledged: it guards a phone number or every write")
    return value


def _iso_date(value: Any) -> Any:
    """YYYY-MM-DD as written (the loader keeps YAML scalars as text); anything else is left for the type error."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'{value}' is not a date: write YYYY-MM-DD") from None
    return value


class AcknowledgementEntry(_Model):
    code: Annotated[str, AfterValidator(_acknowledgeable)] = Field(description="The gap code to acknowledge.")
    user: str | None = Field(None, description="Only this user's gaps (UPN or object id); any user when left out.")
    sku: str | None = Field(None, description="Only gaps about this skuPartNumber; any when left out.")
    until: Annotated[date, BeforeValidator(_iso_date)] = Field(
        description="Last day the exception holds (YYYY-MM-DD); after it, ACKNOWLEDGEMENT_EXPIRED."
    )
    reason: str = Field(min_length=1, description="Why this is accepted, for whoever reads the report.")


class Policy(_Model):
    prune: Switch = Field(
        False,
        description="Remove managed stand-alone voice add-ons (Phone System, Calling Plans, Audio Conferencing, "
        "Credits, resource account) from users no rule gives them; direct assignments only. A suite or bundle "
        "(E3, E5, Teams Enterprise) is only assigned, never pruned, unless it is named in pruneAlso.",
    )
    prune_also: list[str] = Field(
        default_factory=list,
        description="Managed licenses beyond voice add-ons (aliases, skuPartNumbers or skuIds) that prune may "
        "remove too: every such removal counts against maxRemovals and is listed on its own in every report.",
    )
    max_changes: int = Field(DEFAULT_MAX_CHANGES, ge=0, description="apply refuses a larger plan unless overridden.")
    max_removals: int = Field(
        DEFAULT_MAX_REMOVALS,
        ge=0,
        description="apply and undo refuse a plan whose removals take service plans from more users than this "
        "(swaps and redundant copies do not count) unless overridden with --max-removals.",
    )
    empty_groups_allowed: list[str] = Field(
        default_factory=list,
        description="Group names or ids that may be empty on purpose: their rules' licenses are pruned even when "
        "the group reads as empty (any other empty group is SELECTION_SUSPECT and nothing is pruned for it).",
    )
    protected_users: list[str] = Field(default_factory=list, description="UPNs or ids never changed, only reported.")
    protected_groups: list[str] = Field(
        default_factory=list,
        description="Group names or ids whose transitive members are protected like protectedUsers.",
    )
    include_disabled_accounts: Switch = Field(False, description="Also change users whose account is disabled.")
    allow_number_loss: Switch = Field(
        False, description="Plan removals that take a user's last phone-system or calling-plan service plan."
    )
    assign_covered: Switch = Field(
        False,
        description="Add a rule's license even to users whose other licenses already give every voice plan of it.",
    )
    remove_redundant: Switch = Field(
        False,
        description="With prune: remove a directly assigned stand-alone voice license whose every plan other "
        "licenses already give (never one whose removal loses a plan).",
    )
    unassign_numbers: bool = Field(
        False,
        description="With prune and allowNumberLoss: unassign the number of a user whose license this plan removes "
        "before the license goes, so the number returns to the inventory (never for a protected user).",
    )
    acknowledge: list[AcknowledgementEntry] = Field(
        default_factory=list,
        description="Known exceptions: matching gaps are reported as info until the date; nothing is unblocked.",
    )
    read: ReadMode = Field(
        "auto",
        description=(
            "Which users a live read fetches: 'scoped' (holders of managed licenses, members of the groups rules "
            "select, users matching rule attributes, users the file names), 'all', or 'auto' (scoped above "
            "20,000 users). Users outside the scope are not read, so not reported on."
        ),
    )
    funding: Funding = Field(
        "credits",
        description=(
            "How calls past included minutes are paid: 'credits' (Communications Credits, prepaid) or 'postpaid' "
            "(new-commerce overage: such tenants cannot buy Credits, so no Credits gap is reported)."
        ),
    )


class Selector(_Model):
    groups: list[str] = Field(default_factory=list, description="Display names or object ids; transitive members.")
    users: list[str] = Field(default_factory=list, description="userPrincipalNames or object ids.")
    attributes: dict[AttributeName, str | list[str]] = Field(
        default_factory=dict,
        description="All must match, case-insensitively; a list matches any of its values.",
    )


class Rule(_Model):
    name: str = Field(min_length=1, description="Unique name of the rule.")
    select: Selector = Field(description="Union of groups, users and attribute matches.")
    exclude: Selector | None = Field(None, description="Users taken out of the selection.")
    assign: list[str] = Field(min_length=1, description="License aliases, skuPartNumbers or skuId GUIDs.")
    disabled_plans: dict[str, list[str]] = Field(
        default_factory=dict, description="Per assigned license: service plan names or ids to disable."
    )
    usage_location: CountryCode | None = Field(None, description="Overrides defaults.usageLocation for this rule.")
    usage_location_from: AttributeName | None = Field(
        None, description="User attribute holding the country (ISO code or English name) for this rule's users."
    )
    voice_routing: VoiceRouting = Field(
        "callingPlan",
        description="How these users reach the PSTN; Direct Routing and Operator Connect need no Calling Plan.",
    )
    phone_number: PhoneNumberRule | None = Field(
        None, description="Give each selected user without a primary number of this type one from the inventory."
    )
    policies: Policies = Field(
        default_factory=dict,
        description="Teams policies to assign directly: policy type -> policy name (e.g. TeamsCallingPolicy: "
        "AllowCalling); never unassigned by prune.",
    )


class GroupLicense(_Model):
    group: str = Field(
        min_length=1,
        description="Display name or object id of a security (or Microsoft 365) group Entra licenses: its direct "
        "members get these licenses through group-based licensing.",
    )
    assign: list[str] = Field(min_length=1, description="License aliases, skuPartNumbers or skuId GUIDs.")
    disabled_plans: dict[str, list[str]] = Field(
        default_factory=dict, description="Per assigned license: service plan names or ids to disable."
    )
    migrate_direct: Switch = Field(
        False,
        description="Remove members' direct copies of these licenses once Graph shows the group's copy Active "
        "for them with at least the same plans (never a moment without the license).",
    )
    usage_location: CountryCode | None = Field(
        None, description="Set on members without a usage location (a Calling Plan follows it); else defaults."
    )
    usage_location_from: AttributeName | None = Field(
        None, description="User attribute holding the country (ISO code or English name) for this group's members."
    )


Destination = Literal["domestic", "international", "zoneA", "any"]


class IncludedMinutesEntry(_Model):
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["minutes"]}, {"required": ["allowances"]}],
            "dependentRequired": {"destination": ["minutes"]},
        }
    )

    plan: str = Field(
        min_length=1,
        description="The licenseCapability code call rows carry (MCOPSTN1, MCOPSTN2, MCOPSTN5, MCOPSTN6, MCOMEETADD).",
    )
    countries: list[str] = Field(
        default_factory=lambda: ["*"],
        description="ISO country codes (usage locations) the pool serves; '*' for any other; 'tenant' for a "
        "tenant-wide pool.",
        json_schema_extra={"default": ["*"]},  # a default_factory leaves the schema without one
    )
    shared: Switch = Field(
        False, description="The countries share one pool (as the US and Puerto Rico do); else one pool each."
    )
    destination: Destination | None = Field(
        None, description="With minutes: the one allowance this entry changes (default domestic); the rest stay."
    )
    minutes: int | None = Field(None, ge=0, description="Minutes included per license per month (one allowance).")
    allowances: dict[Destination, Annotated[int, Field(ge=0)]] | None = Field(
        None,
        min_length=1,
        description="The pool's allowances, destination -> minutes per license per month (replaces the pool).",
    )
    either_or: Switch | None = Field(
        None,
        description="The allowances are one either/or allowance, used up when either is reached (a Domestic and "
        "International plan: 'whichever is reached first'); default: true with more than one allowance.",
    )

    @model_validator(mode="after")
    def _one_form(self) -> IncludedMinutesEntry:
        if (self.minutes is None) == (self.allowances is None):
            raise ValueError("give either minutes (with destination) or allowances, not both and not neither")
        if self.destination is not None and self.minutes is None:
            raise ValueError("destination goes with minutes; allowances name their destinations")
        return self


def minutes_overrides(entry: IncludedMinutesEntry) -> list[MinutesOverride]:
    """An includedMinutes entry as the minutes table reads it: a whole pool (allowances), or one allowance of each
    country's pool (minutes, the first form: each listed country then keeps a pool of its own)."""
    plan = entry.plan.strip().upper()
    countries = tuple(c.strip().upper() for c in entry.countries)
    if entry.allowances is not None:
        allowances = tuple(entry.allowances.items())
        either_or = entry.either_or if entry.either_or is not None else len(allowances) > 1
        return [MinutesOverride(plan, countries, allowances, entry.shared, either_or)]
    assert entry.minutes is not None
    allowance = ((entry.destination or "domestic", entry.minutes),)
    if entry.shared:
        return [MinutesOverride(plan, countries, allowance, True, entry.either_or, partial=True)]
    return [MinutesOverride(plan, (country,), allowance, False, entry.either_or, partial=True) for country in countries]


class AvailabilityOverride(_Model):
    calling_plans: Switch | None = None
    audio_conferencing: Switch | None = None
    communications_credits: Switch | None = None


class Price(_Model):
    monthly: float = Field(
        ge=0, le=1_000_000, description="What one seat costs per month, as your agreement prices it."
    )
    currency: str = Field(
        pattern="^[A-Z]{3}$", description="ISO 4217 code of the price's currency (USD, EUR, GBP, ...)."
    )


class DesiredStateFile(_Model):
    """The desired state of Teams voice licensing (teams-licensing configuration, version 1)."""

    model_config = ConfigDict(title="teams-licensing configuration")

    version: Literal[1] = Field(description="Format version; must be 1.")
    tenant_id: TenantId | None = Field(
        None,
        description="The Entra tenant (directory) id this file is for: plan and apply refuse to run against another.",
    )
    defaults: Defaults = Field(default_factory=Defaults)
    policy: Policy = Field(default_factory=Policy)
    licenses: dict[str, str] = Field(
        default_factory=dict, description="Aliases used by rules: alias -> skuPartNumber or skuId GUID."
    )
    availability: dict[CountryCode, AvailabilityOverride] = Field(
        default_factory=dict, description="Corrections to the shipped country availability table."
    )
    rules: list[Rule] = Field(default_factory=list)
    included_minutes: list[IncludedMinutesEntry] = Field(
        default_factory=list,
        description="Corrections to the shipped table of PSTN minutes each calling plan includes (usage report).",
    )
    group_licenses: list[GroupLicense] = Field(
        default_factory=list,
        description="Group-based licensing: groups whose license assignments this file manages (a group not "
        "listed is never touched).",
    )
    numbers: NumbersSection | None = Field(
        None, description="Exact numbers for named users; a row wins over a rule's phoneNumber."
    )
    prices: dict[str, Price] = Field(
        default_factory=dict,
        description="Monthly prices per license (an alias, skuPartNumber, product name or skuId): every report then "
        "shows what the plan adds and saves per month, and what redundant and unused seats cost.",
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_sections_mean_defaults(cls, data: Any) -> Any:
        # `defaults:` followed only by comments is YAML null; admins mean "nothing set here"
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v is None and k in _OPTIONAL_SECTIONS)}
        return data


_OPTIONAL_SECTIONS = (
    "defaults",
    "policy",
    "licenses",
    "availability",
    "rules",
    "groupLicenses",
    "includedMinutes",
    "numbers",
    "prices",
)


def json_schema() -> dict[str, Any]:
    """The file's JSON Schema, agreeing with the loader: a section holding only comments (`defaults:`) is YAML
    null, which the loader reads as "nothing set here", so the schema allows null there too."""
    schema = DesiredStateFile.model_json_schema(by_alias=True)
    properties = schema["properties"]
    for name in _OPTIONAL_SECTIONS:
        declared = properties.get(name)
        if declared is not None and "anyOf" not in declared:
            extra = {k: v for k, v in declared.items() if k in ("default", "description", "title")}
            shape = {k: v for k, v in declared.items() if k not in extra}
            properties[name] = {"anyOf": [shape, {"type": "null"}], **extra}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
