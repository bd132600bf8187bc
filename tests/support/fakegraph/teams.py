"""The Teams administration API under `/admin/teams` (Graph v1.0, global cloud only: the national clouds' CSDL has
no `teams` under `admin`, and the fake answers there as Graph does for any segment it cannot resolve, before any
route). Numbers are in `teamsnumbers`, policies and user configurations in `teamspolicy`, their shared state and
the document keys they read in `teamsstate`; this module routes. Segments compare without regard to case, and an
action or function may be named with its namespace (`microsoft.graph.teamsAdministration.assignNumber`), as the
SDKs name them; a key may be given in parentheses (`operations('…')`, the form of the `Location` header)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from tests.support.fakegraph.common import _method_not_allowed, _Reply
from tests.support.fakegraph.teamsnumbers import TeamsNumberRoutes
from tests.support.fakegraph.teamspolicy import TeamsPolicyRoutes

NAMESPACE = "microsoft.graph.teamsadministration."
NUMBER_ACTIONS = ("assignnumber", "unassignnumber")


def _name(segment: str) -> str:
    """A segment in lower case, without the namespace an SDK may put before an action's or function's name."""
    return segment.lower().removeprefix(NAMESPACE)


def _keyed(segments: list[str], collection: str) -> list[str]:
    """`collection('key')` written as `collection/key`."""
    last = segments[-1] if segments else ""
    if last.lower().startswith(f"{collection.lower()}(") and last.endswith(")"):
        return [*segments[:-1], last[: len(collection)], unquote(last[len(collection) + 1 : -1]).strip("'")]
    return segments


class TeamsRoutes(TeamsPolicyRoutes, TeamsNumberRoutes):
    """Everything under /admin/teams."""

    def document(self) -> dict[str, Any]:
        """The tenant now; with each user's Teams configuration once the document had some or a write made some."""
        found = super().document()
        if "userConfigurations" in self._extra or self._teams_changed:
            found["userConfigurations"] = [self.rendered_configuration(user) for user in self._users]
        return found

    def _admin(
        self, method: str, segments: list[str], query: dict[str, str], raw_query: str, body: Any, bad_body: bool
    ) -> _Reply | None:
        """The answer to a request under /admin/teams, or None for a path no route here serves."""
        segments = _keyed(_keyed(segments, "operations"), "userConfigurations")
        names = [_name(s) for s in segments]
        if names[:3] == ["admin", "teams", "telephonenumbermanagement"]:
            return self._numbers_route(method, segments[3:], query, body, bad_body)
        if names[:3] == ["admin", "teams", "policy"]:
            rest = names[3:]
            if len(rest) == 1 and rest[0].startswith("getpolicyid("):
                return self._get_policy_id(segments[3]) if method == "GET" else _method_not_allowed()
            if len(rest) == 2 and rest[0] == "userassignments" and rest[1] in ("assign", "unassign"):
                return self._policy_write(rest[1], body, bad_body) if method == "POST" else _method_not_allowed()
            return None
        if names[:3] == ["admin", "teams", "userconfigurations"]:
            rest = segments[3:]
            if method != "GET":
                return _method_not_allowed() if len(rest) <= 1 else None
            if not rest:
                return self._configuration_list(query, raw_query)
            return self._configuration_by_id(rest[0], query) if len(rest) == 1 else None
        return None

    def _numbers_route(
        self, method: str, rest: list[str], query: dict[str, str], body: Any, bad: bool
    ) -> _Reply | None:
        names = [_name(s) for s in rest]
        if names[:1] == ["operations"] and len(names) == 2:
            return self._operation_read(rest[1]) if method == "GET" else _method_not_allowed()
        if names[:1] != ["numberassignments"] or len(names) > 2:
            return None
        if len(names) == 1:
            return self._number_list(query) if method == "GET" else _method_not_allowed()
        if names[1] in NUMBER_ACTIONS:
            action = "assignNumber" if names[1] == "assignnumber" else "unassignNumber"
            return self._start(action, body, bad) if method == "POST" else _method_not_allowed()
        if names[1] == "updatenumber":
            return self._update_number(body, bad) if method == "POST" else _method_not_allowed()
        return self._number_by_id(unquote(rest[1])) if method == "GET" else _method_not_allowed()
