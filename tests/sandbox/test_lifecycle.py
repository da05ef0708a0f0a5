"""`seedctl sandbox up|status|down`: a separate sandbox of its own, started like a user would."""

from __future__ import annotations

import io
import json
import time
import uuid

import pytest

from seedctl.cli import main
from seedctl.env import Env
from seedctl.sandbox.connection import load_connection, pid_alive

pytestmark = pytest.mark.sandbox


def run(args, environ):
    out, err = io.StringIO(), io.StringIO()
    code = main(args, Env(stdout=out, stderr=err, environ=environ))
    return code, out.getvalue(), err.getvalue()


def test_up_status_restart_keeps_state_down_leaves_nothing(tmp_path):
    from azure.core.credentials import AccessToken
    from azure.mgmt.resource.resources import ResourceManagementClient

    environ = {"SEEDCTL_SANDBOX_DIR": str(tmp_path / "sb"), "HOME": str(tmp_path)}
    start = time.monotonic()
    code, out, _ = run(["sandbox", "up"], environ)
    assert code == 0 and time.monotonic() - start < 15
    try:
        code, out, _ = run(["sandbox", "status", "--json"], environ)
        status = json.loads(out)
        assert code == 0 and status["running"] is True
        assert set(status) >= {"arm_endpoint", "ca_bundle", "token", "blob_endpoint", "dir"}
        assert status["arm_endpoint"].startswith("https://127.0.0.1:")
        assert status["blob_endpoint"].startswith("http://127.0.0.1:")
        assert run(["sandbox", "up"], environ)[1].startswith("Sandbox already running")

        conn = load_connection(environ=environ)

        class Token:
            def get_token(self, *a, **k):
                return AccessToken(conn.token, int(time.time()) + 3600)

        sub = str(uuid.uuid4())
        ResourceManagementClient(Token(), sub, base_url=conn.arm_endpoint, connection_verify=conn.ca_bundle) \
            .resource_groups.create_or_update("kept", {"location": "westus"})
        pids = (status["pid"], status["azurite_pid"])
        assert run(["sandbox", "down"], environ)[0] == 0
        assert not any(pid_alive(p) for p in pids)
        code, out, _ = run(["sandbox", "status"], environ)
        assert code == 1 and "No sandbox running" in out

        assert run(["sandbox", "up"], environ)[0] == 0
        conn = load_connection(environ=environ)
        rm = ResourceManagementClient(Token(), sub, base_url=conn.arm_endpoint, connection_verify=conn.ca_bundle)
        assert rm.resource_groups.check_existence("kept") is True
    finally:
        run(["sandbox", "down"], environ)
    assert not (tmp_path / "sb" / "state.json").exists()


def test_load_connection_without_sandbox(tmp_path):
    from seedctl.errors import SandboxError

    with pytest.raises(SandboxError, match="seedctl sandbox up"):
        load_connection(tmp_path / "none", environ={})


def test_down_stops_through_the_control_endpoint_and_azurite_saves(tmp_path):
    """Issue 26: the stop that works on Windows too (no SIGTERM there) is the one used everywhere."""
    from seedctl.sandbox import lifecycle

    directory = tmp_path / "sb"
    lifecycle.up(directory, timeout=30)
    try:
        status = lifecycle.status(directory)
    finally:
        assert lifecycle.down(directory)
    assert not pid_alive(status["pid"]) and not pid_alive(status["azurite_pid"])
    assert "stopping: asked through the control endpoint" in (directory / "sandbox.log").read_text()
    assert "Azurite Blob service successfully closed" in (directory / "azurite.log").read_text()


def test_a_killed_daemon_leaves_no_azurite_behind(tmp_path):
    """Killed outright (SIGKILL; TerminateProcess on Windows), the daemon cannot stop Azurite, and
    nothing else would: Azurite follows the pipe on its stdin that only the daemon held."""
    import os
    import signal

    from seedctl.sandbox import lifecycle

    directory = tmp_path / "sb"
    lifecycle.up(directory, timeout=30)
    status = lifecycle.status(directory)
    try:
        os.kill(status["pid"], getattr(signal, "SIGKILL", signal.SIGTERM))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and pid_alive(status["azurite_pid"]):
            lifecycle._reap(status["pid"])
            time.sleep(0.1)
        assert not pid_alive(status["azurite_pid"]), "Azurite outlived its daemon"
        assert "Azurite Blob service successfully closed" in (directory / "azurite.log").read_text()
    finally:
        lifecycle.down(directory)
