"""Files holding secrets are private from the first byte: the shared helper and every writer using it.

Covered here: the helper itself (umask-proof 0600, O_EXCL|O_NOFOLLOW, symlinks refused, 0700
folders, world-writable folders refused), `sandbox drive --key-out` (and the sandbox's kept key),
saved plans and manifest copies. The sandbox's SQLite files are covered with the sandbox's tests.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

import seedctl.private_files as private_files
from seedctl.errors import SandboxError, SeedctlError
from seedctl.private_files import create_private, is_private, private_dir, write_private

pytestmark = [pytest.mark.reliability,
              pytest.mark.skipif(os.name == "nt", reason="POSIX modes (Windows: ACLs, documented skip)")]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def snapshot(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() + f":{mode(p):o}"
        else:
            out[rel] = f"dir:{mode(p):o}"
    return out


def assert_private_file(path: Path) -> None:
    assert mode(path) == 0o600, f"{path} is {mode(path):04o}"
    folder = os.stat(path.parent).st_mode
    assert not folder & stat.S_IWOTH, f"{path.parent} is world-writable"
    assert stat.S_ISREG(os.lstat(path).st_mode)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077, 0o277])
def test_written_0600_whatever_the_umask(tmp_path: Path, umask, mask: int) -> None:
    umask(mask)
    target = write_private(tmp_path / "new" / "deeper" / "k.key", b"secret\n")
    assert target.read_bytes() == b"secret\n"
    assert mode(target) == 0o600
    assert mode(tmp_path / "new") == 0o700 and mode(tmp_path / "new" / "deeper") == 0o700


def test_private_from_the_first_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    real_write = os.write

    def checking_write(fd: int, data) -> int:
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(private_files.os, "write", checking_write)
    os.umask(0)
    try:
        write_private(tmp_path / "k", b"x" * 10)
    finally:
        os.umask(0o022)
    assert seen and set(seen) == {0o600}


def test_an_existing_open_file_is_replaced_private(tmp_path: Path) -> None:
    target = tmp_path / "k"
    target.write_text("old")
    target.chmod(0o644)
    write_private(target, b"new")
    assert target.read_bytes() == b"new" and mode(target) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["k"]  # no temp file left


@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_is_refused_not_followed(tmp_path: Path, dangling: bool) -> None:
    victim = tmp_path / "victim"
    if not dangling:
        victim.write_text("precious")
    (tmp_path / "k").symlink_to(victim)
    before = snapshot(tmp_path)
    with pytest.raises(SeedctlError, match="symbolic link"):
        write_private(tmp_path / "k", b"secret")
    assert snapshot(tmp_path) == before
    assert not dangling or not victim.exists()


def test_a_folder_at_the_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()
    with pytest.raises(SeedctlError, match="not a regular file"):
        write_private(tmp_path / "k", b"secret")


def test_world_writable_folder_refused_unless_sticky(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(SeedctlError, match="any user may write this folder"):
        write_private(shared / "k", b"secret")
    assert os.listdir(shared) == []
    shared.chmod(0o1777)  # like /tmp: others cannot rename or remove our file
    assert mode(write_private(shared / "k", b"secret")) == 0o600


def test_create_private_wants_a_fresh_file(tmp_path: Path) -> None:
    fd = create_private(tmp_path / "fresh")
    os.close(fd)
    assert mode(tmp_path / "fresh") == 0o600
    with pytest.raises(SeedctlError, match="already exists"):
        create_private(tmp_path / "fresh")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(SeedctlError):
        create_private(tmp_path / "link")
    assert not (tmp_path / "nowhere").exists()


def test_private_dir_and_is_private(tmp_path: Path) -> None:
    folder = private_dir(tmp_path / "a" / "b")
    assert mode(folder) == 0o700
    (folder / "f").write_text("x")
    (folder / "f").chmod(0o640)
    assert not is_private(folder / "f")
    (folder / "f").chmod(0o600)
    assert is_private(folder / "f")


# --- the writers -------------------------------------------------------------------------------

def test_sandbox_key_files_are_private_and_key_out_refuses_a_symlink(tmp_path: Path) -> None:
    from seedctl.sandbox.simdrive import make_drive

    class Control:  # make_drive only registers the drive; the registration is not under test here
        registered: list[str] = []

        def register_drive(self, serial: str, path: str, key: str) -> None:
            self.registered.append(serial)

    control = Control()
    sandbox_dir = tmp_path / "sandbox"
    key_out = tmp_path / "keys" / "D1.key"
    make_drive(control, sandbox_dir, "D1", tmp_path / "d1", 10 * 1024 * 1024, key_out)
    assert_private_file(key_out)
    assert_private_file(sandbox_dir / "drives" / "D1.key")
    assert key_out.read_text() == (sandbox_dir / "drives" / "D1.key").read_text()

    victim = tmp_path / "victim.txt"
    victim.write_text("not a key")
    (tmp_path / "keys" / "D2.key").symlink_to(victim)
    before = snapshot(tmp_path)
    with pytest.raises(SandboxError, match="symbolic link"):
        make_drive(control, sandbox_dir, "D2", tmp_path / "d2", 10 * 1024 * 1024, tmp_path / "keys" / "D2.key")
    assert snapshot(tmp_path) == before  # refused before the drive was made or registered
    assert control.registered == ["D1"]


def test_sandbox_drive_key_out_cli_refuses_a_symlink(sandbox, tmp_path: Path) -> None:
    from seedctl.cli import main
    from seedctl.env import Env

    victim = tmp_path / "victim.txt"
    victim.write_text("not a key")
    (tmp_path / "D9.key").symlink_to(victim)
    before = snapshot(tmp_path)
    err = io.StringIO()
    code = main(["sandbox", "drive", "SER-LINK", str(tmp_path / "d9"), "--capacity", "10MB",
                 "--key-out", str(tmp_path / "D9.key")], Env(stdout=io.StringIO(), stderr=err, environ=sandbox.environ))
    assert code == 1 and "symbolic link" in err.getvalue() and "Traceback" not in err.getvalue()
    assert snapshot(tmp_path) == before


def test_saved_plans_are_private(tmp_path: Path, umask) -> None:
    from seedctl.plan import Plan
    from seedctl.savedplan import save_plan

    umask(0)
    plan = Plan(spec_name="t", spec_path="t.yaml", spec_fingerprint="x", cloud="sandbox", local_state="observed",
                changes=[])
    save_plan(plan, "plans/plan.json", cwd=str(tmp_path))
    assert_private_file(tmp_path / "plans" / "plan.json")


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_manifest_copies_are_private(tmp_path: Path, umask, mask: int) -> None:
    from seedctl.lifecycle.manifests import copy_path, save_copy

    umask(mask)
    mount = tmp_path / "drive"
    mount.mkdir()
    (mount / "DriveManifest.xml").write_bytes(b"<DriveManifest/>")
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir(mode=0o755)
    save_copy(spec_dir, "D1", mount)
    assert_private_file(copy_path(spec_dir, "D1"))


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_verification_record_is_private(tmp_path: Path, umask, mask: int) -> None:
    from types import SimpleNamespace

    from seedctl.records import (
        VerifiedRecord,
        local_record_path,
        read_destroyed,
        record_destroyed_locally,
        record_verified_locally,
    )

    umask(mask)
    spec = SimpleNamespace(base_dir=tmp_path, import_job=SimpleNamespace(name="job-1"))
    record_verified_locally(spec, VerifiedRecord("2026-12-01T00:00:00Z", "ab" * 16, 3))
    assert_private_file(local_record_path(spec))
    record_destroyed_locally(spec, "2026-12-02T00:00:00Z")
    assert_private_file(local_record_path(spec))
    assert read_destroyed(spec) == "2026-12-02T00:00:00Z"
