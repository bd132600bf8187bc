"""Microsoft's CSDL read for the extracts: its schemas, with every type name written out in full (aliases
resolved), and the provenance every extract carries."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
OPTIONAL_PARAMETER = "Org.OData.Core.V1.OptionalParameter"
Json = dict[str, Any]


def provenance(source: dict[str, str], path: Path) -> Json:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {**source, "sha256": digest, "generator": "tests/support/graphmetadata/extract.py"}


class Csdl:
    """The CSDL's schemas, with every type name written out in full (aliases resolved)."""

    def __init__(self, path: Path) -> None:
        root = ElementTree.parse(path).getroot()
        self.schemas = list(root.iter(f"{EDM}Schema"))
        self.aliases = {s.get("Alias", s.get("Namespace")): s.get("Namespace", "") for s in self.schemas}
        self.types: dict[str, tuple[str, ElementTree.Element]] = {}  # full name -> (kind, element)
        self.operations: list[tuple[str, ElementTree.Element]] = []  # (namespace, Action or Function)
        self.container: ElementTree.Element | None = None
        for schema in self.schemas:
            namespace = schema.get("Namespace", "")
            for element in schema:
                kind = element.tag.removeprefix(EDM)
                if kind in ("EntityType", "ComplexType", "EnumType"):
                    self.types[f"{namespace}.{element.get('Name')}"] = (kind, element)
                elif kind in ("Action", "Function") and element.get("IsBound") == "true":
                    self.operations.append((namespace, element))
                elif kind == "EntityContainer":
                    self.container = element

    def full(self, name: str) -> str:
        if name.startswith("Collection(") and name.endswith(")"):
            return f"Collection({self.full(name[len('Collection(') : -1])})"
        if name.startswith("Edm."):
            return name
        prefix, _, last = name.rpartition(".")
        return f"{self.aliases.get(prefix, prefix)}.{last}"


def element_of(type_name: str) -> str:
    return type_name[len("Collection(") : -1] if type_name.startswith("Collection(") else type_name
