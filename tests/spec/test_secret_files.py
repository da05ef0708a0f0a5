"""Secret references as hostile input: FIFOs, devices, huge, binary, empty and shared key files.

Each case asserts the clear error (or warning) and that the read changed nothing on disk. The
FIFO and /dev/zero cases run the real CLI in a subprocess with a timeout, so a regression shows as
a failed test rather than a hung suite.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seedctl.cli import main
from seedctl.env import Env
from seedctl.errors import SecretError, SpecError
from seedctl.spec import validate_spec
from seedctl.spec.model import SecretRef
from seedctl.spec.secretfile import MAX_SECRET_BYTES, read_secret_file

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file kinds and modes")
pytestmark = pytest.mark.reliability

SPEC = """\
version: 1
name: t
azure: {{cloud: sandbox, subscription_id: 00000000-0000-0000-0000-000000000000, resource_group: rg, location: westus}}
storage_account: {{name: seedstore}}
container: {{name: seed}}
staging: {{path: ./staging}}
drives:
  - serial: D1
    mount_point: ./d1
    bitlocker: {{key: {{file: {key}}}}}
"""


def listing(folder: Path) -> dict[str, str]:
    """Every entry under `folder` with its kind and, for files, its content hash."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() + f":{path.stat().st_mode:o}"
        else:
            out[rel] = f"other:{path.stat().st_mode:o}"
    return out


def write_spec(folder: Path, key: str) -> Path:
    spec = folder / "seed.yaml"
    spec.write_text(SPEC.format(key=key))
    return spec


def private(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    path.chmod(0o600)
    return path


def test_regular_private_file_reads_without_warning(tmp_path: Path) -> None:
    key = private(tmp_path / "k", "\ufeff111111-222222\r\n")  # Notepad BOM and CRLF are not the key
    assert read_secret_file(key, "file:k") == ("111111-222222", []) if os.name != "nt" else True


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b" \n\t\n", "is empty"),
    (b"\xff\xfe1\x002\x00", "not UTF-8 text"),
    (b"12\x0034", "NUL character"),
    (b"1" * (MAX_SECRET_BYTES + 1), "larger than 4,096 bytes"),
])
def test_bad_contents_are_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    key = private(tmp_path / "k", content)
    before = listing(tmp_path)
    with pytest.raises(SecretError, match=message) as info:
        read_secret_file(key, "file:k")
    assert "file:k" in str(info.value)
    assert listing(tmp_path) == before


def test_file_at_the_cap_is_accepted(tmp_path: Path) -> None:
    key = private(tmp_path / "k", "7" * MAX_SECRET_BYTES)
    assert len(read_secret_file(key, "file:k")[0]) == MAX_SECRET_BYTES


def test_nul_in_path_is_a_clear_error(tmp_path: Path) -> None:
    ref = SecretRef(file="keys/d1\x00.key", base_dir=str(tmp_path))
    with pytest.raises(SecretError, match="NUL character in its path"):
        ref.resolve()
    with pytest.raises(SecretError, match="NUL character in its path"):
        read_secret_file(Path(str(tmp_path) + "/a\x00b"), "file:a")


def test_nul_in_path_through_validate(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, '"keys/d1\\0.key"')  # YAML double-quoted \0 is a NUL
    result = validate_spec(spec)
    assert any("NUL character" in w for w in result.warnings), result.warnings
    with pytest.raises(SpecError, match="NUL character"):
        validate_spec(spec, check_secrets=True)


def test_folder_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="is a folder, not a regular file"):
        read_secret_file(tmp_path, "file:.")
    with pytest.raises(SecretError, match="cannot be read"):
        read_secret_file(tmp_path / "absent", "file:absent")


@posix_only
def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(SecretError, match="FIFO"):
        read_secret_file(fifo, "file:fifo")
    # a symlink to the FIFO is the same thing
    (tmp_path / "link").symlink_to(fifo)
    with pytest.raises(SecretError, match="FIFO"):
        read_secret_file(tmp_path / "link", "file:link")


@posix_only
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"{device} absent")
    with pytest.raises(SecretError, match="character device, not a regular file"):
        read_secret_file(Path(device), f"file:{device}")


def _cli(args: list[str], cwd: Path, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(environ) if environ else {k: v for k, v in os.environ.items() if not k.startswith("SEEDCTL_")}
    return subprocess.run([sys.executable, "-m", "seedctl.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@posix_only
@pytest.mark.parametrize("key", ["./fifo", "/dev/zero"])
@pytest.mark.parametrize("command", [["validate"], ["validate", "--check-secrets"]])
def test_cli_neither_hangs_nor_grows_on_a_fifo_or_dev_zero(tmp_path: Path, key: str, command: list[str]) -> None:
    """What CI runs: the process ends (the timeout would fail the test) and says what is wrong."""
    _cli_case(tmp_path, key, command, None)


@posix_only
@pytest.mark.parametrize("key", ["./fifo", "/dev/zero"])
def test_plan_local_state_skip_neither_hangs_nor_grows(sandbox, tmp_path: Path, key: str) -> None:
    _cli_case(tmp_path, key, ["plan", "--local-state", "skip", "--no-color"], sandbox.environ)


def _cli_case(tmp_path: Path, key: str, command: list[str], environ: dict[str, str] | None) -> None:
    os.mkfifo(tmp_path / "fifo")
    write_spec(tmp_path, key)
    before = listing(tmp_path)
    result = _cli([*command, "-f", "seed.yaml"], tmp_path, environ)
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    if command[0] == "plan":
        # plan finishes (the key is read only at apply); it does not print spec warnings today
        assert "seedctl plan for spec" in result.stdout, text
    else:
        assert "not a regular file" in text, text
    if command == ["validate"]:
        assert result.returncode == 0  # a warning: the key is needed at apply, not to validate
    elif "--check-secrets" in command:
        assert result.returncode == 1
    assert {k: v for k, v in listing(tmp_path).items() if not k.startswith(".seedctl")} == before


@posix_only
def test_readable_by_others_is_a_warning_with_the_chmod(tmp_path: Path) -> None:
    key = tmp_path / "my keys" / "d1.key"
    key.parent.mkdir()
    key.write_text("111111-222222\n")
    key.chmod(0o644)
    value, warnings = read_secret_file(key, "file:my keys/d1.key")
    assert value == "111111-222222"
    assert len(warnings) == 1
    assert "its group and other users" in warnings[0] and "0644" in warnings[0]
    assert f"chmod 600 '{key}'" in warnings[0]
    assert "111111" not in warnings[0]
    key.chmod(0o640)
    assert "its group (mode 0640)" in read_secret_file(key, "file:k")[1][0]
    key.chmod(0o600)
    assert read_secret_file(key, "file:k")[1] == []


@posix_only
def test_shared_key_file_warns_in_validate_output(tmp_path: Path) -> None:
    (tmp_path / "d1.key").write_text("111111-222222\n")
    (tmp_path / "d1.key").chmod(0o604)
    write_spec(tmp_path, "d1.key")
    out, err = io.StringIO(), io.StringIO()
    code = main(["validate", "-f", "seed.yaml"], env=Env(stdout=out, stderr=err, environ={}, cwd=str(tmp_path)))
    assert code == 0
    assert "can be read by other users (mode 0604); run: chmod 600" in err.getvalue()
    assert "drives[0].bitlocker.key" in err.getvalue()
    assert "111111" not in out.getvalue() + err.getvalue()
