"""Live reads of the Teams administration API (Graph v1.0, global cloud only): each user's Teams configuration
(`userConfigurations`: numbers, isEnterpriseVoiceEnabled, effective policies) and policy ids by name (`getPolicyId`).

Both are observed data a plan can do without: when Graph will not give them (a national cloud, no permission, an
answer of another shape than the CSDL's) the read says why and the tenant holds None, never a failed run. Bounded:
pages with `$top` and `@odata.nextLink` (the docs give no page size, maximum or nextLink for this list; 999 is what
other tools send, and Graph may send fewer), a page cap from the tenant's size (a page holds one user at least; a
nextLink seen before is a loop), and for a scoped read only the
users in scope, by id, 20 to a `$batch`, when that takes fewer requests than the pages.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType
from typing import IO, Any
from urllib.parse import quote

from teamslicensing.errors import GraphError
from teamslicensing.graph import Graph
from teamslicensing.model.tenant import PolicyLookup, TeamsUserConfiguration, policy_key
from teamslicensing.reference.permissions import refusal_hint
from teamslicensing.tenant.parse import Interner, ObjectError
from teamslicensing.tenant.teamsparse import parse_policy_lookup, parse_user_configuration

CONFIGURATIONS_URL = "/admin/teams/userConfigurations"
POLICY_ID_URL = "/admin/teams/policy/getPolicyId"
CONFIGURATION_PAGE = 999
MAX_CONFIGURATION_PAGES = 1100  # a million users in pages of 999, and room: past that, something is looping
BATCH = 20  # GETs to a $batch (Graph's JSON batching limit)
REFUSED = (401, 403, 404)

Configurations = Mapping[str, TeamsUserConfiguration]


def _global_only(cloud: str, what: str) -> str | None:
    return None if cloud == "global" else f"Graph has {what} in the global cloud only, not in {cloud}"


def _refused(exc: GraphError, url: str) -> str | None:
    """Why a read is not possible, when Graph refused it for want of a permission or the path; None otherwise."""
    if exc.status in REFUSED:
        return f"HTTP {exc.status}: {refusal_hint('GET', url)}"
    if exc.status == 0:  # a page of another shape, a paging loop, too many pages: the answer cannot be believed
        return f"Graph's answer for {url} cannot be read: {exc.message}"
    return None


async def read_user_configurations(
    graph: Graph, cloud: str, user_ids: Collection[str] | None = None, users_in_tenant: int | None = None
) -> tuple[Configurations | None, str | None]:
    """Each user's Teams configuration by lowercase user id (only `user_ids`, when given), or (None, why). A
    user Graph does not list has none. By id when `user_ids` are few against `users_in_tenant`, else every page."""
    unavailable = _global_only(cloud, "Teams user configurations")
    if unavailable:
        return None, unavailable
    wanted = {user_id.lower() for user_id in user_ids} if user_ids is not None else None
    pages = math.ceil(users_in_tenant / CONFIGURATION_PAGE) if users_in_tenant is not None else None
    if wanted is not None and pages is not None and math.ceil(len(wanted) / BATCH) < pages:
        return await _by_id(graph, sorted(wanted))
    # Graph may send fewer than $top a page (the docs give this list no page size): a page holds one user at least
    cap = min(users_in_tenant + 2, MAX_CONFIGURATION_PAGES) if users_in_tenant is not None else MAX_CONFIGURATION_PAGES
    return await _every_page(graph, wanted, cap)


async def _every_page(graph: Graph, wanted: set[str] | None, cap: int) -> tuple[Configurations | None, str | None]:
    share = Interner()
    found: dict[str, TeamsUserConfiguration] = {}
    url = f"{CONFIGURATIONS_URL}?$top={CONFIGURATION_PAGE}"
    try:
        async for page in graph.pages(url, max_pages=cap):
            for item in page:
                parsed = _parsed(item, share)
                if isinstance(parsed, str):
                    return None, parsed
                if wanted is None or parsed.user_id in wanted:
                    found.setdefault(parsed.user_id, parsed)
    except GraphError as exc:
        why = _refused(exc, CONFIGURATIONS_URL)
        if why is None:
            raise
        return None, why
    return MappingProxyType(found), None


async def _by_id(graph: Graph, user_ids: list[str]) -> tuple[Configurations | None, str | None]:
    share = Interner()
    found: dict[str, TeamsUserConfiguration] = {}
    async for user_id, answer in graph.gets(user_ids, f"{CONFIGURATIONS_URL}/{{}}"):
        if answer.status == 404 and answer.trusted:  # not a Teams user: no configuration
            continue
        if answer.status in REFUSED:
            return None, f"HTTP {answer.status}: {refusal_hint('GET', CONFIGURATIONS_URL + '/{id}')}"
        if not answer.ok:
            return None, f"the Teams configuration of {user_id} could not be read: {answer.error_message}"
        parsed = _parsed(answer.body, share)
        if isinstance(parsed, str):
            return None, parsed
        found[parsed.user_id] = parsed
    return MappingProxyType(found), None


def _parsed(item: Any, share: Interner) -> TeamsUserConfiguration | str:
    """The configuration, or why Graph's object cannot be read (the whole read is then not believed: a user left
    out would look like one holding no number)."""
    try:
        return parse_user_configuration(item, share)
    except ObjectError as exc:
        label = item.get("userPrincipalName") or item.get("id") if isinstance(item, dict) else None
        return f"Graph returned a teamsUserConfiguration we cannot read ({label}): {exc}"


def _literal(value: str) -> str:
    """An OData string literal in a URL path: quotes doubled inside, the rest percent-encoded (the quotes not)."""
    return quote("'" + value.replace("'", "''") + "'", safe="'")


def policy_id_url(policy_type: str, name: str) -> str:
    """getPolicyId's URL for a policy type and name."""
    return f"{POLICY_ID_URL}(type={_literal(policy_type)},name={_literal(name)})"


async def fetch_policy_lookups(
    graph: Graph, cloud: str, wanted: Iterable[tuple[str, str]]
) -> tuple[list[dict[str, Any]] | None, str | None]:
    """getPolicyId for each (policy type, name), once each, 20 to a `$batch`: Graph's answers as snapshots keep
    them (`{"policyType", "name", "value"}`), or (None, why). It needs TeamsPolicyUserAssign.ReadWrite.All, the
    only permission Microsoft lists for it, a read though it is."""
    unavailable = _global_only(cloud, "Teams policies")
    if unavailable:
        return None, unavailable
    pairs = list({policy_key(kind, name): (kind.strip(), name.strip()) for kind, name in wanted}.values())
    keys = [f"type={_literal(kind)},name={_literal(name)}" for kind, name in pairs]
    by_key = dict(zip(keys, pairs, strict=True))
    lookups: list[dict[str, Any]] = []
    async for key, answer in graph.gets(keys, f"{POLICY_ID_URL}({{}})"):
        kind, name = by_key[key]
        if answer.status in REFUSED:
            return None, f"HTTP {answer.status}: {refusal_hint('GET', POLICY_ID_URL + '(type={value},name={value})')}"
        body = answer.body if isinstance(answer.body, dict) else {}
        if not answer.ok or not isinstance(body.get("value"), list):
            why = answer.error_message if not answer.ok else "the answer has no 'value' list"
            return None, f"getPolicyId({kind}, {name}) could not be read: {why}"
        lookups.append({"policyType": kind, "name": name, "value": body["value"]})
    return lookups, None


async def read_policy_lookups(
    graph: Graph, cloud: str, wanted: Iterable[tuple[str, str]]
) -> tuple[Mapping[tuple[str, str], PolicyLookup] | None, str | None]:
    """The lookups of `fetch_policy_lookups`, parsed and keyed by `policy_key`."""
    raw, why = await fetch_policy_lookups(graph, cloud, wanted)
    if raw is None:
        return None, why
    try:
        parsed = [parse_policy_lookup(lookup) for lookup in raw]
    except ObjectError as exc:
        return None, f"Graph returned a policyIdentifierDetail we cannot read: {exc}"
    return MappingProxyType({policy_key(p.policy_type, p.name): p for p in parsed}), None


async def export_user_configurations(graph: Graph, cloud: str, out: IO[str]) -> tuple[int, set[tuple[str, str]]]:
    """Write `,"userConfigurations": [...]` to `out` page by page, as Graph gave them; (-1, {}) and nothing written
    when Graph will not list them; else (how many, the (policy type, name) pairs in effect for someone). A failure
    after the first page fails the export (a snapshot is written whole or not at all), and load checks each item."""
    if cloud != "global":
        return -1, set()
    pages = graph.pages(f"{CONFIGURATIONS_URL}?$top={CONFIGURATION_PAGE}", max_pages=MAX_CONFIGURATION_PAGES)
    try:
        first = await pages.__anext__()
    except StopAsyncIteration:
        first = []
    except GraphError as exc:
        if exc.status in REFUSED or exc.status == 0:  # refused, or a first page of another shape: not read
            return -1, set()
        raise
    out.write(',\n"userConfigurations": [')
    count, policies = 0, set()
    page: list[Any] = first
    while True:
        for item in page:
            out.write(",\n" if count else "\n")
            json.dump(item, out)
            count += 1
            policies.update(_policies_of(item))
        try:
            page = await pages.__anext__()
        except StopAsyncIteration:
            break
    out.write("]")
    return count, policies


def _policies_of(item: Any) -> set[tuple[str, str]]:
    found = set()
    for entry in (item.get("effectivePolicyAssignments") or []) if isinstance(item, dict) else []:
        assignment = entry.get("policyAssignment") if isinstance(entry, dict) else None
        kind = entry.get("policyType") if isinstance(entry, dict) else None
        name = assignment.get("displayName") if isinstance(assignment, dict) else None
        if isinstance(kind, str) and isinstance(name, str):
            found.add((kind, name))
    return found
