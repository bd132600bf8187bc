"""Problems in the tool's own words: a YAML syntax error and a value of the wrong type said as an admin would say
them, what was found and what to write instead, instead of the parser's or the validator's wording."""

from __future__ import annotations

from typing import Any

import yaml

# PyYAML's problem texts -> ours; `{opened}` is where the structure the problem is about began
_SYNTAX = (
    ("did not find expected ',' or '}'", "the `{` opened at {opened} is not closed: a missing `}` or `,`"),
    ("did not find expected ',' or ']'", "the `[` opened at {opened} is not closed: a missing `]` or `,`"),
    (
        "mapping values are not allowed",
        "a `: ` where no key can start: indent the key under its parent as the lines above, or quote a value that "
        "holds `: `",
    ),
    ("did not find expected node content", "a value is missing: a `[` or `{` not closed, or a `,` with nothing after"),
    ("expected a single document", "a second document (`---`): the configuration is one document"),
    ("did not find expected key", "the indentation does not line up with the lines above"),
    ("did not find expected '-' indicator", "the indentation does not line up with the list above"),
    ("found unexpected end of stream", "the file ends inside a quoted text opened at {opened}: a missing quote"),
    ("found unknown escape character", "an unknown `\\` escape inside double quotes: use single quotes"),
    ("found duplicate anchor", "an anchor (`&name`) defined twice"),
    ("found undefined alias", "an alias (`*name`) with no anchor of that name"),
    ("expected <block end>, but found", "the indentation does not line up with the lines above"),
    ("found unexpected ':'", "a `:` where a value was expected: put the value in quotes"),
)


def syntax_message(exc: yaml.MarkedYAMLError, text: str = "") -> str:
    """One line: what is wrong, where the structure began when that helps; PyYAML's own text only when it names
    something we do not know."""
    problem = exc.problem or ""
    context = exc.context_mark
    opened = f"line {context.line + 1}, column {context.column + 1}" if context is not None else "above"
    if "cannot start any token" in problem:
        return "YAML syntax error: " + _cannot_start(exc, text)
    for known, ours in _SYNTAX:
        if known in problem:
            return "YAML syntax error: " + ours.replace("{opened}", opened)
    parts = [part for part in (exc.context, exc.problem) if part]
    return "YAML syntax error: " + ", ".join(parts)


_KINDS = {
    "list_type": "a list (write `[a, b]`, or one `- item` per line)",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "yes or no (true/false, on/off)",
    "bool_parsing": "yes or no (true/false, on/off)",
    "string_type": "a text",
    "dict_type": "a mapping (`key: value` lines)",
    "model_type": "a mapping (`key: value` lines)",
    "model_attributes_type": "a mapping (`key: value` lines)",
}


def type_message(error: Any) -> str | None:
    """`expected a whole number, found the text 'many'` for a value of the wrong type; None for any other error."""
    kind = _KINDS.get(str(error.get("type"))) or _bounded(error)
    if kind is None:
        return None
    value = error.get("input")
    quoted = " in quotes: remove the quotes" if isinstance(value, str) and _fits_unquoted(error, value) else ""
    return f"expected {kind}, found {found(value)}{quoted}"


def _fits_unquoted(error: Any, text: str) -> bool:
    """Whether `text` is what was expected, only written in quotes (`version: "1"`, `maxChanges: "50"`)."""
    kind, value = str(error.get("type")), text.strip()
    if kind == "literal_error":
        expected = str((error.get("ctx") or {}).get("expected", ""))
        return value in [part.strip(" '") for part in expected.replace(" or ", ",").split(",")]
    if kind.startswith(("int_", "float_")):
        return value.lstrip("-").replace(".", "", kind.startswith("float_")).isdigit()
    return False


def _bounded(error: Any) -> str | None:
    """One of the values a key takes, or a number within its bounds."""
    context = error.get("ctx") or {}
    kind = str(error.get("type"))
    if kind == "literal_error" and context.get("expected"):
        return str(context["expected"])
    bounds = {
        "greater_than_equal": ("ge", "or more"),
        "less_than_equal": ("le", "or less"),
        "greater_than": ("gt", None),
        "less_than": ("lt", None),
    }
    if kind not in bounds:
        return None
    key, words = bounds[kind]
    if words is None:
        return f"a number {'over' if key == 'gt' else 'under'} {context.get(key)}"
    return f"{context.get(key)} {words}"


def found(value: Any) -> str:
    """What the file holds, as an admin would name it."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the switch {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text '{shown}'"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _cannot_start(exc: yaml.MarkedYAMLError, text: str) -> str:
    """The character no value may start with, named: a tab, or `@`, `` ` ``, `%` (which YAML reserves)."""
    mark = exc.problem_mark
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    found = line[mark.column] if mark is not None and mark.column < len(line) else ""
    if found == "\t":
        return "a tab: YAML indents with spaces only"
    shown = f"`{found}`" if found else "a character"
    return f"{shown} cannot start a value: put the value in quotes"
