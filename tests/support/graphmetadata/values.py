"""JSON values against CSDL types: what the fake sends and what a client's body carries must be of the declared
type (primitive, enum member, complex or entity object, collection), with no property the type lacks.

Enums evolve (Graph's "evolvable enums"): members declared after `unknownFutureValue` are sent only to a client
that asked for them with `Prefer: include-unknown-enum-members`; anyone else gets `unknownFutureValue`. An answer
holding such a member without the header is a problem, like any value the type does not allow.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from tests.support.graphmetadata.model import DATE, DATE_TIME, DURATION, EXTENSION_PROPERTY, GUID, TIME, Model, element

INTEGERS = {"Edm.Int16": 2**15, "Edm.Int32": 2**31, "Edm.Int64": 2**63, "Edm.Byte": 2**8, "Edm.SByte": 2**7}
NUMBERS = {"Edm.Double", "Edm.Single", "Edm.Decimal"}
UNCHECKED = {"Edm.Stream", "Edm.Untyped", "Edm.Geography", "Edm.GeographyPoint"}
PATTERNS = {
    "Edm.Guid": GUID,
    "Edm.DateTimeOffset": DATE_TIME,
    "Edm.Date": DATE,
    "Edm.Duration": DURATION,
    "Edm.TimeOfDay": TIME,
}
MAX_PROBLEMS = 5  # per value: the first few name the fault well enough


class Checker:
    """Collects the problems of one value; `unknown_members` says whether evolvable enum members may appear."""

    def __init__(self, model: Model, *, unknown_members: bool = False) -> None:
        self.model = model
        self.unknown_members = unknown_members
        self.problems: list[str] = []

    def fault(self, where: str, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{where}: {text}")

    def check(self, type_name: str, value: Any, where: str, nullable: bool = True) -> None:
        if value is None:
            if not nullable:
                self.fault(where, f"null, but {type_name} is not nullable here")
            return
        item_type, many = element(type_name)
        if many:
            if not isinstance(value, list):
                self.fault(where, f"expected a JSON array ({type_name}), got {type(value).__name__}")
                return
            for index, item in enumerate(value):
                self.check(item_type, item, f"{where}[{index}]", nullable=False)
            return
        if item_type.startswith("Edm."):
            problem = primitive_problem(item_type, value)
            if problem:
                self.fault(where, problem)
        elif item_type in self.model.enums:
            self._enum(item_type, value, where)
        elif item_type in self.model.structured:
            self.structured(item_type, value, where)
        else:
            self.fault(where, f"{item_type} is not in the extract (add it in extract.py)")

    def _enum(self, type_name: str, value: Any, where: str) -> None:
        spec = self.model.enums[type_name]
        members: list[str] = spec["members"]
        if not isinstance(value, str):
            self.fault(where, f"an enum ({type_name}) is a string, not {type(value).__name__}")
            return
        names = [v.strip() for v in value.split(",")] if spec["flags"] else [value]
        for name in names:
            if name not in members:
                self.fault(where, f"'{name}' is not a member of {type_name} ({', '.join(members)})")
            elif (
                not self.unknown_members
                and "unknownFutureValue" in members
                and members.index(name) > members.index("unknownFutureValue")
            ):
                self.fault(
                    where,
                    f"'{name}' comes after unknownFutureValue in {type_name}: Graph sends it only with "
                    "Prefer: include-unknown-enum-members, else unknownFutureValue",
                )

    def structured(self, type_name: str, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            self.fault(where, f"expected an object ({type_name}), got {type(value).__name__}")
            return
        actual = type_name
        declared = value.get("@odata.type")
        if isinstance(declared, str):
            named = self.model.lowered.get(declared.lstrip("#").lower())
            if named is None or not self.model.derives(named, type_name):
                self.fault(where, f"@odata.type {declared} is not {type_name} or a type derived from it")
                return
            actual = named
        properties = self.model.properties(actual)
        navigation = self.model.navigation(actual)
        for key, item in value.items():
            if "@" in key:
                continue  # instance and property annotations (@odata.context, @odata.nextLink, x@odata.type)
            spec = properties.get(key.lower())
            if spec is not None:
                if spec["name"] != key:
                    self.fault(f"{where}.{key}", f"Graph spells this property {spec['name']}")
                self.check(spec["type"], item, f"{where}.{key}", spec["nullable"])
            elif key.lower() in navigation:
                self.check(navigation[key.lower()]["type"], item, f"{where}.{key}")
            elif not (self.model.is_open(actual) and EXTENSION_PROPERTY.fullmatch(key)):
                self.fault(f"{where}.{key}", f"{actual} has no property '{key}'")


def primitive_problem(type_name: str, value: Any) -> str | None:
    if type_name == "Edm.String" and isinstance(value, str):
        return None
    if type_name in UNCHECKED:
        return None
    kind = type(value).__name__
    if type_name == "Edm.String":
        return f"expected a string, got {kind}"
    if type_name == "Edm.Boolean":
        return None if isinstance(value, bool) else f"expected true or false, got {kind}"
    if type_name in INTEGERS:
        bound = INTEGERS[type_name]
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer ({type_name}), got {kind}"
        return None if -bound <= value < bound else f"{value} is out of range for {type_name}"
    if type_name in NUMBERS:
        if isinstance(value, str) and value in ("NaN", "INF", "-INF"):
            return None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"expected a number ({type_name}), got {kind}"
    if not isinstance(value, str):
        return f"expected a string ({type_name}), got {kind}"
    pattern = PATTERNS.get(type_name)
    if pattern is not None:
        return None if pattern.fullmatch(value) else f"'{value}' is not an {type_name}"
    if type_name == "Edm.Binary":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return "not base64 (Edm.Binary)"
        return None
    return None if re.fullmatch(r"Edm\.\w+", type_name) else f"unknown primitive type {type_name}"
