"""Graph as Microsoft publishes it: trimmed, generated extracts of the v1.0 CSDL and the permissions reference
(`extract.py` regenerates them from Microsoft's files, with their provenance), and the layer the fake tenant puts
before every request: conformance to the CSDL, then the app's roles against the permissions reference (`guard`)."""

from tests.support.graphmetadata.guard import DEFAULT_ROLES, NonConformingRequest, take_violations, tolerated

__all__ = ["DEFAULT_ROLES", "NonConformingRequest", "take_violations", "tolerated"]
