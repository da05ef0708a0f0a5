"""Windows consoles: the control events that end a process, and VT escape sequences.

Control events. Ctrl-C and Ctrl-Break reach Python as SIGINT and SIGBREAK (the C runtime's own
console handler turns them into signals). Closing the console window, logging off and shutting
down do not: Windows calls the process's handler routines on a thread of its own and ends the
process when the routine returns (or about 5 s later for a close). `ConsoleEvents` registers one
that does what Ctrl-C does — set the stop token so drive writers stop at their next buffer, and
interrupt the main thread — then holds Windows back until seedctl has stopped (or the grace time
is up), so the drive is left resumable instead of cut mid-commit.

VT mode. Consoles understand ANSI escape codes (colours) only with ENABLE_VIRTUAL_TERMINAL_PROCESSING
set; Windows Terminal sets it, the classic console host does not, and older Windows has none.
`escape_codes_work` turns it on where it can and says False otherwise, so seedctl prints plain text
instead of raw `←[31m` sequences.
"""

from __future__ import annotations

import _thread
import ctypes
import threading
from collections.abc import Callable
from typing import IO, Any

from seedctl.win32 import IS_WINDOWS, dll, prototype

CTRL_C_EVENT = 0
CTRL_BREAK_EVENT = 1
CTRL_CLOSE_EVENT = 2
CTRL_LOGOFF_EVENT = 5
CTRL_SHUTDOWN_EVENT = 6
# the events Python does not turn into a signal, and how the stop reason names them
STOP_EVENTS = {CTRL_CLOSE_EVENT: "console closed", CTRL_LOGOFF_EVENT: "logoff",
               CTRL_SHUTDOWN_EVENT: "system shutdown"}

ENABLE_VIRTUAL_TERMINAL_PROCESSING = 0x0004
_INVALID_HANDLE = (0, -1, ctypes.c_void_p(-1).value)

# BOOL WINAPI HandlerRoutine(DWORD dwCtrlType); WINFUNCTYPE is stdcall, CFUNCTYPE stands in for tests
_HANDLER = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)(ctypes.c_int, ctypes.c_uint32)


class ConsoleEvents:
    """The console-control handler of one `stop_on_signals` block."""

    def __init__(self, kernel32: Any, interrupt_main: Callable[[], None] = _thread.interrupt_main) -> None:
        self.kernel32 = kernel32
        self.interrupt_main = interrupt_main
        self._routine: Any = None
        prototype(kernel32.SetConsoleCtrlHandler, ctypes.c_int, _HANDLER, ctypes.c_int)

    def handler(self, token: Any, finished: threading.Event, grace: float) -> Callable[[int], int]:
        """The routine's logic: TRUE (handled) for close/logoff/shutdown after seedctl stopped or
        `grace` seconds passed; FALSE for Ctrl-C and Ctrl-Break, so the next handler (the C
        runtime's, which raises SIGINT / SIGBREAK) gets them."""
        def handle(event: int) -> int:
            reason = STOP_EVENTS.get(event)
            if reason is None:
                return 0
            token.cancel(reason)
            self.interrupt_main()  # the main thread raises KeyboardInterrupt at its next wait slice
            finished.wait(grace)
            return 1
        return handle

    def install(self, token: Any, finished: threading.Event, grace: float) -> bool:
        """Register the handler; False when the process has no console (a service, pythonw)."""
        routine = _HANDLER(self.handler(token, finished, grace))
        if not self.kernel32.SetConsoleCtrlHandler(routine, 1):
            return False
        self._routine = routine  # a ctypes callback must live as long as it is registered
        return True

    def uninstall(self) -> None:
        if self._routine is not None:
            self.kernel32.SetConsoleCtrlHandler(self._routine, 0)
            self._routine = None


def default_console_events() -> ConsoleEvents | None:
    """The real handler on Windows; None elsewhere (POSIX ends a process with signals only)."""
    return ConsoleEvents(dll("kernel32")) if IS_WINDOWS else None


def enable_vt(kernel32: Any, handle: int) -> bool:
    """Turn on VT processing for the console behind `handle`; True when escape codes now work.
    False for a handle that is not a console (a pipe, a file, NUL) or a console without VT."""
    prototype(kernel32.GetConsoleMode, ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32))
    prototype(kernel32.SetConsoleMode, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)
    if handle in _INVALID_HANDLE:
        return False
    mode = ctypes.c_uint32()
    if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
        return False
    if mode.value & ENABLE_VIRTUAL_TERMINAL_PROCESSING:
        return True
    return bool(kernel32.SetConsoleMode(handle, mode.value | ENABLE_VIRTUAL_TERMINAL_PROCESSING))


def escape_codes_work(stream: IO[str], *, kernel32: Any = None, os_handle: Callable[[int], int] | None = None,
                      windows: bool = IS_WINDOWS) -> bool:
    """Whether ANSI escape codes written to the terminal `stream` are shown as colours: always
    outside Windows; on Windows when its console has (or now has) VT processing."""
    if not windows:
        return True
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if os_handle is None:
        import msvcrt

        os_handle = msvcrt.get_osfhandle  # type: ignore[attr-defined]
    try:
        handle = os_handle(fd)
    except OSError:
        return False
    return enable_vt(kernel32 if kernel32 is not None else dll("kernel32"), handle)
