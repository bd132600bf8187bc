"""The JSON Schema shipped for editors (`config/schema.json`, named by the example's yaml-language-server line) and
the loader agree: every shipped and documented configuration passes both, and invalid ones fail both. Checked with
the reference validator (jsonschema, Draft 2020-12), not with anything of ours."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from teamslicensing.config import load_desired_state
from teamslicensing.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "config" / "schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def documented_configs() -> list[tuple[str, str]]:
    """The YAML blocks of the README and the documentation that are whole configurations (they start with
    `version: 1`, perhaps after a comment line)."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        blocks = re.findall(r"```yaml\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
        configs = [block for block in blocks if re.search(r"^version: 1$", block, re.M)]
        found += [(f"{page.relative_to(ROOT)} block {n}", text) for n, text in enumerate(configs)]
    return found


def shipped() -> list[tuple[str, str]]:
    found = [("config/licensing.yaml", (ROOT / "config" / "licensing.yaml").read_text(encoding="utf-8"))]
    found += documented_configs()
    for case in sorted((ROOT / "tests" / "planner" / "cases").glob("*.yaml")):
        config = yaml.safe_load(case.read_text(encoding="utf-8"))["config"]
        found.append((f"tests/planner/cases/{case.name}", yaml.safe_dump(config, sort_keys=False)))
    return found


@pytest.mark.parametrize(("name", "text"), shipped(), ids=[name for name, _ in shipped()])
def test_every_shipped_configuration_passes_the_schema_and_the_loader(name: str, text: str, tmp_path: Path) -> None:
    errors = sorted(VALIDATOR.iter_errors(yaml.safe_load(text)), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == [], name
    path = tmp_path / "licensing.yaml"
    path.write_text(text, encoding="utf-8")
    load_desired_state(path)


def test_the_example_is_checked_against_the_schema_it_names() -> None:
    first = (ROOT / "config" / "licensing.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=./schema.json"


INVALID: list[tuple[str, dict[str, Any]]] = [
    ("unknown top-level key", {"version": 1, "rulez": []}),
    ("wrong version", {"version": 2}),
    ("a rule without assign", {"version": 1, "rules": [{"name": "r", "select": {"users": ["a@b.c"]}}]}),
    ("a bad country code", {"version": 1, "defaults": {"usageLocation": "usa"}}),
    ("a negative maxChanges", {"version": 1, "policy": {"maxChanges": -1}}),
    ("an unknown read mode", {"version": 1, "policy": {"read": "some"}}),
    ("a group entry without a group", {"version": 1, "groupLicenses": [{"assign": ["MCOEV"]}]}),
    (
        "minutes and allowances both",
        {"version": 1, "includedMinutes": [{"plan": "MCOPSTN1", "minutes": 1, "allowances": {"domestic": 1}}]},
    ),
    (
        "a destination beside allowances",
        {
            "version": 1,
            "includedMinutes": [{"plan": "MCOPSTN1", "destination": "domestic", "allowances": {"domestic": 1}}],
        },
    ),
    ("no minutes at all", {"version": 1, "includedMinutes": [{"plan": "MCOPSTN1"}]}),
    ("an unknown destination", {"version": 1, "includedMinutes": [{"plan": "MCOPSTN1", "allowances": {"mars": 1}}]}),
]


@pytest.mark.parametrize(("why", "document"), INVALID, ids=[why for why, _ in INVALID])
def test_invalid_configurations_fail_both(why: str, document: dict[str, Any], tmp_path: Path) -> None:
    assert list(VALIDATOR.iter_errors(document)), f"the schema accepts {why}"
    path = tmp_path / "licensing.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_desired_state(path)


def test_a_section_holding_only_comments_is_null_and_fine_for_both(tmp_path: Path) -> None:
    text = "version: 1\ndefaults:\n  # nothing yet\npolicy:\nrules:\n"
    assert list(VALIDATOR.iter_errors(yaml.safe_load(text))) == []
    path = tmp_path / "licensing.yaml"
    path.write_text(text, encoding="utf-8")
    load_desired_state(path)
