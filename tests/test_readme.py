"""The README documents every gap code the planner can produce, since scripts match on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from teamslicensing.model.plan import GapCode

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_gap_code_is_in_the_readme_gap_table() -> None:
    rows = [line.split("|")[1] for line in README.splitlines() if line.startswith("| `")]
    documented = {cell.strip().strip("`") for row in rows for cell in row.split(" / ")}
    assert sorted(code.value for code in GapCode if code.value not in documented) == []


def test_the_offline_cycle_works_when_pasted(tmp_path: Path) -> None:
    """The README's "Try the whole cycle offline" block, run by bash as written (its /tmp files moved to this
    test's folder, its .venv to the interpreter running the tests)."""
    import shutil
    import subprocess
    import sys

    text = README.split("Try the whole cycle offline", 1)[1]
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    tool = str(Path(sys.executable).parent / "teams-licensing")
    script = block.replace("/tmp/", f"{tmp_path}/").replace(".venv/bin/teams-licensing", tool)
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run(
        [bash, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )  # as pasted into a shell: each line runs whatever the one before said (the demo's gaps make apply exit 3)
    assert done.returncode == 0, done.stderr[-2000:]  # the undo, the last line: every user restored
    assert "Traceback" not in done.stderr
    assert (tmp_path / "audit.jsonl").exists()
    assert (tmp_path / "undo.jsonl").exists()

    def licenses(path: Path) -> dict[str, list[Any]]:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {u["userPrincipalName"]: sorted(map(str, u["licenseAssignmentStates"])) for u in document["users"]}

    assert licenses(tmp_path / "contoso.json") == licenses(ROOT / "config" / "examples" / "contoso-tenant.json"), (
        "the cycle ends where it started (usage locations are not undone; licenses are)"
    )
