"""The README documents every gap code the planner can produce, since scripts match on them."""

from __future__ import annotations

from pathlib import Path

from teamslicensing.model.plan import GapCode

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_gap_code_is_in_the_readme_gap_table() -> None:
    rows = [line.split("|")[1] for line in README.splitlines() if line.startswith("| `")]
    documented = {cell.strip().strip("`") for row in rows for cell in row.split(" / ")}
    assert sorted(code.value for code in GapCode if code.value not in documented) == []
