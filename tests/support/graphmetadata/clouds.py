"""The national clouds' Graph v1.0: what their CSDL lacks of the global cloud's (the extract's `nationalClouds`,
from Microsoft's `v1.0-Fairfax.csdl` and `v1.0-Mooncake.csdl`). A request through something a cloud lacks is not
served there: Graph answers it as any path it cannot resolve, 400 "Resource not found for the segment"."""

from __future__ import annotations

import functools
from typing import Any

from tests.support.graphmetadata.conformance import model
from tests.support.graphmetadata.model import Target

CLOUD_HOSTS = {  # Graph's host in each cloud, as teamslicensing's connection names them
    "graph.microsoft.com": "global",
    "graph.microsoft.us": "usgov",
    "dod-graph.microsoft.us": "usgovdod",
    "microsoftgraph.chinacloudapi.cn": "china",
}


def cloud_of_host(host: str) -> str:
    """The national cloud a Graph host belongs to; any other host (a loopback test server) is the global one."""
    return CLOUD_HOSTS.get(host.lower(), "global")


@functools.cache
def _lacks(cloud: str) -> dict[str, Any] | None:
    for national in model().extract["nationalClouds"].values():
        if cloud in national["clouds"]:
            lacks: dict[str, Any] = national["lacks"]
            return lacks
    return None


def missing_segment(cloud: str, target: Target) -> str | None:
    """The first segment of `target`'s path that `cloud`'s Graph does not have (None: it has them all, or the
    cloud is the global one)."""
    lacks = _lacks(cloud)
    if lacks is None:
        return None
    graph = model()
    for owner, name in target.steps:
        if not owner:
            absent = name in lacks["entitySets"] or name in lacks["singletons"] or name in lacks["operations"]
            if absent:
                return name.split(" on ")[0].rsplit(".", 1)[-1]
        elif owner in graph.structured and any(name in lacks["navigation"].get(t, ()) for t in graph.lineage(owner)):
            return name
    return None
