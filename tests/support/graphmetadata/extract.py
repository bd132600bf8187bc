"""Regenerate the trimmed extracts of Microsoft's Graph metadata that the fake and the package keep.

    python -m tests.support.graphmetadata.extract [METADATA_DIR] [--check]

METADATA_DIR (default /work/shared/graph-metadata) holds Microsoft's `v1.0-Prod.csdl` and `permissions.json`, as
its README describes. Written, deterministically (sorted keys, one layout):

- `tests/support/graphmetadata/v1.0-extract.json`: from the v1.0 CSDL, the entity sets and singletons the tool
  reaches, the entity types it touches (with their base types), every complex and enum type their properties,
  parameters and return types use, and the actions and functions bound to those entity types; and what the US
  Government and China clouds' CSDL (`v1.0-Fairfax.csdl`, `v1.0-Mooncake.csdl`) lack of all that (`national`);
- `tests/support/graphmetadata/permissions-extract.json`: from permissions.json, for the paths the fake serves,
  the Application permissions listing each method (and whether Microsoft marks one least privileged);
- `automation/teamslicensing/reference/data/graph-permissions.json`: the same facts for each request the package
  makes (`teamslicensing.reference.graphrequests.REQUESTS`), with how many paths each permission grants in all.

Each carries its provenance: Microsoft's repository, path, commit and date, and the sha256 of the file read.
`--check` writes nothing and exits 1 when a file differs from what it would write.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from pathlib import Path

from teamslicensing.reference.graphrequests import REQUESTS
from teamslicensing.reference.permissions import permission_path
from tests.support.graphmetadata.csdl import EDM, OPTIONAL_PARAMETER, Csdl, Json, element_of, provenance
from tests.support.graphmetadata.national import with_national_clouds

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DEFAULT_METADATA = Path("/work/shared/graph-metadata")
CSDL_EXTRACT = HERE / "v1.0-extract.json"
PERMISSIONS_EXTRACT = HERE / "permissions-extract.json"
PACKAGE_PERMISSIONS = ROOT / "automation" / "teamslicensing" / "reference" / "data" / "graph-permissions.json"

# where the files in METADATA_DIR come from (its README)
CSDL_SOURCE = {
    "repository": "microsoftgraph/msgraph-metadata",
    "path": "schemas/v1.0-Prod.csdl",
    "commit": "0564689b",
    "date": "2026-08-03",
    "repositoryHead": "f54f11b6 (2026-08-20)",
}
PERMISSIONS_SOURCE = {
    "repository": "microsoftgraph/microsoft-graph-devx-content",
    "path": "permissions/new/permissions.json",
    "commit": "6cbd6bbd",
    "date": "2026-08-07",
}

# what the tool reaches: add here (and regenerate) when it reaches more
ENTITY_SETS = ("subscribedSkus", "users", "groups")
SINGLETONS = ("admin", "communications")
ENTITY_TYPES = (
    "microsoft.graph.subscribedSku",
    "microsoft.graph.user",
    "microsoft.graph.group",
    "microsoft.graph.admin",
    "microsoft.graph.cloudCommunications",
    "microsoft.graph.callRecords.callRecord",
    "microsoft.graph.teamsAdministration.teamsAdminRoot",
    "microsoft.graph.teamsAdministration.telephoneNumberManagementRoot",
    "microsoft.graph.teamsAdministration.numberAssignment",
    "microsoft.graph.teamsAdministration.telephoneNumberLongRunningOperation",
    "microsoft.graph.teamsAdministration.teamsPolicyAssignment",
    "microsoft.graph.teamsAdministration.teamsPolicyUserAssignment",
    "microsoft.graph.teamsAdministration.policyIdentifierDetail",
    "microsoft.graph.teamsAdministration.teamsUserConfiguration",
)
# permissions.json's path templates (compared without regard to case) for what the fake serves
PERMISSION_PATHS = (
    "/subscribedskus",
    "/users",
    "/users/{id}",
    "/users/{id}/assignlicense",
    "/users/{id}/reprocesslicenseassignment",
    "/users/{id}/transitivememberof",
    "/groups",
    "/groups/{id}",
    "/groups/{id}/members",
    "/groups/{id}/transitivemembers",
    "/groups/{id}/assignlicense",
    "/admin/teams/telephonenumbermanagement/numberassignments",
    "/admin/teams/telephonenumbermanagement/numberassignments/{id}",
    "/admin/teams/telephonenumbermanagement/numberassignments/assignnumber",
    "/admin/teams/telephonenumbermanagement/numberassignments/unassignnumber",
    "/admin/teams/telephonenumbermanagement/numberassignments/updatenumber",
    "/admin/teams/telephonenumbermanagement/operations/{id}",
    "/admin/teams/policy/userassignments/assign",
    "/admin/teams/policy/userassignments/unassign",
    "/admin/teams/policy/getpolicyid",
    "/admin/teams/userconfigurations",
    "/admin/teams/userconfigurations/{id}",
    "/communications/callrecords/getpstncalls",
    "/communications/callrecords/getdirectroutingcalls",
)


def csdl_extract(path: Path) -> Json:
    csdl = Csdl(path)
    assert csdl.container is not None
    sets = {
        e.get("Name", ""): csdl.full(e.get("EntityType", "")) for e in csdl.container if e.get("Name") in ENTITY_SETS
    }
    singletons = {
        e.get("Name", ""): csdl.full(e.get("Type", ""))
        for e in csdl.container
        if e.tag == f"{EDM}Singleton" and e.get("Name") in SINGLETONS
    }
    entities = _with_bases(csdl, ENTITY_TYPES)
    operations = [
        _operation(csdl, namespace, element)
        for namespace, element in csdl.operations
        if element_of(csdl.full(element[0].get("Type", ""))) in entities
    ]
    used = [t for name in entities for t in _used_types(csdl, csdl.types[name][1])]
    used += [p["type"] for op in operations for p in op["parameters"]]
    used += [op["returns"] for op in operations if op["returns"]]
    complex_types, enums = _closure(csdl, used)
    return {
        "provenance": provenance(CSDL_SOURCE, path),
        "entitySets": sets,
        "singletons": singletons,
        "entityTypes": {name: _structured(csdl, csdl.types[name][1]) for name in sorted(entities)},
        "complexTypes": {name: _structured(csdl, csdl.types[name][1]) for name in sorted(complex_types)},
        "enumTypes": {name: _enum(csdl.types[name][1]) for name in sorted(enums)},
        "operations": sorted(operations, key=lambda op: (op["name"], op["binding"])),
    }


def _with_bases(csdl: Csdl, names: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for name in names:
        while name and name not in found:
            found.add(name)
            base = csdl.types[name][1].get("BaseType")
            name = csdl.full(base) if base else ""
    return found


def _used_types(csdl: Csdl, element: ElementTree.Element) -> list[str]:
    return [csdl.full(p.get("Type", "")) for p in element.findall(f"{EDM}Property")]


def _closure(csdl: Csdl, names: Iterable[str]) -> tuple[set[str], set[str]]:
    """The complex and enum types `names` use, with their bases, derived types and what those use in turn."""
    complex_types: set[str] = set()
    enums: set[str] = set()
    pending = [element_of(n) for n in names]
    derived: dict[str, list[str]] = {}
    for name, (kind, element) in csdl.types.items():
        if kind == "ComplexType" and element.get("BaseType"):
            derived.setdefault(csdl.full(element.get("BaseType", "")), []).append(name)
    while pending:
        name = element_of(pending.pop())
        if name.startswith("Edm.") or name not in csdl.types or name in complex_types or name in enums:
            continue
        kind, element = csdl.types[name]
        if kind == "EnumType":
            enums.add(name)
        elif kind == "ComplexType":
            complex_types.add(name)
            pending.extend(_used_types(csdl, element))
            pending.extend(derived.get(name, []))
            if element.get("BaseType"):
                pending.append(csdl.full(element.get("BaseType", "")))
    return complex_types, enums


def _structured(csdl: Csdl, element: ElementTree.Element) -> Json:
    base = element.get("BaseType")
    return {
        "base": csdl.full(base) if base else None,
        "abstract": element.get("Abstract") == "true",
        "open": element.get("OpenType") == "true",
        "properties": {
            p.get("Name", ""): {"type": csdl.full(p.get("Type", "")), "nullable": p.get("Nullable") != "false"}
            for p in element.findall(f"{EDM}Property")
        },
        "navigation": {
            n.get("Name", ""): {
                "type": csdl.full(n.get("Type", "")),
                "containsTarget": n.get("ContainsTarget") == "true",
            }
            for n in element.findall(f"{EDM}NavigationProperty")
        },
    }


def _enum(element: ElementTree.Element) -> Json:
    return {
        "flags": element.get("IsFlags") == "true",
        "members": [m.get("Name") for m in element.findall(f"{EDM}Member")],
    }


def _operation(csdl: Csdl, namespace: str, element: ElementTree.Element) -> Json:
    binding, *parameters = element.findall(f"{EDM}Parameter")
    returns = element.find(f"{EDM}ReturnType")
    return {
        "kind": "action" if element.tag == f"{EDM}Action" else "function",
        "namespace": namespace,
        "name": element.get("Name"),
        "binding": csdl.full(binding.get("Type", "")),
        "composable": element.get("IsComposable") == "true",
        "parameters": [
            {
                "name": p.get("Name"),
                "type": csdl.full(p.get("Type", "")),
                "nullable": p.get("Nullable") != "false",
                "optional": any(a.get("Term") == OPTIONAL_PARAMETER for a in p.findall(f"{EDM}Annotation")),
            }
            for p in parameters
        ],
        "returns": csdl.full(returns.get("Type", "")) if returns is not None else None,
    }


# ---- permissions ------------------------------------------------------------------------------------------------


def _grants(path: Path) -> tuple[dict[tuple[str, str], list[Json]], dict[str, int]]:
    """(lower-case path, method) -> Application permissions listing it; permission -> paths it grants in all."""
    permissions = json.loads(path.read_text(encoding="utf-8"))["permissions"]
    grants: dict[tuple[str, str], list[Json]] = {}
    breadth: dict[str, int] = {}
    for name, permission in permissions.items():
        for path_set in permission["pathSets"]:
            if "Application" not in path_set["schemeKeys"]:
                continue
            breadth[name] = breadth.get(name, 0) + len(path_set["paths"])
            for template, marks in path_set["paths"].items():
                least = any(
                    part.startswith("least=") and "Application" in part[len("least=") :].split(",")
                    for part in marks.split(";")
                )
                also = [p[len("AlsoRequires=") :].split(",") for p in marks.split(";") if p.startswith("AlsoRequires=")]
                for method in path_set["methods"]:
                    entry: Json = {"permission": name, "least": least}
                    if also:
                        entry["alsoRequires"] = sorted(also[0])
                    listed = grants.setdefault((_template(template), method.upper()), [])
                    if entry not in listed:
                        listed.append(entry)
    return grants, breadth


def _template(path: str) -> str:
    """A path as the extracts key it: lower case, every key placeholder written `{id}` (the reference writes
    `{id}`, `{operationId}` and the like; a request's key is a key whatever the reference calls it)."""
    return re.sub(r"\{[^}/]*\}", "{id}", path.lower())


def _listing(entries: list[Json]) -> list[Json]:
    return sorted(entries, key=lambda e: (not e["least"], e["permission"]))


def permissions_extract(path: Path) -> Json:
    grants, _ = _grants(path)
    paths: dict[str, dict[str, list[Json]]] = {}
    for (template, method), entries in grants.items():
        if template in PERMISSION_PATHS:
            paths.setdefault(template, {})[method] = _listing(entries)
    missing = set(PERMISSION_PATHS) - set(paths)
    if missing:
        raise SystemExit(f"permissions.json lists no Application permission for {sorted(missing)}")
    return {"provenance": provenance(PERMISSIONS_SOURCE, path), "scheme": "Application", "paths": paths}


def package_permissions(path: Path) -> Json:
    grants, breadth = _grants(path)
    requests: dict[str, list[Json]] = {}
    for request in REQUESTS:
        entries = grants.get((permission_path(request.path), request.method))
        if not entries:
            raise SystemExit(f"permissions.json lists no Application permission for {request.key}")
        requests[request.key] = _listing(entries)
    named = sorted({e["permission"] for entries in requests.values() for e in entries})
    return {
        "provenance": provenance(PERMISSIONS_SOURCE, path),
        "scheme": "Application",
        "requests": requests,
        "pathsGranted": {name: breadth.get(name, 0) for name in named},
    }


def rendered(document: Json) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def outputs(metadata: Path) -> dict[Path, str]:
    csdl, permissions = metadata / "v1.0-Prod.csdl", metadata / "permissions.json"
    return {
        CSDL_EXTRACT: rendered(with_national_clouds(csdl_extract(csdl), metadata)),
        PERMISSIONS_EXTRACT: rendered(permissions_extract(permissions)),
        PACKAGE_PERMISSIONS: rendered(package_permissions(permissions)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("metadata", nargs="?", type=Path, default=DEFAULT_METADATA)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    args = parser.parse_args(argv)
    stale = []
    for target, text in outputs(args.metadata).items():
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(target)
        if not args.check:
            target.write_text(text, encoding="utf-8")
    for target in stale:
        print(f"{'differs' if args.check else 'wrote'}: {target.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
