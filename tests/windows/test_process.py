"""Processes on Windows (seedctl/win32/process.py and the sandbox's use of it), over recorded
kernel32 answers and a stand-in taskkill.

- Liveness never sends anything: os.kill(pid, 0) on Windows sends CTRL_C_EVENT to the console.
- OpenProcess fails with ERROR_INVALID_PARAMETER (87) for a pid no process has, and with
  ERROR_ACCESS_DENIED (5) for one that exists but may not be queried; GetExitCodeProcess gives
  STILL_ACTIVE (259) while a process runs; a zero-timeout wait tells a process that exited with
  259 itself (WAIT_OBJECT_0) from a running one (WAIT_TIMEOUT, 0x102).
- taskkill exits 0 when it ended the tree, 128 when no process has the pid.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from seedctl.errors import SandboxError
from seedctl.sandbox import connection, lifecycle
from seedctl.win32.process import (
    CREATE_NEW_PROCESS_GROUP,
    CREATE_NO_WINDOW,
    STILL_ACTIVE,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
    kill_tree,
    pid_alive,
)

from .recorded import Fail, FakeDll, fill

HANDLE = 0x2C4


def kernel32(exit_code: int = STILL_ACTIVE, wait: int = WAIT_TIMEOUT, open_error: int | None = None) -> FakeDll:
    return FakeDll(OpenProcess=Fail(open_error) if open_error else HANDLE,
                   GetExitCodeProcess=fill(1, exit_code), WaitForSingleObject=wait, CloseHandle=1)


@pytest.mark.parametrize("answers, alive", [
    (kernel32(), True),                                      # running
    (kernel32(exit_code=0), False),                          # exited with 0
    (kernel32(exit_code=STILL_ACTIVE, wait=WAIT_OBJECT_0), False),  # exited with 259 itself
    (kernel32(open_error=87), False),                        # no such process
    (kernel32(open_error=5), True),                          # exists, another user's / protected
])
def test_pid_alive(answers: FakeDll, alive: bool) -> None:
    assert pid_alive(4242, answers) is alive
    opened = answers.OpenProcess.calls
    assert opened and opened[0][2] == 4242 and opened[0][0] & 0x1000  # PROCESS_QUERY_LIMITED_INFORMATION
    assert answers.names().count("CloseHandle") == (0 if answers.error else 1)  # every handle closed


def test_pid_alive_cannot_tell_means_alive() -> None:
    answers = FakeDll(OpenProcess=HANDLE, GetExitCodeProcess=Fail(5), WaitForSingleObject=WAIT_TIMEOUT,
                      CloseHandle=1)
    assert pid_alive(4242, answers) and answers.names()[-1] == "CloseHandle"


def test_no_pid_no_call() -> None:
    answers = kernel32()
    assert not pid_alive(0, answers) and answers.log == []


def test_the_sandbox_never_signals_a_pid_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """connection.pid_alive is what the daemon's parent watch calls twice a second."""
    def no_kill(*args: object) -> None:
        raise AssertionError("os.kill on Windows sends CTRL_C_EVENT to the console")
    monkeypatch.setattr(os, "kill", no_kill)
    assert connection.pid_alive(4242, platform="win32", kernel32=kernel32())
    assert not connection.pid_alive(4242, platform="win32", kernel32=kernel32(open_error=87))


class Taskkill:
    def __init__(self, *codes: int) -> None:
        self.codes = list(codes)
        self.calls: list[list[str]] = []

    def __call__(self, args: list[str], **kw: object) -> subprocess.CompletedProcess:
        self.calls.append(list(args))
        return subprocess.CompletedProcess(args, self.codes.pop(0), b"", b"")


def test_kill_tree() -> None:
    runner = Taskkill(0, 128, 1)
    assert kill_tree(4242, runner) is True
    assert runner.calls == [["taskkill", "/PID", "4242", "/T", "/F"]]
    assert kill_tree(4242, runner) is False
    with pytest.raises(OSError, match="exit 1"):
        kill_tree(4242, runner)


def test_sandbox_down_on_windows_waits_then_kills_the_tree() -> None:
    """After the control endpoint was asked (down does that first), a daemon still alive at the end
    of the wait is ended with its tree; one that ended by itself is left alone."""
    alive = {4242: True, 4343: True}

    class Tree(Taskkill):
        def __call__(self, args: list[str], **kw: object) -> subprocess.CompletedProcess:
            alive.update({4242: False, 4343: False})  # Azurite is in the daemon's tree
            return super().__call__(args, **kw)

    runner = Tree(0)
    lifecycle._stop_pid(4242, 4343, 0.2, platform="win32", alive=lambda p: alive[p], runner=runner)
    assert runner.calls == [["taskkill", "/PID", "4242", "/T", "/F"]]
    # Azurite orphaned already (the daemon is gone): its own tree is ended
    alive.update({4242: False, 4343: True})
    runner = Taskkill(0)
    lifecycle._stop_pid(4242, 4343, 0.2, platform="win32", alive=lambda p: alive[p], runner=runner)
    assert runner.calls == [["taskkill", "/PID", "4343", "/T", "/F"]]
    runner = Taskkill(1)
    alive.update({4242: True})
    with pytest.raises(SandboxError, match="cannot stop sandbox process 4242"):
        lifecycle._stop_pid(4242, None, 0.1, platform="win32", alive=lambda p: alive[p], runner=runner)
    runner = Taskkill()
    lifecycle._stop_pid(4242, 4343, 0.2, platform="win32", alive=lambda p: False, runner=runner)
    assert runner.calls == []


def test_the_daemon_gets_its_own_process_group_without_a_console_window() -> None:
    assert lifecycle._own_group("win32") == {"creationflags": CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW}
    assert lifecycle._own_group("linux") == {"start_new_session": True}
