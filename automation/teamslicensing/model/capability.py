"""The voice capabilities a license can grant, and the shape of the ids everything is keyed on."""

from __future__ import annotations

import enum
import re

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Capability(str, enum.Enum):
    """What a service plan grants, as far as Teams voice is concerned (values are the config file's spelling)."""

    PHONE_SYSTEM = "phoneSystem"
    CALLING_PLAN = "callingPlan"
    AUDIO_CONFERENCING = "audioConferencing"
    COMMUNICATIONS_CREDITS = "communicationsCredits"
    RESOURCE_ACCOUNT = "resourceAccount"  # Teams Phone for auto attendants and call queues: not Phone System
    TEAMS = "teams"  # the Teams service itself, which Teams Phone needs (Teams docs, teams-phone-licensing)


# the capabilities that make a license a voice license (Teams itself is a prerequisite, not voice)
VOICE_CAPABILITIES = frozenset(Capability) - {Capability.TEAMS}


def normalise_guid(text: str) -> str:
    # Registry exports and PowerShell print GUIDs as {XXXXXXXX-...}; Graph prints lowercase.
    return text.strip().strip("{}").strip().lower()


def is_guid(text: str) -> bool:
    """True if `text` is a GUID, ignoring case, surrounding whitespace and braces."""
    return _GUID.fullmatch(normalise_guid(text)) is not None
