"""kill -9 in the middle of a file, in a real child process, then resume."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from seedctl.drives import create_simulated_drive, prepare_drive, read_drive_state, scan_staging, verify_drive
from seedctl.drives.formats.journal import read_journal

from .conftest import kill_at_first_event, loop_drive, pseudo, write_tree
from platforms import SIGNALS

pytestmark = SIGNALS

CHILD = r"""
import json, sys, time
from pathlib import Path
import seedctl.drives.writing.prepare as P
from seedctl.drives import prepare_drive, scan_staging
P.PROGRESS_INTERVAL = 0.0
staging, drive = Path(sys.argv[1]), Path(sys.argv[2])
files = scan_staging(staging, container="backup").files
def progress(e):
    if e.phase == "copying" and e.current_file == "big.bin" and e.bytes_done >= e.bytes_total // 2:
        print(json.dumps({"done": e.bytes_done}), flush=True)
        time.sleep(30)  # the parent kills us here, mid-file
prepare_drive(drive, "SIM-0001", files, staging, owner_id="crash", allow_simulated=True, progress=progress,
              checkpoint_bytes=8 << 20)
"""


def test_kill_9_mid_file_then_resume_rereads_only_the_file_in_flight(tmp_path: Path) -> None:
    small = {f"a/s{i:02d}.bin": pseudo(300_000, i) for i in range(10)}  # one commit group
    # big.bin is larger than a group (32 MiB), so the small files are committed before it starts
    staging = write_tree(tmp_path / "s", {**small, "big.bin": pseudo(40 << 20, 99), "z/after.bin": b"z" * 1000})
    drive = tmp_path / "drive"
    create_simulated_drive(drive, "SIM-0001", 1 << 30)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(staging), str(drive)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, "the child never reached the middle of big.bin"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL and json.loads(line)["done"] > 3 << 20
    state = read_drive_state(drive)
    assert state is not None and set(state.completed) == set(small)  # the small files were committed first
    assert state.in_flight == ("big.bin",) and len(list((drive / ".seedctl/partial").iterdir())) == 1
    checkpoint = read_journal(drive).partials["big.bin"].done
    killed_at = json.loads(line)["done"] - sum(len(d) for d in small.values())
    assert 0 < checkpoint <= killed_at and killed_at - checkpoint <= 8 << 20  # one interval at most
    files = scan_staging(staging, container="backup").files
    result = prepare_drive(drive, "SIM-0001", files, staging, owner_id="crash", allow_simulated=True)
    # ... and is resumed from its last checkpoint: the resumed run read the rest of the file in
    # flight and the one after it, nothing before the checkpoint (issue 22)
    assert result.bytes_read == (40 << 20) - checkpoint + 1000 and result.files_copied == 2 and result.files == 12
    assert not list((drive / ".seedctl/tmp").iterdir()) and not list((drive / ".seedctl/partial").iterdir())
    assert verify_drive(drive).ok


# -- well-filled drives (issue 12 acceptance): >= 85 % full, the largest file >= 40 % of the drive,
# kills inside the large files (one near the end), resumed after each; the drive converges.

CHILD_AT = r"""
import json, sys, time
from pathlib import Path
import seedctl.drives.writing.prepare as P
from seedctl.drives import prepare_drive, scan_staging
P.PROGRESS_INTERVAL = 0.0
staging, drive, serial, target, frac = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
files = scan_staging(staging, container="backup").files
size = next(f.size for f in files if f.rel_path == target)
start = None
def progress(e):
    global start
    if e.phase != "copying" or e.current_file != target:
        return
    if start is None:
        start = e.bytes_done - min(size, 4 << 20)  # the first event comes after the file's first buffer
    if e.bytes_done - start >= frac * size:
        print(json.dumps({"done": e.bytes_done - start}), flush=True)
        time.sleep(60)  # the parent kills us here, inside the file
prepare_drive(drive, serial, files, staging, owner_id="crash", allow_simulated=True, progress=progress)
print(json.dumps({"finished": True}), flush=True)
"""


def _kill_inside(staging: Path, drive: Path, serial: str, target: str, frac: float) -> int:
    event = kill_at_first_event(CHILD_AT, [str(staging), str(drive), serial, target, str(frac)], "done",
                                f"{target} reached {frac:.0%}")
    return event["done"]


def _well_filled_set(root: Path, total: int) -> dict[str, int]:
    """Sizes for a set filling 87 % of `total`: one file of 42 %, one of 25 %, the rest in small files."""
    sizes = {"big1.vhd": int(total * 0.42) // 4096 * 4096 + 1234, "big2.vhd": int(total * 0.25)}
    rest, i = int(total * 0.20), 0
    while rest > 0:
        size = min(rest, 200_000 + (i * 7919) % 900_000)
        sizes[f"small/s{i:03d}.bin"] = size
        rest -= size
        i += 1
    write_tree(root, {rel: pseudo(size, n) for n, (rel, size) in enumerate(sizes.items())})
    return sizes


def _crash_and_converge(staging: Path, drive: Path, serial: str, capacity: int) -> None:
    files = scan_staging(staging, container="backup").files
    total = sum(f.size for f in files)
    assert total >= 0.85 * capacity and max(f.size for f in files) >= 0.40 * capacity
    for target, frac in (("big1.vhd", 0.6), ("big1.vhd", 0.97), ("big2.vhd", 0.5), ("big2.vhd", 0.99)):
        done = _kill_inside(staging, drive, serial, target, frac)
        assert done >= frac * 0.9 * next(f.size for f in files if f.rel_path == target)
        state = read_drive_state(drive)
        assert target not in (state.completed if state else {})  # killed inside it, never journaled
    result = prepare_drive(drive, serial, files, staging, owner_id="crash", allow_simulated=True, verify=True)
    assert result.files == len(files) and result.bytes == total and result.verify_report.ok
    assert not list((drive / ".seedctl/tmp").iterdir())
    again = prepare_drive(drive, serial, files, staging, owner_id="crash", allow_simulated=True)
    assert again == result and again.bytes_read == 0


def test_well_filled_simulated_drive_killed_inside_large_files_converges(tmp_path: Path) -> None:
    capacity = 96 << 20
    staging = tmp_path / "s"
    _well_filled_set(staging, capacity)
    drive = tmp_path / "drive"
    create_simulated_drive(drive, "SIM-FULL", capacity)
    _crash_and_converge(staging, drive, "SIM-FULL", capacity)


@pytest.mark.loopdev
def test_well_filled_ext4_drive_killed_inside_large_files_converges(tmp_path: Path) -> None:
    with loop_drive(tmp_path / "img", size_mb=128, serial="LOOPFULL1") as d:
        usage = shutil.disk_usage(d.mount)
        staging = tmp_path / "s"
        _well_filled_set(staging, usage.total)
        _crash_and_converge(staging, d.mount, "LOOPFULL1", usage.total)
        used = shutil.disk_usage(d.mount)
        assert used.used >= 0.85 * used.total  # really well filled, as the filesystem counts it
