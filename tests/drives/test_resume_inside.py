"""Resume inside a file (issue 22): a file larger than a commit group is checkpointed, and a crash
anywhere costs at most one checkpoint interval of re-reading (bytes read are measured here); a crash
between its rename and its file record is finished without reading it; anything that makes a
checkpoint untrustworthy (the staging file changed, the range file damaged, the partial file
replaced by a link) starts the file over. And drives an earlier seedctl wrote (journal version 1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from manifest_reference import check_drive

from seedctl.drives import (
    create_simulated_drive,
    prepare_drive,
    read_drive_state,
    read_manifest,
    scan_staging,
    verify_drive,
)
from seedctl.drives.formats.journal import (
    FileRecord,
    Journal,
    _encode,
    fileset_digest,
    read_journal,
)
from seedctl.drives.formats.manifest import CopiedBlob, write_manifest

import platforms
from .conftest import kill_at_first_event, pseudo, write_tree

MiB = 1 << 20
INTERVAL = 8 * MiB  # the tests' checkpoint interval (the default is 256 MiB)

CHILD = r"""
import json, sys, time
from pathlib import Path
import seedctl.drives.writing.prepare as P
from seedctl.drives import prepare_drive, scan_staging
P.PROGRESS_INTERVAL = 0.0
staging, drive, blob_type, stop_at = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
files = scan_staging(staging, container="backup", max_size=None).files
def progress(e):
    if e.phase == "copying" and e.current_file == "DS-1/big.BaseBlob" and e.bytes_done >= stop_at:
        print(json.dumps({"position": e.bytes_done, "read": e.bytes_done - e.skipped_bytes}), flush=True)
        time.sleep(60)  # the parent kills us here, inside the file
prepare_drive(drive, "SIM-R1", files, staging, owner_id="resume", allow_simulated=True, progress=progress,
              blob_type=blob_type, checkpoint_bytes=CHECKPOINT_BYTES)
print(json.dumps({"finished": True}), flush=True)
""".replace("CHECKPOINT_BYTES", str(INTERVAL))


def big_file(blob_type: str) -> bytes:
    """64 MiB (plus an odd tail for a block blob) with zero runs, one of them 4 MiB-aligned."""
    data = bytearray(pseudo(64 * MiB, 3))
    data[8 * MiB:16 * MiB] = bytes(8 * MiB)
    data[30 * MiB + 512:33 * MiB] = bytes(3 * MiB - 512)
    return bytes(data) + (b"" if blob_type == "page" else b"\x05" * 123)


def kill_inside(staging: Path, drive: Path, blob_type: str, stop_at: int) -> dict:
    return kill_at_first_event(CHILD, [str(staging), str(drive), blob_type, str(stop_at)], "position",
                               f"byte {stop_at:,}")


@platforms.SIGNALS
@pytest.mark.parametrize("blob_type", ["page", "block"])
def test_kill_9_inside_a_large_file_rereads_at_most_one_checkpoint_and_converges(tmp_path, blob_type) -> None:
    data = big_file(blob_type)
    small = {"DS-0/a.AIBBlob": pseudo(3 * 512, 1), "DS-9/z.AIBBlob": pseudo(7 * 512, 2)}
    staging = write_tree(tmp_path / "s", {**small, "DS-1/big.BaseBlob": data})
    before = len(small["DS-0/a.AIBBlob"])  # copied (in file order) before the big file
    drive = tmp_path / "drive"
    create_simulated_drive(drive, "SIM-R1", 1 << 30)
    checkpoint = 0
    for fraction in (0.1, 0.45, 0.8, 0.99):
        stop_at = before + int(len(data) * fraction)
        event = kill_inside(staging, drive, blob_type, stop_at)
        killed_at = event["position"] - before  # bytes of the big file read when the process died
        assert killed_at >= checkpoint  # the run resumed at the last checkpoint, not before it
        assert event["read"] <= killed_at - checkpoint + before, event  # and read nothing before it
        part = read_journal(drive).partials["DS-1/big.BaseBlob"]
        assert part.done <= killed_at and killed_at - part.done <= INTERVAL, (killed_at, part.done)
        assert read_drive_state(drive).in_flight == ("DS-1/big.BaseBlob",)
        checkpoint = part.done
    files = scan_staging(staging, container="backup", max_size=None).files
    result = prepare_drive(drive, "SIM-R1", files, staging, owner_id="resume", allow_simulated=True,
                           blob_type=blob_type, verify=True)
    # the last resume read the big file from its last checkpoint on, and the small file after it
    assert result.bytes_read == len(data) - checkpoint + len(small["DS-9/z.AIBBlob"])
    assert result.verify_report.ok and result.files == 3
    assert not list((drive / ".seedctl" / "partial").iterdir()) and not list((drive / ".seedctl" / "tmp").iterdir())
    assert check_drive(drive, staging, blob_type=blob_type) == {f.blob_path: [] for f in files}
    assert len(list((drive / ".seedctl" / "ranges").iterdir())) == 1  # the big file's, nothing left over


class Killed(BaseException):
    """Stands for a kill -9 at a chosen point (nothing after it runs; every append was fsynced)."""


def _stop_in_big(at: int):
    def progress(event) -> None:
        if event.phase == "copying" and event.current_file == "DS-1/big.BaseBlob" and event.bytes_done >= at:
            raise Killed()
    return progress


def _run(staging: Path, drive: Path, **kw):
    files = scan_staging(staging, container="backup", max_size=None).files
    return prepare_drive(drive, "SIM-R1", files, staging, owner_id="resume", allow_simulated=True, blob_type="page",
                         checkpoint_bytes=INTERVAL, **kw)


@pytest.fixture
def interrupted(tmp_path, monkeypatch):
    """A page drive interrupted at 60 % of its big file (a checkpoint behind it)."""
    import seedctl.drives.writing.prepare as prepare_mod

    monkeypatch.setattr(prepare_mod, "PROGRESS_INTERVAL", 0.0)
    data = big_file("page")
    staging = write_tree(tmp_path / "s", {"DS-1/big.BaseBlob": data})
    drive = tmp_path / "drive"
    create_simulated_drive(drive, "SIM-R1", 1 << 30)
    with pytest.raises(Killed):
        _run(staging, drive, progress=_stop_in_big(int(len(data) * 0.6)))
    part = read_journal(drive).partials["DS-1/big.BaseBlob"]
    assert part.done > 0
    return staging, drive, data, part


def test_a_kill_between_the_rename_and_the_file_record_is_finished_without_reading(tmp_path, monkeypatch):
    data = big_file("page")
    staging = write_tree(tmp_path / "s", {"DS-1/big.BaseBlob": data})
    drive = tmp_path / "drive"
    create_simulated_drive(drive, "SIM-R1", 1 << 30)
    real = Journal.add_copied

    def killed_before_the_record(self, rows):
        if any(row[0] == "DS-1/big.BaseBlob" for row in rows):
            raise Killed()
        return real(self, rows)

    monkeypatch.setattr(Journal, "add_copied", killed_before_the_record)
    with pytest.raises(Killed):
        _run(staging, drive)
    monkeypatch.setattr(Journal, "add_copied", real)
    assert (drive / "seed" / "DS-1" / "big.BaseBlob").exists()  # renamed into place, never recorded
    assert "DS-1/big.BaseBlob" not in read_drive_state(drive).completed
    result = _run(staging, drive, verify=True)
    assert result.bytes_read == 0 and result.verify_report.ok  # finished from its last checkpoint record
    assert check_drive(drive, staging, blob_type="page") == {"backup/DS-1/big.BaseBlob": []}


def test_resume_reads_only_from_the_checkpoint(interrupted) -> None:
    staging, drive, data, part = interrupted
    result = _run(staging, drive, verify=True)
    assert result.bytes_read == len(data) - part.done and result.verify_report.ok
    assert check_drive(drive, staging, blob_type="page") == {"backup/DS-1/big.BaseBlob": []}


def test_a_staging_file_changed_since_the_checkpoint_is_copied_from_the_start(interrupted) -> None:
    staging, drive, data, part = interrupted
    big = staging / "DS-1" / "big.BaseBlob"
    changed = bytearray(data)
    changed[100] ^= 0xFF  # before the checkpoint: resuming would keep the old byte
    big.write_bytes(bytes(changed))
    result = _run(staging, drive, verify=True)
    assert result.bytes_read == len(data) and result.verify_report.ok
    assert (drive / "seed" / "DS-1" / "big.BaseBlob").read_bytes() == bytes(changed)
    assert [p.name for p in (drive / ".seedctl" / "partial").iterdir()] == []


def test_a_damaged_range_file_starts_the_file_over(interrupted) -> None:
    staging, drive, data, part = interrupted
    ranges = drive / ".seedctl" / "ranges" / part.token
    raw = bytearray(ranges.read_bytes())
    raw[40] ^= 1
    ranges.write_bytes(bytes(raw))
    result = _run(staging, drive, verify=True)
    assert result.bytes_read == len(data) and result.verify_report.ok
    assert check_drive(drive, staging, blob_type="page") == {"backup/DS-1/big.BaseBlob": []}
    assert not (drive / ".seedctl" / "ranges" / part.token).exists()  # the damaged one is gone


@platforms.SYMLINKS
def test_a_partial_file_replaced_by_a_link_is_never_written_through(interrupted, tmp_path) -> None:
    staging, drive, data, part = interrupted
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"not seedctl's\n")
    partial = drive / ".seedctl" / "partial" / part.token
    partial.unlink()
    partial.symlink_to(victim)
    result = _run(staging, drive, verify=True)
    assert result.bytes_read == len(data) and result.verify_report.ok  # started over
    assert victim.read_bytes() == b"not seedctl's\n"
    assert not partial.is_symlink() and not partial.exists()


# -- drives an earlier seedctl wrote (journal version 1) ----------------------------------------

def _v1_drive(tmp_path: Path, staging: Path, *, finished: bool) -> Path:
    """A drive as an earlier seedctl left it: files copied, version-1 file records (block blobs,
    whole-file and block MD5s); finished: its manifest (content-md5 ClientData) and manifest record."""
    import hashlib

    drive = tmp_path / "old-drive"
    create_simulated_drive(drive, "SIM-OLD", 1 << 30)
    files = scan_staging(staging, container="backup").files
    lines = [{"t": "begin", "v": 1, "owner": "resume", "serial": "SIM-OLD", "at": "2026-11-01T00:00:00+00:00"}]
    blobs = []
    for f in files[:len(files) if finished else 1]:
        data = (staging / f.rel_path).read_bytes()
        target = drive / "seed" / f.rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, ns=(f.mtime_ns, f.mtime_ns))
        blocks = [hashlib.md5(data[i:i + 4 * MiB]).hexdigest().upper() for i in range(0, len(data), 4 * MiB)]
        whole = hashlib.md5(data).hexdigest().upper()
        record = FileRecord.legacy(f.rel_path, f.blob_path, "\\seed\\" + f.rel_path.replace("/", "\\"), f.size,
                                   f.mtime_ns, whole, 4 * MiB, blocks, os.stat(target).st_mtime_ns)
        lines.append(record.to_json())
        blobs.append(CopiedBlob(f.blob_path, record.file_path, f.size, bytes.fromhex(whole), 4 * MiB,
                                b"".join(bytes.fromhex(b) for b in blocks) if len(blocks) > 1 else b""))
    (drive / ".seedctl").mkdir()
    if finished:
        digest = write_manifest(("SIM-OLD", blobs), drive / "DriveManifest.xml")
        st = os.stat(drive / "DriveManifest.xml")
        fileset = fileset_digest((f.rel_path, b.md5.hex().upper()) for f, b in zip(files, blobs, strict=True))
        lines.append({"t": "manifest", "hash": digest, "files": len(files), "bytes": sum(f.size for f in files),
                      "set": fileset, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    (drive / ".seedctl" / "journal.jsonl").write_bytes(b"".join(_encode(rec) for rec in lines))
    return drive


@pytest.fixture
def old_staging(tmp_path) -> Path:
    return write_tree(tmp_path / "s", {"DS-1/a.BaseBlob": pseudo(9 * MiB + 512, 1), "DS-1/b.AIBBlob": pseudo(2048, 2),
                                       "DS-2/c.BaseBlob": pseudo(4096, 3)})


def test_a_drive_an_earlier_seedctl_finished_keeps_its_manifest_for_block_blobs(tmp_path, old_staging) -> None:
    drive = _v1_drive(tmp_path, old_staging, finished=True)
    before = (drive / "DriveManifest.xml").read_bytes()
    files = scan_staging(old_staging, container="backup").files
    result = prepare_drive(drive, "SIM-OLD", files, old_staging, owner_id="resume", allow_simulated=True,
                           blob_type="block", verify=True)
    # nothing read, nothing rewritten: the job's manifest hash stays valid
    assert result.bytes_read == 0 and result.verify_report.ok
    assert (drive / "DriveManifest.xml").read_bytes() == before
    assert all(b.content_md5_hex for b in read_manifest(drive / "DriveManifest.xml").blobs)


def test_a_drive_an_earlier_seedctl_half_wrote_is_finished_for_block_blobs(tmp_path, old_staging) -> None:
    drive = _v1_drive(tmp_path, old_staging, finished=False)
    files = scan_staging(old_staging, container="backup").files
    result = prepare_drive(drive, "SIM-OLD", files, old_staging, owner_id="resume", allow_simulated=True,
                           blob_type="block", verify=True)
    assert result.bytes_read == files[1].size + files[2].size and result.verify_report.ok  # the first one kept
    blobs = {b.blob_path: b for b in read_manifest(drive / "DriveManifest.xml").blobs}
    kept, copied = blobs[files[0].blob_path], blobs[files[1].blob_path]
    assert kept.content_md5_hex and kept.content_crc64 is None  # as the earlier seedctl recorded it
    assert copied.content_crc64 is not None and copied.content_md5_hex is None


def test_a_drive_an_earlier_seedctl_wrote_is_written_again_as_page_blobs(tmp_path, old_staging) -> None:
    drive = _v1_drive(tmp_path, old_staging, finished=True)
    state = read_drive_state(drive, blob_type="page")
    assert state.completed == {} and state.other_type == 3  # nothing counts as written for a page spec
    files = scan_staging(old_staging, container="backup").files
    result = prepare_drive(drive, "SIM-OLD", files, old_staging, owner_id="resume", allow_simulated=True,
                           blob_type="page", verify=True)
    assert result.bytes_read == sum(f.size for f in files) and result.verify_report.ok
    assert {b.blob_type for b in read_manifest(drive / "DriveManifest.xml").blobs} == {"PageBlob"}
    assert check_drive(drive, old_staging, blob_type="page") == {f.blob_path: [] for f in files}
    assert read_journal(drive).version == 1  # the journal goes on; its begin record is not rewritten
    assert verify_drive(drive).ok
