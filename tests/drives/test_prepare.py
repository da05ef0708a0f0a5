import hashlib
import os
import shutil
from pathlib import Path

import pytest

import seedctl.drives.writing.prepare as prepare_mod
from seedctl.crc64 import crc64
from seedctl.drives import (
    MANIFEST_NAME,
    JournalError,
    create_simulated_drive,
    prepare_drive,
    read_drive_state,
    read_manifest,
    scan_staging,
    verify_drive,
)
from seedctl.drives.formats.journal import Journal, read_journal
from seedctl.drives.formats.layout import journal_path
from seedctl.errors import DriveError

from .conftest import pseudo, without_dac_override, write_tree
from platforms import MODES, OPEN_FOLDER_RENAME

OWNER = "spec-test"


def run(drive: Path, staging: Path, files=None, **kw):
    files = scan_staging(staging, container="backup", prefix="seed1").files if files is None else files
    return prepare_drive(drive, "SIM-0001", files, staging, owner_id=OWNER, allow_simulated=True, **kw)


def test_prepare_writes_files_manifest_and_journal(sim_drive: Path, staging: Path, scan) -> None:
    result = run(sim_drive, staging, verify=True)
    assert result.manifest_file == "\\DriveManifest.xml" and result.drive_header_hash == ""
    assert result.files == 4 and result.bytes == scan.total_bytes == result.bytes_read
    assert result.verify_report.ok
    manifest = read_manifest(sim_drive / MANIFEST_NAME)
    assert manifest.drive_id == "SIM-0001"
    assert [b.blob_path for b in manifest.blobs] == [f.blob_path for f in scan.files]
    two = next(b for b in manifest.blobs if b.blob_path.endswith("two.bin"))
    data = (staging / "a/two.bin").read_bytes()
    assert two.file_path == "\\seed\\a\\two.bin" and two.length == len(data)
    assert [(b.offset, b.length) for b in two.blocks] == [(0, 4 << 20), (4 << 20, len(data) - (4 << 20))]
    assert two.blocks[0].md5_hex == hashlib.md5(data[:4 << 20]).hexdigest().upper()
    assert two.content_crc64 == crc64(data) and two.content_md5_hex is None  # the CRC-64, not an MD5 (issue 22)
    assert (sim_drive / "seed/a/two.bin").read_bytes() == data
    assert os.stat(sim_drive / "seed/a/two.bin").st_mtime_ns == os.stat(staging / "a/two.bin").st_mtime_ns
    assert result.manifest_hash == hashlib.md5((sim_drive / MANIFEST_NAME).read_bytes()).hexdigest().upper()
    assert not list((sim_drive / ".seedctl/tmp").iterdir())


def test_second_run_reads_nothing_and_returns_the_same(sim_drive: Path, staging: Path) -> None:
    first = run(sim_drive, staging)
    mtime = os.stat(sim_drive / MANIFEST_NAME).st_mtime_ns
    journal_size = journal_path(sim_drive).stat().st_size
    second = run(sim_drive, staging)
    assert second == first and second.bytes_read == 0 and second.files_copied == 0
    assert os.stat(sim_drive / MANIFEST_NAME).st_mtime_ns == mtime
    assert journal_path(sim_drive).stat().st_size == journal_size  # nothing appended
    state = read_drive_state(sim_drive)
    assert state.files == 4 and state.manifest_current and state.manifest_hash == first.manifest_hash


def test_resume_skips_completed_files_without_reading_them(sim_drive: Path, staging: Path, scan) -> None:
    run(sim_drive, staging, files=scan.files[:2])
    result = run(sim_drive, staging)
    assert result.files_copied == 2 and result.bytes_read == sum(f.size for f in scan.files[2:])
    assert verify_drive(sim_drive).ok


def test_source_changed_since_copy_is_recopied(sim_drive: Path, staging: Path) -> None:
    run(sim_drive, staging)
    (staging / "b/c/three.txt").write_bytes(b"three, edited\n")
    result = run(sim_drive, staging)
    assert result.files_copied == 1 and (sim_drive / "seed/b/c/three.txt").read_bytes() == b"three, edited\n"
    assert verify_drive(sim_drive).ok


def test_files_no_longer_allocated_are_removed(sim_drive: Path, staging: Path, scan) -> None:
    run(sim_drive, staging)
    result = run(sim_drive, staging, files=scan.files[:2])
    assert result.files == 2 and not (sim_drive / "seed/b/c/three.txt").exists()
    assert [b.blob_path for b in read_manifest(sim_drive / MANIFEST_NAME).blobs] == [f.blob_path for f in scan.files[:2]]


def test_source_changed_since_plan(sim_drive: Path, staging: Path, scan) -> None:
    (staging / "a/one.bin").write_bytes(b"different")
    with pytest.raises(DriveError, match="a/one.bin changed since the plan"):
        run(sim_drive, staging, files=scan.files)


def _fault_during(monkeypatch, path: str, action) -> list:
    """Run `action` the first time the engine reports bytes of the file `path` (mid-copy)."""
    monkeypatch.setattr(prepare_mod, "PROGRESS_INTERVAL", 0.0)
    fired = []

    def progress(event) -> None:
        if event.phase == "copying" and event.current_file == path and not fired:
            fired.append(event)
            action()
    return progress, fired


@pytest.mark.parametrize("fault, message", [
    (lambda p: p.write_bytes(b"rewritten"), "changed"),
    (lambda p: p.unlink(), "vanished"),
    (lambda p: os.utime(p, ns=(1, 1)), "changed during the copy"),
])
def test_source_changes_or_vanishes_during_copy(sim_drive: Path, staging: Path, scan, monkeypatch, fault,
                                                 message) -> None:
    progress, fired = _fault_during(monkeypatch, "a/two.bin", lambda: fault(staging / "a/two.bin"))
    with pytest.raises(DriveError, match=message) as info:
        run(sim_drive, staging, files=scan.files, progress=progress)
    assert fired and "a/two.bin" in str(info.value)
    state = read_journal(sim_drive)
    assert set(state.files) == {"a/one.bin"}  # the file before it is complete and journaled
    assert not (sim_drive / "seed/a/two.bin").exists() and not list((sim_drive / ".seedctl/tmp").iterdir())
    if (staging / "a/two.bin").exists():
        result = run(sim_drive, staging)  # a fresh plan, then resume
        assert result.files == 4 and result.bytes_read == result.bytes - 10_000
    assert verify_drive(sim_drive).ok or not (staging / "a/two.bin").exists()


@MODES
def test_unreadable_source_is_an_error_naming_the_file(tmp_path: Path, staging: Path) -> None:
    import subprocess
    import sys

    drive = tmp_path / "drive1"
    create_simulated_drive(drive, "SIM-0001", 1 << 30)
    files = scan_staging(staging, container="backup").files
    os.chmod(staging / "a/two.bin", 0)  # root ignores this; the child runs without DAC override
    code = ("import sys; from pathlib import Path; from seedctl.drives import prepare_drive, scan_staging\n"
            f"files = scan_staging(Path({str(staging)!r}), container='backup').files\n"
            "try:\n"
            f"    prepare_drive(Path({str(drive)!r}), 'SIM-0001', {tuple(files)!r}, Path({str(staging)!r}), "
            "owner_id='o', allow_simulated=True)\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    code = "from seedctl.drives.placement.scan import StagedFile\n" + code.replace("files = scan_staging", "_ = scan_staging")
    out = subprocess.run([*without_dac_override(), sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "DriveError" in out.stdout and "a/two.bin" in out.stdout and "Permission denied" in out.stdout
    assert set(read_journal(drive).files) == {"a/one.bin"}
    os.chmod(staging / "a/two.bin", 0o644)
    assert prepare_drive(drive, "SIM-0001", files, staging, owner_id="o", allow_simulated=True).files == 4


def test_disk_full_mid_copy_then_resume_after_freeing_space(tmp_path: Path, monkeypatch) -> None:
    staging = write_tree(tmp_path / "s", {f"f{i}.bin": pseudo(3 << 20, i) for i in range(6)})
    drive = tmp_path / "small"
    create_simulated_drive(drive, "SIM-0001", 10 << 20)  # room for three of the six files
    # the up-front check would refuse; skip it to make the disk fill up mid-copy (as when something else
    # writes to the drive, or the filesystem's overhead was underestimated)
    monkeypatch.setattr(prepare_mod, "check_safe_to_write", lambda *a, **k: None)
    with pytest.raises(DriveError) as info:
        run(drive, staging)
    text = str(info.value)
    assert "is full while writing f3.bin: No space left on device (ENOSPC)" in text and "SIM-0001" in text
    assert "re-run to resume" in text and "staging file" not in text
    assert set(read_journal(drive).files) == {"f0.bin", "f1.bin", "f2.bin"}
    assert not list((drive / ".seedctl/tmp").iterdir())
    monkeypatch.undo()
    create_simulated_drive(drive, "SIM-0001", 40 << 20)  # space freed
    result = run(drive, staging, verify=True)
    assert result.files == 6 and result.files_copied == 3 and result.bytes_read == 3 * (3 << 20)


def test_journal_that_disagrees_with_the_drive_names_the_file(sim_drive: Path, staging: Path) -> None:
    run(sim_drive, staging)
    (sim_drive / "seed/a/one.bin").unlink()
    with pytest.raises(JournalError, match=r"\\seed\\a\\one.bin is complete but it is missing"):
        run(sim_drive, staging)


def test_journal_disagrees_when_a_file_was_modified(sim_drive: Path, staging: Path) -> None:
    run(sim_drive, staging)
    with open(sim_drive / "seed/b/c/three.txt", "ab") as fh:
        fh.write(b"!")
    with pytest.raises(JournalError, match=r"three.txt is 7 bytes .* recorded 6 bytes"):
        run(sim_drive, staging)


def test_manifest_tampered_after_writing(sim_drive: Path, staging: Path) -> None:
    run(sim_drive, staging)
    path = sim_drive / MANIFEST_NAME
    text = path.read_text()
    path.write_text(text.replace("<Length>6</Length>", "<Length>7</Length>", 1)
                    .replace('Length="6"', 'Length="7"', 1))
    report = verify_drive(sim_drive)
    assert not report.ok
    problems = [str(p) for p in report.problems]
    assert any(p.startswith("\\DriveManifest.xml: changed after seedctl wrote it") for p in problems)
    assert any("three.txt" in p for p in problems)
    # apply repairs it from the journal without reading any data
    result = run(sim_drive, staging)
    assert result.bytes_read == 0 and verify_drive(sim_drive).ok


def test_data_tampered_keeping_size_and_mtime(sim_drive: Path, staging: Path) -> None:
    run(sim_drive, staging)
    path = sim_drive / "seed/a/two.bin"
    st = os.stat(path)
    with open(path, "r+b") as fh:
        fh.seek(5 << 20)
        fh.write(b"\x00\x01")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    report = verify_drive(sim_drive)
    assert [str(p) for p in report.problems] == ["\\seed\\a\\two.bin: block at offset 4,194,304 does not match its MD5"]
    with pytest.raises(DriveError, match="two.bin"):
        run(sim_drive, staging, verify=True)


def test_torn_journal_tail_is_ignored_and_cut(sim_drive: Path, staging: Path, scan) -> None:
    run(sim_drive, staging, files=scan.files[:2])
    with open(journal_path(sim_drive), "ab") as fh:
        fh.write(b'{"c":1,"r":{"t":"fi')
    assert set(read_journal(sim_drive).files) == set(f.rel_path for f in scan.files[:2])
    run(sim_drive, staging)
    assert journal_path(sim_drive).read_bytes().endswith(b"\n") and verify_drive(sim_drive).ok


def test_corrupt_journal_line_is_an_error(sim_drive: Path, staging: Path) -> None:
    run(sim_drive, staging)
    lines = journal_path(sim_drive).read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"one.bin", b"0ne.bin")
    journal_path(sim_drive).write_bytes(b"\n".join(lines))
    with pytest.raises(JournalError, match="line 3 is corrupt"):
        run(sim_drive, staging)


def test_two_writers_on_one_drive(sim_drive: Path, staging: Path) -> None:
    with Journal.open(sim_drive, owner_id=OWNER, serial="SIM-0001"):
        with pytest.raises(JournalError, match="another seedctl process"):
            run(sim_drive, staging)


def test_crash_between_rename_and_journal_is_redone(sim_drive: Path, staging: Path, scan) -> None:
    run(sim_drive, staging, files=scan.files[:1])
    # what a crash leaves after step 3 of the commit protocol: a pending record and a renamed file
    with Journal.open(sim_drive, owner_id=OWNER, serial="SIM-0001") as j:
        j.add_pending(["a/two.bin"])
    (sim_drive / "seed/a/two.bin").write_bytes(b"partial")
    (sim_drive / ".seedctl/tmp/00000003.part").write_bytes(b"junk")
    assert read_drive_state(sim_drive).in_flight == ("a/two.bin",)
    result = run(sim_drive, staging, verify=True)
    assert result.files == 4 and result.bytes_read == scan.total_bytes - 10_000


def test_disk_full_inside_a_large_file_names_the_drive_and_errno_not_the_staging_file(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    # Issue 12-7: a write error in the middle of a multi-block file was reported as "staging file X
    # read N bytes but the file has M".
    staging = write_tree(tmp_path / "s", {"a.bin": pseudo(1 << 20, 1), "big.bin": pseudo(12 << 20, 2)})
    drive = tmp_path / "small"
    create_simulated_drive(drive, "SIM-0001", 7 << 20)  # a.bin fits, big.bin fails in its second block
    monkeypatch.setattr(prepare_mod, "check_safe_to_write", lambda *a, **k: None)
    with pytest.raises(DriveError) as info:
        run(drive, staging)
    text = str(info.value)
    assert text.startswith(f"drive SIM-0001 at {drive} is full while writing big.bin: ")
    assert "(ENOSPC)" in text and "staging file" not in text and "read " not in text
    assert set(read_journal(drive).files) == {"a.bin"} and not list((drive / ".seedctl/tmp").iterdir())


@OPEN_FOLDER_RENAME
def test_drive_folder_replaced_mid_write_gets_nothing(tmp_path: Path, monkeypatch) -> None:
    # Issue 12-6 on a simulated drive: the folder at the mount point is swapped for another "drive"
    # with the same serial while files are being copied; nothing more is written to either path.
    staging = write_tree(tmp_path / "s", {f"d{i % 3}/f{i:02d}.bin": pseudo(1 << 20, i) for i in range(40)})
    drive, moved = tmp_path / "drive", tmp_path / "drive-moved"
    create_simulated_drive(drive, "SIM-0001", 1 << 30)
    files = scan_staging(staging, container="backup").files
    progress, fired = _fault_during(monkeypatch, files[35].rel_path, lambda: (
        os.rename(drive, moved), create_simulated_drive(drive, "SIM-0001", 1 << 30)))
    with pytest.raises(DriveError, match=r"drive SIM-0001 at .*: the mount point now leads to another "
                                         r"filesystem or folder .* unmounted or replaced") as info:
        run(drive, staging, files=files, progress=progress)
    assert fired and "nothing more was written" in str(info.value)
    assert sorted(p.name for p in drive.iterdir()) == [".seedctl-sandbox-drive.json"]  # not even seed/
    committed = set(read_journal(moved).files)  # the first group (32 MiB) was committed before the swap
    assert committed == {f.rel_path for f in files[:32]}
    shutil.rmtree(drive)
    os.rename(moved, drive)  # the right drive is back: resume finishes it
    result = run(drive, staging, files=files, verify=True)
    assert result.files == 40 and result.files_copied == 8 and result.verify_report.ok


def test_cancel_stops_inside_a_large_file_and_resume_redoes_only_it(tmp_path: Path, monkeypatch) -> None:
    # Issue 12-8, in process: the token the CLI's signal handlers set stops the copy within a buffer.
    from seedctl.interrupt import CancelToken, DriveInterrupted

    small = {f"a/s{i}.bin": pseudo(100_000, i) for i in range(5)}
    staging = write_tree(tmp_path / "s", {**small, "big.bin": pseudo(40 << 20, 9), "z.bin": b"z" * 10})
    drive = tmp_path / "drive"
    create_simulated_drive(drive, "SIM-0001", 1 << 30)
    files = scan_staging(staging, container="backup").files
    token = CancelToken()
    monkeypatch.setattr(prepare_mod, "PROGRESS_INTERVAL", 0.0)
    seen = []

    def progress(event) -> None:
        seen.append(event.bytes_done)
        if event.current_file == "big.bin" and not token.is_set() and event.bytes_done > (12 << 20):
            token.cancel("SIGINT")
            seen.append("cancelled")

    with pytest.raises(DriveInterrupted, match=r"drive SIM-0001 at .*: stopped \(SIGINT\) while writing big.bin; "
                                               r"5 completed file\(s\) are journaled .* `seedctl apply` again") as info:
        run(drive, staging, files=files, progress=progress, cancel=token)
    assert info.value.exit_code == 130
    after = seen[seen.index("cancelled") + 1:]
    assert len(after) <= 1  # at most the buffer already being read when the token was set
    state = read_journal(drive)
    assert set(state.files) == set(small) and not state.pending
    assert not list((drive / ".seedctl/tmp").iterdir()) and not (drive / "seed/big.bin").exists()
    result = run(drive, staging, files=files)
    assert result.files_copied == 2 and result.bytes_read == (40 << 20) + 10 and verify_drive(drive).ok


def test_cancelled_before_starting_writes_nothing(sim_drive: Path, staging: Path) -> None:
    from seedctl.interrupt import CancelToken, DriveInterrupted

    token = CancelToken()
    token.cancel("SIGTERM")
    with pytest.raises(DriveInterrupted, match="not started"):
        run(sim_drive, staging, cancel=token)
    assert sorted(p.name for p in sim_drive.iterdir()) == [".seedctl-sandbox-drive.json"]


def test_without_folder_descriptors_the_paths_are_used(sim_drive: Path, staging: Path, monkeypatch) -> None:
    # Where folders cannot be opened (Windows), the anchor falls back to paths (and the device/inode check).
    import seedctl.drives.writing.anchor as anchor_mod

    monkeypatch.setattr(anchor_mod, "DIR_FDS", False)
    result = run(sim_drive, staging, verify=True)
    assert result.files == 4 and result.verify_report.ok
    assert run(sim_drive, staging).bytes_read == 0


def test_without_syncfs_every_file_and_folder_is_fsynced(sim_drive: Path, staging: Path, monkeypatch) -> None:
    # macOS and Windows have no syncfs: each file is fsynced before close and each touched folder after
    # the renames. Same result on the drive.
    import seedctl.drives.writing.durability as durability

    monkeypatch.setattr(durability, "_SYNCFS", None)
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    result = run(sim_drive, staging, verify=True)
    assert result.files == 4 and result.verify_report.ok
    assert len(synced) >= 4 + 3  # four files, their folders (seed/a, seed/b/c, seed), the journal


def test_cancel_during_verification_stops_it_and_keeps_the_drive(sim_drive: Path, staging: Path) -> None:
    from seedctl.interrupt import CancelToken, DriveInterrupted

    token = CancelToken()

    def progress(event) -> None:
        if event.phase == "verifying":
            token.cancel("SIGTERM")

    with pytest.raises(DriveInterrupted, match=r"written completely, but its verification stopped \(SIGTERM\)"):
        run(sim_drive, staging, progress=progress, cancel=token, verify=True)
    assert read_drive_state(sim_drive).manifest_current and verify_drive(sim_drive).ok
