"""What the national clouds' Graph v1.0 lacks of the global cloud's, from their own CSDL files (same repository
as the global one, at its HEAD), for the extract's `nationalClouds` (see `clouds`)."""

from __future__ import annotations

from pathlib import Path

from tests.support.graphmetadata.csdl import EDM, Csdl, Json, provenance

# the national clouds' CSDL (same repository, at its HEAD): what they lack of what the extract holds
NATIONAL_CSDL = {
    "fairfax": ("v1.0-Fairfax.csdl", ("usgov", "usgovdod")),
    "mooncake": ("v1.0-Mooncake.csdl", ("china",)),
}
NATIONAL_SOURCE = {"repository": "microsoftgraph/msgraph-metadata", "commit": "f54f11b6", "date": "2026-08-20"}


def national_lacks(extract: Json, path: Path) -> Json:
    """What a national cloud's CSDL lacks of `extract` (the global cloud's): entity sets, singletons, entity
    types, navigation properties of the types it has, and bound operations (by name and binding). A request
    through any of these is one that cloud's Graph does not serve."""
    csdl = Csdl(path)
    assert csdl.container is not None
    named = {e.get("Name", "") for e in csdl.container}
    operations = {(f"{namespace}.{e.get('Name')}", csdl.full(e[0].get("Type", ""))) for namespace, e in csdl.operations}
    navigation: dict[str, list[str]] = {}
    for name, spec in extract["entityTypes"].items():
        if name in csdl.types:
            present = {n.get("Name") for n in csdl.types[name][1].findall(f"{EDM}NavigationProperty")}
            missing = sorted(set(spec["navigation"]) - present)
            if missing:
                navigation[name] = missing
    return {
        "entitySets": sorted(set(extract["entitySets"]) - named),
        "singletons": sorted(set(extract["singletons"]) - named),
        "entityTypes": sorted(set(extract["entityTypes"]) - set(csdl.types)),
        "navigation": navigation,
        "operations": sorted(
            f"{op['namespace']}.{op['name']} on {op['binding']}"
            for op in extract["operations"]
            if (f"{op['namespace']}.{op['name']}", op["binding"]) not in operations
        ),
    }


def with_national_clouds(extract: Json, metadata: Path) -> Json:
    clouds = {}
    for key, (file_name, names) in NATIONAL_CSDL.items():
        path = metadata / file_name
        source = {**NATIONAL_SOURCE, "path": f"schemas/{file_name}"}
        clouds[key] = {
            "clouds": list(names),
            "provenance": provenance(source, path),
            "lacks": national_lacks(extract, path),
        }
    return {**extract, "nationalClouds": clouds}
