"""The layer the fake puts before every request it serves, `$batch` items included: Graph v1.0's CSDL first
(`conformance`), then Microsoft's permissions reference (`authorization`) for the app's roles.

A request or answer v1.0 does not describe is not answered with a 400 a client might swallow: it is recorded and
raised as `NonConformingRequest` (an AssertionError) naming the request, and the suite's autouse fixture fails
the test that made it (tests/conftest.py). A test about the fake's own answers to such requests says so with
`tolerated()`, which collects them instead and lets the fake answer as it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.graphmetadata.authorization import Unlisted, refusal
from tests.support.graphmetadata.conformance import Checked, NonConforming, answer_problems, check_request

# the roles of an app that may do everything the tool does (the fake's default): Microsoft's reference lists
# Directory.ReadWrite.All for every directory request the tool makes except member lists, and one role for each
# part of the Teams administration API (numbers, policy assignment, user configurations)
DEFAULT_ROLES = frozenset(
    {
        "Directory.ReadWrite.All",
        "GroupMember.Read.All",
        "TeamsTelephoneNumber.ReadWrite.All",
        "TeamsPolicyUserAssign.ReadWrite.All",
        "TeamsUserConfiguration.Read.All",
        "CallRecords.Read.All",
    }
)

_violations: list[str] = []
_tolerating: list[list[str]] = []


class NonConformingRequest(AssertionError):
    """The fake met a request (or made an answer) Graph v1.0 does not describe."""


def _report(message: str) -> None:
    if _tolerating:
        _tolerating[-1].append(message)
        return
    _violations.append(message)
    raise NonConformingRequest(message)


@contextmanager
def tolerated() -> Iterator[list[str]]:
    """Within, requests v1.0 does not describe are collected in the list given, not failures."""
    found: list[str] = []
    _tolerating.append(found)
    try:
        yield found
    finally:
        _tolerating.remove(found)


def take_violations() -> list[str]:
    """What was met since the last call (and forget it)."""
    found = list(_violations)
    _violations.clear()
    return found


def admit(
    method: str, path: str, raw_query: str, body: Any, bad_body: bool, roles: frozenset[str]
) -> tuple[Checked | None, tuple[int, str, str] | None]:
    """(the checked request, or None if it does not conform and that is tolerated; Graph's refusal, if any)."""
    try:
        checked = check_request(method, path, raw_query, body, bad_body)
        return checked, refusal(method, checked.target, roles)
    except (NonConforming, Unlisted) as exc:
        _report(f"not in Graph v1.0: {exc}")
        return None, None


def answered(checked: Checked | None, headers: dict[str, str], status: int, body: Any) -> None:
    if checked is None:
        return
    problems = answer_problems(checked, headers, status, body)
    if problems:
        _report(f"the fake's answer to {checked.label} is not Graph v1.0's: " + "; ".join(problems))
