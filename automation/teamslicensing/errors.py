"""The program's exception tree, so every failure reaches the user as one clear message.

    TeamsLicensingError            root: the CLI and the runbook print it and exit 1
    ├── InputError                 a file the user gave us is wrong; carries every problem at once
    │   ├── ConfigError            the desired-state YAML
    │   └── SnapshotError          a tenant snapshot JSON
    ├── UsageError                 the command line or a runbook setting asks for what cannot be done
    ├── ApplyRefusedError          the plan must not be written (over policy.maxChanges, a blocking gap); nothing is
    ├── AuthenticationError        no token could be had; says which credential failed and how to fix it
    ├── GraphError                 Graph refused a request (status, code, Graph's message, request id)
    │   └── RetryableError         429, 5xx, timeout, dropped connection; carries `retry_after` when Graph named it
    ├── BundleError                bundle-runbook cannot make the bundle; says which wheel or step is at fault
    └── DeployError                Azure refused a deployment step (or it did not finish in time); Azure's words

User-fixable errors carry `Problem`s that point at `FILE:LINE:COLUMN` so an editor can jump there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, at a 1-based line and column (0 when only a data path is known)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:  # a problem found in parsed data (JSON) has a path in its message, not a position
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class TeamsLicensingError(Exception):
    """Root of every error this program raises on purpose."""


class InputError(TeamsLicensingError):
    """An input file is invalid; `problems` lists everything found, in file order."""

    kind = "input"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(set(problems)))
        super().__init__(self.summary())

    def summary(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [str(p) for p in self.problems]
        lines.append(f"{count} {noun} in {self.kind}; nothing was changed.")
        return "\n".join(lines)


class ConfigError(InputError):
    """The desired-state configuration is invalid."""

    kind = "configuration"


class SnapshotError(InputError):
    """A tenant snapshot file is invalid."""

    kind = "snapshot"


class GraphError(TeamsLicensingError):
    """Graph refused a request; `message` is Graph's own text."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None = None) -> None:
        self.status, self.code, self.message, self.request_id = status, code, message, request_id
        where = f" (request-id {request_id})" if request_id else ""
        super().__init__(f"Graph answered {status} {code}: {message}{where}")


class RetryableError(GraphError):
    """429, 5xx, a timeout or a dropped connection: worth another try, after `retry_after` if Graph named it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        retry_after: float | None = None,
        *,
        maybe_sent: bool = True,
    ) -> None:
        super().__init__(status, code, message, request_id)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent  # False when the request surely never reached Graph (no connection made)


class AuthenticationError(TeamsLicensingError):
    """No token could be had: the message says which credential failed and how to fix it."""


class UsageError(TeamsLicensingError):
    """The command line or a runbook setting asks for something that cannot be done."""


class ApplyRefusedError(TeamsLicensingError):
    """The plan must not be written: it changes more users than the limit allows, or a gap blocks every write."""


class BundleError(TeamsLicensingError):
    """The bundle cannot be made: the message says which wheel or step is at fault."""


class DeployError(TeamsLicensingError):
    """`deploy automation` stopped: Azure refused a step, a package failed to import, or a wait ran out. The
    message names the step and carries Azure's own code and message."""
