"""Fuzzing the inputs a user hands us (hypothesis): configurations and snapshots, valid-looking or not, never end
in a traceback or an internal error; they plan, or exit 1 with a message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teamslicensing.cli import main
from teamslicensing.config import json_schema

ROOT = Path(__file__).resolve().parents[2]
DEMO = json.loads((ROOT / "config" / "examples" / "contoso-tenant.json").read_text(encoding="utf-8"))
SCHEMA = json_schema()
KEYS = sorted(  # every key the configuration format knows, at any level, so generated files get deep enough
    {*SCHEMA["properties"], *(key for part in SCHEMA["$defs"].values() for key in part.get("properties", {}))}
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        ["MCOEV", "MCOPSTN1", "US", "GB", "Voice - Sales", "bob@contoso.com", "e43b5b99-8dfb-405f-9987-dc307f34bcbd"]
    ),
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)


def run(tmp_path: Path, config_text: str, snapshot: Any) -> int:
    config = tmp_path / "fuzz.yaml"
    config.write_text(config_text, encoding="utf-8")
    tenant = tmp_path / "fuzz.json"
    tenant.write_text(json.dumps(snapshot), encoding="utf-8")
    try:
        status = main(
            ["plan", str(config), "--snapshot", str(tenant), "--format", "json", "--output", str(tmp_path / "o")]
        )
    except SystemExit as exc:
        status = int(exc.code or 0)
    return status


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=trees)
def test_any_configuration_plans_or_is_refused_with_a_message(
    document: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if isinstance(document, dict) and document.get("version") is None:
        document["version"] = 1
    status = run(tmp_path, yaml.safe_dump(document, allow_unicode=True), DEMO)
    err = capsys.readouterr().err
    assert status in (0, 1), err
    assert "internal error" not in err
    assert "Traceback" not in err


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_any_text_as_a_configuration_is_refused_or_planned(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(tmp_path, text, DEMO)
    err = capsys.readouterr().err
    assert status in (0, 1), err
    assert "internal error" not in err


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    part=st.sampled_from(
        [
            "subscribedSkus",
            "users",
            "groups",
            "numberAssignments",
            "userConfigurations",
            "policies",
            "cloud",
            "tenantId",
        ]
    ),
    index=st.integers(0, 30),
    value=trees,
)
def test_any_damaged_snapshot_is_refused_with_a_message_or_planned(
    part: str, index: int, value: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = json.loads(json.dumps(DEMO))
    target = snapshot.get(part)
    if isinstance(target, list) and target:
        item = target[index % len(target)]
        if isinstance(item, dict) and isinstance(value, dict):
            item.update(value)
        else:
            target[index % len(target)] = value
    else:
        snapshot[part] = value
    config = (ROOT / "config" / "licensing.yaml").read_text(encoding="utf-8")
    status = run(tmp_path, config, snapshot)
    err = capsys.readouterr().err
    assert status in (0, 1), err
    assert "internal error" not in err
    assert "Traceback" not in err
