"""A request and its answer held against Graph v1.0's CSDL (the extract in this folder).

A request conforms when its path resolves (`model`), its query options name what the addressed type has
(`$select`, `$expand`, `$filter` and `$orderby` paths; `$top`, `$skip`, `$count` well formed; no unknown `$`
option), and its body fits: an action's body carries the action's parameters (the required ones, no others, each
of its declared type), a PATCH only the type's properties, a GET or DELETE none. An answer conforms when a
collection comes as `value` items of the type, an entity or an action's result as an object of its type (every
property declared, every value of its declared type and enum), and an error as Graph's error object.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from tests.support.graphmetadata.filters import path_problems
from tests.support.graphmetadata.model import EXTENSION_PROPERTY, EXTRACT, Model, Target, Unknown
from tests.support.graphmetadata.values import Checker

SYSTEM_OPTIONS = frozenset(
    {"select", "expand", "filter", "orderby", "top", "skip", "count", "search", "skiptoken", "format", "deltatoken"}
)


class NonConforming(Exception):
    """A request (or an answer) Graph v1.0 as its CSDL describes it does not have; the message names it."""


@functools.lru_cache(maxsize=1)
def model() -> Model:
    return Model(json.loads(EXTRACT.read_text(encoding="utf-8")))


@dataclass
class Checked:
    """A request that conforms, and what it addresses."""

    method: str
    label: str  # method, path and query as sent, for messages
    target: Target


def check_request(method: str, path: str, raw_query: str, body: Any, bad_body: bool) -> Checked:
    """`Checked`, or `NonConforming` naming the request and every reason."""
    label = f"{method} {path}" + (f"?{unquote_plus(raw_query)}" if raw_query else "")
    graph = model()
    try:
        target = graph.resolve(method, path)
    except Unknown as exc:
        raise NonConforming(f"{label}: {exc}") from None
    problems = query_problems(graph, target, method, raw_query) + body_problems(graph, target, method, body, bad_body)
    if problems:
        raise NonConforming(f"{label}: " + "; ".join(problems))
    return Checked(method, label, target)


def _result_type(graph: Model, target: Target) -> str | None:
    """The structured type whose properties $select and $filter name, if the target is one."""
    if target.kind in ("count", "property") or target.type is None:
        return None
    return target.type if target.type in graph.structured else None


def query_problems(graph: Model, target: Target, method: str, raw_query: str) -> list[str]:
    problems: list[str] = []
    shape = _result_type(graph, target)
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        option = name.lower().removeprefix("$")
        if option not in SYSTEM_OPTIONS:
            if name.startswith("$"):
                problems.append(f"{name} is not an OData system query option Graph takes")
            continue  # a custom query option is the service's business
        if option in ("top", "skip") and not value.isdigit():
            problems.append(f"${option}={value} is not a whole number")
        elif option == "count" and value not in ("true", "false"):
            problems.append(f"$count={value} is neither true nor false")
        elif option in ("select", "expand", "filter", "orderby"):
            if shape is None:
                problems.append(f"${option} applies to entities and complex values, not to this {target.kind}")
            else:
                problems += _names(graph, shape, option, value)
    if method != "GET" and any(n.lower().lstrip("$") in ("select", "filter", "top") for n, _ in parse_qsl(raw_query)):
        problems.append(f"query options for reading on a {method}")
    return problems


def _names(graph: Model, shape: str, option: str, value: str) -> list[str]:
    if option in ("filter", "orderby"):
        text = value if option == "filter" else " ".join(v.strip() for v in value.split(","))
        return path_problems(graph, shape, text, f"${option}")
    problems = []
    properties, navigation = graph.properties(shape), graph.navigation(shape)
    for raw in value.split(","):
        name = raw.split("(")[0].strip()
        if not name:
            problems.append(f"${option} has an empty item")
        elif option == "expand" and name.lower() not in navigation:
            problems.append(f"$expand={name}: {shape} has no navigation property '{name}'")
        elif (
            option == "select"
            and name.lower() not in properties
            and name.lower() not in navigation
            and not (graph.is_open(shape) and EXTENSION_PROPERTY.fullmatch(name))
        ):
            problems.append(f"$select={name}: {shape} has no property '{name}'")
    return problems


def body_problems(graph: Model, target: Target, method: str, body: Any, bad_body: bool) -> list[str]:
    if bad_body:
        return ["the body is not JSON"]
    if method in ("GET", "DELETE"):
        return [] if body is None else [f"a {method} carries no body"]
    if target.kind == "action":
        return _action_body(graph, target, body)
    if target.type is None or target.type not in graph.structured:
        return []
    if body is None or not isinstance(body, dict):
        return [f"the body of a {method} is an object of {target.type}"]
    checker = Checker(graph)
    checker.structured(target.type, body, "body")
    navigation = graph.navigation(target.type)
    wrote = [k for k in body if k.lower() in navigation and method == "PATCH"]
    return checker.problems + [f"body.{k}: a navigation property is not set by PATCH" for k in wrote]


def _action_body(graph: Model, target: Target, body: Any) -> list[str]:
    assert target.operation is not None
    name = target.operation["name"]
    declared = {p["name"]: p for p in target.operation["parameters"]}
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return [f"the body of action '{name}' is an object of its parameters"]
    problems = [f"action '{name}' has no parameter '{key}'" for key in body if key not in declared]
    # OData 4.01 (protocol, invoking an action): a parameter that is nullable, or annotated OptionalParameter, may
    # be left out of the body; any other must be there
    missing = [n for n, p in declared.items() if not p["optional"] and not p["nullable"] and n not in body]
    if missing:
        problems.append(f"action '{name}' needs the parameter(s) {', '.join(missing)} in its body")
    checker = Checker(graph)
    for key, value in body.items():
        if key in declared:
            checker.check(declared[key]["type"], value, f"body.{key}", declared[key]["nullable"])
    return problems + checker.problems


def answer_problems(checked: Checked, headers: dict[str, str], status: int, body: Any) -> list[str]:
    """Why the fake's answer to `checked` is not what Graph v1.0 would send (empty when it is)."""
    if status >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or not isinstance(error.get("code"), str) or "message" not in error:
            return [f"HTTP {status} without Graph's error object"]
        return []
    if body is None:
        return []
    graph, target = model(), checked.target
    checker = Checker(graph, unknown_members="include-unknown-enum-members" in headers.get("prefer", "").lower())
    if target.kind == "count":
        return [] if isinstance(body, str) and body.isdigit() else ["$count answers a number as text"]
    if target.type is None:
        return [f"{target.kind} '{target.segments[-1]}' returns nothing, yet a body came"]
    if target.collection:
        items = body.get("value") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return ["a collection comes as an object with a 'value' array"]
        for index, item in enumerate(items):
            checker.check(target.type, item, f"value[{index}]", nullable=False)
    elif target.type in graph.structured:
        checker.structured(target.type, body, "answer")
    else:
        checker.check(target.type, body.get("value") if isinstance(body, dict) else body, "value")
    return checker.problems
