"""The desired-state file: YAML with positions -> pydantic file model -> problems -> `model.desired.DesiredState`."""

from teamslicensing.config.filemodel import json_schema
from teamslicensing.config.loader import load_desired_state

__all__ = ["json_schema", "load_desired_state"]
