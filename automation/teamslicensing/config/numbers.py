"""The configuration's exact numbers (`numbers`): rows from a CSV file beside the configuration or inline, each
checked as the inline rows are, every problem at its own `FILE:LINE:COLUMN`, and the checks that need every row
at once (a number given twice, a user given two numbers) and the rules (a number type a rule's routing cannot use).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from teamslicensing.config.voicemodel import NumberRow
from teamslicensing.config.wording import type_message
from teamslicensing.config.yamlsource import Loc, YamlDocument
from teamslicensing.errors import Problem

COLUMNS = ("userPrincipalName", "telephoneNumber", "numberType", "locationId")
MAX_CSV_BYTES = 20 * 1024 * 1024  # a million rows of numbers is about 70 MB; a tenant's numbers file is far less
# the number types a rule's voice routing can use: a Calling Plan number reaches the PSTN through the plan
_ROUTING_TYPES = {"callingPlan": "callingPlan", "directRouting": "directRouting", "operatorConnect": "operatorConnect"}


def read_numbers_csv(path: Path) -> tuple[list[NumberRow], list[Problem]]:
    """The rows of a numbers CSV, and every problem in it (its header, each row's cells) at line and column."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        return [], [Problem(name, 1, 1, f"cannot read numbers file: {exc.strerror or exc}")]
    if len(raw) > MAX_CSV_BYTES:
        return [], [Problem(name, 1, 1, f"numbers file larger than {MAX_CSV_BYTES // 1024 // 1024} MB")]
    try:
        text = raw.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError as exc:
        return [], [Problem(name, 1, 1, f"not UTF-8 text: byte {exc.start}")]
    placed, problems = _rows(name, text)
    problems += _duplicate_rows(name, placed)
    return [row for _, row in placed], problems


def _rows(name: str, text: str) -> tuple[list[tuple[int, NumberRow]], list[Problem]]:
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header[:3]] != list(COLUMNS[:3]) or len(header) > len(COLUMNS):
        expected = ",".join(COLUMNS[:3]) + "[,locationId]"
        return [], [Problem(name, 1, 1, f"the first line must be the header {expected}")]
    if len(header) == len(COLUMNS) and header[3].strip() != COLUMNS[3]:
        return [], [Problem(name, 1, _column(lines[0], 3), f"the fourth column must be {COLUMNS[3]}")]
    rows: list[tuple[int, NumberRow]] = []
    problems: list[Problem] = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problems.append(Problem(name, line, _column(lines[line - 1], len(header)), "more cells than the header"))
            continue
        record: dict[str, Any] = {key: cell.strip() for key, cell in zip(header, cells, strict=False) if cell.strip()}
        try:
            rows.append((line, NumberRow.model_validate(record)))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                field = str(error["loc"][0]) if error["loc"] else ""
                index = header.index(field) if field in header else 0
                message = type_message(error) or error["msg"].removeprefix("Value error, ")
                if error["type"] == "missing":
                    message = f"missing {field}"
                problems.append(Problem(name, line, _column(lines[line - 1], index), f"{field}: {message}"))
    return rows, problems


def _column(line: str, index: int) -> int:
    """The 1-based column where cell `index` of an unquoted CSV line begins (quoted cells: close enough)."""
    column = 1
    for cell in line.split(",")[:index]:
        column += len(cell) + 1
    return column


def numbers_problems(document: YamlDocument) -> Iterator[Problem]:
    """Inline rows given twice, and rules whose phoneNumber type their voice routing cannot use."""
    data = document.data
    section = data.get("numbers")
    rows = section.get("rows") if isinstance(section, dict) else None
    if isinstance(section, dict) and section.get("file") is not None and rows:
        yield document.problem(("numbers", "file"), "give the numbers in a file or as rows, not both")
    if isinstance(rows, list):
        yield from _duplicates(document, rows)
    rules = data.get("rules")
    for index, rule in enumerate(rules if isinstance(rules, list) else ()):
        if not isinstance(rule, dict) or not isinstance(rule.get("phoneNumber"), dict):
            continue
        wanted = rule["phoneNumber"].get("type")
        routing = rule.get("voiceRouting", "callingPlan")
        if isinstance(wanted, str) and isinstance(routing, str) and routing in _ROUTING_TYPES and wanted != routing:
            loc: Loc = ("rules", index, "phoneNumber", "type")
            message = f"a {wanted} number for users whose voiceRouting is {routing}: give type: {routing}"
            yield document.problem(loc, message)


def _duplicates(document: YamlDocument, rows: list[Any]) -> Iterator[Problem]:
    numbers: dict[str, int] = {}
    users: dict[str, int] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        loc: Loc = ("numbers", "rows", index)
        number, user = row.get("telephoneNumber"), row.get("userPrincipalName")
        if isinstance(number, str):
            if number in numbers:
                first = document.position(("numbers", "rows", numbers[number], "telephoneNumber")).line
                yield document.problem((*loc, "telephoneNumber"), f"{number} is given twice (first on line {first})")
            numbers.setdefault(number, index)
        if isinstance(user, str):
            key = user.strip().lower()
            if key in users:
                first = document.position(("numbers", "rows", users[key], "userPrincipalName")).line
                message = f"{user} is given two numbers (first on line {first})"
                yield document.problem((*loc, "userPrincipalName"), message)
            users.setdefault(key, index)


def _duplicate_rows(name: str, rows: list[tuple[int, NumberRow]]) -> list[Problem]:
    """The inline rows' checks over a CSV file's rows."""
    problems = []
    numbers: dict[str, int] = {}
    users: dict[str, int] = {}
    for line, row in rows:
        if row.telephone_number in numbers:
            first = numbers[row.telephone_number]
            problems.append(Problem(name, line, 1, f"{row.telephone_number} is given twice (first on line {first})"))
        numbers.setdefault(row.telephone_number, line)
        key = row.user_principal_name.lower()
        if key in users:
            message = f"{row.user_principal_name} is given two numbers (first on line {users[key]})"
            problems.append(Problem(name, line, 1, message))
        users.setdefault(key, line)
    return problems
