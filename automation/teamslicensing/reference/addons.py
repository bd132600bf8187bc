"""Which SKUs are stand-alone voice add-ons: the only kind `prune` removes unless the admin names a SKU in
`policy.pruneAlso`.

A voice add-on is a SKU whose every service plan is a voice plan (Phone System, a Calling Plan including
pay-as-you-go, Audio Conferencing, Communications Credits, the resource-account plan) or a *companion* plan. Any other
plan (the Teams service, Exchange Online, SharePoint, Intune, the Teams Rooms plans) makes the SKU a suite or a bundle:
removing it takes mail, files or Teams itself, which a voice configuration has no business taking.

Companion plans, decided from Microsoft's catalogue (the shipped "Product names and service plan identifiers" CSV,
copy of 2026-07-29): of the SKUs that carry a voice plan, those whose other plans are few carry only two kinds beside
their voice plans —

- SMS units (`MCOSMS*`, e.g. `MCOSMS5` in MCOPSTN_5, `MCOSMS_PAYG_1` in the pay-as-you-go Calling Plan): the catalogue
  sells them in no SKU without a Calling Plan, so they are part of the calling product, not a product of their own;
- Exchange Foundation (`EXCHANGE_S_FOUNDATION*`, in the government MCOEV_GOV, MCOMEETADV_GOV and MCOPSTN_1_GOV): a
  placeholder plan Microsoft puts in dozens of add-ons (Power BI, Project, Visio...) that serves no workload itself.

`tests/planner/test_prune_reach.py` holds these two statements against the shipped catalogue, so a new CSV that adds
another kind of companion fails a test instead of turning a voice add-on into a suite (or a suite into an add-on)
silently.
"""

from __future__ import annotations

from collections.abc import Iterable

from teamslicensing.model.capability import VOICE_CAPABILITIES, Capability

COMPANION_PLAN_PREFIXES = ("MCOSMS", "EXCHANGE_S_FOUNDATION")


def is_companion_plan(service_plan_name: str) -> bool:
    """A non-voice plan that rides along inside a voice add-on without making it a suite (see the module)."""
    return "".join(service_plan_name.split()).upper().startswith(COMPANION_PLAN_PREFIXES)


def is_voice_addon(plans: Iterable[tuple[str, Capability | None]]) -> bool:
    """Whether a SKU with these service plans (name, capability) sells voice alone: at least one voice plan, and
    nothing but voice and companion plans."""
    voice = False
    for name, capability in plans:
        if capability in VOICE_CAPABILITIES:
            voice = True
        elif not is_companion_plan(name):
            return False
    return voice
