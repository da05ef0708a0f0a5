"""Windows processes: is one alive, the sandbox daemon's process group, and a tree kill.

Liveness. POSIX asks with `kill(pid, 0)`; on Windows `os.kill(pid, 0)` is not a question: signal 0
is CTRL_C_EVENT, so it sends Ctrl-C to every process on the console (the sandbox daemon's parent
watch did that twice a second). Here: OpenProcess, then GetExitCodeProcess; STILL_ACTIVE (259) is
confirmed with a zero-timeout wait on the handle, since a process may itself exit with 259.

Process group. The daemon is started in a new process group without a console window of its own,
so the user's Ctrl-C (sent to the console's foreground group) does not reach it, and `sandbox down`
is what stops it.

Tree kill. The daemon's child (Azurite's node process) would outlive a plain TerminateProcess of
the daemon; `taskkill /T /F` ends the whole tree. It is the last resort: `sandbox down` first asks
the daemon to stop through its control endpoint, and Azurite stops by itself when its parent's pipe
closes (seedctl.sandbox.azurite).
"""

from __future__ import annotations

import ctypes
import subprocess
from collections.abc import Callable
from typing import Any

from seedctl.win32 import ERROR_ACCESS_DENIED, dll, prototype

PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
SYNCHRONIZE = 0x00100000
STILL_ACTIVE = 259
WAIT_OBJECT_0 = 0
WAIT_TIMEOUT = 0x102
# subprocess.CREATE_NEW_PROCESS_GROUP and CREATE_NO_WINDOW (values from the Win32 headers, so this
# module imports on every platform)
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000
DAEMON_CREATION_FLAGS = CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW
# taskkill's exit code when no process has the pid
TASKKILL_NOT_FOUND = 128


def _declare(kernel32: Any) -> None:
    prototype(kernel32.OpenProcess, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32)
    prototype(kernel32.GetExitCodeProcess, ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32))
    prototype(kernel32.WaitForSingleObject, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32)
    prototype(kernel32.CloseHandle, ctypes.c_int, ctypes.c_void_p)


def pid_alive(pid: int, kernel32: Any = None) -> bool:
    """Whether process `pid` exists and has not exited. Sends nothing to it."""
    if pid <= 0:
        return False
    kernel32 = kernel32 if kernel32 is not None else dll("kernel32")
    _declare(kernel32)
    handle = kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, 0, pid)
    if not handle:
        # ERROR_INVALID_PARAMETER: no such process. ERROR_ACCESS_DENIED: it exists (a protected or
        # another user's process).
        return kernel32.last_error() == ERROR_ACCESS_DENIED
    try:
        code = ctypes.c_uint32()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # cannot tell: never call a running daemon dead
        if code.value != STILL_ACTIVE:
            return False
        return kernel32.WaitForSingleObject(handle, 0) == WAIT_TIMEOUT
    finally:
        kernel32.CloseHandle(handle)


def kill_tree(pid: int, runner: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> bool:
    """End `pid` and every process it started (`taskkill /PID pid /T /F`). True when something was
    ended, False when no such process existed; OSError when taskkill cannot run or fails otherwise."""
    done = runner(["taskkill", "/PID", str(pid), "/T", "/F"], stdin=subprocess.DEVNULL, capture_output=True,
                  timeout=60)
    if done.returncode == 0:
        return True
    if done.returncode == TASKKILL_NOT_FOUND:
        return False
    raise OSError(f"taskkill /PID {pid} /T /F failed (exit {done.returncode})")
