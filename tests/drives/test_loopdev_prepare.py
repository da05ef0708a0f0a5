"""The real-drive path on a loop-mounted ext4 image: mountinfo, sysfs serial, statvfs, real ENOSPC."""

import subprocess
from pathlib import Path

import pytest

import seedctl.drives.writing.prepare as prepare_mod
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
        with pytest.raises(DriveError, match=r"drive LOOPFULL at .* is full while writing f\d.bin: No space left on device \(ENOSPC\)"):
            prepare_drive(d.mount, "LOOPFULL", files, staging, owner_id="o", allow_simulated=True, progress=fill_up)
        state = read_drive_state(d.mount)
        done = sorted(state.completed)
        assert done and done == [f"f{i}.bin" for i in range(len(done))] and len(done) < 8  # a journaled prefix
        assert not list((d.mount / ".seedctl/tmp").iterdir())
        filler.unlink()  # space freed
        result = prepare_drive(d.mount, "LOOPFULL", files, staging, owner_id="o", allow_simulated=True)
        assert result.files == 8 and result.bytes_read == (8 - len(state.completed)) * (4 << 20)
        assert verify_drive(d.mount).ok


def _many_files(root: Path, n: int = 24, size: int = 2 << 20) -> Path:
    return write_tree(root, {f"d{i % 3}/f{i:02d}.bin": pseudo(size, i) for i in range(n)})


def test_lazy_unmount_mid_write_writes_nothing_to_the_folder_underneath(tmp_path: Path, monkeypatch) -> None:
    # Issue 12-6: after `umount -l` the mount point leads to the folder underneath (here on the
    # filesystem holding the tests; in the field often the system disk). Nothing may land there.
    staging = _many_files(tmp_path / "s")
    files = scan_staging(staging, container="backup").files
    monkeypatch.setattr(prepare_mod, "PROGRESS_INTERVAL", 0.0)
    with loop_drive(tmp_path, size_mb=96, serial="LOOPLAZY") as d:
        fired = []

        def unmount(event) -> None:  # after the first group (32 MiB) is committed
            if event.phase == "copying" and event.current_file == files[18].rel_path and not fired:
                fired.append(subprocess.run(["umount", "-l", str(d.mount)], capture_output=True).returncode)

        with pytest.raises(DriveError, match=r"drive LOOPLAZY at .*: the mount point now leads to another "
                                             r"filesystem .* nothing more was written"):
            prepare_drive(d.mount, "LOOPLAZY", files, staging, owner_id="o", allow_simulated=True, progress=unmount)
        assert fired == [0]
        assert list(d.mount.iterdir()) == []  # not even seed/ or .seedctl/
        subprocess.run(["mount", d.device, str(d.mount)], check=True, capture_output=True)  # plugged back in
        state = read_drive_state(d.mount)
        assert sorted(state.completed) == sorted(f.rel_path for f in files[:16])  # group 1 is journaled
        result = prepare_drive(d.mount, "LOOPLAZY", files, staging, owner_id="o", allow_simulated=True, verify=True)
        assert result.files == 24 and result.files_copied == 8 and result.verify_report.ok


def test_another_disk_mounted_over_the_drive_mid_write_gets_nothing(tmp_path: Path, monkeypatch) -> None:
    # Issue 12-6: a swapped disk at the same mount point (here: a second image mounted over it).
    staging = _many_files(tmp_path / "s")
    files = scan_staging(staging, container="backup").files
    monkeypatch.setattr(prepare_mod, "PROGRESS_INTERVAL", 0.0)
    with loop_drive(tmp_path / "a", size_mb=96, serial="LOOPSWAPA") as d, \
            loop_drive(tmp_path / "b", size_mb=32, serial="LOOPSWAPB") as other:
        fired = []

        def swap(event) -> None:
            if event.phase == "copying" and event.current_file == files[18].rel_path and not fired:
                fired.append(subprocess.run(["mount", other.device, str(d.mount)], capture_output=True).returncode)

        try:
            with pytest.raises(DriveError, match=r"LOOPSWAPA .* unmounted or replaced while seedctl was writing"):
                prepare_drive(d.mount, "LOOPSWAPA", files, staging, owner_id="o", allow_simulated=True,
                              progress=swap)
            assert fired == [0]
            assert sorted(p.name for p in d.mount.iterdir()) == ["lost+found"]  # the other disk: untouched
        finally:
            subprocess.run(["umount", str(d.mount)], capture_output=True)  # the one on top
        assert sorted(read_drive_state(d.mount).completed) == sorted(f.rel_path for f in files[:16])


def test_filesystem_remounted_read_only_mid_write_names_the_drive_and_erofs(tmp_path: Path, monkeypatch) -> None:
    # Issue 12-7 with a real EROFS: ext4 mounted errors=remount-ro turns read-only after an error
    # (triggered here through the kernel's own test hook), as a failing disk would make it.
    staging = _many_files(tmp_path / "s", n=12)
    files = scan_staging(staging, container="backup").files
    monkeypatch.setattr(prepare_mod, "PROGRESS_INTERVAL", 0.0)
    with loop_drive(tmp_path, size_mb=64, serial="LOOPERO", options="errors=remount-ro") as d:
        hook = Path("/sys/fs/ext4", Path(d.device).name, "trigger_fs_error")
        if not hook.exists():
            pytest.skip("this kernel has no ext4 trigger_fs_error")

        def fail(event) -> None:
            if event.phase == "copying" and event.current_file == files[5].rel_path:
                hook.write_text("seedctl test\n")

        with pytest.raises(DriveError) as info:
            prepare_drive(d.mount, "LOOPERO", files, staging, owner_id="o", allow_simulated=True, progress=fail)
        text = str(info.value)
        assert text.startswith(f"drive LOOPERO at {d.mount}: write failed: Read-only file system (EROFS)")
        assert "staging file" not in text and "re-run to resume" in text
