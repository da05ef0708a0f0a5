"""Start, stop and inspect the sandbox's background process (`seedctl sandbox up|down|status`).

The daemon runs in a session (POSIX) or process group without a console window (Windows) of its
own, so the user's Ctrl-C does not reach it. `down` asks it to stop through its control endpoint
(the same on every platform: it closes its servers and Azurite, which saves its metadata), waits,
and only then ends the whole tree: the process group with SIGTERM, then SIGKILL, on POSIX;
`taskkill /T /F` on Windows, so Azurite's node process is not orphaned.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seedctl.errors import SandboxError
from seedctl.sandbox.connection import STATE_FILE, SandboxConnection, load_connection, pid_alive, read_state
from seedctl.sandbox.store import private_dir

# Daemons started by this process, so `down` can reap them (no zombies in long test sessions).
_children: dict[int, subprocess.Popen] = {}


def up(directory: Path, *, timeout: float = 15.0, parent_pid: int | None = None) -> tuple[SandboxConnection, bool]:
    """Start the sandbox in `directory` unless it runs; returns (connection, started_now)."""
    directory = directory.expanduser().resolve()
    if read_state(directory) is not None:
        return load_connection(directory), False
    private_dir(directory)
    (directory / STATE_FILE).unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "seedctl.sandbox.daemon", "--dir", str(directory)]
    if parent_pid:
        cmd += ["--parent-pid", str(parent_pid)]
    log_path = directory / "sandbox.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                close_fds=True, **_own_group())
    _children[proc.pid] = proc
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _children.pop(proc.pid, None)
            raise SandboxError(f"the sandbox stopped while starting (exit code {proc.returncode}):\n"
                               + _tail(log_path))
        state = read_state(directory)
        if state is not None and state.get("pid") == proc.pid:
            return load_connection(directory), True
        time.sleep(0.05)
    _stop_pid(proc.pid, None, 0.0)
    raise SandboxError(f"the sandbox did not start within {timeout:.0f} s:\n" + _tail(log_path))


def _own_group(platform: str = sys.platform) -> dict[str, Any]:
    """Popen arguments that detach the daemon from the caller's console signals."""
    if platform == "win32":
        from seedctl.win32.process import DAEMON_CREATION_FLAGS

        return {"creationflags": DAEMON_CREATION_FLAGS}
    return {"start_new_session": True}


def down(directory: Path, *, timeout: float = 10.0) -> bool:
    """Stop the sandbox in `directory`; True if one was running. Leaves no process behind."""
    directory = directory.expanduser().resolve()
    path = directory / STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return False
    pid = int(state.get("pid", 0))
    running = pid_alive(pid)
    asked = running and _ask_to_stop(state)
    # a daemon that could not be asked (wedged, or from a seedctl without the endpoint) is not waited for
    _stop_pid(pid, state.get("azurite_pid"), timeout if asked else 0.0)
    path.unlink(missing_ok=True)
    return running


def _ask_to_stop(state: dict[str, Any]) -> bool:
    """POST /_sandbox/shutdown to the daemon of `state`; False when it cannot be reached."""
    from seedctl.sandbox.control import SandboxControl

    try:
        conn = SandboxConnection(arm_endpoint=state["arm_endpoint"], ca_bundle=state["ca_bundle"],
                                 token=state["token"], blob_endpoint=state.get("blob_endpoint", ""),
                                 dir=state.get("dir", ""))
        SandboxControl(conn).shutdown()
        return True
    except (KeyError, OSError, SandboxError):
        return False  # the tree kill below ends it


def _stop_pid(pid: int, azurite_pid: int | None, timeout: float, *, platform: str = sys.platform,
              alive: Callable[[int], bool] = pid_alive,
              runner: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> None:
    """Wait up to `timeout` for the daemon (and Azurite) to end, then end the whole tree."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (alive(pid) or (azurite_pid and alive(azurite_pid))):
        _reap(pid)
        time.sleep(0.05)
    if alive(pid) or (azurite_pid and alive(azurite_pid)):
        if platform == "win32":
            _kill_tree_windows(pid, azurite_pid, alive, runner)
        else:
            _kill_group_posix(pid, azurite_pid, alive)
    _reap(pid)


def _kill_tree_windows(pid: int, azurite_pid: int | None, alive: Callable[[int], bool],
                       runner: Callable[..., subprocess.CompletedProcess]) -> None:
    from seedctl.win32.process import kill_tree

    for p in (pid, azurite_pid):  # the daemon's tree first: Azurite is in it, unless orphaned already
        if not p or not alive(p):
            continue
        try:
            kill_tree(p, runner)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxError(f"cannot stop sandbox process {p}: {exc}; end it in Task Manager") from None


def _kill_group_posix(pid: int, azurite_pid: int | None, alive: Callable[[int], bool]) -> None:
    if alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM)  # the daemon leads its own session; Azurite is in it
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and (alive(pid) or (azurite_pid and alive(azurite_pid))):
        _reap(pid)
        time.sleep(0.05)
    for p in (pid, azurite_pid):
        if p and alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _reap(pid: int) -> None:
    proc = _children.get(pid)
    if proc is not None and proc.poll() is not None:
        _children.pop(pid, None)


def status(directory: Path) -> dict[str, Any]:
    directory = directory.expanduser().resolve()
    state = read_state(directory)
    if state is None:
        return {"running": False, "dir": str(directory)}
    conn = load_connection(directory)
    return {"running": True, **conn.to_json(), "pid": state["pid"], "azurite_pid": state.get("azurite_pid")}


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
