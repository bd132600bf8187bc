"""The read routes: subscribedSkus, users ($select, $filter, paging), groups, transitive members."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from tests.support.fakegraph.common import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_USER_PROPERTIES,
    EQ_FILTER,
    MAX_PAGE_SIZE,
    SKIPTOKEN_PREFIX,
    Json,
    _bad_request,
    _error,
    _not_found,
    _Reply,
)
from tests.support.fakegraph.store import TenantStore


class ReadRoutes(TenantStore):
    """GET handlers and paging with @odata.nextLink and $skiptoken, as Graph pages."""

    def _subscribed_skus(self, query: dict[str, str]) -> _Reply:
        skus = []
        for key, sku in self._skus.items():
            copy = dict(sku)
            copy["consumedUnits"] = self._consumed[key]
            skus.append(copy)
        select = query.get("select")
        if select:
            names = [n.strip() for n in select.split(",") if n.strip()]
            skus = [{**({"id": s["id"]} if "id" in s else {}), **{n: s.get(n) for n in names}} for s in skus]
        return _Reply(200, {"@odata.context": f"{self.base_url}/$metadata#subscribedSkus", "value": skus})

    def _user_fields(self, query: dict[str, str]) -> tuple[str, ...] | _Reply:
        select = query.get("select")
        if not select:
            return DEFAULT_USER_PROPERTIES
        fields = ["id"]
        for name in select.split(","):
            name = name.strip()
            if not name:
                continue
            canonical = self._user_properties.get(name.lower())
            if canonical is None and not name.lower().startswith("extension_"):
                return _bad_request(f"Could not find a property named '{name}' on type 'microsoft.graph.user'.")
            canonical = canonical or name
            if canonical not in fields:
                fields.append(canonical)
        return tuple(fields)

    def _page_size(self, query: dict[str, str]) -> int | _Reply:
        top = query.get("top")
        if top is None:
            return min(DEFAULT_PAGE_SIZE, self.page_size_limit)
        try:
            size = int(top)
        except ValueError:
            return _bad_request(f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.")
        if not 1 <= size <= MAX_PAGE_SIZE:
            return _error(
                400,
                "Request_UnsupportedQuery",
                f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.",
            )
        return min(size, self.page_size_limit)

    @staticmethod
    def _offset(query: dict[str, str]) -> int | _Reply:
        token = query.get("skiptoken")
        if token is None:
            return 0
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            if text.startswith(SKIPTOKEN_PREFIX):
                return int(text[len(SKIPTOKEN_PREFIX) :])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            pass
        return _error(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        )

    def _page(
        self,
        path: str,
        raw_query: str,
        query: dict[str, str],
        items: Sequence[Any],
        render: Callable[[Any], Json],
        context: str,
    ) -> _Reply:
        size = self._page_size(query)
        if isinstance(size, _Reply):
            return size
        offset = self._offset(query)
        if isinstance(offset, _Reply):
            return offset
        chunk = items[offset : offset + size]
        body: Json = {"@odata.context": f"{self.base_url}/$metadata#{context}", "value": [render(x) for x in chunk]}
        if offset + size < len(items):
            body["@odata.nextLink"] = self._next_link(path, raw_query, offset + size)
        return _Reply(200, body)

    def _next_link(self, path: str, raw_query: str, offset: int) -> str:
        """The same request with a $skiptoken: an absolute URL, as Graph gives it."""
        pairs = [
            (k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if k.lower().lstrip("$") != "skiptoken"
        ]
        token = base64.urlsafe_b64encode(f"{SKIPTOKEN_PREFIX}{offset}".encode()).decode().rstrip("=")
        pairs.append(("$skiptoken", token))
        query = urlencode(pairs, quote_via=quote, safe="$,'()@")
        return f"{self.base_url}{quote(path, safe='/@.')}?{query}"

    def _list_users(self, query: dict[str, str], raw_query: str) -> _Reply:
        fields = self._user_fields(query)
        if isinstance(fields, _Reply):
            return fields
        users: Sequence[Json] = self._users
        advanced = self._advanced(query)
        if advanced and len(f"{self.base_url}/users?{raw_query}") > URL_LIMIT:
            return _error(400, "Request_UnsupportedQuery", "The request URL is longer than 2048 characters.")
        if "filter" in query:
            matched = self._filtered_users(query["filter"], advanced, "skiptoken" in query)
            if isinstance(matched, _Reply):
                return matched
            users = matched

        def render(user: Json) -> Json:
            return self._user_fields_of(user, fields)

        reply = self._page("/users", raw_query, query, users, render, f"users({','.join(fields)})")
        if advanced and reply.status == 200:
            reply.body["@odata.count"] = len(users)
        return reply

    def _count_users(self) -> _Reply:
        """GET /users/$count: the number as text/plain, with ConsistencyLevel: eventual only (GRAPH-FACTS)."""
        if self._headers.get("consistencylevel", "").lower() != "eventual":
            return _advanced_query_needed()
        return _Reply(200, str(len(self._users)), {"Content-Type": "text/plain"})

    def _advanced(self, query: dict[str, str]) -> bool:
        return self._headers.get("consistencylevel", "").lower() == "eventual" and query.get("count") == "true"

    def _filtered_users(self, expression: str, advanced: bool, continued: bool) -> list[Json] | _Reply:
        """The users a $filter selects. The next pages of one query use the result its first page computed (a
        million-user tenant is scanned once per query, not once per page); a write, or a first page, starts over."""
        cached = self._filter_cache.get(expression)
        if continued and cached is not None and (advanced or not cached[0]):
            return list(cached[1])
        result = self._filter_users(expression, advanced)
        if not isinstance(result, _Reply):
            self._filter_cache[expression] = (_needs_advanced(expression), result)
        return result

    def _filter_users(self, expression: str, advanced: bool) -> list[Json] | _Reply:
        """`assignedLicenses/any(x:x/skuId eq GUID)`, and `eq` or `in` on a string property (extension attributes
        under onPremisesExtensionAttributes), joined by `and`: what Graph's filter tables list for users. A filter
        on a collection or on extension attributes is an advanced query (ConsistencyLevel + $count=true);
        comparisons ignore case, as directory queries do."""
        tests = []
        for condition in _conjuncts(expression):
            test = self._condition(condition, advanced)
            if isinstance(test, _Reply):
                return test
            tests.append(test)
        if len(tests) == 1 and isinstance(tests[0], list):
            return tests[0]
        candidates = next((t for t in tests if isinstance(t, list)), self._users)
        checks = [t for t in tests if not isinstance(t, list)]
        members = [{id(u) for u in t} for t in tests if isinstance(t, list)]
        return [u for u in candidates if all(id(u) in m for m in members) and all(check(u) for check in checks)]

    def _condition(self, condition: str, advanced: bool) -> Callable[[Json], bool] | list[Json] | _Reply:
        """One condition: a test of a user, or (for id and userPrincipalName, found by index) the users."""
        license_filter = ANY_SKU_FILTER.fullmatch(condition)
        if license_filter is not None:  # the filter docs' own example, without advanced query parameters
            sku = license_filter.group(2).lower()
            return lambda u: any(str(a.get("skuId", "")).lower() == sku for a in _licenses(u))
        equal, among = EQ_FILTER.fullmatch(condition), IN_FILTER.fullmatch(condition)
        if equal is not None:
            path, values = equal.group(1), {equal.group(2).replace("''", "'").lower()}
            if len(next(iter(values))) > EQ_LIMIT and not advanced:
                return _eq_too_long(path, "User")
        elif among is not None:
            path = among.group(1)
            listed = STRING_LITERAL.findall(among.group(2))
            if len(listed) > IN_LIMIT and not advanced:  # known issues: 15 expressions, or 2,048 URL characters
                return _error(400, "Request_UnsupportedQuery", f"Too many expressions in 'in': {len(listed)}.")
            values = {v.replace("''", "'").lower() for v in listed}
        else:
            return _error(400, "Request_UnsupportedQuery", "Unsupported Query.")
        if path.lower().startswith("onpremisesextensionattributes/"):
            name = path.split("/", 1)[1]
            if name.lower() not in EXTENSION_NAMES:
                kind = "microsoft.graph.onPremisesExtensionAttributes"
                return _bad_request(f"Could not find a property named '{name}' on type '{kind}'.")
            if not advanced:
                return _advanced_query_needed()
            key = EXTENSION_NAMES[name.lower()]
            return lambda u: _folded((u.get("onPremisesExtensionAttributes") or {}).get(key)) in values
        canonical = self._user_properties.get(path.lower())
        if canonical is None:
            return _bad_request(f"Could not find a property named '{path}' on type 'microsoft.graph.user'.")
        if canonical in ("id", "userPrincipalName"):
            found = []
            for value in sorted(values):
                position = self._user_index.get(value)
                user = None if position is None else self._users[position]
                if user is not None and str(user.get(canonical, "")).lower() == value and user not in found:
                    found.append(user)
            return found
        return lambda u: _folded(u.get(canonical)) in values

    def _get_user(self, reference: str, query: dict[str, str]) -> _Reply:
        user = self.user(reference)
        if user is None:
            return _not_found(reference)
        fields = self._user_fields(query)
        if isinstance(fields, _Reply):
            return fields
        return _Reply(200, self._user_body(user, fields))

    def _group_fields(self, query: dict[str, str]) -> tuple[str, ...] | None:
        select = query.get("select")
        if not select:
            return None
        names = [n.strip() for n in select.split(",") if n.strip()]
        return tuple(dict.fromkeys(["id", *names]))

    def _render_group(self, group: Json, fields: tuple[str, ...] | None) -> Json:
        return dict(group) if fields is None else {n: group.get(n) for n in fields}

    def _list_groups(self, query: dict[str, str], raw_query: str) -> _Reply:
        fields = self._group_fields(query)
        groups: Sequence[Json] = self._groups
        advanced = self._advanced(query)
        if advanced and len(f"{self.base_url}/groups?{raw_query}") > URL_LIMIT:
            return _error(400, "Request_UnsupportedQuery", "The request URL is longer than 2048 characters.")
        if "search" in query:
            if self._headers.get("consistencylevel", "").lower() != "eventual":  # $count is not needed for it
                return _advanced_query_needed()
            searched = _searched(groups, query["search"])
            if isinstance(searched, _Reply):
                return searched
            groups = searched
        elif "filter" in query:
            match = EQ_FILTER.fullmatch(query["filter"])
            if match is None or match.group(1).lower() not in ("displayname", "id"):
                return _error(400, "Request_UnsupportedQuery", "Unsupported Query.")
            value = match.group(2).replace("''", "'").lower()  # OData: '' is an escaped quote (GRAPH-FACTS)
            if len(value) > EQ_LIMIT and not advanced:
                return _eq_too_long(match.group(1), "Group")
            if match.group(1).lower() == "id":
                found = self._group_index.get(value)
                groups = [found] if found is not None else []
            else:  # eq on displayName ignores case, as Entra ID does
                groups = self._groups_by_name.get(value, [])
        reply = self._page("/groups", raw_query, query, groups, lambda g: self._render_group(g, fields), "groups")
        if advanced and reply.status == 200:
            reply.body["@odata.count"] = len(groups)
        return reply

    def _get_group(self, reference: str, query: dict[str, str]) -> _Reply:
        group = self._group_index.get(reference.lower())
        if group is None:
            return _not_found(reference)
        body = {"@odata.context": f"{self.base_url}/$metadata#groups/$entity"}
        body.update(self._render_group(group, self._group_fields(query)))
        return _Reply(200, body)

    def _members_of(self, group_id: str, path: str, query: dict[str, str], raw_query: str) -> _Reply:
        members = self._members.get(group_id.lower())
        if members is None:
            return _not_found(group_id)
        fields = self._user_fields(query)
        if isinstance(fields, _Reply):
            return fields
        cast = path.endswith("microsoft.graph.user")
        advanced = self._advanced(query)
        if cast and not advanced:  # an OData cast on a transitive members list is an advanced query (GRAPH-FACTS)
            return _advanced_query_needed()

        def render(member_id: str) -> Json:
            position = self._user_index.get(member_id.lower())
            user: Json = self._users[position] if position is not None else {"id": member_id}
            item: Json = {} if cast else {"@odata.type": "#microsoft.graph.user"}
            item.update(self._user_fields_of(user, fields))
            return item

        if "/members" in path:  # direct members: a group's `directMembers` when the document lists them
            members = self._direct_members.get(group_id.lower(), members)
        reply = self._page("/" + path, raw_query, query, members, render, f"users({','.join(fields)})")
        if advanced and reply.status == 200:
            reply.body["@odata.count"] = len(members)
        return reply


IN_FILTER = re.compile(r"\s*([A-Za-z][\w/]*)\s+in\s+(\((?:\s*'(?:[^']|'')*'\s*,?)+\))\s*", re.IGNORECASE)
STRING_LITERAL = re.compile(r"'((?:[^']|'')*)'")
EXTENSION_NAMES = {f"extensionattribute{n}": f"extensionAttribute{n}" for n in range(1, 16)}


def _folded(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def _conjuncts(expression: str) -> list[str]:
    """The conditions of `a and b and c`, split outside string literals."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    words = re.split(r"(\s+and\s+)", expression, flags=re.IGNORECASE)
    for word in words:
        if not quoted and re.fullmatch(r"\s+and\s+", word, flags=re.IGNORECASE):
            parts.append("".join(current))
            current = []
            continue
        current.append(word)
        quoted ^= word.count("'") % 2 == 1
    parts.append("".join(current))
    return parts


def _licenses(user: Json) -> list[Json]:
    return list(user.get("assignedLicenses") or [])


def _needs_advanced(expression: str) -> bool:
    return "onpremisesextensionattributes/" in expression.lower()


IN_LIMIT = 15  # values of one `in` without advanced query parameters (Graph known issues, query parameters)
# characters of an `eq` string value without advanced query parameters, even for a displayName (which may be 256):
# Graph's known issues, query parameters (2026-02); Graph answers as for an unsupported clause
EQ_LIMIT = 120
URL_LIMIT = 2048  # characters of an advanced query's URL (the same entry)


ANY_SKU_FILTER = re.compile(
    r"\s*assignedLicenses/any\((\w+):\1/skuId\s+eq\s+'?([0-9a-fA-F-]{36})'?\)\s*", re.IGNORECASE
)


def _advanced_query_needed() -> _Reply:
    return _error(
        400,
        "Request_UnsupportedQuery",
        "The specified query is only supported with the advanced query parameters: the "
        "'ConsistencyLevel: eventual' header and '$count=true'.",
    )


def _eq_too_long(path: str, resource: str) -> _Reply:
    """Graph's answer to an `eq` value past EQ_LIMIT characters without advanced query parameters (the text seen in
    microsoft-graph-explorer-v4#2103)."""
    message = f"Unsupported or invalid query filter clause specified for property '{path}' of resource '{resource}'."
    return _error(400, "Request_UnsupportedQuery", message)


SEARCH_TERM = re.compile(r'"displayName:([^"]+)"')


def _searched(groups: Sequence[Json], expression: str) -> list[Json] | _Reply:
    """Groups a `$search` of `"displayName:term"` clauses joined by OR selects. Graph tokenizes displayName at
    spaces, punctuation and case changes (camelCase) and matches each term as a word prefix, ignoring case
    ("Use the $search query parameter", v1.0; only the OR form the product sends is served)."""
    clauses = [part.strip() for part in expression.split(" OR ")]
    terms = [SEARCH_TERM.fullmatch(clause) for clause in clauses]
    if not all(terms):
        return _error(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified.")
    wanted = [t.group(1).lower() for t in terms if t is not None]
    return [
        g
        for g in groups
        if any(w.startswith(term) for w in _tokens(str(g.get("displayName") or "")) for term in wanted)
    ]


def _tokens(name: str) -> list[str]:
    """Words of any script, split at spaces, punctuation and a lower-to-upper case change."""
    spaced = re.sub(r"(?<=[a-zà-ÿа-я])(?=[A-ZÀ-ÞА-Я])", " ", name)
    return [token.lower() for token in re.split(r"[\W_]+", spaced) if token]
