"""`GET /users/{id|upn}/transitiveMemberOf[/microsoft.graph.group]`: the groups a user is in, as Graph lists a
directoryObject collection (each item with its `@odata.type`; the fake's groups only, no directory roles or
administrative units), or with the cast, groups.

Strict as Graph v1.0 documents it (user-list-transitivememberof): the cast only with the advanced query parameters
(ConsistencyLevel: eventual and $count=true), then `@odata.count`; `$select`, `$top` up to 999, paged; an unknown
user a 404. A property the group type lacks never reaches the fake: the metadata guard refuses it first.
"""

from __future__ import annotations

from tests.support.fakegraph.common import Json, _not_found, _Reply
from tests.support.fakegraph.reads import ReadRoutes, _advanced_query_needed

GROUP_TYPE = "#microsoft.graph.group"


class MemberOfRoutes(ReadRoutes):
    """The route, over the reads' paging and the store's users, groups and transitive members."""

    def _member_of(self, reference: str, path: str, query: dict[str, str], raw_query: str) -> _Reply:
        user = self.user(reference)
        if user is None:
            return _not_found(reference)
        cast = path.endswith("microsoft.graph.group")
        if cast and not self._advanced(query):  # "required when using ... OData cast" (user-list-transitivememberof)
            return _advanced_query_needed()
        # the metadata guard has refused a property a group lacks; the fake answers the rest from its documents
        fields = ["id", *(name.strip() for name in (query.get("select") or "displayName").split(",") if name.strip())]
        groups = self._groups_of().get(str(user["id"]).lower(), [])

        def render(key: str) -> Json:
            group = self._group_index[key]
            item = {} if cast else {"@odata.type": GROUP_TYPE}
            return {**item, **{field: group.get(field) for field in dict.fromkeys(fields)}}

        reply = self._page(
            "/" + path, raw_query, query, sorted(groups), render, "groups" if cast else "directoryObjects"
        )
        if cast and reply.status == 200:
            reply.body["@odata.count"] = len(groups)
        return reply

    def _groups_of(self) -> dict[str, list[str]]:
        """User id -> the groups whose transitive members include them (built once: member lists never change)."""
        index: dict[str, list[str]] | None = getattr(self, "_member_of_index", None)
        if index is None:
            index = {}
            for key, members in self._members.items():
                for member in members:
                    index.setdefault(member.lower(), []).append(key)
            self._member_of_index = index
        return index
