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
from pathlib import Path
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
    no_color: bool = False  # --no-color
    # whether a terminal shows ANSI colours: always outside Windows; there, when its console has VT
    # processing on (turned on if it can be). Tests pass their own.
    escape_codes: Callable[[IO[str]], bool] = field(default=None, repr=False)  # type: ignore[assignment]

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
        """Colour only on a terminal that shows it (a Windows console needs VT mode, turned on here
        where it can be), never with --no-color or NO_COLOR set to a non-empty value (per
        no-color.org an empty NO_COLOR counts as unset)."""
        if self.no_color or self.environ.get("NO_COLOR"):
            return False
        if not self.stdout_isatty:
            return False
        if self.escape_codes is None:
            # a classic Windows console would show raw escape codes otherwise
            from seedctl.win32.console import escape_codes_work

            return escape_codes_work(self.stdout)
        return self.escape_codes(self.stdout)

    def now(self) -> datetime:
        return self.clock()


def user_dir(kind: str, environ: Mapping[str, str], *, platform: str | None = None,
             home: Path | None = None) -> Path:
    """seedctl's per-user folder of `kind` ("state" or "data"), where each OS keeps such things:
    Windows %LOCALAPPDATA%\\seedctl, macOS ~/Library/Application Support/seedctl, elsewhere the XDG
    base directories ($XDG_STATE_HOME or ~/.local/state, $XDG_DATA_HOME or ~/.local/share)."""
    platform = platform or sys.platform
    home = home or Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())
    if platform.startswith("win"):
        base = environ.get("LOCALAPPDATA")
        return (Path(base) if base else home / "AppData" / "Local") / "seedctl"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "seedctl"
    variable, fallback = {"state": ("XDG_STATE_HOME", (".local", "state")),
                          "data": ("XDG_DATA_HOME", (".local", "share"))}[kind]
    base = environ.get(variable)
    # XDG: a relative path in these variables is invalid and must be ignored
    root = Path(base) if base and os.path.isabs(base) else home.joinpath(*fallback)
    return root / "seedctl"


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
