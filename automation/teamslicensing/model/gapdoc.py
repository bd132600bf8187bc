"""One gap code's documentation: the severities it is raised with, when, and the fix (see `gapdocs`)."""

from __future__ import annotations

from dataclasses import dataclass

from teamslicensing.model.plan import Severity


@dataclass(frozen=True, slots=True)
class GapDoc:
    severities: tuple[Severity, ...]  # every severity the code is raised with, most severe first
    meaning: str  # when it is raised
    fix: str  # what the admin does about it
    usage: bool = False  # raised by `usage` (and `plan --usage`), not by a plan alone
