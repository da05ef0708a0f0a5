"""One exception family, with one subclass per layer.

Every message is written for the person running seedctl: it says what failed and what to do.
The CLI prints `str(error)` without a traceback (with `-v` it adds the traceback).
Messages must never contain a secret value.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, one place (Terraform's convention where it applies)."""

    OK = 0
    ERROR = 1
    CHANGES = 2  # plan --detailed-exitcode: changes present
    INTERRUPTED = 130


class SeedctlError(Exception):
    """Base of every error seedctl raises on purpose."""

    exit_code: int = ExitCode.ERROR


class SpecError(SeedctlError):
    """The seeding spec is malformed or inconsistent; carries every problem found."""

    def __init__(self, problems: list[str], path: str | None = None) -> None:
        self.problems = list(problems)
        self.path = path
        head = f"{path}: " if path else ""
        if len(self.problems) == 1:
            # a problem that already names its file:line:col needs no second prefix
            text = self.problems[0] if path and self.problems[0].startswith(path) else head + self.problems[0]
        else:
            text = f"{head}{len(self.problems)} problems:\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)


class SecretError(SeedctlError):
    """A secret reference cannot be resolved. Never carries the secret itself."""


class AzureError(SeedctlError):
    """A call to Azure (or the sandbox) failed; the message says which and what to do."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retryable = retryable


class DriveError(SeedctlError):
    """A drive is not safe to write, is full, or disagrees with its journal/manifest."""


class PlanError(SeedctlError):
    """The plan cannot be built or a saved plan is stale."""


class ApplyError(SeedctlError):
    """Apply could not finish; the summary says which nodes failed."""


class LockError(SeedctlError):
    """Another apply holds the lock for this spec."""


class SandboxError(SeedctlError):
    """The local sandbox is not running or cannot start."""
