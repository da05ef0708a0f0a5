"""The drive-level write lock (issue 26): one seedctl process writes a drive at a time, on every
platform. `DriveAnchor.lock` holds an OS lock on `.seedctl/lock` on the drive (flock here; the msvcrt
byte-range lock on Windows, tested in tests/engine/test_lock.py); Windows had no journal flock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seedctl.drives import create_simulated_drive, prepare_drive
from seedctl.drives.writing.anchor import DriveAnchor
from seedctl.errors import DriveError

HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from seedctl.drives.writing.anchor import DriveAnchor
    with DriveAnchor(Path(sys.argv[1]), "SIM-0001") as anchor:
        anchor.lock()
        print("held", flush=True)
        sys.stdin.readline()
""")


def test_a_second_writer_is_refused_until_the_first_is_done(tmp_path: Path) -> None:
    mount = tmp_path / "d1"
    create_simulated_drive(mount, "SIM-0001", 1 << 30)
    with DriveAnchor(mount, "SIM-0001") as first:
        first.lock()
        first.lock()  # taken once: a second call is a no-op
        with DriveAnchor(mount, "SIM-0001") as second, \
                pytest.raises(DriveError, match="another seedctl process is writing this drive"):
            second.lock()
    with DriveAnchor(mount, "SIM-0001") as again:  # released on close
        again.lock()


def test_prepare_is_refused_while_another_process_writes_the_drive(tmp_path: Path, staging: Path, scan,  # noqa: ANN001
                                                                    sim_drive: Path) -> None:
    mount = sim_drive
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(mount)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(DriveError, match="another seedctl process is writing this drive"):
            prepare_drive(mount, "SIM-0001", scan.files, staging, owner_id="o", allow_simulated=True)
    finally:
        child.communicate("\n", timeout=60)
    prepared = prepare_drive(mount, "SIM-0001", scan.files, staging, owner_id="o", allow_simulated=True)
    assert prepared.files == len(scan.files)


def test_the_lock_is_not_taken_through_a_planted_link(tmp_path: Path) -> None:
    mount = tmp_path / "d1"
    create_simulated_drive(mount, "SIM-0001", 1 << 30)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    try:
        (mount / ".seedctl").symlink_to(elsewhere, target_is_directory=True)
    except OSError as exc:
        pytest.skip(f"cannot create a symbolic link here: {exc}")
    with DriveAnchor(mount, "SIM-0001") as anchor, pytest.raises(DriveError, match="not a folder"):
        anchor.lock()
    assert list(elsewhere.iterdir()) == []
