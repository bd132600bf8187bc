"""A saved plan is checked and believed from one read: a file replaced after its end record was checked (a CI
artifact rewritten while `apply` runs) can never be what is applied."""

from __future__ import annotations

import builtins
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from teamslicensing.apply import planfile
from teamslicensing.cli import main
from tests.support import planfiles

KEY = "k" * 40


def test_a_file_replaced_while_it_is_read_is_not_what_is_believed(
    example_config: Path, demo_tenant: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_LICENSING_PLAN_KEY", KEY)
    saved = tmp_path / "plan.json"
    assert main(["plan", str(example_config), "--snapshot", str(demo_tenant), "--out", str(saved)]) == 0
    records = planfiles.records(saved)
    records[0]["policy"]["allowNumberLoss"] = True  # the attacker's edit, resealed without the key
    forged = tmp_path / "forged.json"
    shutil.copyfile(saved, forged)
    planfiles.reseal(forged, records)
    opened: list[str] = []

    def open_then_replace(file: Any, *args: Any, **kwargs: Any) -> Any:
        handle = builtins.open(file, *args, **kwargs)  # noqa: SIM115 (the caller closes it)
        opened.append(str(file))
        if Path(file) == saved and forged.exists():
            os.replace(forged, saved)  # a new file under the same name, once the first read has begun
        return handle

    monkeypatch.setattr(planfile, "open", open_then_replace, raising=False)
    believed = planfile.read_plan_file(saved, KEY.encode())
    assert opened.count(str(saved)) == 1, "the plan file is read once"
    assert not believed.policy.allow_number_loss, "an unsigned policy was believed"
    assert believed.signed
