"""The process environment passed into commands, so tests need no monkeypatching.

Modelled on HTTPie's `Environment`: the streams, whether they are terminals, colour, the
environment variables and the clock live here; commands read them from this object only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Env:
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Callable[[], datetime] = _utcnow
    cwd: str = field(default_factory=os.getcwd)

    @property
    def stdout_isatty(self) -> bool:
        return _isatty(self.stdout)

    @property
    def stderr_isatty(self) -> bool:
        return _isatty(self.stderr)

    @property
    def stdin_isatty(self) -> bool:
        return _isatty(self.stdin)

    @property
    def color(self) -> bool:
        """Colour only on a terminal, never with NO_COLOR set (any value, per no-color.org)."""
        if "NO_COLOR" in self.environ:
            return False
        return self.stdout_isatty

    def now(self) -> datetime:
        return self.clock()


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
