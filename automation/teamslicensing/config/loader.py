"""Loading the desired-state file: three passes over one YAML document, every problem of every pass reported at once.

1. `yamlsource` turns bytes into plain data plus positions (syntax, encoding, size, duplicates, aliases);
2. the pydantic model (`filemodel`) checks shapes and types (unknown keys, wrong types, version, country codes);
3. `checks` finds what needs the licence catalogue or the whole file.
Then the file model is resolved against the catalogue into the planner's `model.desired.DesiredState`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from pydantic import ValidationError

from teamslicensing.config.checks import meaning_problems, validation_problems
from teamslicensing.config.filemodel import (
    AvailabilityOverride,
    DesiredStateFile,
    GroupLicense,
    Policy,
    Rule,
    Selector,
    minutes_overrides,
)
from teamslicensing.config.numbers import numbers_problems, read_numbers_csv
from teamslicensing.config.voicemodel import NumberRow, PhoneNumberRule
from teamslicensing.config.yamlsource import YamlReadError, read_yaml_file
from teamslicensing.errors import ConfigError, Problem
from teamslicensing.model.capability import Capability, is_guid
from teamslicensing.model.cost import SkuPrice
from teamslicensing.model.desired import (
    Acknowledgement,
    CountryOverride,
    DesiredGroupLicense,
    DesiredPolicy,
    DesiredRule,
    DesiredState,
    ExactNumber,
    LicenseRef,
    NumberWant,
    UserSelector,
)
from teamslicensing.reference.catalog import Catalog, load_catalog


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
        problems.extend(validation_problems(document, exc))
    problems.extend(meaning_problems(document, catalog))
    problems.extend(numbers_problems(document))
    file_rows: list[NumberRow] = []
    if model is not None and model.numbers is not None and model.numbers.file is not None:
        file_rows, csv_problems = read_numbers_csv(Path(document.path).parent / model.numbers.file)
        problems.extend(csv_problems)
    if problems or model is None:
        raise ConfigError(problems)
    return _desired_state(document.path, model, catalog, file_rows)


# ---- building the planner's view ---------------------------------------------------------------------------------


class _LicenseRefs:
    """Each license name the file uses, resolved against the catalog once (an alias, a part number, a product name
    or a skuId): every rule that names it shares one `LicenseRef`."""

    def __init__(self, aliases: Mapping[str, str], catalog: Catalog) -> None:
        self._aliases = aliases
        self._catalog = catalog
        self._refs: dict[str, LicenseRef] = {}

    def __call__(self, name: str) -> LicenseRef:
        target = self._aliases.get(name, name).strip()
        key = target.lower()
        if key not in self._refs:
            skus = self._catalog.resolve(target)
            ids = (key,) if is_guid(target) else tuple(sku.sku_id for sku in skus)
            part_numbers = {sku.part_number for sku in skus}
            canonical = next(iter(part_numbers)) if len(part_numbers) == 1 else target
            capabilities = frozenset(c for sku in skus for c in sku.capabilities)
            self._refs[key] = LicenseRef(key if is_guid(target) else canonical, ids, capabilities)
        return self._refs[key]

    def all_of(self, names: Iterable[str]) -> tuple[LicenseRef, ...]:
        return tuple(dict.fromkeys(self(name) for name in names))


def _desired_state(
    source: str, model: DesiredStateFile, catalog: Catalog, file_rows: Sequence[NumberRow] = ()
) -> DesiredState:
    refs = _LicenseRefs(model.licenses, catalog)
    rows = [*file_rows, *(model.numbers.rows if model.numbers is not None else ())]
    return DesiredState(
        source=source,
        default_usage_location=model.defaults.usage_location,
        default_usage_location_from=model.defaults.usage_location_from,
        policy=_policy(model.policy, refs),
        rules=tuple(_rule(rule, refs) for rule in model.rules),
        availability={country: _country_override(o) for country, o in model.availability.items()},
        tenant_id=model.tenant_id,
        group_licenses=tuple(_group_license(entry, refs) for entry in model.group_licenses),
        included_minutes=tuple(override for entry in model.included_minutes for override in minutes_overrides(entry)),
        numbers=tuple(
            ExactNumber(row.user_principal_name.strip().lower(), row.telephone_number, row.number_type, row.location_id)
            for row in rows
        ),
        prices=tuple(
            SkuPrice(refs(name).ref, refs(name).sku_ids, Decimal(str(price.monthly)), price.currency)
            for name, price in model.prices.items()
        ),
    )


def _rule(rule: Rule, refs: _LicenseRefs) -> DesiredRule:
    return DesiredRule(
        name=rule.name,
        select=_selector(rule.select),
        exclude=_selector(rule.exclude) if rule.exclude else UserSelector(),
        assign=refs.all_of(rule.assign),
        disabled_plans={refs(name): tuple(plans) for name, plans in rule.disabled_plans.items()},
        usage_location=rule.usage_location,
        usage_location_from=rule.usage_location_from,
        voice_routing=rule.voice_routing,
        phone_number=_number_want(rule.phone_number),
        policies=tuple(rule.policies.items()),
    )


def _number_want(rule: PhoneNumberRule | None) -> NumberWant | None:
    if rule is None:
        return None
    return NumberWant(rule.type, rule.city.strip() if rule.city else None, rule.location_id)


def _group_license(entry: GroupLicense, refs: _LicenseRefs) -> DesiredGroupLicense:
    return DesiredGroupLicense(
        group=entry.group.strip(),
        assign=refs.all_of(entry.assign),
        disabled_plans={refs(name): tuple(plans) for name, plans in entry.disabled_plans.items()},
        migrate_direct=entry.migrate_direct,
        usage_location=entry.usage_location,
        usage_location_from=entry.usage_location_from,
    )


def _policy(policy: Policy, refs: _LicenseRefs) -> DesiredPolicy:
    return DesiredPolicy(
        prune=policy.prune,
        prune_also=refs.all_of(policy.prune_also),
        max_changes=policy.max_changes,
        max_removals=policy.max_removals,
        empty_groups_allowed=frozenset(group.strip().lower() for group in policy.empty_groups_allowed),
        protected_users=frozenset(user.strip().lower() for user in policy.protected_users),
        protected_groups=tuple(dict.fromkeys(group.strip() for group in policy.protected_groups)),
        include_disabled_accounts=policy.include_disabled_accounts,
        allow_number_loss=policy.allow_number_loss,
        assign_covered=policy.assign_covered,
        funding=policy.funding,
        read=policy.read,
        acknowledge=tuple(
            Acknowledgement(
                code=entry.code,
                until=entry.until,
                reason=entry.reason.strip(),
                user=entry.user.strip().lower() if entry.user else None,
                sku=entry.sku.strip() if entry.sku else None,
            )
            for entry in policy.acknowledge
        ),
        remove_redundant=policy.remove_redundant,
        unassign_numbers=policy.unassign_numbers,
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


def _country_override(override: AvailabilityOverride) -> CountryOverride:
    offered = {
        Capability.CALLING_PLAN: override.calling_plans,
        Capability.AUDIO_CONFERENCING: override.audio_conferencing,
        Capability.COMMUNICATIONS_CREDITS: override.communications_credits,
    }
    return CountryOverride({capability: value for capability, value in offered.items() if value is not None})
