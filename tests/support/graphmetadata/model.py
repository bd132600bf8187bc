"""Graph v1.0 as the CSDL extract describes it: types with their inherited properties, bound operations, and the
resolution of a request path (entity sets and singletons, keys, navigation properties, OData casts, bound actions
and functions with their parameters) to what it addresses.

Segments compare without regard to case, as Graph's do. A path the extract does not describe raises `Unknown`
with the reason; the extract is a subset of v1.0 (see extract.py), so the reason says which.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]
EXTRACT = Path(__file__).resolve().parent / "v1.0-extract.json"
# a directory extension's name (extension_{app id without hyphens}_{name}): the open types' only dynamic properties
EXTENSION_PROPERTY = re.compile(r"extension_[0-9a-f]{32}_\w+", re.IGNORECASE)
CALL = re.compile(r"([\w.]+)\((.*)\)", re.DOTALL)
KEY = re.compile(r"'(?:[^']|'')*'|[\w-]+")  # a key literal: a quoted string, or a number or GUID


class Unknown(Exception):
    """The request is not one the CSDL describes."""


@functools.cache
def element(type_name: str) -> tuple[str, bool]:
    """(element type, whether a collection) of a CSDL type reference."""
    if type_name.startswith("Collection(") and type_name.endswith(")"):
        return type_name[len("Collection(") : -1], True
    return type_name, False


@dataclass
class Target:
    """What a path addresses: a collection of or one `type`, a property, an operation's result, or a count."""

    kind: str  # "collection", "entity", "property", "count", "action", "function"
    type: str | None
    collection: bool
    segments: list[str] = field(default_factory=list)  # as permissions.json writes paths: keys as {id}
    operation: Json | None = None
    arguments: dict[str, str] = field(default_factory=dict)
    # how the path got here, for the national clouds (`clouds`): ("", entity set or singleton), (type, navigation
    # property) and ("", "namespace.operation on binding"), in order
    steps: tuple[tuple[str, str], ...] = ()

    def permission_paths(self) -> list[str]:
        """The path as permissions.json may write it: a function with its parameters, then without."""
        bare = "/" + "/".join(self.segments).lower()
        if self.kind != "function" or self.operation is None or not self.arguments:
            return [bare]
        names = ",".join(f"{name}={{value}}" for name in self.arguments)
        return [f"{bare}({names})".lower(), bare]


class Model:
    def __init__(self, extract: Json) -> None:
        self.extract = extract
        self.sets = {k.lower(): v for k, v in extract["entitySets"].items()}
        self.singletons = {k.lower(): v for k, v in extract["singletons"].items()}
        self.structured: dict[str, Json] = {**extract["complexTypes"], **extract["entityTypes"]}
        self.enums: dict[str, Json] = extract["enumTypes"]
        self.lowered = {name.lower(): name for name in [*self.structured, *self.enums]}
        self._operations: dict[str, list[Json]] = {}
        for operation in extract["operations"]:
            self._operations.setdefault(operation["binding"], []).append(operation)

    @functools.cache  # noqa: B019 -- one model for the whole run
    def lineage(self, name: str) -> tuple[str, ...]:
        """`name` and its base types, nearest first."""
        found = []
        current: str | None = name
        while current:
            found.append(current)
            current = self.structured[current]["base"] if current in self.structured else None
        return tuple(found)

    @functools.cache  # noqa: B019
    def properties(self, name: str) -> dict[str, Json]:
        """Structural properties of `name`, inherited ones included, by lower-case name."""
        merged: dict[str, Json] = {}
        for each in reversed(self.lineage(name)):
            for prop, spec in self.structured[each]["properties"].items():
                merged[prop.lower()] = {**spec, "name": prop}
        return merged

    @functools.cache  # noqa: B019
    def navigation(self, name: str) -> dict[str, Json]:
        merged: dict[str, Json] = {}
        for each in reversed(self.lineage(name)):
            for prop, spec in self.structured[each].get("navigation", {}).items():
                merged[prop.lower()] = {**spec, "name": prop}
        return merged

    def is_open(self, name: str) -> bool:
        return any(self.structured[each]["open"] for each in self.lineage(name))

    def derives(self, name: str, base: str) -> bool:
        return name in self.structured and base in self.lineage(name)

    def operations(self, type_name: str, collection: bool) -> Iterator[Json]:
        for each in self.lineage(type_name):
            yield from self._operations.get(f"Collection({each})" if collection else each, [])

    def resolve(self, method: str, path: str) -> Target:
        """What `method path` (relative to the version root) addresses; `Unknown` when v1.0 has no such path."""
        segments = [s for s in path.split("/") if s]
        if not segments:
            raise Unknown("the service root is not a resource")
        head = segments[0].lower()
        if head in self.sets:
            target = Target("collection", self.sets[head], True, [segments[0]])
        elif head in self.singletons:
            target = Target("entity", self.singletons[head], False, [segments[0]])
        else:
            raise Unknown(f"no entity set or singleton '{segments[0]}'")
        steps = [("", segments[0])]
        for position, segment in enumerate(segments[1:], start=2):
            if target.kind in ("property", "count", "action") or (
                target.kind == "function" and not (target.operation or {}).get("composable")
            ):
                raise Unknown(f"nothing can follow '{segments[position - 2]}'")
            owner, before = target.type or "", len(target.segments)
            target = self._step(target, segment)
            if target.operation is not None and target.kind in ("action", "function"):
                operation = target.operation
                steps.append(("", f"{operation['namespace']}.{operation['name']} on {operation['binding']}"))
            else:
                steps += [(owner, name) for name in target.segments[before:] if name != "{id}"]
        target.steps = tuple(steps)
        return self._method_fits(method, target)

    def _step(self, target: Target, segment: str) -> Target:
        assert target.type is not None
        call = CALL.fullmatch(segment)
        name = call.group(1) if call else segment
        lowered = name.lower()
        if segment == "$count":
            if not target.collection:
                raise Unknown("$count follows a collection only")
            return Target("count", None, False, target.segments, None)
        cast = self.lowered.get(lowered)
        if cast is not None and "." in name and not call:
            if not self.derives(cast, target.type):
                raise Unknown(f"'{name}' does not derive from {target.type}: no such cast")
            return Target(target.kind, cast, target.collection, target.segments)
        operation = self._operation(target, lowered)
        if operation is not None:
            return self._called(target, operation, call.group(2) if call else None, name)
        if target.collection:
            if call:
                raise Unknown(f"no function '{name}' bound to a collection of {target.type}")
            return Target("entity", target.type, False, [*target.segments, "{id}"])
        nav = self.navigation(target.type).get(lowered) if target.type in self.structured else None
        if call and nav is not None and element(nav["type"])[1] and KEY.fullmatch(call.group(2)):
            # a key in parentheses (`operations('x')`, OData's canonical form, which Location headers use)
            nav_type = element(nav["type"])[0]
            return Target("entity", nav_type, False, [*target.segments, nav["name"], "{id}"])
        prop = self.properties(target.type).get(lowered) if target.type in self.structured else None
        if prop is not None and not call:
            prop_type, many = element(prop["type"])
            return Target("property", prop_type, many, [*target.segments, prop["name"]])
        nav = self.navigation(target.type).get(lowered) if target.type in self.structured else None
        if nav is not None and not call:
            nav_type, many = element(nav["type"])
            if nav_type not in self.structured:
                raise Unknown(f"'{name}' leads to {nav_type}, which the extract leaves out (add it in extract.py)")
            return Target("collection" if many else "entity", nav_type, many, [*target.segments, nav["name"]])
        raise Unknown(f"{target.type} has no property, navigation property, cast or bound operation '{name}'")

    def _operation(self, target: Target, lowered: str) -> Json | None:
        assert target.type is not None
        for operation in self.operations(target.type, target.collection):
            qualified = f"{operation['namespace']}.{operation['name']}".lower()
            if lowered in (operation["name"].lower(), qualified):
                return operation
        return None

    def _called(self, target: Target, operation: Json, arguments: str | None, name: str) -> Target:
        kind = operation["kind"]
        given = _arguments(arguments) if arguments is not None else {}
        if kind == "action" and arguments is not None:
            raise Unknown(f"action '{name}' takes its parameters in the body, not in the URL")
        if kind == "function":
            declared = {p["name"].lower(): p for p in operation["parameters"]}
            for argument, value in given.items():
                spec = declared.get(argument.lower())
                if spec is None:
                    raise Unknown(f"function '{name}' has no parameter '{argument}' (it has {sorted(declared)})")
                problem = literal_problem(self, spec["type"], value)
                if problem:
                    raise Unknown(f"{name}({argument}={value}): {problem}")
            missing = [
                p["name"]
                for p in operation["parameters"]
                if not p["optional"] and p["name"].lower() not in {a.lower() for a in given}
            ]
            if missing:
                raise Unknown(f"function '{name}' needs the parameter(s) {', '.join(missing)}")
        returns = operation["returns"]
        result, many = element(returns) if returns else (None, False)
        return Target(kind, result, many, [*target.segments, operation["name"]], operation, given)

    @staticmethod
    def _method_fits(method: str, target: Target) -> Target:
        allowed = {
            "collection": {"GET", "POST"},
            "entity": {"GET", "PATCH", "DELETE", "PUT"},
            "property": {"GET", "PUT", "PATCH", "DELETE"},
            "count": {"GET"},
            "action": {"POST"},
            "function": {"GET"},
        }[target.kind]
        if method.upper() not in allowed:
            raise Unknown(f"{method.upper()} does not apply to a {target.kind} (only {', '.join(sorted(allowed))})")
        return target


def _arguments(text: str) -> dict[str, str]:
    """`a=1,b='x,y'` as {name: literal}, split on commas outside quotes."""
    found: dict[str, str] = {}
    for part in re.findall(r"(?:[^,']|'(?:[^']|'')*')+", text):
        name, equals, value = part.partition("=")
        if not equals:
            raise Unknown(f"function parameters are name=value pairs, not '{part}'")
        found[name.strip()] = value.strip()
    return found


GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DURATION = re.compile(r"-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?")


def literal_problem(model: Model, type_name: str, text: str) -> str | None:
    """Why `text` is not a URL literal of `type_name` (OData ABNF, as far as Graph's functions need it)."""
    if text == "null":
        return None
    if type_name == "Edm.DateTimeOffset":
        return None if DATE_TIME.fullmatch(text) else f"'{text}' is not an Edm.DateTimeOffset literal"
    if type_name == "Edm.Date":
        return None if DATE.fullmatch(text) else f"'{text}' is not an Edm.Date literal"
    if type_name in ("Edm.String",):
        return None if re.fullmatch(r"'(?:[^']|'')*'", text) else f"{text} is not a quoted string"
    if type_name == "Edm.Guid":
        return None if GUID.fullmatch(text) else f"'{text}' is not a GUID"
    if type_name in ("Edm.Int32", "Edm.Int64", "Edm.Int16", "Edm.Byte"):
        return None if re.fullmatch(r"-?\d+", text) else f"'{text}' is not an integer"
    if type_name == "Edm.Boolean":
        return None if text in ("true", "false") else f"'{text}' is not true or false"
    if type_name in model.enums:
        member = re.fullmatch(r"(?:[\w.]+)?'(\w+)'", text)
        members = model.enums[type_name]["members"]
        return None if member and member.group(1) in members else f"{text} is not a member of {type_name}"
    return None
