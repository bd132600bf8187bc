"""Reference pages that are tables of the package's own data: gap codes, exit codes, Graph permissions per mode."""

from __future__ import annotations

from teamslicensing.exitcodes import MEANINGS
from teamslicensing.model.gapdocs import GAP_DOCS
from teamslicensing.model.plan import BLOCKING_CODES, UNACKNOWLEDGEABLE, GapCode
from teamslicensing.reference.permissions import MODES, accepted_instead, grants, provenance
from teamslicensing.report.permissions import readme_table


def cell(text: str) -> str:
    """Text that cannot split a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def gap_codes_page() -> str:
    lines = [
        "# Gap codes",
        "",
        "A **gap** is something the plan withholds or reports: what Graph would reject, what a user would regret, or "
        "what needs a person. Every report lists them, `--format json` as `gaps` entries with a `code`, and scripts "
        "match on the codes: they never change within a version. The severity decides exit codes: an error-severity "
        "gap makes `plan --detailed-exitcode`, `apply` and `undo` exit 3 (see [Exit codes](exit-codes.md)).",
        "",
        "A code with two severities is raised with each in the situations its meaning names. A gap matched by a "
        "`policy.acknowledge` entry is reported as info, with the entry's reason, until its date "
        "(see [Acknowledge known exceptions](../how-to/acknowledge-exceptions.md)); "
        f"{_codes(UNACKNOWLEDGEABLE)} cannot be acknowledged, and `apply` writes nothing while "
        f"{_codes(BLOCKING_CODES)} stands.",
        "",
        f"The package defines {len(GapCode)} codes; this page lists every one (from `teamslicensing.model.gapdocs`).",
        "",
    ]
    for heading, usage in (("Planning", False), ("Usage report", True)):
        codes = [code for code in GapCode if GAP_DOCS[code].usage is usage]
        lines += [f"## {heading}", ""]
        if usage:
            lines += [
                "Raised by `teams-licensing usage`, and by `plan --usage FILE`, which adds a usage report's gaps to "
                "the plan's.",
                "",
            ]
        lines += ["| code | severity | meaning | what to do |", "|---|---|---|---|"]
        for code in sorted(codes, key=lambda c: c.value):
            doc = GAP_DOCS[code]
            severities = " / ".join(s.value for s in doc.severities)
            lines.append(f"| `{code.value}` | {severities} | {cell(doc.meaning)} | {cell(doc.fix)} |")
        lines.append("")
    return "\n".join(lines)


def _codes(codes: frozenset[GapCode]) -> str:
    names = sorted(f"`{code.value}`" for code in codes)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def exit_codes_page() -> str:
    lines = [
        "# Exit codes",
        "",
        "One definition for every front end (`teamslicensing.exitcodes`). The runbook's job status follows its own "
        "table: see [Runbook settings and output](runbook.md#exit-codes).",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    lines += [f"| {code} | {cell(meaning)} |" for code, meaning in sorted(MEANINGS.items())]
    lines += [
        "",
        "For `apply` and `undo` the first that holds wins, in this order: 130/143, 1, 4, 3, 0. A usage error (an "
        "unknown option, a missing argument) exits 1, not argparse's 2, which a CI recipe would read as "
        '"changes pending".',
        "",
        "A step that must not fail on pending changes alone can accept 2: "
        "`teams-licensing plan config/licensing.yaml --detailed-exitcode || [ $? -eq 2 ]`. It still fails on 3, "
        "but error-severity gaps are findings about users, not failures of the run, and 3 wins over 2, so it does "
        "not say whether there are changes: the CI recipes accept 0, 2 and 3 from `plan` and decide from the JSON "
        "report's change count ([CI with saved plans](../tutorials/ci-saved-plans.md#3-the-plan-job)).",
        "",
    ]
    return "\n".join(lines)


def permissions_page() -> str:
    source = provenance()
    table = readme_table()  # between its markers, which tests.support.permission_docs rewrites too
    lines = [
        "# Graph permissions per mode",
        "",
        "The least-privileged Microsoft Graph **application** permissions each kind of run needs, from Microsoft's "
        f"permissions reference ({source['repository']}, `{source['path']}`, commit {source['commit']}, "
        f"{source['date']}; the entries for the tool's requests are shipped in "
        "`teamslicensing/reference/data/graph-permissions.json`). `teams-licensing permissions --mode MODE` prints "
        "a mode's list and `runbooks/grant-permissions.sh --mode MODE` grants it; why these and not others is in "
        "[How Graph is used](../explanation/graph.md#permissions).",
        "",
        "## Modes",
        "",
        "| mode | runs |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {cell(mode.summary)} |" for name, mode in MODES.items()]
    lines += ["", "## Every permission, by mode", "", "✓: required; optional: the mode works without it.", ""]
    lines += [table, "", "## Accepted instead", ""]
    lines += ["Where a role is already granted that Microsoft's reference lists for the same requests, it does:", ""]
    named = dict.fromkeys(g.permission for m in MODES for g in grants(m))
    for permission in named:
        instead = accepted_instead(permission)
        if instead:
            lines.append(f"- `{permission}`: {', '.join(f'`{p}`' for p in instead)}")
    lines.append("")
    return "\n".join(lines)
