"""Problems in a configuration file, each at `FILE:LINE:COLUMN`: pydantic's errors made readable, and the checks
that need the licence catalogue or the whole file (license references, plan names, duplicate rule names, empty
selections). The meaning checks read the raw data defensively so they still run when the model check failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from teamslicensing.config.filemodel import DesiredStateFile, IncludedMinutesEntry, minutes_overrides
from teamslicensing.config.licensehints import license_hint
from teamslicensing.config.suggest import suggest
from teamslicensing.config.wording import type_message
from teamslicensing.config.yamlsource import Loc, YamlDocument
from teamslicensing.errors import Problem
from teamslicensing.model.capability import is_guid
from teamslicensing.reference.catalog import Catalog
from teamslicensing.reference.minutes import MinutesTable
from teamslicensing.reference.pstn import AUDIO_CONFERENCING, POOLED, license_capabilities


def validation_problems(document: YamlDocument, exc: ValidationError) -> Iterator[Problem]:
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            message = f"unknown key '{key}'" + suggest(key, _allowed_keys(loc[:-1]))
            yield document.problem(loc, f"{_dotted(loc[:-1])}{message}", key=True)
        elif kind == "missing":
            yield document.problem(loc[:-1], f"{_dotted(loc[:-1])}missing required key '{loc[-1]}'")
        elif loc and loc[-1] == "[key]":
            key_loc = loc[:-1]
            key = str(key_loc[-1])
            choices = _literal_choices(error)
            message = error["msg"].removeprefix("Value error, ")
            detail = f"unknown key '{key}'" + suggest(key, choices) if choices else f"key '{key}': {message}"
            yield document.problem(key_loc, f"{_dotted(key_loc[:-1])}{detail}", key=True)
        else:
            loc = tuple(part for part in loc if not _is_union_branch(part))
            message = type_message(error) or error["msg"].removeprefix("Value error, ")
            yield document.problem(loc, f"{_dotted(loc)}{message}")


def _is_union_branch(part: str | int) -> bool:
    # pydantic adds a loc segment naming the union member it tried ('str', 'list[str]'); users never wrote those
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "bool", "float"))


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"{text}: " if text else ""


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


def meaning_problems(document: YamlDocument, catalog: Catalog) -> Iterator[Problem]:
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
        yield from _assignment_problems(document, loc, rule, aliases, catalog)
    entries = data.get("groupLicenses") if isinstance(data.get("groupLicenses"), list) else []
    assert isinstance(entries, list)
    groups_seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        loc = ("groupLicenses", index)
        group = entry.get("group")
        if isinstance(group, str):
            key = group.strip().lower()
            if key in groups_seen:
                line = document.position(("groupLicenses", groups_seen[key], "group")).line
                yield document.problem((*loc, "group"), f"group '{group}' is listed twice (first on line {line})")
            else:
                groups_seen[key] = index
        yield from _assignment_problems(document, loc, entry, aliases, catalog)
    yield from _prune_also_problems(document, [*rules, *entries], aliases, catalog)
    yield from _minutes_problems(document)
    yield from _price_problems(document, aliases, catalog)


def _prune_also_problems(
    document: YamlDocument, entries: list[Any], aliases: dict[str, Any], catalog: Catalog
) -> Iterator[Problem]:
    """policy.pruneAlso names licenses like `assign` does, and only licenses some rule or group entry assigns:
    prune never touches a license this file does not manage, so naming another is a mistake worth stopping on."""
    policy = document.data.get("policy")
    named = policy.get("pruneAlso") if isinstance(policy, dict) else None
    if not isinstance(named, list):
        return

    def names(ref: str) -> set[str]:
        """Every spelling of the license `ref` means: its part number and its skuIds, lowercase."""
        expanded = aliases.get(ref, ref)
        target = (expanded if isinstance(expanded, str) else ref).strip()
        skus = catalog.resolve(target)
        return {target.lower()} | {s.sku_id for s in skus} | {s.part_number.lower() for s in skus}

    managed = {
        name
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("assign"), list)
        for ref in entry["assign"]
        if isinstance(ref, str)
        for name in names(ref)
    }
    for position, ref in enumerate(named):
        if not isinstance(ref, str):
            continue
        loc: Loc = ("policy", "pruneAlso", position)
        if ref not in aliases and not _catalog_knows(ref, catalog):
            yield document.problem(loc, _unknown_license(ref, catalog, aliases))
        elif not names(ref) & managed:
            yield document.problem(
                loc,
                f"policy.pruneAlso names '{ref}', which no rule or groupLicenses entry assigns: prune only ever "
                "removes licenses this file manages",
            )


# service plan names a pool was once keyed by, and the code call rows carry for them
_SERVICE_PLAN_NOT_CODE = {"MCOMEETADV": "MCOMEETADD"}


def _minutes_problems(document: YamlDocument) -> Iterator[Problem]:
    """includedMinutes names pools by the licenseCapability codes call rows carry, and only codes with minutes; each
    entry must reach the pool it means (the countries and destinations of the pool's kind) and a shared entry must
    not merge into a pool that lacks its countries. The entries are checked in order against the shipped table as
    the earlier ones leave it."""
    entries = document.data.get("includedMinutes")
    codes = license_capabilities()
    pooled = sorted(code for code, c in codes.items() if c.pool in POOLED)
    table = MinutesTable()
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        plan = entry.get("plan") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(plan, str):
            continue
        loc: Loc = ("includedMinutes", index)
        code = plan.strip().upper()
        if code not in pooled:
            hint = _SERVICE_PLAN_NOT_CODE.get(code)
            hint = f"; call rows name Audio Conferencing dial-out '{hint}'" if hint else ""
            message = f"'{plan}' is not a licenseCapability code with included minutes ({', '.join(pooled)}){hint}"
            yield document.problem((*loc, "plan"), message)
            continue
        tenant_wide = codes[code].pool == AUDIO_CONFERENCING
        found = list(_pool_kind_problems(document, loc, entry, code, tenant_wide))
        found += [] if found else list(_shared_problems(document, loc, entry, code, table))
        yield from found
        try:
            overrides = [] if found else minutes_overrides(IncludedMinutesEntry.model_validate(entry))
        except ValidationError:
            continue  # the model check reports it
        for override in overrides:
            table.add(override)


def _pool_kind_problems(
    document: YamlDocument, loc: Loc, entry: dict[str, Any], code: str, tenant_wide: bool
) -> Iterator[Problem]:
    """The Audio Conferencing pool is the tenant's and Zone A only (the dial-out benefit page); a calling plan's
    pools are per usage location, to domestic, international or any destination. An entry naming another country
    or destination would validate and change nothing (its '*' default is no Audio Conferencing pool) or add an
    allowance no call draws on."""
    countries = entry.get("countries")
    named = [c.strip().upper() for c in countries if isinstance(c, str)] if isinstance(countries, list) else ["*"]
    if tenant_wide and named != ["TENANT"]:
        where = (*loc, "countries") if "countries" in entry else loc
        told = "without countries the entry means '*'" if "countries" not in entry else f"[{', '.join(named)}]"
        yield document.problem(
            where,
            f"{code} is the tenant's one Audio Conferencing dial-out pool: write countries: [tenant] ({told}, which "
            f"names no {code} pool: the entry would change nothing)",
        )
    elif not tenant_wide and "TENANT" in named:
        yield document.problem(
            (*loc, "countries"),
            f"a calling plan's pools are per usage location: name ISO country codes or '*' for {code}, not tenant "
            "(the tenant-wide pool is Audio Conferencing's, MCOMEETADD)",
        )
    wanted = "zoneA" if tenant_wide else None
    allowances = entry.get("allowances")
    if isinstance(allowances, dict):
        for destination in allowances:
            if (destination != "zoneA") if tenant_wide else (destination == "zoneA"):
                where = (*loc, "allowances", destination)
                yield _destination_problem(document, where, code, destination, wanted, key=True)
    elif "minutes" in entry:
        destination = entry.get("destination", "domestic")
        if (destination != "zoneA") if tenant_wide else (destination == "zoneA"):
            where = (*loc, "destination") if "destination" in entry else (*loc, "minutes")
            yield _destination_problem(document, where, code, destination, wanted)


def _destination_problem(
    document: YamlDocument, loc: Loc, code: str, destination: Any, zone_a: str | None, *, key: bool = False
) -> Problem:
    if zone_a:
        message = (
            f"the {code} pool covers Zone A destinations only, so a '{destination}' allowance is one no dial-out "
            "draws on: write destination: zoneA with minutes, or allowances: {zoneA: N}"
        )
    else:
        message = (
            f"zoneA is the Audio Conferencing pool's destination; a calling plan's ({code}) are domestic, "
            "international or any"
        )
    return document.problem(loc, message, key=key)


def _shared_problems(
    document: YamlDocument, loc: Loc, entry: dict[str, Any], code: str, table: MinutesTable
) -> Iterator[Problem]:
    """A shared entry with minutes changes one allowance of the pool its countries are in: countries within one pool
    change it, countries of several pools become one pool only when every shared pool among them is listed whole
    (Canada can join the US and Puerto Rico, not the US alone, which would leave Puerto Rico behind)."""
    countries = entry.get("countries")
    if entry.get("shared") is not True or "minutes" not in entry or not isinstance(countries, list):
        return
    named = [c.strip().upper() for c in countries if isinstance(c, str)]
    pools = {country: table.pool_of(code, country)[0] for country in named}
    if len(named) < 2 or any(set(named) <= set(pool) for pool in pools.values()):
        return
    for country, pool in pools.items():
        left = [c for c in pool if c not in named]
        if len(pool) < 2 or not left:
            continue
        joined = ", ".join(sorted(set(named) | set(pool)))
        others = ", ".join(c for c in named if c not in pool)
        first = named[0] == country
        why = (
            f"{country} is in the pool {' and '.join(pool)} share, which {others} is not in: minutes changes one "
            f"allowance of that pool and cannot join {others} to it"
            if first
            else f"shared: true would take {country} out of the pool {' and '.join(pool)} share and leave "
            f"{', '.join(left)} behind"
        )
        alone = f" (or give {others} an entry of its own)" if first else ""
        yield document.problem(
            (*loc, "countries"),
            f"{why}. To make one pool of them, list every country of it: countries: [{joined}], shared: true{alone}",
        )
        return


def _assignment_problems(
    document: YamlDocument, loc: Loc, entry: dict[str, Any], aliases: dict[str, Any], catalog: Catalog
) -> Iterator[Problem]:
    """The licenses a rule or group entry assigns, and its disabled plans, against the catalogue."""
    assigned: dict[str, str] = {}
    assign = entry.get("assign")
    for position, ref in enumerate(assign if isinstance(assign, list) else []):
        if not isinstance(ref, str):
            continue
        target = aliases.get(ref, ref) if isinstance(aliases.get(ref, ref), str) else ref
        if _catalog_knows(target, catalog):
            assigned[ref] = target
        elif ref not in aliases:
            yield document.problem((*loc, "assign", position), _unknown_license(ref, catalog, aliases))
    plans = entry.get("disabledPlans")
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
            entry = "rule" if loc[0] == "rules" else "group entry"
            message = f"disabledPlans names '{ref}', which this {entry} does not assign"
            yield document.problem((*loc, ref), message, key=True)
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
                f"service plan '{plan_name}' is not part of {skus[0].part_number}" + suggest(plan_name, choices),
            )


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _catalog_knows(ref: str, catalog: Catalog) -> bool:
    return is_guid(ref) or bool(catalog.resolve(ref))


def _unknown_license(ref: str, catalog: Catalog, aliases: dict[str, Any], *, in_alias: bool = False) -> str:
    where = "a skuPartNumber, product name or skuId of Microsoft's catalogue"
    if not in_alias:
        where = "an alias under 'licenses', " + where
    return f"unknown license '{ref}': not {where}" + license_hint(ref, catalog, [] if in_alias else list(aliases))


def _price_problems(document: YamlDocument, aliases: dict[str, Any], catalog: Catalog) -> Iterator[Problem]:
    """Each price names a license the catalogue knows, and no license has two prices (one would win silently)."""
    prices = document.data.get("prices")
    priced: dict[str, str] = {}  # skuId or spelling -> the key that priced it first
    for name in prices if isinstance(prices, dict) else ():
        if not isinstance(name, str):
            continue
        if name not in aliases and not _catalog_knows(name, catalog):
            yield document.problem(("prices", name), _unknown_license(name, catalog, aliases), key=True)
            continue
        expanded = aliases.get(name, name)
        target = (expanded if isinstance(expanded, str) else name).strip()
        ids = {sku.sku_id for sku in catalog.resolve(target)} or {target.lower()}
        first = next((priced[i] for i in sorted(ids) if i in priced), None)
        if first is not None:
            line = document.position(("prices", first)).line
            message = f"prices: '{name}' is the license '{first}' (line {line}) prices already: give one price each"
            yield document.problem(("prices", name), message, key=True)
        priced.update(dict.fromkeys(ids, name))
