"""Keep the documentation's permission table (docs/reference/permissions.md, a page `tests.support.docsgen` writes
whole) and runbooks/grant-permissions.sh's role lists what the permission table says
(`teamslicensing.report.permissions`): `python -m tests.support.permission_docs` rewrites both generated parts; the
tests compare them with `expected`."""

from __future__ import annotations

import sys
from pathlib import Path

from teamslicensing.report.permissions import (
    README_BEGIN,
    README_END,
    SCRIPT_BEGIN,
    SCRIPT_END,
    grant_script_section,
    readme_table,
)

ROOT = Path(__file__).resolve().parents[2]
PERMISSIONS_PAGE = ROOT / "docs" / "reference" / "permissions.md"
GRANT_SCRIPT = ROOT / "runbooks" / "grant-permissions.sh"


def _replaced(text: str, begin: str, end: str, section: str) -> str:
    start, stop = text.index(begin), text.index(end) + len(end)
    return text[:start] + section + text[stop:]


def expected(path: Path) -> str:
    """`path` as it should be: its generated part as the table says."""
    text = path.read_text(encoding="utf-8")
    if path == PERMISSIONS_PAGE:
        return _replaced(text, README_BEGIN, README_END, readme_table())
    return _replaced(text, SCRIPT_BEGIN, SCRIPT_END, grant_script_section())


def main() -> int:
    for path in (PERMISSIONS_PAGE, GRANT_SCRIPT):
        text = expected(path)
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
