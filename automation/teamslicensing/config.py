"""The desired-state file: its schema (pydantic), its checks, and the immutable `DesiredState` the planner reads.

Loading is three passes over one YAML document, and every problem of every pass is reported at once:
1. `yamlsource` turns bytes into plain data plus positions (syntax, encoding, size, duplicates, aliases);
2. the pydantic model checks shapes and types (unknown keys, wrong types, version, usage-location codes);
3. `_meaning_problems` checks what needs the licence catalogue or the whole file (license references, plan names,
   duplicate rule names, empty selections). It reads the raw data defensively so it still runs when pass 2 failed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from teamslicensing.catalog import Capability, Catalog, is_guid, load_catalog
from teamslicensing.countries import is_country_code
from teamslicensing.errors import ConfigError, Problem
from teamslicensing.yamlsource import Loc, YamlDocument, YamlReadError, read_yaml_file

SELECTABLE_ATTRIBUTES: tuple[str, ...] = (
    "department",
    "usageLocation",
    "country",
    "jobTitle",
    "companyName",
    "officeLocation",
    "city",
    "state",
    "employeeType",
    *(f"extensionAttribute{n}" for n in range(1, 16)),
)
VoiceRouting = Literal["callingPlan", "directRouting", "operatorConnect"]


def _country_code(value: str) -> str:
    if not is_country_code(value):
        hint = f"; did you mean '{value.upper()}'?" if is_country_code(value.upper()) else ""
        if value.upper() == "UK":
            hint = "; the United Kingdom is 'GB'"
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code{hint}")
    return value


CountryCode = Annotated[str, AfterValidator(_country_code)]
AttributeName = Literal[SELECTABLE_ATTRIBUTES]  # type: ignore[valid-type]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, alias_generator=to_camel, populate_by_name=True)


class Defaults(_Model):
    usage_location: CountryCode | None = Field(
        None, description="ISO 3166-1 alpha-2 code set on users who need a license and have none."
    )


class Policy(_Model):
    prune: bool = Field(False, description="Remove managed licenses no rule selects (direct assignments only).")
    max_changes: int = Field(200, ge=0, description="apply refuses a larger plan unless overridden.")
    protected_users: list[str] = Field(default_factory=list, description="UPNs or ids never changed, only reported.")
    include_disabled_accounts: bool = Field(False, description="Also change users whose account is disabled.")
    allow_number_loss: bool = Field(
        False, description="Plan removals that take a user's last phone-system or calling-plan service plan."
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
    voice_routing: VoiceRouting = Field(
        "callingPlan",
        description="How these users reach the PSTN; Direct Routing and Operator Connect need no Calling Plan.",
    )


class AvailabilityOverride(_Model):
    calling_plans: bool | None = None
    audio_conferencing: bool | None = None
    communications_credits: bool | None = None


class DesiredStateFile(_Model):
    """The desired state of Teams voice licensing (teams-licensing configuration, version 1)."""

    model_config = ConfigDict(title="teams-licensing configuration")

    version: Literal[1] = Field(description="Format version; must be 1.")
    defaults: Defaults = Field(default_factory=Defaults)
    policy: Policy = Field(default_factory=Policy)
    licenses: dict[str, str] = Field(
        default_factory=dict, description="Aliases used by rules: alias -> skuPartNumber or skuId GUID."
    )
    availability: dict[CountryCode, AvailabilityOverride] = Field(
        default_factory=dict, description="Corrections to the shipped country availability table."
    )
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections_mean_defaults(cls, data: Any) -> Any:
        # `defaults:` followed only by comments is YAML null; admins mean "nothing set here"
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v is None and k in _OPTIONAL_SECTIONS)}
        return data


_OPTIONAL_SECTIONS = ("defaults", "policy", "licenses", "availability", "rules")


def json_schema() -> dict[str, Any]:
    schema = DesiredStateFile.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# ---- the desired state the planner reads ----------------------------------------------------------------------


@dataclass(frozen=True)
class LicenseRef:
    """A license as the config names it, resolved as far as the catalogue allows (the tenant decides the rest)."""

    ref: str  # the skuPartNumber or GUID after alias expansion
    sku_ids: tuple[str, ...]  # lowercase skuIds the catalogue knows for it (the GUID itself for a GUID)
    capabilities: frozenset[Capability] = frozenset()  # voice capabilities the catalogue knows it to grant

    @property
    def is_guid(self) -> bool:
        return is_guid(self.ref)


@dataclass(frozen=True)
class UserSelector:
    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()  # lowercase
    attributes: tuple[tuple[str, frozenset[str]], ...] = ()  # lowercase values

    @property
    def is_empty(self) -> bool:
        return not (self.groups or self.users or self.attributes)


@dataclass(frozen=True)
class DesiredRule:
    name: str
    select: UserSelector
    exclude: UserSelector
    assign: tuple[LicenseRef, ...]
    disabled_plans: Mapping[LicenseRef, tuple[str, ...]]  # only licenses the rule declares plans for
    usage_location: str | None
    voice_routing: VoiceRouting


@dataclass(frozen=True)
class DesiredPolicy:
    prune: bool = False
    max_changes: int = 200
    protected_users: frozenset[str] = frozenset()  # lowercase UPNs or ids
    include_disabled_accounts: bool = False
    allow_number_loss: bool = False


@dataclass(frozen=True)
class DesiredState:
    source: str
    default_usage_location: str | None
    policy: DesiredPolicy
    rules: tuple[DesiredRule, ...]
    availability: Mapping[str, AvailabilityOverride]

    @property
    def selected_attributes(self) -> frozenset[str]:
        """User attribute names the rules select or exclude on: all a tenant source needs to read."""
        return frozenset(
            name for rule in self.rules for selector in (rule.select, rule.exclude) for name, _ in selector.attributes
        )

    @property
    def group_names(self) -> tuple[str, ...]:
        """Every group rules select or exclude (names or ids, as written), sorted: what a source must read."""
        return tuple(
            sorted(
                {name for rule in self.rules for selector in (rule.select, rule.exclude) for name in selector.groups}
            )
        )

    @property
    def managed_licenses(self) -> tuple[LicenseRef, ...]:
        seen: dict[LicenseRef, None] = {}
        for rule in self.rules:
            seen.update(dict.fromkeys(rule.assign))
        return tuple(seen)


# ---- loading ---------------------------------------------------------------------------------------------------


def load_desired_state(path: str | Path, catalog: Catalog | None = None) -> DesiredState:
    """Read, check and resolve a desired-state file; raise `ConfigError` with every problem found."""
    catalog = catalog or load_catalog()
    try:
        document = read_yaml_file(path)
    except YamlReadError as exc:
        raise ConfigError(exc.problems) from exc
    problems: list[Problem] = []
    if not isinstance(document.data, dict):
        raise ConfigError([document.problem((), "expected a mapping with 'version: 1' at the top level")])
    model: DesiredStateFile | None = None
    try:
        model = DesiredStateFile.model_validate(document.data)
    except ValidationError as exc:
        problems.extend(_validation_problems(document, exc))
    problems.extend(_meaning_problems(document, catalog))
    if problems or model is None:
        raise ConfigError(problems)
    return _desired_state(document.path, model, catalog)


def _validation_problems(document: YamlDocument, exc: ValidationError) -> Iterator[Problem]:
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            message = f"unknown key '{key}'" + _suggest(key, _allowed_keys(loc[:-1]))
            yield document.problem(loc, f"{_dotted(loc[:-1])}{message}", key=True)
        elif kind == "missing":
            yield document.problem(loc[:-1], f"{_dotted(loc[:-1])}missing required key '{loc[-1]}'")
        elif loc and loc[-1] == "[key]":
            key_loc = loc[:-1]
            key = str(key_loc[-1])
            choices = _literal_choices(error)
            detail = f"unknown key '{key}'" + _suggest(key, choices) if choices else f"key '{key}': {error['msg']}"
            yield document.problem(key_loc, f"{_dotted(key_loc[:-1])}{detail}", key=True)
        else:
            loc = tuple(part for part in loc if not _is_union_branch(part))
            message = error["msg"].removeprefix("Value error, ")
            yield document.problem(loc, f"{_dotted(loc)}{message}")


def _is_union_branch(part: str | int) -> bool:
    # pydantic adds a loc segment naming the union member it tried ('str', 'list[str]'); users never wrote those
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "bool", "float"))


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"{text}: " if text else ""


def _suggest(word: str, choices: list[str]) -> str:
    close = [c for c in choices if c.lower().startswith(word.lower())] if len(word) >= 3 else []
    close = close or difflib.get_close_matches(word, choices, n=1, cutoff=0.55)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (expected one of: {', '.join(choices)})" if 0 < len(choices) <= 8 else ""


def _literal_choices(error: Any) -> list[str]:
    expected = (error.get("ctx") or {}).get("expected", "")
    return [part.strip(" '") for part in expected.replace(" or ", ",").split(",") if part.strip(" '")]


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys the model accepts at `loc`, for did-you-mean hints."""
    annotation: Any = DesiredStateFile
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {info.alias or name: info.annotation for name, info in annotation.model_fields.items()}
            annotation = fields.get(str(part))
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or name for name, info in annotation.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    if get_origin(annotation) is Union or type(annotation).__name__ == "UnionType":
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation


# ---- checks that need the catalogue or the whole file ----------------------------------------------------------


def _meaning_problems(document: YamlDocument, catalog: Catalog) -> Iterator[Problem]:
    data: dict[str, Any] = document.data
    aliases = data.get("licenses") if isinstance(data.get("licenses"), dict) else {}
    assert isinstance(aliases, dict)
    for alias, target in aliases.items():
        if isinstance(target, str) and not _catalog_knows(target, catalog):
            yield document.problem(("licenses", alias), _unknown_license(target, catalog, aliases, in_alias=True))
    rules = data.get("rules") if isinstance(data.get("rules"), list) else []
    assert isinstance(rules, list)
    first_seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        loc: Loc = ("rules", index)
        name = rule.get("name")
        if isinstance(name, str):
            if name in first_seen:
                line = document.position(("rules", first_seen[name], "name")).line
                yield document.problem((*loc, "name"), f"duplicate rule name '{name}' (first used on line {line})")
            else:
                first_seen[name] = index
        select = rule.get("select")
        if isinstance(select, dict) and not any(select.get(key) for key in ("groups", "users", "attributes")):
            yield document.problem((*loc, "select"), "rule selects nobody: give select.groups, users or attributes")
        assigned: dict[str, str] = {}
        assign = rule.get("assign")
        for position, ref in enumerate(assign if isinstance(assign, list) else []):
            if not isinstance(ref, str):
                continue
            target = aliases.get(ref, ref) if isinstance(aliases.get(ref, ref), str) else ref
            if _catalog_knows(target, catalog):
                assigned[ref] = target
            elif ref not in aliases:
                yield document.problem((*loc, "assign", position), _unknown_license(ref, catalog, aliases))
        plans = rule.get("disabledPlans")
        if isinstance(plans, dict):
            yield from _disabled_plan_problems(document, (*loc, "disabledPlans"), plans, assigned, aliases, catalog)


def _disabled_plan_problems(
    document: YamlDocument,
    loc: Loc,
    plans: dict[str, Any],
    assigned: dict[str, str],
    aliases: dict[str, Any],
    catalog: Catalog,
) -> Iterator[Problem]:
    for ref, names in plans.items():
        target = aliases.get(ref, ref)
        matching = [r for r, t in assigned.items() if r == ref or (isinstance(target, str) and _same(t, target))]
        if not matching:
            yield document.problem(
                (*loc, ref), f"disabledPlans names '{ref}', which this rule does not assign", key=True
            )
            continue
        skus = catalog.resolve(str(target))
        if not skus or not isinstance(names, list):
            continue  # a GUID unknown to the catalogue: the tenant's own plan list decides at plan time
        known = {plan.name.lower(): plan for sku in skus for plan in sku.service_plans}
        known_ids = {plan.id for sku in skus for plan in sku.service_plans}
        for position, plan_name in enumerate(names):
            if not isinstance(plan_name, str):
                continue
            if plan_name.lower() in known or plan_name.lower() in known_ids:
                continue
            choices = sorted({plan.name for sku in skus for plan in sku.service_plans})
            yield document.problem(
                (*loc, ref, position),
                f"service plan '{plan_name}' is not part of {skus[0].part_number}" + _suggest(plan_name, choices),
            )


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _catalog_knows(ref: str, catalog: Catalog) -> bool:
    return is_guid(ref) or bool(catalog.by_part_number(ref))


def _unknown_license(ref: str, catalog: Catalog, aliases: dict[str, Any], *, in_alias: bool = False) -> str:
    choices = [sku.part_number for sku in catalog.skus] + ([] if in_alias else list(aliases))
    where = "a skuPartNumber in Microsoft's catalogue or a skuId GUID"
    if not in_alias:
        where = "an alias under 'licenses', " + where
    return f"unknown license '{ref}': not {where}" + _suggest(ref, choices)


# ---- building the planner's view ---------------------------------------------------------------------------------


def _desired_state(source: str, model: DesiredStateFile, catalog: Catalog) -> DesiredState:
    refs: dict[str, LicenseRef] = {}

    def license_ref(name: str) -> LicenseRef:
        target = model.licenses.get(name, name).strip()
        key = target.lower()
        if key not in refs:
            skus = catalog.resolve(target)
            ids = (key,) if is_guid(target) else tuple(sku.sku_id for sku in skus)
            part_numbers = {sku.part_number for sku in skus}
            canonical = next(iter(part_numbers)) if len(part_numbers) == 1 else target
            capabilities = frozenset(c for sku in skus for c in sku.capabilities)
            refs[key] = LicenseRef(key if is_guid(target) else canonical, ids, capabilities)
        return refs[key]

    rules = []
    for rule in model.rules:
        assign = tuple(dict.fromkeys(license_ref(name) for name in rule.assign))
        disabled = {license_ref(name): tuple(plans) for name, plans in rule.disabled_plans.items()}
        rules.append(
            DesiredRule(
                name=rule.name,
                select=_selector(rule.select),
                exclude=_selector(rule.exclude) if rule.exclude else UserSelector(),
                assign=assign,
                disabled_plans=disabled,
                usage_location=rule.usage_location,
                voice_routing=rule.voice_routing,
            )
        )
    policy = model.policy
    return DesiredState(
        source=source,
        default_usage_location=model.defaults.usage_location,
        policy=DesiredPolicy(
            prune=policy.prune,
            max_changes=policy.max_changes,
            protected_users=frozenset(user.strip().lower() for user in policy.protected_users),
            include_disabled_accounts=policy.include_disabled_accounts,
            allow_number_loss=policy.allow_number_loss,
        ),
        rules=tuple(rules),
        availability=dict(model.availability),
    )


def _selector(selector: Selector) -> UserSelector:
    attributes = tuple(
        (name, frozenset(v.strip().lower() for v in ([value] if isinstance(value, str) else value)))
        for name, value in sorted(selector.attributes.items())
    )
    return UserSelector(
        groups=tuple(selector.groups),
        users=tuple(user.strip().lower() for user in selector.users),
        attributes=attributes,
    )
