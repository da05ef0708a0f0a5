"""The real-drive path on a loop-mounted ext4 image: mountinfo, sysfs serial, statvfs, real ENOSPC."""

from pathlib import Path

import pytest

import seedctl.drives.prepare as prepare_mod
from seedctl.drives import prepare_drive, read_drive_state, scan_staging, verify_drive
from seedctl.errors import DriveError

from .conftest import loop_drive, pseudo, write_tree

pytestmark = pytest.mark.loopdev


def test_prepare_and_verify_on_a_loop_mounted_drive(tmp_path: Path, staging: Path) -> None:
    with loop_drive(tmp_path, serial="LOOPPREP1") as d:
        files = scan_staging(staging, container="backup").files
        result = prepare_drive(d.mount, "LOOPPREP1", files, staging, owner_id="o", allow_simulated=True, verify=True)
        assert result.files == 4 and result.verify_report.ok
        again = prepare_drive(d.mount, "LOOPPREP1", files, staging, owner_id="o", allow_simulated=True)
        assert again == result and again.bytes_read == 0
        with pytest.raises(DriveError, match="loop device"):
            prepare_drive(d.mount, "LOOPPREP1", files, staging, owner_id="o", allow_simulated=False)


def test_real_disk_full_mid_copy_then_resume(tmp_path: Path, monkeypatch) -> None:
    staging = write_tree(tmp_path / "s", {f"f{i}.bin": pseudo(4 << 20, i) for i in range(8)})
    files = scan_staging(staging, container="backup").files
    with loop_drive(tmp_path, size_mb=48, serial="LOOPFULL") as d:
        filler = d.mount / "lost+found" / "filler"  # lost+found does not make the drive foreign
        monkeypatch.setattr(prepare_mod, "PROGRESS_INTERVAL", 0.0)

        def fill_up(event) -> None:  # something else eats the disk once copying has started
            if event.phase == "copying" and event.current_file == "f2.bin" and not filler.exists():
                with open(filler, "wb") as fh:
                    try:
                        while True:
                            fh.write(b"\0" * (1 << 20))
                            fh.flush()
                    except OSError:
                        pass
        with pytest.raises(DriveError, match=r"LOOPFULL at .* is full while writing f\d.bin"):
            prepare_drive(d.mount, "LOOPFULL", files, staging, owner_id="o", allow_simulated=True, progress=fill_up)
        state = read_drive_state(d.mount)
        done = sorted(state.completed)
        assert done and done == [f"f{i}.bin" for i in range(len(done))] and len(done) < 8  # a journaled prefix
        assert not list((d.mount / ".seedctl/tmp").iterdir())
        filler.unlink()  # space freed
        result = prepare_drive(d.mount, "LOOPFULL", files, staging, owner_id="o", allow_simulated=True)
        assert result.files == 8 and result.bytes_read == (8 - len(state.completed)) * (4 << 20)
        assert verify_drive(d.mount).ok
