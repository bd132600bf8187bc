"""`init`: read the tenant, propose a starting configuration that explains who holds which voice licenses, and
prove it changes nobody by planning it against the very tenant it was read from.

Each round writes the proposal to a trial file beside the output and plans it. A user the plan would change (the
planner knows rules `init` does not, such as a usage location it would set), or whose change a gap holds back, is
kept out of every rule, named with the reason, and the next round writes the file again. Only a file whose plan
changes nobody and names no group or user the tenant lacks takes the output's place: a failure, or Ctrl-C, leaves
whatever was there before. Rounds that never end are a fault in `init`, reported as one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from teamslicensing import __version__
from teamslicensing.app.core import PlanRun, read
from teamslicensing.app.files import whole_file
from teamslicensing.app.signals import run_stoppable
from teamslicensing.app.source import TenantSource
from teamslicensing.config import load_desired_state
from teamslicensing.errors import ConfigError, TeamsLicensingError, UsageError
from teamslicensing.model.desired import DesiredState
from teamslicensing.model.plan import Action, GapCode, Plan, UserChange
from teamslicensing.model.tenant import Tenant
from teamslicensing.model.words import counted
from teamslicensing.plan import plan as make_plan
from teamslicensing.plan.adoption import MAX_OUTSIDERS, holdings
from teamslicensing.plan.proposal import ATTRIBUTES, Proposal, propose
from teamslicensing.reference.availability import load_availability
from teamslicensing.reference.catalog import load_catalog
from teamslicensing.report.initconfig import render_init_config
from teamslicensing.tenant.adoptread import candidate_groups
from teamslicensing.tenant.live import read_tenant
from teamslicensing.tenant.need import TenantNeed

ROUNDS = 3
# the file itself is wrong when its plan says a group or user it names is not there: a fault, never written
UNRESOLVED = frozenset({GapCode.GROUP_NOT_FOUND, GapCode.USER_NOT_FOUND})


class InitFault(TeamsLicensingError):
    """The proposal failed its own proof: nothing was written."""


@dataclass(frozen=True)
class Initialised:
    output: Path
    proposal: Proposal
    run: PlanRun  # the written file planned against the tenant read
    rounds: int  # how many times the file was written and planned
    notes: tuple[str, ...] = ()  # what the read left out (a live read's groups it could not count or read)


def init(source: TenantSource, output: str | Path, *, force: bool = False) -> Initialised:
    """Write a starting configuration for the tenant `source` reads to `output` (refused if it exists, unless
    `force`), once its plan changes nobody; raise InitFault, leaving `output` as it was, if it cannot."""
    output = Path(output)
    _check_output(output, force)
    tenant, notes = _read(source)
    now = datetime.now(timezone.utc)
    trial = output.with_name(f"{output.stem}.partial{output.suffix or '.yaml'}")
    held_out: dict[str, str] = {}
    catalog, availability = load_catalog(), load_availability()
    try:
        for rounds in range(1, ROUNDS + 1):
            proposal = propose(tenant, catalog, held_out)
            text = render_init_config(proposal, tenant, source.where, now, __version__, notes)
            _write(trial, text)
            desired = _loaded(trial)
            planned = make_plan(desired, tenant, availability)
            _check_resolved(planned)
            changed = _changed(planned)
            if not changed:
                _write(output, text)
                policy = desired.policy
                run = PlanRun(planned, tenant, source, str(output), policy.max_changes, policy.max_removals, desired)
                return Initialised(output, proposal, run, rounds, notes)
            held_out.update(changed)
    finally:
        trial.unlink(missing_ok=True)
    upns = {user.id: user.user_principal_name for user in tenant.users}
    names = ", ".join(sorted(upns.get(uid, uid) for uid in changed)[:5])
    raise InitFault(
        f"init: after {ROUNDS} rounds its proposal still changes {counted(len(changed), 'user')} ({names}); "
        f"nothing was written to {output}. This is a fault in init: please report it"
    )


def _loaded(trial: Path) -> DesiredState:
    try:
        return load_desired_state(trial)
    except ConfigError as exc:
        raise InitFault(
            f"init: the file it wrote does not load ({exc.problems[0].message if exc.problems else exc}); nothing "
            "was written. This is a fault in init: please report it"
        ) from exc


def _changed(planned: Plan) -> dict[str, str]:
    """User id -> why, for every user the plan changes or would change but for a gap (withheld)."""
    changed = {change.user_id: f"planned, a rule would change them ({_what(change)})" for change in planned.changes}
    for decision in planned.decisions:
        if decision.action is Action.WITHHELD and decision.user_id not in changed:
            changed[decision.user_id] = "planned, a rule would change them once a gap is resolved (withheld)"
    return changed


def _check_resolved(planned: Plan) -> None:
    unresolved = [gap for gap in planned.gaps if gap.code in UNRESOLVED]
    if unresolved:
        raise InitFault(
            f"init: its proposal names what the tenant does not have ({unresolved[0].code.value}: "
            f"{unresolved[0].message}); nothing was written. This is a fault in init: please report it"
        )


def _read(source: TenantSource) -> tuple[Tenant, tuple[str, ...]]:
    """Every user with the attributes attribute rules use; from Graph, also the groups the holders are in (a
    snapshot has its groups already), and what that read left out."""
    need = TenantNeed.users(None, attributes=[a for a in ATTRIBUTES if a != "usageLocation"])
    if source.graph is None:
        return read(source, need), ()
    graph_access = source.graph

    async def read_live() -> tuple[Tenant, tuple[str, ...]]:
        async with graph_access.open() as graph:
            tenant = await read_tenant(graph, need)
            found = holdings(tenant).values()
            largest = max(map(len, found), default=0)
            candidates = await candidate_groups(graph, found, largest + MAX_OUTSIDERS)
        groups = (*candidates.groups, *candidates.namesakes)
        return dataclasses.replace(tenant, groups=groups), candidates.notes

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
    """`text` in place at once (a link: its target), or not at all, whatever stops the writing."""
    with whole_file(output) as temporary:
        temporary.write_text(text, encoding="utf-8")
