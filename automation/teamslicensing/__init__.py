"""teams-licensing: keep Microsoft Teams voice licenses in the state an admin declares."""

__version__ = "0.2.0"
