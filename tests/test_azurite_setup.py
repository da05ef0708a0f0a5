"""`seedctl sandbox up` installed from a wheel: Azurite installed on first use with consent, or a
one-line error when npm is missing. npm is a stand-in script here (no registry access in tests);
it is called exactly as the real one would be and lays out the files Azurite's package has."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from seedctl.commands.azurite_setup import AZURITE_VERSION, _install, user_azurite_root
from seedctl.env import Env
from seedctl.errors import SandboxError

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the stand-in npm is a shell script")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _env(tmp_path: Path, stdin: io.StringIO | None = None) -> Env:
    return Env(stdout=io.StringIO(), stderr=io.StringIO(), stdin=stdin or io.StringIO(),
               environ={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "PATH": ""})


def _fake_npm(tmp_path: Path) -> Path:
    npm = tmp_path / "npm"
    npm.write_text('#!/bin/sh\n# npm install --prefix DIR ... azurite@VERSION\necho "$@" > "$3/npm-args"\n'
                   'mkdir -p "$3/node_modules/azurite/dist/src/blob" && touch "$3/node_modules/azurite/dist/src/blob/main.js"\n')
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    return npm


def test_without_npm_one_line_says_to_install_node(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with pytest.raises(SandboxError) as info:
        _install(env, user_azurite_root(env), assume_yes=True, npm=None)
    message = str(info.value)
    assert "needs Node.js" in message and "\n" not in message


def test_without_a_terminal_it_asks_for_the_flag(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with pytest.raises(SandboxError, match="--install-azurite"):
        _install(env, user_azurite_root(env), assume_yes=False, npm=str(_fake_npm(tmp_path)))


def test_on_a_terminal_it_asks_and_no_means_no(tmp_path: Path) -> None:
    env = _env(tmp_path, Terminal("n\n"))
    with pytest.raises(SandboxError, match="not installed"):
        _install(env, user_azurite_root(env), assume_yes=False, npm=str(_fake_npm(tmp_path)))
    assert "Install it now with npm" in env.stdout.getvalue()
    assert not user_azurite_root(env).exists()


def test_yes_installs_the_pinned_version_into_the_user_data_folder(tmp_path: Path) -> None:
    env = _env(tmp_path, Terminal("y\n"))
    root = user_azurite_root(env)
    assert root.is_relative_to(tmp_path / "data" / "seedctl")
    _install(env, root, assume_yes=False, npm=str(_fake_npm(tmp_path)))
    assert (root / "dist" / "src" / "blob" / "main.js").exists()
    args = (root.parent.parent / "npm-args").read_text()
    assert f"azurite@{AZURITE_VERSION}" in args and "--prefix" in args
    assert "Installing Azurite" in env.stderr.getvalue()


def test_a_failing_npm_is_one_line(tmp_path: Path) -> None:
    npm = tmp_path / "npm"
    npm.write_text("#!/bin/sh\necho 'npm ERR! network unreachable' >&2\nexit 1\n")
    npm.chmod(0o755)
    env = _env(tmp_path)
    with pytest.raises(SandboxError) as info:
        _install(env, user_azurite_root(env), assume_yes=True, npm=str(npm))
    assert str(info.value) == "installing Azurite with npm failed (exit 1): npm ERR! network unreachable"


def test_the_reason_is_not_the_debug_log_pointer() -> None:
    from seedctl.commands.azurite_setup import _npm_reason

    output = ("npm error code SELF_SIGNED_CERT_IN_CHAIN\nnpm error errno SELF_SIGNED_CERT_IN_CHAIN\n"
              "npm error request to https://registry.npmjs.org/azurite failed, reason: self-signed certificate\n"
              "npm error A complete log of this run can be found in: /root/.npm/_logs/x-debug-0.log\n")
    assert _npm_reason(output) == ("npm error request to https://registry.npmjs.org/azurite failed, reason: "
                                   "self-signed certificate")
