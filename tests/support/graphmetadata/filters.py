"""The property paths a `$filter` or `$orderby` names, checked against the type they apply to: every property
(and every step of `a/b`, lambda variables of `any`/`all` included) must exist in v1.0. The expression's grammar
is Graph's to judge; this only finds names v1.0 does not have."""

from __future__ import annotations

import re

from tests.support.graphmetadata.model import GUID, Model, element

KEYWORDS = frozenset({"and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in", "has", "true", "false", "null"})
FUNCTIONS = frozenset(
    {
        "startswith",
        "endswith",
        "contains",
        "length",
        "tolower",
        "toupper",
        "trim",
        "concat",
        "substring",
        "indexof",
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "date",
        "time",
        "now",
        "cast",
        "isof",
    }
)
STRING = re.compile(r"'(?:[^']|'')*'")
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?")
NAME = re.compile(r"[A-Za-z_$][\w.$]*(?:/[A-Za-z_$][\w.$]*)*")
LAMBDA = re.compile(r"([A-Za-z_$][\w.$]*(?:/[A-Za-z_$][\w.$]*)*)/(?:any|all)\(\s*(\w+)\s*:")


def _blanked(expression: str) -> str:
    """The expression with literals (strings, GUIDs, dates) turned to spaces, positions kept."""
    text = expression
    for pattern in (STRING, GUID, MOMENT):
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return text


def path_problems(model: Model, type_name: str, expression: str, what: str) -> list[str]:
    text = _blanked(expression)
    variables: dict[str, str] = {}
    for match in LAMBDA.finditer(text):
        found = _walk(model, type_name, match.group(1).split("/"), {})
        if found is not None:
            variables[match.group(2)] = found if isinstance(found, str) else ""  # "": a primitive collection
    problems = []
    for match in NAME.finditer(text):
        token, rest = match.group(0), text[match.end() :].lstrip()
        lowered = token.lower()
        if lowered in KEYWORDS or lowered in ("asc", "desc") or rest.startswith(":"):
            continue
        if rest.startswith("(") and (lowered in FUNCTIONS or lowered.split("/")[-1] in ("any", "all")):
            parts = token.split("/")[:-1]
            if not parts:
                continue
        else:
            parts = token.split("/")
        if lowered in model.lowered:  # a type name (enum literal prefix, cast)
            continue
        found = _walk(model, type_name, parts, variables)
        if found is None:
            problems.append(f"{what} names '{token}', which {type_name} does not have")
    return problems


def _walk(model: Model, type_name: str, parts: list[str], variables: dict[str, str]) -> str | bool | None:
    """The type `parts` reach from `type_name` (a lambda variable first, if named), True past a primitive or
    $count, None when a step does not exist."""
    current = type_name
    if parts and parts[0] in variables:
        current, parts = variables[parts[0]], parts[1:]
        if not current:
            return None if parts else True
    for part in parts:
        if part == "$count":
            return True
        if current not in model.structured:
            return None
        spec = model.properties(current).get(part.lower()) or model.navigation(current).get(part.lower())
        if spec is None:
            cast = model.lowered.get(part.lower())
            if cast is not None and model.derives(cast, current):
                current = cast
                continue
            return None
        current = element(spec["type"])[0]
    return current if current in model.structured else True
