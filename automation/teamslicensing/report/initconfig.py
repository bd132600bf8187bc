"""The starting configuration `init` writes, as commented YAML: every choice says where it came from, and everything
the file leaves alone (holders it cannot explain, voice from suites, numbers) is named in a comment.

Strings the tenant supplies (group names, user names, attribute values) are written as JSON strings, which YAML reads
back exactly, whatever quotes, colons or non-Latin letters they hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from teamslicensing.model.tenant import Tenant
from teamslicensing.model.words import counted
from teamslicensing.plan.proposal import Proposal

LISTED_IN_COMMENTS = 200  # users named in a comment before "and N more"
NAMED_PER_REASON = 20  # users named under each reason they are left out for


def render_init_config(
    proposal: Proposal, tenant: Tenant, source: str, when: datetime, version: str, notes: Sequence[str] = ()
) -> str:
    """The file; `notes`: what the read left out (a live read's groups it could not count or read)."""
    lines = [
        "# yaml-language-server: $schema=./schema.json   (write it with `teams-licensing schema > schema.json`)",
        f"# Written by `teams-licensing init` {version} on {when:%Y-%m-%d %H:%M} UTC from {source}.",
        "# A starting point: planned as it stands it changes nobody. Read it, rename what you like, then",
        "#   teams-licensing plan THIS-FILE      shows what it would change (nothing, until you edit it)",
        "version: 1",
    ]
    if proposal.tenant_id:
        name = f"  # {comment_text(proposal.tenant_name)}" if proposal.tenant_name else ""
        lines.append(f"tenantId: {proposal.tenant_id}{name}")
    lines += ["", *_policy(proposal), "", *_licenses(proposal, tenant), "", *_rules(proposal, tenant)]
    lines += _left_alone(proposal, tenant)
    if notes:
        lines.append("# The read left out (groups it could not see are proposed for no rule):")
        lines += [f"#   {comment_text(note)}" for note in notes]
    return "\n".join(lines) + "\n"


def yaml_string(text: str) -> str:
    """`text` as a YAML double-quoted scalar that reads back exactly: JSON's escapes, and every code point YAML
    would fold or refuse written as an escape too (DEL, C1 controls such as NEL, line separators, non-characters),
    while letters of any script stay as they are."""
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in quoted)


def _escape(ch: str) -> str:
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"


def comment_text(text: str) -> str:
    """One comment line: whatever could end it or not read as text shown as an escape."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


def coverage_line(proposal: Proposal) -> str:
    """How much of the tenant's voice the rules explain, for the terminal and the file's last comment."""
    if not proposal.holders:
        elsewhere = sum(proposal.suites.values()) + sum(proposal.group_licensed.values())
        also = f" ({counted(elsewhere, 'voice license')} from suites or groups: the file's end lists them)"
        return "init: nobody holds a stand-alone voice license directly; the file has no rules" + (
            also if elsewhere else ""
        )
    share = proposal.explained * 100 // proposal.holders  # down: 1,000 of 1,001 is 99%, never 100%
    kinds = ", ".join(
        counted(proposal.count(kind), label)
        for kind, label in (("groups", "group rule"), ("attributes", "attribute rule"), ("users", "named-user rule"))
        if proposal.count(kind)
    )
    line = (
        f"init: {counted(len(proposal.rules), 'rule')} ({kinds or 'none'}, the smallest set found) explain "
        f"{proposal.explained:,} of {counted(proposal.holders, 'voice license holder')} ({share}%)"
    )
    missing = len(proposal.not_explained)
    if missing > 5:
        line += f"; {missing:,} not explained, kept out of every rule (the file's end says who and why)"
    elif missing:
        line += f"; {missing:,} not explained, kept out of every rule: {', '.join(proposal.not_explained)}"
    return line


def _policy(proposal: Proposal) -> list[str]:
    lines = [
        "policy:",
        "  # false: users no rule selects keep what they hold. Before turning it on, plan with it on and read the",
        "  # removals: it takes the licenses below from every holder in no rule"
        + (f" (up to {len(proposal.not_explained):,} now, listed at the end)." if proposal.not_explained else "."),
        "  prune: false",
        "  allowNumberLoss: false",
    ]
    holders = proposal.number_holders
    if proposal.numbers_unread:
        lines.append(f"  # Phone numbers were not read ({comment_text(proposal.numbers_unread)}): add the users who")
        lines.append("  # hold one here by hand, or run init where the number inventory can be read.")
    if holders:
        lines.append(f"  # {counted(len(holders), 'user')} hold phone numbers; to keep every change away from one, add")
        lines.append("  # them here:")
        lines += [f"  #   - {upn}   # {number}" for upn, number in _some(holders)]
        if len(holders) > LISTED_IN_COMMENTS:
            lines.append(f"  #   ... and {len(holders) - LISTED_IN_COMMENTS:,} more")
    return [*lines, "  protectedUsers: []"]


def _licenses(proposal: Proposal, tenant: Tenant) -> list[str]:
    if not proposal.aliases:
        return ["licenses: {}"]
    lines = ["# The stand-alone voice licenses the rules assign, by a short name the rules use.", "licenses:"]
    # a SKU Microsoft's catalogue (the package's copy) does not list is named by its skuId, which always loads
    known = {sku for sku, product in proposal.products.items() if product is not None}
    named = {sku: tenant.sku_by_id[sku].part_number if sku in known else sku for sku in proposal.aliases}
    width = max(len(alias) for alias in proposal.aliases.values()) + len(": ")
    parts = max(len(reference) for reference in named.values())
    for sku, alias in sorted(proposal.aliases.items(), key=lambda item: item[1]):
        part = tenant.sku_by_id[sku].part_number
        about = proposal.products.get(sku) or f"{part}: not in the catalogue copy, named by skuId"
        lines.append(f"  {alias + ':':<{width}}{named[sku]:<{parts}}   # {comment_text(about)}")
    return lines


def _rules(proposal: Proposal, tenant: Tenant) -> list[str]:
    if not proposal.rules:
        return ["rules: []"]
    lines = ["rules:"]
    for rule in proposal.rules:
        lines += [f"  # {comment_text(rule.why)}", f"  - name: {yaml_string(rule.name)}", "    select:"]
        lines += _selector(rule.groups, rule.users, rule.attributes)
        if rule.excluded:
            lines += ["    exclude:  # members who do not hold these licenses"]
            lines += _selector((), rule.excluded, {})
        aliases = ", ".join(proposal.aliases[sku] for sku in rule.assign)
        lines.append(f"    assign: [{aliases}]")
        if rule.disabled:
            lines.append("    disabledPlans:  # as the holders have them")
            for sku, plans in rule.disabled.items():
                lines.append(f"      {proposal.aliases[sku]}: [{', '.join(plans)}]")
        if rule.without_calling_plan:
            lines.append("    # no Calling Plan: if they call through Direct Routing or Operator Connect, say so:")
            lines.append("    # voiceRouting: directRouting")
    return lines


def _selector(groups: Iterable[str], users: Iterable[str], attributes: Mapping[str, str]) -> list[str]:
    lines = []
    if groups := list(groups):
        lines.append(f"      groups: [{', '.join(yaml_string(g) for g in groups)}]")
    if users := list(users):
        lines.append("      users:")
        lines += [f"        - {yaml_string(upn)}" for upn in users]
    for attribute, value in attributes.items():
        lines.append(f"      attributes: {{{attribute}: {yaml_string(value)}}}")
    return lines


def _left_alone(proposal: Proposal, tenant: Tenant) -> list[str]:
    lines = ["", f"# Coverage: {coverage_line(proposal).removeprefix('init: ')}"]
    if proposal.not_explained:
        missing = counted(len(proposal.not_explained), "user")
        lines.append(f"# Not explained, so in no rule ({missing}); they keep what they hold while prune is off:")
        lines += _by_reason(proposal.not_explained)
    lines += _counts(
        "Voice licenses given by group-based licensing are Entra's, not a rule's (see groupLicenses):",
        proposal.group_licensed,
    )
    suites = {
        f"{(part := tenant.sku_by_id[sku].part_number)} ({proposal.products.get(sku) or part})": count
        for sku, count in proposal.suites.items()
    }
    lines += _counts(
        "Voice that comes with a suite is not managed here (a rule would manage mail and files too):", suites
    )
    return lines


def _counts(heading: str, users: Mapping[str, int]) -> list[str]:
    """A comment: the heading, then how many users each named thing has; nothing when there is nothing."""
    if not users:
        return []
    return [f"# {heading}", *(f"#   {comment_text(what)}: {counted(count, 'user')}" for what, count in users.items())]


def _by_reason(not_explained: Mapping[str, str]) -> list[str]:
    """The users left out, grouped by why (the most first), NAMED_PER_REASON names each."""
    by_reason: dict[str, list[str]] = {}
    for upn, why in not_explained.items():
        by_reason.setdefault(why, []).append(upn)
    lines = []
    for why, upns in sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0])):
        lines.append(f"#   {counted(len(upns), 'user')}: {comment_text(why)}")
        shown = upns[:NAMED_PER_REASON]
        lines += [f"#     {', '.join(shown[i : i + 4])}" for i in range(0, len(shown), 4)]
        if len(upns) > len(shown):
            lines.append(f"#     ... and {len(upns) - len(shown):,} more")
    return lines


def _some(items: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> Iterator[tuple[str, str]]:
    yield from list(items)[:LISTED_IN_COMMENTS]
