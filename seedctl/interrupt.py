"""Stopping a drive write on request within about a second, leaving it resumable.

The requests: Ctrl-C (SIGINT) everywhere, SIGTERM on POSIX (Windows never delivers it), Ctrl-Break
(SIGBREAK) on Windows, and closing the console window, logging off or shutting down on Windows
(console control events, which Python does not turn into signals: `seedctl.win32.console`).

Drives are written in worker threads, and Python delivers a signal only to the main thread, so a
KeyboardInterrupt alone would leave every worker copying until its drive is full (hours on a 4 TB
disk). Instead the signal sets a `CancelToken` that the copy engine checks before every buffer it
reads; the worker stops at the next buffer boundary, lets the journal stay as it is (the file in
flight was never journaled, so a re-run redoes it) and raises `DriveInterrupted`.

The main thread must get to run the handler at all: `wait_any` is how it waits for worker threads,
on every platform. Before Python 3.14 a lock wait without a timeout cannot be interrupted on Windows
(CPython gh-74157, gh-80116; fixed in 3.14 by gh-125541), so a plain `concurrent.futures.wait`
would hold Ctrl-C back until a whole drive was written. `wait_any` waits in short slices instead;
between two slices the interpreter runs whatever handler is pending.
"""

from __future__ import annotations

import concurrent.futures as _futures
import contextlib
import signal
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future
from typing import Any

from seedctl.errors import DriveError, ExitCode

# How long the main thread sleeps in one slice of `wait_any`: the worst added delay before a stop
# request is handled where lock waits cannot be interrupted (Windows before Python 3.14).
WAIT_SLICE = 0.25
# How long a console close / logoff / shutdown handler holds Windows back while seedctl stops: the
# system ends the process about 5 s after a close event (HandlerRoutine: SPI_GETHUNGAPPTIMEOUT).
CLOSE_GRACE = 4.5


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


def wait_any(futures: Collection[Future[Any]], *, slice_seconds: float = WAIT_SLICE,
             waiter: Callable[..., Any] | None = None) -> set[Future[Any]]:
    """The futures of `futures` that are done, waiting until there is at least one.

    Waits in slices of `slice_seconds`, never without a timeout, so a signal handler (Ctrl-C) runs
    within one slice on every platform (the module docstring says why). `waiter` is
    `concurrent.futures.wait`, looked up at each call (tests put an uninterruptible one in its place).
    """
    if not futures:
        return set()
    wait = waiter or _futures.wait
    while True:
        done, _ = wait(futures, timeout=slice_seconds, return_when=_futures.FIRST_COMPLETED)
        if done:
            return set(done)


def results_in_turn(futures: Collection[Future[Any]]) -> Iterator[Any]:
    """Each future's result as it finishes (its exception raised), waiting through `wait_any`, so a
    stop lands within one slice on every platform. If the caller stops early (an exception, Ctrl-C,
    or leaving the loop), the futures not yet started are cancelled: the pool's shutdown then waits
    only for those already running, not for every one submitted."""
    # Futures finished in the same slice come in submission order, not a set's arbitrary one, so a
    # failure never jumps ahead of results that finished before it.
    order = {future: index for index, future in enumerate(futures)}
    pending = set(futures)
    try:
        while pending:
            done = wait_any(pending)
            pending -= done
            for future in sorted(done, key=order.__getitem__):
                yield future.result()
    finally:
        for future in pending:
            future.cancel()


def stop_signals() -> tuple[signal.Signals, ...]:
    """The signals that ask seedctl to stop here: SIGINT; SIGTERM where it is delivered (POSIX);
    SIGBREAK (Ctrl-Break) where it exists (Windows)."""
    found = [signal.SIGINT]
    for name in ("SIGTERM", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is not None:
            found.append(sig)
    return tuple(found)


@contextlib.contextmanager
def stop_on_signals(token: CancelToken = INTERRUPT, *, console: Any = None) -> Iterator[None]:
    """While active: the stop signals (`stop_signals`) and, on Windows, closing the console, logging
    off or shutting down set `token` (so worker threads stop at their next buffer), then raise
    KeyboardInterrupt in the main thread as Ctrl-C normally does. Restores the previous handlers
    and clears the token afterwards. A no-op off the main thread (signals cannot be set there).

    `console` is `seedctl.win32.console`'s `ConsoleEvents` (tests pass one over a recorded kernel32,
    or False for none); by default the real one on Windows and none elsewhere."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        token.cancel(signal.Signals(signum).name)
        raise KeyboardInterrupt

    previous = {}
    for sig in stop_signals():
        previous[sig] = signal.signal(sig, handler)
    finished = threading.Event()
    if console is None:
        from seedctl.win32.console import default_console_events

        console = default_console_events()
    if console:
        console.install(token, finished, CLOSE_GRACE)
    try:
        yield
    finally:
        finished.set()  # a console-close handler waiting for seedctl to stop may now let Windows go on
        if console:
            console.uninstall()
        for sig, old in previous.items():
            signal.signal(sig, old)
        token.clear()
