"""The voice capabilities a license can grant, and the shape of the ids everything is keyed on."""

from __future__ import annotations

import enum
import re

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Capability(str, enum.Enum):
    """A Teams voice capability a license can grant (values are the config file's spelling)."""

    PHONE_SYSTEM = "phoneSystem"
    CALLING_PLAN = "callingPlan"
    AUDIO_CONFERENCING = "audioConferencing"
    COMMUNICATIONS_CREDITS = "communicationsCredits"


def normalise_guid(text: str) -> str:
    # Registry exports and PowerShell print GUIDs as {XXXXXXXX-...}; Graph prints lowercase.
    return text.strip().strip("{}").strip().lower()


def is_guid(text: str) -> bool:
    """True if `text` is a GUID, ignoring case, surrounding whitespace and braces."""
    return _GUID.fullmatch(normalise_guid(text)) is not None
