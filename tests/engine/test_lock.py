"""The apply lock: one holder at a time across processes (flock on POSIX, msvcrt on Windows), the
holder named to the waiter, and the msvcrt byte range that keeps the holder's details readable."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seedctl.errors import LockError
from seedctl.lock import MSVCRT_LOCK_OFFSET, ApplyLock, read_holder, try_lock_file, unlock_file

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from seedctl.lock import ApplyLock
    with ApplyLock(Path(sys.argv[1])):
        print("held", flush=True)
        sys.stdin.readline()
""")


def test_a_second_process_is_refused_and_told_who_holds_it(tmp_path: Path) -> None:
    """Real OS locks in two processes: flock here, msvcrt on the Windows CI runner."""
    path = tmp_path / ".seedctl" / "seed.yaml.lock"
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        assert read_holder(path)["pid"] == child.pid  # readable while locked (msvcrt: lock byte is elsewhere)
        with pytest.raises(LockError, match=f"pid {child.pid} on"):
            with ApplyLock(path):
                pass
    finally:
        child.communicate("\n", timeout=60)
    with ApplyLock(path):  # released when the holder ended
        assert read_holder(path)["pid"] == os.getpid()
    assert read_holder(path) == {}


class FakeMsvcrt:
    LK_NBLCK, LK_UNLCK = 2, 0

    def __init__(self, held: bool = False) -> None:
        self.held = held
        self.calls: list[tuple[int, int, int]] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        self.calls.append((mode, os.lseek(fd, 0, os.SEEK_CUR), nbytes))
        if mode == self.LK_NBLCK and self.held:
            raise OSError(36, "Resource deadlock avoided")


def test_msvcrt_locks_the_same_far_byte_whatever_the_file_position(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    path.write_text('{"pid": 1}')
    with open(path, "a+", encoding="utf-8") as fh:  # "a+": the position starts at the end
        fake = FakeMsvcrt()
        assert try_lock_file(fh, platform="win32", msvcrt_module=fake)
        assert fake.calls == [(FakeMsvcrt.LK_NBLCK, MSVCRT_LOCK_OFFSET, 1)] and fh.tell() == 0
        unlock_file(fh, platform="win32", msvcrt_module=fake)
        assert fake.calls[-1] == (FakeMsvcrt.LK_UNLCK, MSVCRT_LOCK_OFFSET, 1)
        assert not try_lock_file(fh, platform="win32", msvcrt_module=FakeMsvcrt(held=True))
    assert path.read_text() == '{"pid": 1}'  # locking wrote nothing


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes (Windows: the protected DACL, tests/windows)")
def test_the_folder_beside_the_spec_is_created_private(tmp_path: Path) -> None:
    """`.seedctl/` holds manifest copies and records too: the lock creates it private (issue 26)."""
    old = os.umask(0o022)
    try:
        with ApplyLock(tmp_path / ".seedctl" / "seed.yaml.lock"):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / ".seedctl").stat().st_mode & 0o777 == 0o700
