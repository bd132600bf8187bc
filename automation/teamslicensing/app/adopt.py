"""`init`: read the tenant, propose a starting configuration that explains who holds which voice licenses, write it,
and plan it against the very tenant it was read from.

The proposal is built so that its plan changes nobody, and the plan is what proves it: a user the written file would
still change (the planner knows rules `init` does not, such as a usage location it would set) is kept out of every
rule, named with the reason, and the file is written again. Two such rounds have always been enough; a third that
still changes somebody is a fault in `init`, reported, with the file left as the last round wrote it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from teamslicensing import __version__
from teamslicensing.app.core import PlanRun, read
from teamslicensing.app.signals import run_stoppable
from teamslicensing.app.source import TenantSource
from teamslicensing.config import load_desired_state
from teamslicensing.errors import UsageError
from teamslicensing.model.plan import UserChange
from teamslicensing.model.tenant import Tenant
from teamslicensing.plan import plan as make_plan
from teamslicensing.plan.adoption import MAX_OUTSIDERS, holdings
from teamslicensing.plan.proposal import ATTRIBUTES, Proposal, propose
from teamslicensing.reference.availability import load_availability
from teamslicensing.report.initconfig import render_init_config
from teamslicensing.tenant.adoptread import candidate_groups
from teamslicensing.tenant.live import read_tenant
from teamslicensing.tenant.need import TenantNeed

ROUNDS = 3


@dataclass(frozen=True)
class Initialised:
    output: Path
    proposal: Proposal
    run: PlanRun  # the written file planned against the tenant read
    rounds: int  # how many times the file was written and planned


def init(source: TenantSource, output: str | Path, *, force: bool = False) -> Initialised:
    """Write a starting configuration for the tenant `source` reads to `output` (refused if it exists, unless
    `force`) and plan it."""
    output = Path(output)
    _check_output(output, force)
    tenant = _read(source)
    now = datetime.now(timezone.utc)
    held_out: dict[str, str] = {}
    for rounds in range(1, ROUNDS + 1):
        proposal = propose(tenant, held_out)
        _write(output, render_init_config(proposal, tenant, source.where, now, __version__))
        desired = load_desired_state(output)
        planned = make_plan(desired, tenant, load_availability())
        # group changes come only from groupLicenses, which init never writes: only users are taken out
        if not planned.changes or rounds == ROUNDS:
            policy = desired.policy
            run = PlanRun(planned, tenant, source, str(output), policy.max_changes, policy.max_removals, desired)
            return Initialised(output, proposal, run, rounds)
        for change in planned.changes:
            held_out[change.user_id] = f"planned, a rule would change them ({_what(change)})"
    raise AssertionError("unreachable: the last round returns")


def _read(source: TenantSource) -> Tenant:
    """Every user with the attributes attribute rules use; from Graph, also the groups the holders are in (a
    snapshot has its groups already)."""
    need = TenantNeed.users(None, attributes=[a for a in ATTRIBUTES if a != "usageLocation"])
    if source.graph is None:
        return read(source, need)
    graph_access = source.graph

    async def read_live() -> Tenant:
        async with graph_access.open() as graph:
            tenant = await read_tenant(graph, need)
            found = holdings(tenant).values()
            largest = max(map(len, found), default=0)
            groups = await candidate_groups(graph, found, largest + MAX_OUTSIDERS)
        return dataclasses.replace(tenant, groups=tuple(groups))

    return run_stoppable(read_live())


def _what(change: UserChange) -> str:
    parts = [f"add {a.sku_part_number}" for a in change.add_licenses]
    parts += [f"remove {r.sku_part_number}" for r in change.remove_licenses]
    if change.set_usage_location:
        parts.append(f"set usage location {change.set_usage_location}")
    if change.number_changes or change.policy_changes:
        parts.append("numbers or policies")
    return ", ".join(parts) or "a change"


def _check_output(output: Path, force: bool) -> None:
    if output.is_dir():
        raise UsageError(f"--output {output} is a folder: name the file to write, e.g. {output / 'licensing.yaml'}")
    if output.exists() and not force:
        raise UsageError(f"{output} exists: init writes a new file (--output OTHER), or overwrites with --force")
    if not output.parent.is_dir():
        raise UsageError(f"cannot write {output}: the folder {output.parent} does not exist")


def _write(output: Path, text: str) -> None:
    temporary = Path(f"{output}.partial")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(output)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
