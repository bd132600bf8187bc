"""The permission table (`reference.permissions`) as people and scripts read it: `teams-licensing permissions`
(text or JSON), the README's table, and the generated part of runbooks/grant-permissions.sh."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable

from teamslicensing.reference.permissions import MODES, Grant, accepted_instead, grants, provenance

README_BEGIN = "<!-- permissions table: generated from the permission table by tests/support/permission_docs.py -->"
README_END = "<!-- end of the permissions table -->"
SCRIPT_BEGIN = "# --- generated from teams-licensing's permission table (tests/support/permission_docs.py) ---"
SCRIPT_END = "# --- end of the generated part ---"
_WRAP = 100


def permissions_json(mode: str) -> str:
    """A list of {"permission", "why", "optional"}: required first."""
    rows = [{"permission": g.permission, "why": g.why, "optional": g.optional} for g in grants(mode)]
    return json.dumps(rows, indent=2) + "\n"


def permissions_text(mode: str) -> str:
    source = provenance()
    found = grants(mode)
    lines = [
        f"Microsoft Graph application permissions for `{mode}` ({MODES[mode].summary}),",
        f"from Microsoft's permissions reference ({source['repository']} {source['commit']}, {source['date']}):",
    ]
    for optional, heading in ((False, "required"), (True, "optional")):
        chosen = [g for g in found if g.optional is optional]
        if chosen:
            lines += ["", f"{heading}:"]
            lines += [line for grant in chosen for line in _entry(grant)]
    lines += ["", f"Grant them: runbooks/grant-permissions.sh --mode {mode} SERVICE_PRINCIPAL_OBJECT_ID"]
    return "\n".join(lines) + "\n"


def _entry(grant: Grant) -> list[str]:
    lines = [f"  {grant.permission}"]
    for reason in grant.reasons:
        lines += textwrap.wrap(reason, _WRAP, initial_indent="    - ", subsequent_indent=" " * 6)
    return lines


def readme_table() -> str:
    """The README's permission table: every permission any mode asks for, and where it is required or optional."""
    modes = [name for name in MODES if name != "all"]
    rows: dict[str, dict[str, str]] = {}
    whys: dict[str, list[str]] = {}
    for name in modes:
        for grant in grants(name):
            rows.setdefault(grant.permission, {})[name] = "optional" if grant.optional else "✓"
            for reason in grant.reasons:
                if reason not in whys.setdefault(grant.permission, []):
                    whys[grant.permission].append(reason)
    lines = [
        f"| permission | {' | '.join(f'`{m}`' for m in modes)} | what for |",
        f"|---|{'---|' * len(modes)}---|",
    ]
    for permission, marks in rows.items():
        cells = " | ".join(marks.get(m, "") for m in modes)
        lines.append(f"| `{permission}` | {cells} | {'; '.join(map(_markdown, whys[permission]))} |")
    return "\n".join([README_BEGIN, *lines, README_END])


def _markdown(reason: str) -> str:
    """A request key as code, and nothing that would split a table cell."""
    key, colon, rest = reason.partition(": ")
    text = f"`{key}`: {rest}" if colon and key.split(" ")[0] in ("GET", "POST", "PATCH") else reason
    return text.replace("|", "\\|")


def grant_script_section() -> str:
    """Bash (3.2 and later: no associative arrays) the grant script takes its role lists from."""
    modes = list(MODES)
    lines = [SCRIPT_BEGIN, f'MODES="{" ".join(modes)}"', "required_roles() {", '  case "$1" in']
    lines += [f'    {m}) echo "{_names(g for g in grants(m) if not g.optional)}" ;;' for m in modes]
    lines += ["  esac", "}", "optional_roles() {", '  case "$1" in']
    lines += [f'    {m}) echo "{_names(g for g in grants(m) if g.optional)}" ;;' for m in modes]
    lines += ["  esac", "}", "accepted_instead() {  # held, any of these grants everything the role is asked for"]
    lines += ['  case "$1" in']
    named = dict.fromkeys(g.permission for m in modes for g in grants(m))
    lines += [f'    {p}) echo "{" ".join(accepted_instead(p))}" ;;' for p in named if accepted_instead(p)]
    lines += ["  esac", "}", SCRIPT_END]
    return "\n".join(lines)


def _names(chosen: Iterable[Grant]) -> str:
    return " ".join(g.permission for g in chosen)
