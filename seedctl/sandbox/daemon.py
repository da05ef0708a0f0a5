"""The sandbox's background process: Azurite plus the ARM server, until asked to stop.

Started by `seedctl sandbox up` (lifecycle.py) as `python -m seedctl.sandbox.daemon --dir DIR`.
It writes state.json once both servers answer and removes it on the way out.

Stopping, on every platform: `POST /_sandbox/shutdown` (what `sandbox down` sends first), SIGTERM
or SIGINT where they are delivered, or the end of the test session that started it
(`--parent-pid`). Azurite is started with a pipe on its stdin that only this process holds: when
this process ends, however it ends, the pipe closes and Azurite shuts down as on SIGTERM (saving its
metadata) instead of living on without an owner (seedctl.sandbox.azurite).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from seedctl.errors import SandboxError
from seedctl.private_files import write_private
from seedctl.sandbox.app import SandboxApp
from seedctl.sandbox.azurite import AccountsFile, free_port, start_azurite, wait_listening
from seedctl.sandbox.certs import ensure_certificates
from seedctl.sandbox.connection import STATE_FILE, pid_alive
from seedctl.sandbox.data_access import RULES_FILE, AuthRules
from seedctl.sandbox.ops_storage import ACCOUNT_TYPE, sync_auth_rules
from seedctl.sandbox.server import ArmServer, make_ssl_context
from seedctl.sandbox.store import Store, private_dir

TOKEN_FILE = "token"


def ensure_token(directory: Path) -> str:
    """The sandbox's fixed bearer token: random once per sandbox folder, then kept."""
    path = directory / TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    token = "sandbox-" + secrets.token_urlsafe(24)
    write_private(path, token.encode("ascii"), error=SandboxError)
    return token


def write_json_atomic(path: Path, data: dict) -> None:
    """Private (it holds the token), atomic, and in binary: the same bytes on every platform."""
    write_private(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"), error=SandboxError)


def run(directory: Path, parent_pid: int | None = None) -> int:
    private_dir(directory)
    ca, cert, key = ensure_certificates(directory)
    token = ensure_token(directory)
    azurite_port, public_port = free_port(), free_port()
    rules = AuthRules(directory / RULES_FILE)
    azurite = start_azurite(directory, azurite_port, directory / "azurite.log",
                            public=(public_port, cert, key, rules.path))
    try:
        wait_listening(azurite_port, azurite)
        wait_listening(public_port, azurite)
        store = Store(directory / "sandbox.db")
        accounts = AccountsFile(directory / "azurite-accounts")
        # The account file follows the store (it may be stale after a crash).
        accounts.reset()
        for row in store.list(ACCOUNT_TYPE):
            accounts.set(row.body["name"], row.secret["key1"], row.secret["key2"])
        blob_endpoint = f"http://127.0.0.1:{azurite_port}"
        app = SandboxApp(store, accounts, blob_endpoint, token, str(directory))
        app.blob_public_endpoint = f"https://127.0.0.1:{public_port}"
        app.auth_rules = rules
        sync_auth_rules(app)  # the rules follow the store, like the account file
        server = ArmServer(app, make_ssl_context(str(cert), str(key)))
        stop = threading.Event()

        def shutdown(*why: object) -> None:
            if not stop.is_set():
                stop.set()
                reason = why[0] if why and isinstance(why[0], str) else "a signal or its parent's end"
                print(f"stopping: {reason}", file=sys.stderr, flush=True)
                threading.Thread(target=server.shutdown, daemon=True).start()

        app.on_shutdown = lambda: shutdown("asked through the control endpoint")
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGBREAK", None)):
            if sig is not None:
                signal.signal(sig, shutdown)
        if parent_pid:
            threading.Thread(target=_watch_parent, args=(parent_pid, shutdown), daemon=True).start()
        threading.Thread(target=_watch_azurite, args=(azurite, shutdown, stop), daemon=True).start()
        write_json_atomic(directory / STATE_FILE, {
            "pid": os.getpid(), "arm_endpoint": app.base_url, "blob_endpoint": blob_endpoint,
            "blob_public_endpoint": app.blob_public_endpoint,
            "token": token, "ca_bundle": str(ca), "dir": str(directory), "azurite_pid": azurite.pid,
            "started": time.time()})
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            store.close()
    finally:
        state = directory / STATE_FILE
        try:
            if json.loads(state.read_text(encoding="utf-8")).get("pid") == os.getpid():
                state.unlink()
        except (OSError, ValueError):
            pass
        _stop_azurite(azurite)
    return 0


def _stop_azurite(azurite: subprocess.Popen) -> None:
    """Close Azurite's stdin (it shuts down as on SIGTERM, saving its metadata), then, if it has not
    ended within 10 s, terminate it (TerminateProcess on Windows), then kill it."""
    try:
        if azurite.stdin is not None:
            azurite.stdin.close()
        azurite.wait(10)
        return
    except (OSError, subprocess.TimeoutExpired):
        pass
    if azurite.poll() is None:
        azurite.terminate()
        try:
            azurite.wait(5)
        except subprocess.TimeoutExpired:
            azurite.kill()
            azurite.wait()


def _watch_parent(pid: int, shutdown) -> None:  # noqa: ANN001
    """Tests pass their pid: a sandbox never outlives the test session that started it."""
    while pid_alive(pid):
        time.sleep(0.5)
    shutdown()


def _watch_azurite(proc, shutdown, stop) -> None:  # noqa: ANN001
    proc.wait()
    if not stop.is_set():  # not the end of a stop already under way (which closes Azurite itself)
        print(f"Azurite exited with code {proc.returncode}; stopping the sandbox", file=sys.stderr)
        shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seedctl.sandbox.daemon")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args(argv)
    return run(Path(args.dir), args.parent_pid)


if __name__ == "__main__":
    sys.exit(main())
