"""Where a running sandbox is: the connection file that `seedctl sandbox up` writes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from seedctl.errors import SandboxError

STATE_FILE = "state.json"


@dataclass(frozen=True)
class SandboxConnection:
    arm_endpoint: str  # "https://127.0.0.1:PORT"
    ca_bundle: str  # path to the CA PEM that signed the server certificate
    token: str  # the sandbox's fixed local bearer token
    blob_endpoint: str  # Azurite, "http://127.0.0.1:PORT"; account URL = f"{blob_endpoint}/{account}"
    dir: str  # the sandbox folder
    # the public blob endpoint (HTTPS, keys and Entra ID tokens, the service's refusals; what ARM
    # answers as primaryEndpoints.blob): seedctl/sandbox/data_access.py. "" from an older sandbox.
    blob_public_endpoint: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def default_sandbox_dir(environ: Mapping[str, str]) -> Path:
    """$SEEDCTL_SANDBOX_DIR, else `sandbox` in the per-user state folder of this OS
    (%LOCALAPPDATA%, ~/Library/Application Support, $XDG_STATE_HOME or ~/.local/state)."""
    from seedctl.env import user_dir

    explicit = environ.get("SEEDCTL_SANDBOX_DIR")
    if explicit:
        return Path(explicit).expanduser()
    return user_dir("state", environ) / "sandbox"


def read_state(directory: Path) -> dict | None:
    """The daemon's state file, or None when the sandbox is not running (or died)."""
    path = directory / STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if not pid_alive(int(state.get("pid", 0))):
        return None
    return state


def pid_alive(pid: int, *, platform: str = sys.platform, kernel32: object = None) -> bool:
    """Whether process `pid` runs. POSIX: kill(pid, 0), a zombie counting as gone. Windows:
    OpenProcess / GetExitCodeProcess (seedctl.win32.process); never os.kill, which there sends
    Ctrl-C to the whole console for signal 0."""
    if pid <= 0:
        return False
    if platform == "win32":
        from seedctl.win32.process import pid_alive as windows_pid_alive

        return windows_pid_alive(pid, kernel32)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited child not yet reaped) still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def load_connection(directory: Path | None = None,
                    environ: Mapping[str, str] = os.environ) -> SandboxConnection:
    """The running sandbox's connection; SandboxError when none is running there."""
    directory = Path(directory) if directory else default_sandbox_dir(environ)
    state = read_state(directory)
    if state is None:
        raise SandboxError(f"no sandbox is running in {directory}; run `seedctl sandbox up`"
                           + ("" if "SEEDCTL_SANDBOX_DIR" in environ else
                              " (or set SEEDCTL_SANDBOX_DIR to the sandbox folder)"))
    return SandboxConnection(arm_endpoint=state["arm_endpoint"], ca_bundle=state["ca_bundle"],
                             token=state["token"], blob_endpoint=state["blob_endpoint"],
                             dir=str(directory), blob_public_endpoint=state.get("blob_public_endpoint") or "")
