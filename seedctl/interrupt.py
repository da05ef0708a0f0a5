"""Stopping a drive write on request (Ctrl-C, SIGTERM) within about a second, leaving it resumable.

Drives are written in worker threads, and Python delivers a signal only to the main thread, so a
KeyboardInterrupt alone would leave every worker copying until its drive is full (hours on a 4 TB
disk). Instead the signal sets a `CancelToken` that the copy engine checks before every buffer it
reads; the worker stops at the next buffer boundary, lets the journal stay as it is (the file in
flight was never journaled, so a re-run redoes it) and raises `DriveInterrupted`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from seedctl.errors import DriveError, ExitCode


class Cancelled(Exception):
    """Raised inside the copy engine when its token is set; the caller turns it into DriveInterrupted."""


class DriveInterrupted(DriveError):
    """A drive write stopped on request; completed files are journaled, a re-run resumes."""

    exit_code = ExitCode.INTERRUPTED


class CancelToken:
    """A flag that threads poll; setting it is safe from a signal handler."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "interrupted") -> None:
        self.reason = self.reason or reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def clear(self) -> None:
        self.reason = ""
        self._event.clear()


# The process-wide token the CLI's signal handlers set; prepare_drive uses it unless given another.
INTERRUPT = CancelToken()


@contextlib.contextmanager
def stop_on_signals(token: CancelToken = INTERRUPT) -> Iterator[None]:
    """While active: SIGINT and SIGTERM set `token` (so worker threads stop at their next buffer),
    then raise KeyboardInterrupt in the main thread as Ctrl-C normally does. Restores the previous
    handlers and clears the token afterwards. A no-op off the main thread (signals cannot be set there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        token.cancel(signal.Signals(signum).name)
        raise KeyboardInterrupt

    previous = {}
    for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if sig is not None:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        token.clear()
