"""The starting configuration `init` proposes for a tenant (pure): for each holding (the users holding the same
stand-alone voice SKUs with the same plans off), the groups whose members are those users, then an attribute value
(department, usage location) that holds the rest, then the rest by name. A holder no rule can explain without
changing somebody is kept out of every rule and said, with the reason: the file's plan must change nobody.

Only users the planner considers are used: disabled accounts are left alone by default (policy
includeDisabledAccounts), so a disabled holder is not explained and a disabled member is no outsider.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from teamslicensing.model.capability import Capability
from teamslicensing.model.tenant import Tenant, TenantUser
from teamslicensing.model.words import counted
from teamslicensing.plan.adoption import HeldIndex, Holding, greedy_cover, holdings, suites_with_voice, voice_addons
from teamslicensing.plan.selection import GroupNames
from teamslicensing.reference.catalog import Catalog

ATTRIBUTES = ("department", "usageLocation")  # the attributes an attribute rule may select on
MIN_ATTRIBUTE_HOLDERS = 3  # an attribute value explaining fewer holders than this is no rule: name them instead
MAX_NAMED_USERS = 50  # per holding: beyond this, a list of names is no rule an admin can keep up
MAX_NAME = 48  # characters of a rule's name
_ALIAS_NOISE = frozenset({"microsoft", "office", "365", "teams", "for", "the", "and"})


Selection = tuple[
    tuple[str, ...], Mapping[str, str], tuple[str, ...], tuple[str, ...]
]  # groups, attributes, users, out


@dataclass(frozen=True)
class ProposedRule:
    name: str
    assign: tuple[str, ...]  # skuIds, in part-number order
    disabled: Mapping[str, tuple[str, ...]]  # skuId -> service plan names turned off
    why: str  # the comment above the rule
    groups: tuple[str, ...] = ()  # group display names
    attributes: Mapping[str, str] = field(default_factory=dict)
    users: tuple[str, ...] = ()  # userPrincipalNames
    excluded: tuple[str, ...] = ()  # userPrincipalNames
    explains: int = 0  # holders this rule explains
    without_calling_plan: bool = False  # Phone System and no Calling Plan: the routing is the admin's to say


@dataclass(frozen=True)
class Proposal:
    tenant_id: str | None
    tenant_name: str | None
    aliases: Mapping[str, str]  # skuId -> alias, for the SKUs the rules assign
    rules: tuple[ProposedRule, ...]
    holders: int  # users holding a stand-alone voice SKU directly
    not_explained: Mapping[str, str]  # userPrincipalName -> why no rule selects them
    suites: Mapping[str, int]  # skuId of a suite carrying voice -> users holding it
    number_holders: tuple[tuple[str, str], ...]  # (userPrincipalName, number)
    numbers_unread: str | None = None  # why the number inventory was not read; None: it was
    # group-based licensing: the groups giving stand-alone voice licenses -> the users holding one through them
    group_licensed: Mapping[str, int] = field(default_factory=dict)
    # skuId -> product name, for every SKU the file names (aliases, suites); None: not in the catalogue copy
    products: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def explained(self) -> int:
        return sum(rule.explains for rule in self.rules)

    def count(self, kind: str) -> int:
        """Rules of one kind: 'groups', 'attributes' or 'users'."""
        return sum(1 for rule in self.rules if getattr(rule, kind))


def propose(tenant: Tenant, catalog: Catalog, held_out: Mapping[str, str] | None = None) -> Proposal:
    """The proposal for `tenant` (product names from `catalog`); users in `held_out` (id -> reason) are kept out
    of every rule."""
    held_out = dict(held_out or {})
    users = {user.id: user for user in tenant.users}
    for user in tenant.users:
        if not user.account_enabled:
            held_out.setdefault(user.id, _disabled_reason(tenant, user))
    enabled = {uid for uid, user in users.items() if user.account_enabled}
    licensing = {a.assigned_by_group for user in tenant.users for a in user.licenses if a.assigned_by_group}
    # a group that licenses its members through Entra is no rule's selection: its next member would get both
    groups = {g.id: g.members & enabled for g in tenant.groups if g.members_complete and g.id not in licensing}
    names = {g.id: g.display_name for g in tenant.groups}
    refs = group_references(tenant)
    found = holdings(tenant)
    values = attribute_values(tenant.users)
    held = HeldIndex(tenant)
    aliases = _aliases(tenant, {sku for holding in found for sku, _ in holding}, catalog)
    rules: list[ProposedRule] = []
    holding_someone = frozenset().union(*found.values())
    not_explained = {users[uid].user_principal_name: why for uid, why in held_out.items() if uid in holding_someone}
    taken: set[str] = set()
    for holding, all_holders in sorted(found.items(), key=lambda item: (-len(item[1]), _key(item[0], tenant))):
        holders = all_holders - held_out.keys()
        unchanged = held.unchanged_by(holding) - held_out.keys()
        built, unnamed = _rules_for(
            tenant, holding, (holders, unchanged), (groups, names, values, refs), users, aliases, taken
        )
        rules.extend(built)
        if unnamed:
            what = " + ".join(aliases[sku] for sku, _ in holding)
            why = unnamed_reason(len(unnamed), what, _closest(unnamed, unchanged, groups, names))
            not_explained.update(dict.fromkeys((users[uid].user_principal_name for uid in unnamed), why))
    used = {sku for rule in rules for sku in rule.assign}
    suites = _suite_holders(tenant)
    return Proposal(
        tenant.tenant_id,
        tenant.tenant_name,
        {sku: alias for sku, alias in aliases.items() if sku in used},
        tuple(rules),
        sum(len(holders) for holders in found.values()),
        dict(sorted(not_explained.items())),
        suites,
        _number_holders(tenant, users),
        None if tenant.numbers is not None else tenant.numbers_unavailable or "the source has no number inventory",
        _group_licensed(tenant),
        {sku: known.product_name if (known := catalog.by_id(sku)) else None for sku in {*used, *suites}},
    )


def group_references(tenant: Tenant) -> dict[str, str]:
    """How a rule names each group: by display name when the planner's own lookup finds exactly that group by it,
    else by object id (a name another group shares, or that differs only in case or spaces, would select nobody)."""
    lookup = GroupNames(tenant.groups)
    return {
        group.id: name
        if (name := group.display_name.strip()) and lookup.find(group.display_name)[0] is group
        else group.id
        for group in tenant.groups
    }


def unnamed_reason(count: int, what: str, closest: str) -> str:
    return (
        f"holders of {what} ({count:,}) whom no group or {' or '.join(ATTRIBUTES)} value holds without licensing "
        f"others, too many to name (over {MAX_NAMED_USERS}){closest}"
    )


def _closest(
    left: frozenset[str], unchanged: frozenset[str], groups: Mapping[str, frozenset[str]], names: Mapping[str, str]
) -> str:
    """The group most like `left` (most of them, fewest others: a Jaccard-like likeness, so that All Staff is never
    it), and how many members a rule for it would license: what the admin would clean up for one rule to explain
    them."""

    def likeness(gid: str) -> tuple[float, str]:
        return len(groups[gid] & left) / (len(left) + len(groups[gid] - unchanged)), names[gid]

    best = max(groups, key=likeness, default=None)
    if best is None or not groups[best] & left:
        return ""
    others = len(groups[best] - unchanged)
    return (
        f"; the closest group, {names[best]!r}, holds {len(groups[best] & left):,} of them and "
        f"{counted(others, 'member')} a rule for it would license"
    )


def _rules_for(
    tenant: Tenant,
    holding: Holding,
    who: tuple[frozenset[str], frozenset[str]],
    candidates: tuple[Mapping[str, frozenset[str]], Mapping[str, str], Mapping[str, frozenset[str]], Mapping[str, str]],
    users: Mapping[str, TenantUser],
    aliases: Mapping[str, str],
    taken: set[str],
) -> tuple[list[ProposedRule], frozenset[str]]:
    """The rules explaining one holding, and the holders none can. `candidates`: groups (id -> enabled members),
    their names, attribute values (`department=Sales` -> enabled users), and how a rule names each group. `who`:
    the holding's holders, and the users a rule assigning it would leave unchanged (the holders and those who hold
    it otherwise)."""
    groups, names, every_value, refs = candidates
    holders, unchanged = who
    assign = tuple(sku for sku, _ in holding)
    disabled = {sku: _plan_names(tenant, sku, off) for sku, off in holding if off}
    without_calling_plan = _without_calling_plan(tenant, assign)
    what = " + ".join(aliases[sku] for sku in assign)

    def rule(stem: str, why: str, explains: int, select: Selection) -> ProposedRule:
        name = _unique(_slug(stem), taken)
        groups_, attributes, named, excluded = select
        return ProposedRule(
            name, assign, disabled, why, groups_, attributes, named, excluded, explains, without_calling_plan
        )

    def upns(ids: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted(users[uid].user_principal_name for uid in ids))

    by_group = greedy_cover(holders, groups, names, unchanged=unchanged)
    built = [
        rule(
            names[gid],
            f"{names[gid]!r}{'' if refs[gid] != gid else ' (by id: another group has the name)'}: "
            f"{counted(by_group.gained[gid], 'member')} holding {what}",
            by_group.gained[gid],
            ((refs[gid],), {}, (), upns(by_group.excluded.get(gid, ()))),
        )
        for gid in by_group.groups
    ]
    values = {key: ids for key, ids in every_value.items() if len(ids & by_group.left) >= MIN_ATTRIBUTE_HOLDERS}
    by_value = greedy_cover(holders, values, {key: key for key in values}, by_group.left, unchanged)
    for key in by_value.groups:
        attribute, _, value = key.partition("=")
        explains = by_value.gained[key]
        built.append(
            rule(
                f"{what} {attribute} {value}",
                f"{attribute} {value!r}: {counted(explains, 'user')} holding {what} whom no group holds",
                explains,
                ((), {attribute: value}, (), upns(by_value.excluded.get(key, ()))),
            )
        )
    left = by_value.left
    if left and len(left) <= MAX_NAMED_USERS:
        why = f"{what}: {counted(len(left), 'holder')} whom no group or attribute value holds, by name"
        built.append(rule(f"{what} users", why, len(left), ((), {}, upns(left), ())))
        left = frozenset()
    return built, left


def attribute_values(users: Iterable[TenantUser]) -> dict[str, frozenset[str]]:
    """`attribute=value` -> the enabled users with it, for every attribute an attribute rule may select on. Values
    are matched as the planner matches them (spaces around ignored, any case): `Sales`, `sales ` and `SALES` are one
    value, written in its most common spelling."""
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    spellings: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for user in users:
        if not user.account_enabled:
            continue
        for attribute in ATTRIBUTES:
            value = user.usage_location if attribute == "usageLocation" else user.attributes.get(attribute)
            if value and value.strip():
                key = (attribute, value.strip().lower())
                members[key].add(user.id)
                spellings[key][value.strip()] += 1
    return {
        f"{attribute}={spellings[(attribute, folded)].most_common(1)[0][0]}": frozenset(ids)
        for (attribute, folded), ids in members.items()
    }


def _key(holding: Holding, tenant: Tenant) -> tuple[str, ...]:
    return tuple(tenant.sku_by_id[sku].part_number for sku, _ in holding)


def _plan_names(tenant: Tenant, sku_id: str, off: frozenset[str]) -> tuple[str, ...]:
    plans = {plan.id: plan.name for plan in tenant.sku_by_id[sku_id].service_plans}
    return tuple(sorted(plans.get(plan_id, plan_id) for plan_id in off))


def _without_calling_plan(tenant: Tenant, assign: tuple[str, ...]) -> bool:
    capabilities = frozenset().union(*(tenant.sku_by_id[sku].capabilities for sku in assign))
    return Capability.PHONE_SYSTEM in capabilities and Capability.CALLING_PLAN not in capabilities


def _aliases(tenant: Tenant, skus: Iterable[str], catalog: Catalog) -> dict[str, str]:
    """A short camelCase name per SKU from its product name (`Microsoft Teams Phone Standard` -> phoneStandard),
    its part number when the catalogue has no name; unique."""
    taken: set[str] = set()
    aliases = {}
    for sku in sorted(skus, key=lambda s: tenant.sku_by_id[s].part_number):
        known = catalog.by_id(sku)
        text = known.product_name if known else tenant.sku_by_id[sku].part_number
        words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w and w.lower() not in _ALIAS_NOISE]
        stem = (words[0].lower() + "".join(w.capitalize() for w in words[1:])) if words else "license"
        aliases[sku] = _unique(stem, taken, separator="")
    return aliases


def _slug(text: str) -> str:
    """`phoneStandard + domesticCallingPlan users` -> `phone-standard-domestic-calling-plan-users`, at most
    MAX_NAME characters (cut between words: the plan's tables show rule names)."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z0-9])|(?<=[0-9])(?=[A-Z])", " ", text)
    words = [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]
    while len(words) > 1 and len("-".join(words)) > MAX_NAME:
        words.pop(-2 if words[-1] in ("users",) else -1)
    return "-".join(words)[:MAX_NAME] or "rule"


def _unique(name: str, taken: set[str], separator: str = "-") -> str:
    chosen, n = name, 1
    while chosen in taken:
        n += 1
        chosen = f"{name}{separator}{n}"
    taken.add(chosen)
    return chosen


def _suite_holders(tenant: Tenant) -> dict[str, int]:
    suites = suites_with_voice(tenant)
    counts: dict[str, int] = defaultdict(int)
    for user in tenant.users:
        for assignment in {a.sku_id for a in user.licenses} & suites:
            counts[assignment] += 1
    return dict(sorted(counts.items(), key=lambda item: tenant.sku_by_id[item[0]].part_number))


def _group_licensed(tenant: Tenant) -> dict[str, int]:
    """Display name (else id) of each group that gives a stand-alone voice license -> how many users hold one
    through it: Entra's to give (the file's `groupLicenses`), never a rule's."""
    voice = voice_addons(tenant)
    names = {**tenant.group_names, **{g.id: g.display_name for g in tenant.groups}}
    counts: Counter[str] = Counter()
    for user in tenant.users:
        for group_id in {a.assigned_by_group for a in user.licenses if a.assigned_by_group and a.sku_id in voice}:
            counts[names.get(group_id) or group_id] += 1
    return dict(sorted(counts.items()))


def _number_holders(tenant: Tenant, users: Mapping[str, TenantUser]) -> tuple[tuple[str, str], ...]:
    """(userPrincipalName, number) of every user and resource account holding a number (a service number marked)."""
    return tuple(
        sorted(
            (
                users[n.user_id].user_principal_name,
                n.number + ("" if n.assignment_status == "userAssigned" else " (service number of a resource account)"),
            )
            for n in tenant.numbers or ()
            if n.user_id in users
        )
    )


def _disabled_reason(tenant: Tenant, user: TenantUser) -> str:
    resource = any(
        Capability.RESOURCE_ACCOUNT in tenant.sku_by_id[a.sku_id].capabilities
        for a in user.licenses
        if a.sku_id in tenant.sku_by_id
    )
    if resource:  # Teams makes resource accounts as disabled user objects (Microsoft's resource-account page)
        return (
            "a resource account (Teams makes them disabled users): the planner leaves disabled accounts alone "
            "unless policy.includeDisabledAccounts is true"
        )
    return "account disabled: the planner leaves it alone (policy.includeDisabledAccounts)"
