"""Read a YAML file into plain Python data while remembering where every node came from.

Why not `yaml.safe_load`: it forgets positions (we must point at `FILE:LINE:COLUMN`), silently keeps the last of
duplicate keys, expands alias bombs without limit, and follows YAML 1.1 where `NO` (Norway's usage location) is
`False`. Here scalars follow the YAML 1.2 core schema (only true/false are booleans), duplicate keys are errors,
and the work is bounded by file size, node count and depth.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from teamslicensing.config.wording import syntax_message
from teamslicensing.errors import Problem

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 64

Loc = tuple[str | int, ...]

_NULL = re.compile(r"^(?:~|null|Null|NULL)?$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
}

try:  # the C composer is much faster on large files; fall back when libyaml is absent
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment,attr-defined,unused-ignore]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class YamlDocument:
    """Plain data plus the position of every value (`values`) and mapping key (`keys`), by path."""

    path: str
    data: Any
    values: dict[Loc, Position] = field(default_factory=dict)
    keys: dict[Loc, Position] = field(default_factory=dict)

    def position(self, loc: Loc, *, key: bool = False) -> Position:
        """Where `loc` is, or the nearest enclosing node that exists (a missing key points at its parent)."""
        if key and loc in self.keys:
            return self.keys[loc]
        while loc:
            if loc in self.values:
                return self.values[loc]
            loc = loc[:-1]
        return self.values.get((), Position(1, 1))

    def problem(self, loc: Loc, message: str, *, key: bool = False) -> Problem:
        pos = self.position(loc, key=key)
        return Problem(self.path, pos.line, pos.column, message)


class YamlReadError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def read_yaml_file(path: str | Path) -> YamlDocument:
    """Read and convert one YAML file; raise `YamlReadError` listing what is wrong."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise YamlReadError([Problem(name, 1, 1, f"cannot read file: {exc.strerror or exc}")]) from exc
    return read_yaml_bytes(raw, name)


def read_yaml_bytes(raw: bytes, name: str) -> YamlDocument:
    if len(raw) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        raise YamlReadError([Problem(name, 1, 1, f"file is larger than {limit} MiB; refusing to read it")])
    text = _decode(raw, name)
    if not text.strip() or _only_comments(text):
        raise YamlReadError([Problem(name, 1, 1, "file is empty: expected a mapping with 'version: 1'")])
    loader: Any = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise YamlReadError([_yaml_problem(name, exc, text)]) from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: placed where it stands
        line, column = _place(text, exc.position)
        message = f"a control character (U+{exc.character:04X}) YAML does not allow: delete it (pasted in?)"
        raise YamlReadError([Problem(name, line, column, message)]) from exc
    except yaml.YAMLError as exc:
        raise YamlReadError([Problem(name, 1, 1, f"YAML error: {exc}")]) from exc
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise YamlReadError([Problem(name, 1, 1, "file is empty: expected a mapping with 'version: 1'")])
    converter = _Converter(name)
    data = converter.convert(node, (), 0)
    if converter.problems:
        raise YamlReadError(converter.problems)
    return YamlDocument(name, data, converter.values, converter.keys)


def _decode(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        byte = raw[exc.start]
        message = f"file is not valid UTF-8 (byte 0x{byte:02x}); save it as UTF-8"
        raise YamlReadError([Problem(name, line, column, message)]) from exc
    return text


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def _place(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _yaml_problem(name: str, exc: yaml.MarkedYAMLError, text: str = "") -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Problem(name, line, column, syntax_message(exc, text))


class _Converter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.values: dict[Loc, Position] = {}
        self.keys: dict[Loc, Position] = {}
        self.problems: list[Problem] = []
        self.nodes = 0
        self.gave_up = False

    def _problem(self, node: yaml.Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.name, mark.line + 1, mark.column + 1, message))

    def convert(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        if self.gave_up:
            return None
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            self.gave_up = True
            what = f"more than {MAX_NODES} nodes" if self.nodes > MAX_NODES else f"nesting deeper than {MAX_DEPTH}"
            self._problem(node, f"YAML expands to {what} (an alias bomb or a recursive alias?); refusing to read it")
            return None
        self.values[loc] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
        if node.tag not in _PLAIN_TAGS:
            self._problem(node, f"unsupported YAML tag {node.tag!r}")
            return None
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*loc, index), depth + 1) for index, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        return None  # pragma: no cover - the composer yields only the three node kinds

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in self._pairs(node, depth):
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, "mapping keys must be plain strings")
                continue
            key = str(key_node.value)
            if key in result:
                self._problem(key_node, f"duplicate key '{key}'")
                continue
            path = (*loc, key)
            self.keys[path] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.convert(value_node, path, depth + 1)
        return result

    def _pairs(self, node: yaml.MappingNode, depth: int) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        """Yield a mapping's own pairs, then pairs merged in with `<<` that the mapping does not set itself."""
        own = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        yield from own
        seen = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode) or depth > MAX_DEPTH:
                    self._problem(source, "'<<' must merge a mapping or a list of mappings")
                    continue
                for pair in self._pairs(source, depth + 1):
                    name = pair[0].value if isinstance(pair[0], yaml.ScalarNode) else None
                    if name not in seen:
                        seen.add(name)
                        yield pair


def _scalar(node: yaml.ScalarNode) -> Any:
    text: str = node.value
    if node.style or node.tag == "tag:yaml.org,2002:str":  # quoted or block scalars are always strings
        return text
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        try:
            return int(text, 0) if text[:2] in ("0o", "0x") else int(text)
        except ValueError:  # more digits than Python converts: no count or price is that long
            return text
    if _FLOAT.match(text):
        return float(text)
    return text
