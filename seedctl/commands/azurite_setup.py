"""Azurite for `seedctl sandbox up` when seedctl was installed from a wheel (no project folder, so
no node_modules from `npm ci`): install it on first use into the per-user data folder, with
consent, or say in one line what is missing. The sandbox daemon finds it through
SEEDCTL_AZURITE_ROOT, which the child process inherits."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from seedctl.env import Env, user_dir
from seedctl.errors import SandboxError

AZURITE_VERSION = "3.35.0"  # = package.json (tests/test_cli_conventions.py checks)


def user_azurite_root(env: Env) -> Path:
    return user_dir("data", env.environ) / "azurite" / AZURITE_VERSION / "node_modules" / "azurite"


def _installed(root: Path) -> bool:
    return (root / "dist" / "src" / "blob" / "main.js").exists()


def ensure_azurite(env: Env, *, assume_yes: bool = False, npm: str | None = None) -> Path:
    """Where Azurite is; installs it (after asking) when it is nowhere yet."""
    from seedctl.sandbox.azurite import find_azurite_root

    try:
        return find_azurite_root()
    except SandboxError:
        pass
    root = user_azurite_root(env)
    if not _installed(root):
        _install(env, root, assume_yes=assume_yes, npm=npm)
    os.environ["SEEDCTL_AZURITE_ROOT"] = str(root)  # for the daemon this process starts
    return root


def _install(env: Env, root: Path, *, assume_yes: bool, npm: str | None) -> None:
    npm = npm or shutil.which("npm", path=env.environ.get("PATH"))
    if not npm:
        raise SandboxError("the sandbox needs Azurite (the Azure Storage emulator), which needs Node.js: install "
                           "Node.js 18 or later with npm (https://nodejs.org), then run `seedctl sandbox up` again")
    prefix = root.parent.parent
    if not assume_yes:
        if not env.stdin_isatty:
            raise SandboxError(f"the sandbox needs Azurite {AZURITE_VERSION}, which is not installed; run "
                               "`seedctl sandbox up --install-azurite` to install it with npm into "
                               f"{prefix}")
        env.stdout.write(f"The sandbox needs Azurite {AZURITE_VERSION} (the official Azure Storage emulator, "
                         f"about 60 MB).\nInstall it now with npm into {prefix}? [y/N] ")
        env.stdout.flush()
        if env.stdin.readline().strip().lower() not in ("y", "yes"):
            raise SandboxError("Azurite not installed; the sandbox cannot start without it")
    print(f"Installing Azurite {AZURITE_VERSION} with npm into {prefix} (first use only)...", file=env.stderr)
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                               "--loglevel=error", f"azurite@{AZURITE_VERSION}"],
                              capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxError(f"installing Azurite with npm failed: {exc}") from None
    if done.returncode != 0 or not _installed(root):
        raise SandboxError(f"installing Azurite with npm failed (exit {done.returncode}): "
                           f"{_npm_reason(done.stderr or done.stdout or '')}")


def _npm_reason(output: str) -> str:
    """The line of npm's output that says why (npm ends with a pointer to its debug log)."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    useful = [line for line in lines if "complete log of this run" not in line]
    reasons = [line for line in useful if " request to " in line or "ERR" in line.upper()[:12]]
    return (reasons or useful or ["no output"])[-1]
