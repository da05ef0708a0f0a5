"""Console control events and VT mode (seedctl/win32/console.py) over a recorded kernel32.

Closing the console window must stop a drive write as Ctrl-C does: the handler Windows calls (on a
thread of its own) sets the stop token, interrupts the main thread, and holds Windows back until
seedctl has stopped. Ctrl-C and Ctrl-Break are passed on (FALSE) to the C runtime's handler, which
raises SIGINT / SIGBREAK.
"""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import Future

import pytest

from seedctl.interrupt import CancelToken, stop_on_signals, wait_any
from seedctl.win32.console import (
    CTRL_BREAK_EVENT,
    CTRL_C_EVENT,
    CTRL_CLOSE_EVENT,
    CTRL_LOGOFF_EVENT,
    CTRL_SHUTDOWN_EVENT,
    ENABLE_VIRTUAL_TERMINAL_PROCESSING,
    ConsoleEvents,
    enable_vt,
    escape_codes_work,
)

from .recorded import Fail, FakeDll, fill


def kernel32_with_console() -> FakeDll:
    return FakeDll(SetConsoleCtrlHandler=1)


def test_ctrl_c_and_ctrl_break_go_on_to_the_c_runtime_handler() -> None:
    token, finished = CancelToken(), threading.Event()
    handle = ConsoleEvents(kernel32_with_console(), interrupt_main=lambda: pytest.fail("interrupted")).handler(
        token, finished, 5.0)
    assert handle(CTRL_C_EVENT) == 0 and handle(CTRL_BREAK_EVENT) == 0
    assert not token.is_set()


@pytest.mark.parametrize("event, reason", [(CTRL_CLOSE_EVENT, "console closed"), (CTRL_LOGOFF_EVENT, "logoff"),
                                           (CTRL_SHUTDOWN_EVENT, "system shutdown")])
def test_close_logoff_shutdown_stop_and_wait_for_seedctl(event: int, reason: str) -> None:
    token, finished = CancelToken(), threading.Event()
    interrupted = []
    handle = ConsoleEvents(kernel32_with_console(), interrupt_main=lambda: interrupted.append(1)).handler(
        token, finished, 5.0)
    threading.Timer(0.2, finished.set).start()  # seedctl stops 0.2 s later
    started = time.monotonic()
    assert handle(event) == 1
    assert 0.15 < time.monotonic() - started < 3  # returned once seedctl stopped, not at once, not at the grace end
    assert token.is_set() and token.reason == reason and interrupted == [1]


def test_the_grace_time_bounds_the_wait() -> None:
    token, finished = CancelToken(), threading.Event()
    handle = ConsoleEvents(kernel32_with_console(), interrupt_main=lambda: None).handler(token, finished, 0.1)
    assert handle(CTRL_CLOSE_EVENT) == 1 and token.reason == "console closed"


def test_closing_the_console_interrupts_the_wait_loop_and_unregisters() -> None:
    """The whole path: stop_on_signals registers the routine; Windows calls it from another thread
    while the main thread waits for a drive writer; the main thread gets KeyboardInterrupt within
    a wait slice; the routine returns TRUE only after the block is left; then it is unregistered."""
    kernel32 = kernel32_with_console()
    events = ConsoleEvents(kernel32)
    token = CancelToken()
    never: Future[None] = Future()
    answers: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        with stop_on_signals(token, console=events):
            (routine, add), = kernel32.SetConsoleCtrlHandler.calls
            assert add == 1
            windows = threading.Thread(target=lambda: answers.append(routine(CTRL_CLOSE_EVENT)))
            started = time.monotonic()
            windows.start()
            try:
                wait_any([never])
            finally:
                assert time.monotonic() - started < 2.0
                assert token.reason == "console closed"  # what the drive writers' DriveInterrupted will say
                assert answers == []  # Windows is still held back while seedctl stops
    windows.join(5)
    assert answers == [1]
    assert kernel32.SetConsoleCtrlHandler.calls[-1] == (routine, 0)  # unregistered on the way out
    assert not token.is_set()  # cleared for the next command, as after Ctrl-C


def test_no_console_no_handler() -> None:
    kernel32 = FakeDll(SetConsoleCtrlHandler=Fail(6))  # ERROR_INVALID_HANDLE: no console (a service)
    events = ConsoleEvents(kernel32)
    assert not events.install(CancelToken(), threading.Event(), 1.0)
    events.uninstall()
    assert len(kernel32.SetConsoleCtrlHandler.calls) == 1


# -- VT mode ------------------------------------------------------------------------------------

def test_vt_mode_is_turned_on_for_a_classic_console() -> None:
    kernel32 = FakeDll(GetConsoleMode=fill(1, 0x3), SetConsoleMode=1)  # ENABLE_PROCESSED_OUTPUT | WRAP
    assert enable_vt(kernel32, 0x54)
    assert kernel32.SetConsoleMode.calls == [(0x54, 0x3 | ENABLE_VIRTUAL_TERMINAL_PROCESSING)]


def test_vt_mode_already_on() -> None:
    kernel32 = FakeDll(GetConsoleMode=fill(1, 0x7), SetConsoleMode=1)
    assert enable_vt(kernel32, 0x54) and kernel32.SetConsoleMode.calls == []


def test_no_vt_on_old_consoles_and_non_consoles() -> None:
    # SetConsoleMode refuses the flag before Windows 10 (ERROR_INVALID_PARAMETER)
    assert not enable_vt(FakeDll(GetConsoleMode=fill(1, 0x3), SetConsoleMode=Fail(87)), 0x54)
    # a pipe, a file or NUL: GetConsoleMode fails (ERROR_INVALID_HANDLE)
    assert not enable_vt(FakeDll(GetConsoleMode=Fail(6), SetConsoleMode=1), 0x54)


def test_escape_codes_work_outside_windows_and_follow_the_console_on_windows() -> None:
    assert escape_codes_work(io.StringIO(), windows=False)
    assert not escape_codes_work(io.StringIO(), windows=True)  # no file descriptor: not a console

    class Tty(io.StringIO):
        def fileno(self) -> int:
            return 1

    kernel32 = FakeDll(GetConsoleMode=fill(1, 0x3), SetConsoleMode=Fail(87))
    assert not escape_codes_work(Tty(), kernel32=kernel32, os_handle=lambda fd: 0x54, windows=True)
    kernel32 = FakeDll(GetConsoleMode=fill(1, 0x3), SetConsoleMode=1)
    assert escape_codes_work(Tty(), kernel32=kernel32, os_handle=lambda fd: 0x54, windows=True)
