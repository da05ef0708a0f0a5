"""kill -9 in the middle of a file, in a real child process, then resume."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from seedctl.drives import create_simulated_drive, prepare_drive, read_drive_state, scan_staging, verify_drive

from .conftest import pseudo, write_tree

CHILD = r"""
import json, sys, time
from pathlib import Path
import seedctl.drives.prepare as P
from seedctl.drives import prepare_drive, scan_staging
P.PROGRESS_INTERVAL = 0.0
staging, drive = Path(sys.argv[1]), Path(sys.argv[2])
files = scan_staging(staging, container="backup").files
def progress(e):
    if e.phase == "copying" and e.current_file == "big.bin" and e.bytes_done >= e.bytes_total // 2:
        print(json.dumps({"done": e.bytes_done}), flush=True)
        time.sleep(30)  # the parent kills us here, mid-file
prepare_drive(drive, "SIM-0001", files, staging, owner_id="crash", allow_simulated=True, progress=progress)
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
    assert list((drive / ".seedctl/tmp").iterdir())  # the partial big file is still there ...
    files = scan_staging(staging, container="backup").files
    result = prepare_drive(drive, "SIM-0001", files, staging, owner_id="crash", allow_simulated=True)
    # ... and is redone: the resumed run read exactly the file in flight and the one after it
    assert result.bytes_read == (40 << 20) + 1000 and result.files_copied == 2 and result.files == 12
    assert not list((drive / ".seedctl/tmp").iterdir()) and verify_drive(drive).ok
