"""`python -m tests.support.docsgen`: rewrite the generated reference pages under docs/reference/."""

from __future__ import annotations

import sys

from tests.support.docsgen import ROOT, write


def main() -> int:
    for path in write(ROOT):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
