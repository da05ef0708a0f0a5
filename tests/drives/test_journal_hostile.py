"""Hostile drive content: crafted journals, markers and links never make seedctl touch anything
outside the drive, and every refusal is a DriveError naming the file (issue 13, items 1, 2, 6).

Each test takes a listing with hashes of everything around the drive (and, where the refusal comes
before any write, of the drive too) and compares it after the refusal."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from seedctl.drives import (
    create_simulated_drive,
    inspect_drive,
    prepare_drive,
    read_drive_state,
    scan_staging,
)
from seedctl.drives.disk.simulated import read_simulated
from seedctl.drives.formats.journal import FileRecord, JournalError, _encode, read_journal
from seedctl.drives.formats.layout import SIM_MARKER, journal_path
from seedctl.drives.writing.verify import verify_drive
from seedctl.errors import DriveError

from platforms import FIFOS, SYMLINKS

OWNER = "spec-test"
SERIAL = "SIM-0001"


def snapshot(root: Path, skip: Path | None = None) -> dict[str, str]:
    """Every entry under `root` (not following links) with its content hash, link target or kind."""
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        if skip is not None and Path(folder) == skip:
            dirs[:] = []
            continue
        for name in dirs + files:
            path = Path(folder, name)
            if skip is not None and path == skip:
                continue
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = "other"
    return out


@pytest.fixture
def world(tmp_path: Path, staging: Path):
    """A prepared simulated drive, plus a victim folder beside it that must never change."""
    drive = tmp_path / "drive1"
    create_simulated_drive(drive, SERIAL, 1 << 30)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_bytes(b"do not delete me\n")
    (victim / "tmp").mkdir()
    (victim / "tmp" / "also-precious").write_bytes(b"nor me\n")
    run(drive, staging)
    return drive, victim


def run(drive: Path, staging: Path):
    files = scan_staging(staging, container="backup", prefix="seed1").files
    return prepare_drive(drive, SERIAL, files, staging, owner_id=OWNER, allow_simulated=True)


def append_records(drive: Path, *records: dict) -> int:
    """Append records (each with a valid CRC); return the line number of the first."""
    first = len(journal_path(drive).read_bytes().splitlines()) + 1
    with open(journal_path(drive), "ab") as fh:
        for rec in records:
            fh.write(_encode(rec))
    return first


def good_file_record(rel: str = "a/one.bin") -> dict:
    return FileRecord.legacy(rel, f"backup/seed1/{rel}", "\\seed\\" + rel.replace("/", "\\"), 10, 5, "A" * 32,
                      4 << 20, ("A" * 32,), 7).to_json()


# --- item 1: paths that leave the drive ------------------------------------------------------

@pytest.mark.parametrize("record", [
    {"t": "pending", "rels": ["/abs/victim/precious.txt"]},
    {"t": "pending", "rels": ["../victim/precious.txt"]},
    {"t": "pending", "rels": ["a/../../../victim/precious.txt"]},
    {"t": "pending", "rels": ["a\\..\\..\\victim"]},
    {"t": "pending", "rels": ["C:/victim"]},
    {"t": "pending", "rels": ["a//b"]},
    {"t": "pending", "rels": ["a/./b"]},
    {"t": "pending", "rels": [""]},
    {"t": "pending", "rels": ["a\x00b"]},
    {"t": "removed", "rel": "../victim/precious.txt"},
    {**good_file_record(), "rel": "../../victim/precious.txt"},
    {**good_file_record(), "fp": "\\..\\victim\\precious.txt"},
], ids=lambda r: repr(r)[:60])
def test_journal_path_leaving_the_drive_is_refused_before_anything_changes(world, staging, tmp_path, record):
    drive, victim = world
    if record["t"] == "pending" and record["rels"][0].startswith("/abs/"):
        record = {"t": "pending", "rels": [str(victim / "precious.txt")]}
    append_records(drive, record)
    before = snapshot(tmp_path)
    with pytest.raises(JournalError) as info:
        run(drive, staging)
    message = str(info.value)
    assert str(journal_path(drive)) in message and "line" in message
    assert snapshot(tmp_path) == before  # nothing anywhere changed, the drive included
    # plan's view (read_drive_state) says the same, without a traceback; inspect_drive reads only the
    # begin record (whose drive is it), which is intact
    with pytest.raises(JournalError):
        read_drive_state(drive)
    assert inspect_drive(drive, SERIAL, allow_simulated=True).content == "ours"


@SYMLINKS
def test_symlinked_folder_on_the_drive_cannot_steer_a_deletion(world, staging, tmp_path):
    drive, victim = world
    (drive / "seed" / "evil").symlink_to(victim, target_is_directory=True)
    append_records(drive, {"t": "pending", "rels": ["evil/precious.txt"]})
    before = snapshot(tmp_path, skip=drive)
    with pytest.raises(DriveError, match="outside the drive") as info:
        run(drive, staging)
    assert "evil/precious.txt" in str(info.value)
    assert snapshot(tmp_path, skip=drive) == before
    assert (victim / "precious.txt").read_bytes() == b"do not delete me\n"


@SYMLINKS
def test_stale_file_through_a_symlinked_folder_is_not_deleted(world, staging, tmp_path):
    drive, victim = world
    # the journal says a file the plan no longer wants lives under seed/evil: its folder leads outside
    (drive / "seed" / "evil").symlink_to(victim, target_is_directory=True)
    st = os.stat(victim / "precious.txt")
    rec = FileRecord.legacy("evil/precious.txt", "backup/seed1/evil/precious.txt", "\\seed\\evil\\precious.txt",
                     st.st_size, 1, "A" * 32, 4 << 20, ("A" * 32,), st.st_mtime_ns)
    append_records(drive, rec.to_json())
    before = snapshot(tmp_path, skip=drive)
    with pytest.raises(DriveError, match="outside the drive"):
        run(drive, staging)
    assert snapshot(tmp_path, skip=drive) == before


@SYMLINKS
def test_stale_file_that_is_a_link_is_not_followed(world, staging, tmp_path):
    drive, victim = world
    link = drive / "seed" / "gone.bin"
    link.symlink_to(victim / "precious.txt")
    st = os.stat(victim / "precious.txt")
    rec = FileRecord.legacy("gone.bin", "backup/seed1/gone.bin", "\\seed\\gone.bin", st.st_size, 1, "A" * 32, 4 << 20,
                     ("A" * 32,), st.st_mtime_ns)
    append_records(drive, rec.to_json())
    before = snapshot(tmp_path, skip=drive)
    with pytest.raises(DriveError, match="not a regular file"):
        run(drive, staging)
    assert snapshot(tmp_path, skip=drive) == before and link.is_symlink()


@SYMLINKS
@pytest.mark.parametrize("what", [".seedctl/tmp", ".seedctl"])
def test_seedctl_folder_replaced_by_a_link_is_refused(world, staging, tmp_path, what):
    drive, victim = world
    target = drive / what
    if what == ".seedctl":
        # keep the journal reachable through the link, as an attacker would
        moved = tmp_path / "elsewhere"
        (drive / ".seedctl").rename(moved)
        target.symlink_to(moved, target_is_directory=True)
    else:
        for child in target.iterdir():
            child.unlink()
        target.rmdir()
        target.symlink_to(victim / "tmp", target_is_directory=True)
    before = snapshot(tmp_path, skip=drive)
    with pytest.raises(DriveError, match="not a folder"):
        run(drive, staging)
    assert snapshot(tmp_path, skip=drive) == before
    assert (victim / "tmp" / "also-precious").exists()


@SYMLINKS
def test_journal_that_is_a_link_is_refused(world, staging, tmp_path):
    drive, victim = world
    path = journal_path(drive)
    moved = tmp_path / "journal-elsewhere.jsonl"
    path.rename(moved)
    path.symlink_to(moved)
    before = snapshot(tmp_path)
    with pytest.raises(JournalError, match="symbolic link"):
        run(drive, staging)
    assert snapshot(tmp_path) == before


@FIFOS
def test_journal_that_is_a_fifo_is_refused_without_waiting(world, staging, tmp_path):
    drive, _ = world
    path = journal_path(drive)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(JournalError, match="not a regular file"):
        read_journal(drive)
    with pytest.raises(JournalError, match="not a regular file"):
        run(drive, staging)


@FIFOS
def test_verify_does_not_follow_a_link_or_open_a_fifo(world, tmp_path):
    drive, victim = world
    one = drive / "seed" / "a" / "one.bin"
    one.unlink()
    one.symlink_to(victim / "precious.txt")
    empty = drive / "seed" / "empty.dat"
    empty.unlink()
    os.mkfifo(empty)
    problems = {p.file_path: p.message for p in verify_drive(drive).problems}
    assert "not a regular file" in problems["\\seed\\a\\one.bin"]
    assert "not a regular file" in problems["\\seed\\empty.dat"]


# --- item 2: valid CRC, wrong shape ------------------------------------------------------------

def _without(rec: dict, key: str) -> dict:
    return {k: v for k, v in rec.items() if k != key}


V2 = {"t": "file", "rel": "a/one.bin", "blob": "backup/seed1/a/one.bin", "fp": "\\seed\\a\\one.bin", "size": 10,
      "mtime_ns": 5, "dst_mtime_ns": 7, "type": "block", "crc": 1, "parts": [[0, 10, "A" * 32]]}

BAD_RECORDS = [
    ("no type", {"rel": "a"}, "unknown record type"),
    ("type not a string", {"t": ["file"]}, "unknown record type"),
    ("unknown type", {"t": "delete", "rel": "a"}, "unknown record type"),
    ("pending without rels", {"t": "pending"}, "'rels'"),
    ("pending rels a string", {"t": "pending", "rels": "a/one.bin"}, "'rels'"),
    ("pending rels holds a number", {"t": "pending", "rels": [1]}, "'rels'"),
    ("removed without rel", {"t": "removed"}, "'rel'"),
    ("removed rel a dict", {"t": "removed", "rel": {"x": 1}}, "'rel'"),
    ("file without size", _without(good_file_record(), "size"), "'size'"),
    ("file size a string", {**good_file_record(), "size": "10"}, "'size'"),
    ("file size a bool", {**good_file_record(), "size": True}, "'size'"),
    ("file size negative", {**good_file_record(), "size": -1}, "'size'"),
    ("file size huge", {**good_file_record(), "size": 1 << 70}, "'size'"),
    ("file mtime a float", {**good_file_record(), "mtime_ns": 1.5}, "'mtime_ns'"),
    ("file without blob", _without(good_file_record(), "blob"), "'blob'"),
    ("file blob a list", {**good_file_record(), "blob": ["x"]}, "'blob'"),
    ("file blob without container", {**good_file_record(), "blob": "nocontainer"}, "'blob'"),
    ("file md5 not hex", {**good_file_record(), "md5": "Z" * 32}, "'md5'"),
    ("file blocks missing", _without(good_file_record(), "blocks"), "'blocks'"),
    ("file blocks wrong count", {**good_file_record(), "blocks": ["A" * 32, "B" * 32]}, "'blocks'"),
    ("file blocks not hex", {**good_file_record(), "blocks": [123]}, "'blocks'"),
    ("file block size zero", {**good_file_record(), "bs": 0}, "'bs'"),
    ("file block size too big", {**good_file_record(), "bs": 1 << 40}, "'bs'"),
    ("manifest without hash", {"t": "manifest", "files": 1, "bytes": 1, "set": "0" * 8, "size": 1, "mtime_ns": 1},
     "'hash'"),
    ("manifest files a string", {"t": "manifest", "hash": "A" * 32, "files": "1", "bytes": 1, "set": "0" * 8,
                                 "size": 1, "mtime_ns": 1}, "'files'"),
    ("second begin", {"t": "begin", "v": 1, "owner": OWNER, "serial": SERIAL}, "second begin"),
    # version 2 file records (issue 22): blob type, CRC-64, parts inline or in a range file
    ("v2 type unknown", {**V2, "type": "vhd"}, "'type'"),
    ("v2 page size unaligned", {**V2, "type": "page", "size": 1000, "parts": [[0, 1000, "A" * 32]]},
     "multiple of 512"),
    ("v2 crc negative", {**V2, "crc": -1}, "'crc'"),
    ("v2 crc over 64 bits", {**V2, "crc": 1 << 64}, "'crc'"),
    ("v2 crc a string", {**V2, "crc": "1"}, "'crc'"),
    ("v2 parts and ranges", {**V2, "ranges": {"f": "ab" * 16, "n": 1, "c": 0}}, "either 'parts' or 'ranges'"),
    ("v2 neither", _without(V2, "parts"), "either 'parts' or 'ranges'"),
    ("v2 part not a triple", {**V2, "parts": [[0, 10]]}, "'parts'"),
    ("v2 part md5 not hex", {**V2, "parts": [[0, 10, "Z" * 32]]}, "'parts'"),
    ("v2 blocks leave a gap", {**V2, "size": 20, "parts": [[0, 10, "A" * 32], [11, 9, "A" * 32]]}, "'parts'"),
    ("v2 page ranges overlap", {**V2, "type": "page", "size": 2048,
                                "parts": [[0, 1024, "A" * 32], [512, 512, "A" * 32]]}, "'parts'"),
    ("v2 page range past the end", {**V2, "type": "page", "size": 1024, "parts": [[512, 1024, "A" * 32]]},
     "'parts'"),
    ("v2 too many inline parts", {**V2, "size": 100, "parts": [[i, 1, "A" * 32] for i in range(100)]}, "'parts'"),
    ("v2 range file leaves the folder", _without({**V2, "ranges": {"f": "../../journal.jsonl", "n": 1, "c": 0}},
                                                 "parts"), "'ranges.f'"),
    ("v2 range file count huge", _without({**V2, "ranges": {"f": "ab" * 16, "n": 1 << 40, "c": 0}}, "parts"),
     "'ranges.n'"),
]


@pytest.mark.parametrize("name, record, field", BAD_RECORDS, ids=[b[0] for b in BAD_RECORDS])
def test_wrongly_shaped_record_is_a_clear_error(world, staging, tmp_path, name, record, field):
    drive, _ = world
    line = append_records(drive, record)
    before = snapshot(tmp_path)
    with pytest.raises(JournalError) as info:
        read_journal(drive)
    message = str(info.value)
    assert str(journal_path(drive)) in message and f"line {line}" in message and field in message, message
    with pytest.raises(JournalError):
        run(drive, staging)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("begin, field", [
    ({"t": "begin", "v": 1, "serial": SERIAL}, "'owner'"),
    ({"t": "begin", "v": 1, "owner": OWNER, "serial": 7}, "'serial'"),
    ({"t": "begin", "v": 1, "owner": OWNER, "serial": "A B"}, "'serial'"),
    ({"t": "begin", "v": 3, "owner": OWNER, "serial": SERIAL}, "version"),  # a newer seedctl's
    ({"t": "begin", "v": True, "owner": OWNER, "serial": SERIAL}, "version"),
    ({"t": "file"}, "begin record"),
])
def test_wrongly_shaped_begin_record(tmp_path, begin, field):
    drive = tmp_path / "d"
    create_simulated_drive(drive, SERIAL, 1 << 30)
    (drive / ".seedctl").mkdir()
    journal_path(drive).write_bytes(_encode(begin))
    with pytest.raises(JournalError, match=field):
        read_journal(drive)
    obs = inspect_drive(drive, SERIAL, allow_simulated=True)
    assert obs.content == "unknown" and field.strip("'") in obs.problems[0], obs.problems


def test_json_that_is_not_an_object_or_too_deep(world):
    drive, _ = world
    import zlib

    for body in (b"[1,2]", b"[" * 100_000 + b"]" * 100_000):
        line = len(journal_path(drive).read_bytes().splitlines()) + 1
        with open(journal_path(drive), "ab") as fh:
            fh.write(b'{"c":%d,"r":%s}\n' % (zlib.crc32(body), body))
        with pytest.raises(JournalError, match=f"line {line} is corrupt"):
            read_journal(drive)
        journal_path(drive).write_bytes(b"".join(journal_path(drive).read_bytes().splitlines(True)[:-1]))


def test_over_long_line_is_corrupt_not_a_memory_hog(world, monkeypatch):
    import seedctl.drives.formats.journal as journal_mod

    drive, _ = world
    monkeypatch.setattr(journal_mod, "MAX_LINE", 1000)
    line = append_records(drive, {"t": "pending", "rels": ["x" * 40] * 50})
    with pytest.raises(JournalError, match=f"line {line} is corrupt"):
        read_journal(drive)


def test_record_that_lost_only_its_newline_is_kept_and_terminated(world, staging):
    drive, _ = world
    data = journal_path(drive).read_bytes()
    journal_path(drive).write_bytes(data[:-1])  # the last record whole, its newline lost
    state = read_journal(drive)
    assert state.unterminated and not state.torn_tail and state.manifest is not None
    run(drive, staging)
    assert journal_path(drive).read_bytes() == data  # the newline was restored, nothing else appended
    assert read_journal(drive).manifest is not None


# --- item 6, first bullet: the sandbox drive marker ----------------------------------------------

@pytest.mark.parametrize("content, message", [
    (b"[1, 2]\n", "JSON list, not an object"),
    (b'"seedctl-sandbox-drive"', "JSON str, not an object"),
    (b"null", "JSON NoneType"),
    (b"{", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b'{"kind": "seedctl-sandbox-drive", "serial": "S1"}', "'capacity'"),
    (b'{"kind": "seedctl-sandbox-drive", "serial": "S1", "capacity": "1"}', "'capacity'"),
    (b'{"kind": "seedctl-sandbox-drive", "serial": "S1", "capacity": true}', "'capacity'"),
    (b'{"kind": "seedctl-sandbox-drive", "serial": "S1", "capacity": -5}', "'capacity'"),
    (b'{"kind": "seedctl-sandbox-drive", "serial": ["S1"], "capacity": 5}', "'serial'"),
    (b'{"kind": "seedctl-sandbox-drive", "serial": "S 1", "capacity": 5}', "'serial'"),
    (b'{"kind": "other", "serial": "S1", "capacity": 5}', "'kind'"),
    (b"[" * 4000, "not valid JSON"),
    (b"{" * 100_000, "larger than"),
    (b" " * 5000, "larger than"),
])
def test_marker_of_the_wrong_shape(tmp_path, content, message):
    drive = tmp_path / "d"
    drive.mkdir()
    (drive / SIM_MARKER).write_bytes(content)
    with pytest.raises(DriveError, match=message) as info:
        read_simulated(drive)
    assert SIM_MARKER in str(info.value)
    obs = inspect_drive(drive, "S1", allow_simulated=True)
    assert not obs.attached and SIM_MARKER in obs.problems[0]


@FIFOS
def test_marker_that_is_a_fifo_or_a_link(tmp_path):
    drive = tmp_path / "d"
    drive.mkdir()
    os.mkfifo(drive / SIM_MARKER)
    with pytest.raises(DriveError, match="not a regular file"):
        read_simulated(drive)
    (drive / SIM_MARKER).unlink()
    (drive / SIM_MARKER).symlink_to("/dev/zero")
    with pytest.raises(DriveError, match="symbolic link"):
        read_simulated(drive)


@SYMLINKS
def test_marker_writer_does_not_write_through_a_planted_link(tmp_path):
    drive = tmp_path / "d"
    drive.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    (drive / (SIM_MARKER + ".tmp")).symlink_to(outside)
    create_simulated_drive(drive, "S1", 1 << 20)
    assert outside.read_text() == "keep\n"
    assert read_simulated(drive).serial == "S1"
    assert json.loads((drive / SIM_MARKER).read_text())["capacity"] == 1 << 20


@SYMLINKS  # a symbolic link plays the junction here; on Windows tests/test_safefs.py covers it
def test_a_junction_at_seedctl_tmp_is_refused_though_lstat_calls_it_a_folder(tmp_path, monkeypatch):
    """Issue 26 item 3, with the facts Windows gives: os.lstat reports a junction as a folder
    (st_mode S_IFDIR) and only FILE_ATTRIBUTE_REPARSE_POINT tells. The values CPython's os.lstat gives on
    Windows (tests/windows/test_reparse_points.py); here a symbolic link plays the junction."""
    import stat as stat_module
    from types import SimpleNamespace

    from seedctl.drives.formats.layout import check_own_folder
    from seedctl.errors import DriveError

    drive, victim = tmp_path / "drive", tmp_path / "victim"
    (drive / ".seedctl").mkdir(parents=True)
    victim.mkdir()
    (victim / "precious.txt").write_bytes(b"precious")
    (drive / ".seedctl" / "tmp").symlink_to(victim, target_is_directory=True)
    real_lstat = os.lstat

    def windows_lstat(path, *args, **kwargs):
        st = real_lstat(path, *args, **kwargs)
        if stat_module.S_ISLNK(st.st_mode):  # what Windows says of a junction made by `mklink /J`
            return SimpleNamespace(st_mode=0o40777, st_file_attributes=0x410, st_reparse_tag=0xA0000003,
                                   st_dev=st.st_dev, st_ino=st.st_ino, st_size=0, st_mtime_ns=0)
        return st

    monkeypatch.setattr(os, "lstat", windows_lstat)
    with pytest.raises(DriveError, match=r"tmp is not a folder \(a junction or mount point"):
        check_own_folder(drive, ".seedctl/tmp")
    monkeypatch.undo()
    assert (victim / "precious.txt").read_bytes() == b"precious"
