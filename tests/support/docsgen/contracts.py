"""The JSON contracts page: each output scripts read, shown as the tool really writes it on the shipped demo
(`demo.collect`), with a table of its fields (`fields`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tests.support.docsgen import fields
from tests.support.docsgen.demo import USAGE_FROM, USAGE_TO, Outputs, collect
from tests.support.docsgen.tables import cell

SHOWN = 2  # entries of a list shown in an example
SHOWN_KEYS = 3  # entries of a map keyed by data (gap codes) shown
_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "NoneType": "null"}


def _paths(value: Any, path: str, found: dict[str, set[str]]) -> None:
    if isinstance(value, dict):
        if path and not path.endswith("[]"):  # an entry of a list is described by the list and its fields
            found.setdefault(path, set()).add("object")
        for key, inner in value.items():
            name = fields.MAP_KEYS.get(path, str(key))
            _paths(inner, f"{path}.{name}" if path else name, found)
    elif isinstance(value, list):
        found.setdefault(path, set()).add("list")
        for item in value:
            _paths(item, f"{path}[]", found)
    else:
        found.setdefault(path, set()).add(_TYPES.get(type(value).__name__, type(value).__name__))


def field_table(documents: Iterable[Any], described: dict[str, str]) -> tuple[list[str], list[str]]:
    """The Markdown table of every field the documents have, and the fields `described` lacks."""
    found: dict[str, set[str]] = {}
    for document in documents:
        _paths(document, "", found)
    lines = ["| field | type | meaning |", "|---|---|---|"]
    missing = []
    for path, kinds in found.items():
        meaning = described.get(path)
        if meaning is None:
            missing.append(path)
        text = cell(meaning) if meaning is not None else "**undocumented**"
        lines.append(f"| `{path}` | {' or '.join(sorted(kinds))} | {text} |")
    return lines, missing


def trimmed(value: Any, path: str = "") -> Any:
    """An example cut to size: lists to their first entries, data-keyed maps to their first keys."""
    if isinstance(value, list):
        return [trimmed(item, f"{path}[]") for item in value[:SHOWN]]
    if isinstance(value, dict):
        keyed = path in fields.MAP_KEYS
        items = list(value.items())[:SHOWN_KEYS] if keyed else list(value.items())
        return {k: trimmed(v, f"{path}.{fields.MAP_KEYS[path] if keyed else k}" if path else k) for k, v in items}
    return value


def _json(value: Any) -> list[str]:
    return ["```json", json.dumps(trimmed(value), indent=2, ensure_ascii=False), "```"]


def _lines(records: Iterable[Any]) -> list[str]:
    return ["```json", *(json.dumps(record, ensure_ascii=False) for record in records), "```"]


class Page:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.missing: list[str] = []

    def add(self, *lines: str) -> None:
        self.lines += lines

    def table(self, documents: Iterable[Any], described: dict[str, str], where: str) -> None:
        rows, missing = field_table(documents, described)
        self.lines += ["", *rows, ""]
        self.missing += [f"{where}: {path}" for path in missing]


def _plan(page: Page, out: Outputs) -> None:
    page.add(
        "## The plan report: `plan --format json`",
        "",
        f"Version {out.plan['version']}. `teams-licensing plan config/licensing.yaml --snapshot "
        "config/examples/contoso-tenant.json --format json`:",
        "",
        *_json(out.plan),
        "",
        "A group change (a configuration with `groupLicenses`, the planner case "
        "`tests/planner/cases/group_license_add.yaml`), "
        "and what `applyWouldRefuse` holds when the demo's `maxChanges` is 5 and a protected user is misspelt:",
        "",
        *_json(
            {
                **{key: out.group_plan[key] for key in ("changes", "groupChanges") if key in out.group_plan},
                "applyWouldRefuse": out.refused_plan["applyWouldRefuse"],
            }
        ),
        "",
        "With `prices:` in the configuration (the same one: MCOEV, the Domestic Calling Plan and Audio Conferencing "
        "in USD, MCOPSTN2 in EUR), `cost` says what the plan adds and saves per month and what redundant and unused "
        "seats cost, one entry per currency; without prices it is absent:",
        "",
        *_json({"cost": out.refused_plan["cost"]}),
    )
    page.add(
        "",
        "For a reader of version 1: group changes have left `changes` for `groupChanges`, and the `target` field is "
        'gone, so every entry of `changes` is a user and `c["userId"]` holds for each (a script that picked '
        'groups with `target == "group"` reads `groupChanges` instead; the entries are as they were). Gaps gain '
        "`userId` and `skuId` beside the UPN and part number. `meta` (tool, version, time, tenant, source), "
        "`summary` (the counts) and `decisions` (one per user: the action, the rules that select the user and how, "
        "the reasons) are new. Every other field is as in version 1.",
    )
    documents = [out.plan, out.group_plan, out.refused_plan]
    page.table(documents, fields.PLAN, "plan")


def _apply(page: Page, out: Outputs) -> None:
    page.add(
        "## The apply result",
        "",
        "One shape wherever it appears: `apply --format json` (and `undo`, `reprocess`) adds it to the plan "
        "document as `result`, and the runbook's JSON line carries its keys at the top level. The demo applied "
        "to a copy of its snapshot:",
        "",
        *_json({"result": out.apply["result"]}),
        "",
        "The same with `--time-budget 0` (stopped before its first batch, exit 4), and a group license write:",
        "",
        *_json({"result": out.stopped_apply["result"]}),
        "",
        *_json({"result": out.group_apply["result"]}),
        "",
        "Before 0.2.0 `users` listed every user tried, applied ones included; a script that read applied users "
        "from it reads the audit log's `result` records instead.",
        "",
        "`apply --format json` also carries `error` at the top level: `null`, or, when apply refused the plan (a "
        "limit, a blocking gap), the refusal in words; the document is written all the same, with `result: null` "
        "and `applyWouldRefuse` judged with the limits that apply used (`--max-changes`, `--max-removals`).",
    )
    results = [{"result": o["result"]} for o in (out.apply, out.stopped_apply, out.group_apply)]
    page.table(results, fields.APPLY_RESULT, "apply result")


def _job_line(page: Page, out: Outputs) -> None:
    page.add(
        "## The runbook's JSON line",
        "",
        "The last line of a job's output ([Runbook settings and output](runbook.md)). Apply mode on the demo tenant:",
        "",
        *_json(out.job_line),
    )
    page.table([out.job_line], fields.JOB_LINE, "runbook JSON line")


def _usage(page: Page, out: Outputs) -> None:
    page.add(
        "## The usage report: `usage --format json`",
        "",
        f"Version {out.usage['version']}. The demo tenant with three months of generated call rows "
        f"(`--calls FILE --from {USAGE_FROM} --to {USAGE_TO}`):",
        "",
        *_json(out.usage),
        "",
        "For a reader of version 1: a pool's `country` is now `countries` (a list; `[]` with `tenantWide: true` for "
        'the Audio Conferencing pool, which was `"*"`), and its `destination` is now `allowances`, one entry per '
        "destination. The pool keeps `licences`, `month`, `includedMinutes`, `usedMinutes`, `forecastMinutes` and "
        "`forecastExhausted`: the first three are its `binding` allowance's, `forecastExhausted` is true when any "
        "allowance is forecast to run out. `plan` is now the `licenseCapability` code (`MCOMEETADD` where version 1 "
        "said `MCOMEETADV`); `meaning`, `eitherOr`, `otherMinutes`, `partial`, `read`, `notRead` and `capabilities` "
        "are new (`partial`, `read` and `notRead` were added within version 2: a reader that ignores keys it does "
        "not know reads both); everything outside `pools` is as in version 1. `plan --usage FILE` reads the gaps of "
        "either version once the file is seen to be a usage report (an object with `version` 1 or 2, `window` with "
        "`from` and `to`, and `pools` and `gaps` lists); anything else is an error saying what it lacks (exit 1). "
        "`--format csv` is one table (section, currency, name, value, minutes, calls, message, licences, forecast, "
        "runsOut; a `pool` row per allowance, a `poolOther` row per pool, a `capability` row per code; "
        "[Read usage and fund Credits](../how-to/usage-and-credits.md#gaps-and-the-json-report) says what each "
        "holds).",
    )
    page.table([out.usage], fields.USAGE, "usage")


def _first(records: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(record for record in records if key in record)


def _plan_file(page: Page, out: Outputs) -> None:
    records = out.plan_file
    shown = [records[0], *(_first(records[1:], key) for key in ("change", "gap", "seat", "rule", "end"))]
    page.add(
        "## The saved plan: `plan --out PLANFILE`",
        "",
        "JSON Lines, written and read a record at a time: a header, then one record per changed user (`change` and "
        "`basis`) and per changed group (`groupChange` and `basis`: its licenses and a digest of its direct "
        "members), the plan's `gap`, `seat` and `rule` records, and an `end` record. The demo's first record of "
        f"each kind ({len(records)} records in all):",
        "",
        *_lines(shown),
    )
    page.table(records, fields.PLAN_FILE, "saved plan")


def _audit(page: Page, out: Outputs) -> None:
    records = out.audit
    kinds = ("header", "intent", "result", "end")
    shown = [next(r for r in records if r["type"] == kind) for kind in kinds]
    page.add(
        "## The audit log",
        "",
        "JSON Lines, one run per file, written ahead of every write. The demo's apply, its first record of each "
        f"type ({len(records)} records in all):",
        "",
        *_lines(shown),
        "",
        "A write read back (after an answer that cannot be trusted, see [How Graph is used]"
        "(../explanation/graph.md#writes-whose-answer-cannot-be-trusted)) adds a `verified` record: `seq`, "
        "`userId`, `userPrincipalName`, `kind`, `state` (`done`, `notDone`, `changedElsewhere`, `userNotFound`, or "
        "`pending`: cut off at a stop and not done yet) and `current`. A group license write has `kind: "
        "groupLicenses`; `reprocess` records its calls the same way.",
    )
    page.table(records, fields.AUDIT, "audit log")


def build(out: Outputs) -> Page:
    page = Page()
    page.add(
        "# JSON contracts",
        "",
        "What scripts read. Field names never change within a version; a new version says what changed. Every "
        "example below is the tool's real output on the shipped demo (`config/licensing.yaml` and "
        "`config/examples/contoso-tenant.json`), regenerated with the page; lists are cut to their first "
        f"{SHOWN} entries, and values that differ from run to run (times, durations, run, request and process "
        "ids, a saved plan's digest) are shown as fixed placeholders.",
        "",
    )
    for section in (_plan, _apply, _job_line, _usage, _plan_file, _audit):
        section(page, out)
    return page


def contracts_page() -> str:
    return "\n".join(build(collect()).lines)
