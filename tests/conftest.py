"""Shared fixtures. The sandbox fixtures start one isolated local Azure per test session (per
pytest-xdist worker), in a temporary folder, and stop it at the end.

- `sandbox` (session): a running sandbox; `.connection`, `.control`, `.dir`, `.environ` (the
  environment for subprocesses, with SEEDCTL_SANDBOX_DIR), `.reset()`.
- `fresh_sandbox` (function): the same sandbox, reset to empty (no resources, drives or faults).
- `subscription_id` (function): a new subscription id; subscriptions exist implicitly, so a test
  that uses its own id is isolated without a reset.
Tests that use the sandbox are marked `sandbox` automatically.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Fast settings for tests: provider registration and long-running operations settle quickly.
TEST_REGISTRATION_DELAY = 0.2
TEST_LRO_SECONDS = 0.05


@dataclass
class SandboxHandle:
    connection: object  # seedctl.sandbox.connection.SandboxConnection
    control: object  # seedctl.sandbox.control.SandboxControl
    dir: Path
    environ: dict[str, str] = field(default_factory=dict, repr=False)

    def reset(self) -> None:
        """Empty the sandbox and restore the test settings."""
        self.control.reset()
        self.configure()

    def configure(self) -> None:
        self.control.set_registration_delay(TEST_REGISTRATION_DELAY)
        self.control.set_lro_delay(TEST_LRO_SECONDS)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    from seedctl.errors import SandboxError
    from seedctl.sandbox import lifecycle
    from seedctl.sandbox.control import SandboxControl

    directory = tmp_path_factory.mktemp("sandbox")
    try:
        conn, _ = lifecycle.up(directory, parent_pid=os.getpid(), timeout=30)
    except SandboxError as exc:
        if "not installed" in str(exc) or "not on PATH" in str(exc):
            pytest.skip(f"sandbox unavailable: {exc}")
        raise
    environ = dict(os.environ, SEEDCTL_SANDBOX_DIR=str(directory))
    handle = SandboxHandle(conn, SandboxControl(conn), directory, environ)
    handle.configure()
    try:
        yield handle
    finally:
        lifecycle.down(directory)


@pytest.fixture
def fresh_sandbox(sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    sandbox.reset()
    yield sandbox
    sandbox.control.clear_faults()


@pytest.fixture
def subscription_id() -> str:
    return str(uuid.uuid4())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "sandbox" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.sandbox)
