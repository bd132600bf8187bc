"""The configuration reference: every key of the file format, with its type, default and description, read from the
JSON Schema the package derives from its pydantic model (`teamslicensing.config.filemodel.json_schema`)."""

from __future__ import annotations

import json
from typing import Any

from teamslicensing.config.filemodel import json_schema
from tests.support.docsgen.tables import cell

_ENUM_SHOWN = 6  # longer enums (the selectable attributes) are named once, below the tables


def _anchor(name: str) -> str:
    return name.lower()


def _type(schema: dict[str, Any]) -> str:
    """A schema fragment as words: `string`, `list of string`, a link to an object's section, a choice."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema:
        kinds = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(_type(kind) for kind in kinds)
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        values = schema["enum"]
        if len(values) > _ENUM_SHOWN:
            return "a selectable attribute"
        return " \\| ".join(f"`{value}`" for value in values)
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object":
        return _object_type(schema)
    text = str(kind or "any")
    if schema.get("format") == "date":
        text += " (YYYY-MM-DD)"
    if "pattern" in schema:
        text += f" `{schema['pattern']}`"
    return text


def _object_type(schema: dict[str, Any]) -> str:
    if "patternProperties" in schema:
        pattern, value = next(iter(schema["patternProperties"].items()))
        return f"map of `{pattern}` → {_type(value)}"
    value = schema.get("additionalProperties")
    if isinstance(value, dict):
        keys = "selectable attribute" if "propertyNames" in schema else "string"
        return f"map of {keys} → {_type(value)}"
    return "object"


def _default(schema: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" in schema:
        return "none" if schema["default"] is None else f"`{json.dumps(schema['default'])}`"
    if schema.get("type") == "array":
        return "`[]`"
    if schema.get("type") == "object":
        return "`{}`"
    return ""


def _table(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", ()))
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, prop in schema.get("properties", {}).items():
        description = prop.get("description", "")
        lines.append(f"| `{key}` | {_type(prop)} | {_default(prop, key in required)} | {cell(description)} |")
    return lines


def _referenced(schema: dict[str, Any]) -> list[str]:
    """The object definitions in the order the file's sections reach them."""
    text = json.dumps(schema.get("properties", {}))
    found: list[str] = []
    definitions = schema.get("$defs", {})
    queue = [name for name in definitions if f'"#/$defs/{name}"' in text]
    queue.sort(key=lambda name: text.index(f'"#/$defs/{name}"'))
    while queue:
        name = queue.pop(0)
        if name in found:
            continue
        found.append(name)
        inner = json.dumps(definitions[name].get("properties", {}))
        queue += [n for n in definitions if f'"#/$defs/{n}"' in inner and n not in found]
    return found


def _selectable(schema: dict[str, Any]) -> list[str]:
    enum = schema["$defs"]["Rule"]["properties"]["usageLocationFrom"]["anyOf"][0]["enum"]
    return [f"`{name}`" for name in enum]


def configuration_page() -> str:
    schema = json_schema()
    lines = [
        "# Configuration schema",
        "",
        f"{schema.get('description', '')} Every key the file format has, from the JSON Schema the package derives "
        "from its configuration model (`teams-licensing schema` prints it; `config/schema.json` is its output, "
        "which editors read through the example's `yaml-language-server` line). What the keys do together, with "
        "an example, is in [The configuration file](configuration.md).",
        "",
        "Unknown keys are refused everywhere (with a did-you-mean).",
        "",
        "## Top level",
        "",
        *_table(schema),
        "",
    ]
    for name in _referenced(schema):
        definition = schema["$defs"][name]
        lines += [f"## {name}", ""]
        if definition.get("description"):
            lines += [definition["description"], ""]
        lines += [*_table(definition), ""]
    lines += ["## Selectable attributes", "", ", ".join(_selectable(schema)) + ".", ""]
    return "\n".join(lines)
