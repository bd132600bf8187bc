"""The documentation's runnable shell examples: found by the marker on the line before their fence, run by bash as a
reader would paste them.

    <!-- runnable -->                every command of the block must exit 0
    <!-- runnable codes=0,3 -->      every command may exit with one of these codes
    <!-- output -->                  before a ```text fence: exactly what the runnable block before it prints

The blocks of one page run in order, in one scratch folder standing for `/tmp/`, from the repository root, with the
environment running the tests first on PATH (so `teams-licensing` and `python` are its own) and `.venv/bin/` read as
that environment's folder. Each command's exit status is recorded by an ERR trap, so a failing line in the middle of
a block is seen even when the block goes on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKED = re.compile(
    r"^<!-- runnable(?: codes=(?P<codes>[\d,]+))? -->\n```(?:sh|bash)\n(?P<script>.*?)^```", re.M | re.S
)
SHOWN = re.compile(r"^<!-- output -->\n```text\n(?P<text>.*?)^```", re.M | re.S)
BIN = Path(sys.executable).parent
# a CI system's variables make the tool write to its summary and add logging commands to standard output
CI_VARIABLES = ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "TF_BUILD", "AGENT_TEMPDIRECTORY")


def outside_ci() -> dict[str, str]:
    """This process's environment without the CI system's variables, and without colour."""
    env = {key: value for key, value in os.environ.items() if key not in CI_VARIABLES}
    env["NO_COLOR"] = "1"
    return env


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository root
    line: int  # of the marker
    script: str
    codes: frozenset[int]  # every command's exit status must be one of these


@dataclass(frozen=True)
class Ran:
    block: Block
    status: int  # the block's, as bash ended it
    statuses: tuple[int, ...]  # every non-zero status a command exited with
    stdout: str
    stderr: str

    def problems(self) -> list[str]:
        found = [f"a command exited {code}" for code in self.statuses if code not in self.block.codes]
        if self.status not in self.block.codes:
            found.append(f"the block exited {self.status}")
        if "Traceback (most recent call last)" in self.stderr + self.stdout:
            found.append("a traceback")
        return found


def documented_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in MARKED.finditer(text):
        codes = frozenset(int(code) for code in (match.group("codes") or "0").split(","))
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(str(page.relative_to(ROOT)), line, match.group("script"), codes))
    return found


def shown_outputs(page: Path) -> list[tuple[Block, str]]:
    """Each output a page shows, with the runnable block it is the standard output of: the last one before it."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in SHOWN.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = [block for block in blocks(page) if block.line < line]
        assert before, f"{page.relative_to(ROOT)}:{line}: an output with no runnable block before it"
        found.append((before[-1], match.group("text")))
    return found


def run(block: Block, folder: Path) -> Ran:
    """The block as pasted into bash at the repository root, /tmp/ being `folder`."""
    record = folder / ".exit-statuses"
    record.unlink(missing_ok=True)
    script = block.script.replace("/tmp/", f"{folder}/").replace(".venv/bin/", f"{BIN}/")
    traced = f"trap 'echo $? >> \"{record}\"' ERR\n{script}"
    env = {key: value for key, value in outside_ci().items() if key != "VIRTUAL_ENV"}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", TEAMS_LICENSING_LOCK_DIR=str(folder))
    bash = shutil.which("bash")
    assert bash is not None, "bash runs the documentation's examples"
    done = subprocess.run(
        [bash, "-c", traced], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    statuses = tuple(int(n) for n in record.read_text().split()) if record.exists() else ()
    return Ran(block, done.returncode, statuses, done.stdout, done.stderr)
