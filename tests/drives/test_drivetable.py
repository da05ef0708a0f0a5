"""The per-file table of one drive's preparation (issue 17: memory flat in file count): positions
instead of a dict keyed by path, the journal filed by position, duplicates refused."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from seedctl.drives import create_simulated_drive, prepare_drive, read_manifest, scan_staging, verify_drive
from seedctl.drives.formats.journal import RANGE_PART, FileRecord
from seedctl.drives.placement.scan import StagedFile
from seedctl.drives.tables.drivetable import DriveTable, DuplicateFile
from seedctl.errors import DriveError

from .conftest import pseudo, write_tree


def staged(rel: str, size: int = 10, mtime: int = 5) -> StagedFile:
    return StagedFile(rel, size, mtime, f"backup/seed1/{rel}")


def record(f: StagedFile, md5: bytes = b"\x11" * 16, dst: int = 7, blob: str | None = None) -> FileRecord:
    return FileRecord.legacy(f.rel_path, blob or f.blob_path, "\\seed\\" + f.rel_path.replace("/", "\\"), f.size,
                      f.mtime_ns, md5.hex(), 4 << 20, [md5.hex()] if f.size else [], dst)


class OnlySequence(Sequence):
    """The file list as prepare may receive it: only len, indexing and iteration (no tuple, no list)."""

    def __init__(self, files: Sequence[StagedFile]) -> None:
        self._files = tuple(files)

    def __len__(self) -> int:
        return len(self._files)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            raise TypeError("no slices")
        return self._files[i]


def test_sorted_list_needs_no_index_until_a_record_is_looked_up() -> None:
    files = [staged(f"d/f{i:03d}") for i in range(50)]
    table = DriveTable(files)
    assert table.sorted and table._index is None
    assert table.position("d/f042") == 42 and table.position("nope") is None and table._index is not None


@pytest.mark.parametrize("files", [["b", "a", "b"], ["a", "b", "b"]], ids=["unsorted", "adjacent"])
def test_a_path_named_twice_is_refused(files) -> None:
    with pytest.raises(DuplicateFile):
        DriveTable([staged(r) for r in files])


def test_unsorted_list_is_indexed_with_colliding_slots() -> None:
    # 2,000 paths in a table of 4,096 slots: linear probing is exercised whatever the hash seed
    rels = [f"x/{i * 7919 % 2000:05d}" for i in range(2000)]
    table = DriveTable([staged(r) for r in rels])
    assert not table.sorted
    assert all(table.position(r) == i for i, r in enumerate(rels))


def test_journal_records_are_filed_by_position_and_judged_against_the_source() -> None:
    files = [staged("a"), staged("b"), staged("c", size=4 << 20 | 1), staged("e", size=0)]
    table = DriveTable(files)
    table["a"] = record(files[0], dst=99)
    table["b"] = record(files[1]._replace(mtime_ns=4))  # the staging file changed since: not complete
    big = [hashlib.md5(bytes([i])).digest() for i in range(2)]
    table["c"] = FileRecord.legacy("c", files[2].blob_path, "\\seed\\c", files[2].size, 5, "22" * 16, 4 << 20,
                            [b.hex() for b in big], 8)
    table["e"] = record(files[3])
    table["gone"] = record(staged("gone"))  # not allocated here any more: stale
    assert [table.is_done(i) for i in range(4)] == [True, False, True, True]
    assert table.dst_mtime_ns(0) == 99 and table.md5(0) == b"\x11" * 16 and table.crc64(0) is None  # legacy: MD5
    assert table.parts(0) == RANGE_PART.pack(0, 10, b"\x11" * 16) and table.parts(3) == b""
    assert table.parts(2) == RANGE_PART.pack(0, 4 << 20, big[0]) + RANGE_PART.pack(4 << 20, 1, big[1])
    assert list(table.stale) == ["gone"] and len(table) == 4 and "gone" in table and "b" not in table
    assert table.pop("a") is True and not table.is_done(0)  # a later pending record: in flight again
    assert table.pop("gone") is not None and not table.stale
    table["a"] = record(files[0], blob="other/a")  # another blob path: copied again
    assert not table.is_done(0)


def test_a_record_of_the_other_blob_type_is_not_complete() -> None:
    """After staging.blob_type changes (or on a drive an earlier seedctl wrote as block blobs), every
    file is copied again as the wanted type."""
    files = [staged("p", size=1024), staged("q", size=1024)]
    page_rec = FileRecord("p", files[0].blob_path, 1024, 5, 9, page=True, crc64=1 << 63,
                          parts=RANGE_PART.pack(512, 512, b"\x22" * 16))
    block_rec = FileRecord("q", files[1].blob_path, 1024, 5, 9, page=False, crc64=7,
                           parts=RANGE_PART.pack(0, 1024, b"\x33" * 16))
    pages = DriveTable(files, page=True)
    pages["p"], pages["q"] = page_rec, block_rec
    assert [pages.is_done(i) for i in range(2)] == [True, False]
    assert pages.crc64(0) == 1 << 63 and pages.parts(0) == RANGE_PART.pack(512, 512, b"\x22" * 16)
    blocks = DriveTable(files, page=False)
    blocks["p"], blocks["q"] = page_rec, block_rec
    blocks["legacy"] = record(staged("legacy"))
    assert [blocks.is_done(i) for i in range(2)] == [False, True] and blocks.md5(1) == b"\x33" * 16
    assert blocks.digest_text(1) == "0000000000000007B" and pages.digest_text(0) == "8000000000000000P"


def test_prepare_takes_any_sequence_and_resumes_through_the_table(tmp_path: Path) -> None:
    staging = write_tree(tmp_path / "s", {"a/one.bin": pseudo(1000, 1), "b/two.bin": pseudo((4 << 20) + 9, 2),
                                          "c.txt": b"c", "d/empty": b""})
    files = OnlySequence(scan_staging(staging, container="backup", prefix="seed1").files)
    drive = tmp_path / "d1"
    create_simulated_drive(drive, "SIM-T", 1 << 30)
    first = prepare_drive(drive, "SIM-T", files, staging, owner_id="o", allow_simulated=True)
    again = prepare_drive(drive, "SIM-T", files, staging, owner_id="o", allow_simulated=True)
    assert again == first and again.files_copied == 0 and verify_drive(drive).ok
    assert [b.blob_path for b in read_manifest(drive / "DriveManifest.xml").blobs] == [f.blob_path for f in files]
    # fewer files: the others are stale and removed; the manifest is rewritten for the rest
    fewer = OnlySequence([f for f in files if f.rel_path != "c.txt"])
    third = prepare_drive(drive, "SIM-T", fewer, staging, owner_id="o", allow_simulated=True)
    assert third.files == 3 and third.files_copied == 0 and not (drive / "seed/c.txt").exists()
    assert verify_drive(drive).ok


def test_prepare_refuses_a_list_naming_a_file_twice(tmp_path: Path) -> None:
    staging = write_tree(tmp_path / "s", {"a": b"1", "b": b"2"})
    files = list(scan_staging(staging, container="backup").files)
    drive = tmp_path / "d1"
    create_simulated_drive(drive, "SIM-T", 1 << 30)
    with pytest.raises(DriveError, match="names a file twice"):
        prepare_drive(drive, "SIM-T", [files[1], files[0], files[1]], staging, owner_id="o", allow_simulated=True)
