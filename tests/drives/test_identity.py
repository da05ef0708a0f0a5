import subprocess
from pathlib import Path

import pytest

from seedctl.drives import check_safe_to_write, create_simulated_drive, inspect_drive
from seedctl.drives.disk.devices import LinuxProbe, normalise_serial
from seedctl.errors import DriveError

from .conftest import loop_drive
from platforms import LINUX_PROBE


def test_absent_drive_is_not_attached_never_empty(tmp_path: Path) -> None:
    obs = inspect_drive(tmp_path / "nothing", "WD-1", allow_simulated=False)
    assert not obs.attached and obs.content == "unknown" and "not attached" in obs.problems[0]


def test_plain_folder_is_not_a_mount_point(tmp_path: Path) -> None:
    obs = inspect_drive(tmp_path, "WD-1", allow_simulated=False)
    assert not obs.attached and obs.content == "unknown"
    with pytest.raises(DriveError, match="not a mount point"):
        check_safe_to_write(tmp_path, "WD-1", owner_id="s", needed_bytes=0)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_simulated_drive_observation(sim_drive: Path) -> None:
    obs = inspect_drive(sim_drive, "SIM-0001", allow_simulated=True)
    assert obs.attached and obs.is_simulated and obs.serial == "SIM-0001" and obs.capacity == 1 << 30
    assert obs.content == "empty" and obs.free_bytes == 1 << 30 and obs.serial_matches


def test_simulated_drive_refused_outside_the_sandbox(sim_drive: Path) -> None:
    assert not inspect_drive(sim_drive, "SIM-0001", allow_simulated=False).attached
    with pytest.raises(DriveError, match="cloud: sandbox"):
        check_safe_to_write(sim_drive, "SIM-0001", owner_id="s", needed_bytes=0, allow_simulated=False)


def test_wrong_serial_refused_naming_both(sim_drive: Path) -> None:
    with pytest.raises(DriveError) as info:
        check_safe_to_write(sim_drive, "WD-OTHER", owner_id="s", needed_bytes=0, allow_simulated=True)
    text = str(info.value)
    assert "wrong drive" in text and "SIM-0001" in text and "WD-OTHER" in text and str(sim_drive) in text


def test_foreign_content_refused(sim_drive: Path) -> None:
    (sim_drive / "family-photos").mkdir()
    obs = inspect_drive(sim_drive, "SIM-0001", allow_simulated=True)
    assert obs.content == "foreign" and obs.foreign_entries == ("family-photos",)
    with pytest.raises(DriveError, match="not seedctl's \\(family-photos"):
        check_safe_to_write(sim_drive, "SIM-0001", owner_id="s", needed_bytes=0, allow_simulated=True)


def test_does_not_fit(tmp_path: Path) -> None:
    create_simulated_drive(tmp_path / "d", "S1", 10_000_000)
    with pytest.raises(DriveError, match="does not fit: 20,000,000 bytes still to write, 10,000,000 free"):
        check_safe_to_write(tmp_path / "d", "S1", owner_id="s", needed_bytes=20_000_000, allow_simulated=True)


def test_drive_of_another_spec_refused(sim_drive: Path, scan, staging: Path) -> None:
    from seedctl.drives import prepare_drive

    prepare_drive(sim_drive, "SIM-0001", scan.files[:1], staging, owner_id="spec-A", allow_simulated=True)
    obs = inspect_drive(sim_drive, "SIM-0001", allow_simulated=True)
    assert obs.content == "ours" and obs.owner_id == "spec-A" and obs.journal_serial == "SIM-0001"
    with pytest.raises(DriveError, match="spec-A"):
        check_safe_to_write(sim_drive, "SIM-0001", owner_id="spec-B", needed_bytes=0, allow_simulated=True)


def test_serial_normalisation() -> None:
    assert normalise_serial("  WD-WCC4 N123 \n") == "WD-WCC4N123"
    assert normalise_serial("   ") is None


@LINUX_PROBE
def test_linux_probe_reads_mountinfo_and_sysfs(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    disk = sys_root / "devices" / "pci0" / "ata1" / "block" / "sdb"
    part = disk / "sdb1"
    part.mkdir(parents=True)
    (part / "partition").write_text("1")
    (disk / "device").mkdir()
    (disk / "device" / "serial").write_text("  WD-WCC4N1234567\n")
    (sys_root / "dev" / "block").mkdir(parents=True)
    (sys_root / "dev" / "block" / "8:17").symlink_to(part)
    mnt = tmp_path / "my drive"
    mnt.mkdir()
    mountinfo = tmp_path / "mountinfo"
    escaped = str(mnt).replace(" ", "\\040")
    mountinfo.write_text(f"36 35 8:17 / {escaped} rw,relatime shared:1 - ntfs3 /dev/sdb1 rw\n")

    class Probe(LinuxProbe):
        pass

    import os.path
    real = os.path.ismount
    os.path.ismount = lambda p: str(p) == str(mnt) or real(p)
    try:
        info = Probe(mountinfo, sys_root).describe(mnt)
    finally:
        os.path.ismount = real
    assert info.is_mount and info.serial == "WD-WCC4N1234567" and info.device == "/dev/sdb1"
    assert info.fs_type == "ntfs3" and not info.is_loop


@pytest.mark.loopdev
def test_loop_mounted_drive_real_path(tmp_path: Path) -> None:
    with loop_drive(tmp_path, serial="LOOPSER1") as d:
        obs = inspect_drive(d.mount, "LOOPSER1", allow_simulated=True)
        assert obs.attached and obs.is_loop and not obs.is_simulated and obs.serial == "LOOPSER1"
        assert obs.fs_type == "ext4" and obs.content == "empty"  # lost+found is ignorable
        assert 0 < obs.free_bytes <= obs.capacity <= 64 * 1024 * 1024
        check_safe_to_write(d.mount, "LOOPSER1", owner_id="s", needed_bytes=1000, staging_root=tmp_path,
                            allow_simulated=True)
        with pytest.raises(DriveError, match="loop device"):
            check_safe_to_write(d.mount, "LOOPSER1", owner_id="s", needed_bytes=0, allow_simulated=False)
        with pytest.raises(DriveError, match="wrong drive"):
            check_safe_to_write(d.mount, "WD-REAL", owner_id="s", needed_bytes=0, allow_simulated=True)
        with pytest.raises(DriveError, match="does not fit"):
            check_safe_to_write(d.mount, "LOOPSER1", owner_id="s", needed_bytes=10**9, allow_simulated=True)
        with pytest.raises(DriveError, match="same filesystem as the staging"):
            check_safe_to_write(d.mount, "LOOPSER1", owner_id="s", needed_bytes=0, staging_root=d.mount,
                                allow_simulated=True)


@pytest.mark.loopdev
def test_bind_mount_of_a_system_folder_is_refused(tmp_path: Path) -> None:
    from .conftest import loop_available

    if not loop_available():
        pytest.skip("needs root")
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    subprocess.run(["mount", "--bind", str(src), str(mnt)], check=True)
    try:
        obs = inspect_drive(mnt, "X", allow_simulated=False)
        assert obs.attached  # it is a mount point ...
        with pytest.raises(DriveError, match="same filesystem as /"):  # ... but of the system disk
            check_safe_to_write(mnt, "X", owner_id="s", needed_bytes=0)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.loopdev
def test_read_only_drive_refused(tmp_path: Path) -> None:
    with loop_drive(tmp_path, serial="ROSER", read_only=True) as d:
        assert inspect_drive(d.mount, "ROSER", allow_simulated=True).read_only
        with pytest.raises(DriveError, match="read-only"):
            check_safe_to_write(d.mount, "ROSER", owner_id="s", needed_bytes=0, allow_simulated=True)


@pytest.mark.parametrize("name", ["$RECYCLE.BIN", "$Recycle.Bin", "System Volume Information", "system volume information"])
def test_what_windows_puts_on_a_fresh_drive_is_not_foreign_whatever_its_case(sim_drive: Path, name: str) -> None:
    """Issue 26: NTFS names have no case; Windows writes $RECYCLE.BIN, older ones $Recycle.Bin."""
    (sim_drive / name).mkdir()
    assert inspect_drive(sim_drive, "SIM-0001", allow_simulated=True).content == "empty"
