"""File records written from the copy engine's raw digests (issues 17 and 22): the same bytes as the
FileRecord -> JSON path, read back as the same records, and nothing the reader would refuse.
Checkpoint ("part") records, and journals an earlier seedctl wrote (version 1: block blobs with a
whole-file MD5), which are still read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedctl.drives.formats.journal import (
    RANGE_PART,
    FileRecord,
    Journal,
    JournalError,
    PartRecord,
    RangeFileRef,
    _encode,
    _file_line,
    read_journal,
)

_SEG = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\:"),
               min_size=1, max_size=8).filter(lambda t: t not in (".", ".."))


def _parts(page: bool, size: int, seed: int) -> bytes:
    """Valid parts for a file of `size` bytes: 4 MiB blocks, or page ranges with gaps."""
    out = []
    for n, offset in enumerate(range(0, size, 4 << 20)):
        length = min(4 << 20, size - offset)
        md5 = hashlib.md5(b"%d-%d" % (seed, n)).digest()
        if page:
            if (seed + n) % 3 == 0:
                continue  # an all-zero chunk: no range
            trim = 512 * ((seed + n) % 2) if length > 1024 else 0
            out.append(RANGE_PART.pack(offset + trim, length - trim, md5))
        else:
            out.append(RANGE_PART.pack(offset, length, md5))
    return b"".join(out)


@settings(max_examples=80, deadline=None)
@given(st.lists(_SEG, min_size=1, max_size=3), st.integers(min_value=0, max_value=40 << 20), st.booleans(),
       st.integers(min_value=0, max_value=(1 << 64) - 1), st.integers(min_value=-(1 << 62), max_value=1 << 62),
       st.booleans())
def test_file_line_is_byte_identical_to_the_record_json(parts, size, page, crc, mtime, in_file) -> None:
    rel = "/".join(parts)
    size = size // 512 * 512 if page else size
    packed = _parts(page, size, len(rel))
    where: bytes | RangeFileRef = RangeFileRef("0123456789abcdef" * 2, len(packed) // 32, crc) if in_file else packed
    kwargs = {"range_file": where} if in_file else {"parts": packed}
    rec = FileRecord(rel, f"backup/\"x\"/{rel}", size, mtime, mtime + 1, page=page, crc64=crc, **kwargs)
    line = _file_line(rel, rec.blob_path, size, mtime, mtime + 1, page, crc, where)
    assert line == _encode(rec.to_json())
    assert FileRecord.from_json(rec.to_json()) == rec


def _journal(tmp_path: Path) -> Journal:
    (tmp_path / "drive").mkdir(exist_ok=True)
    return Journal.open(tmp_path / "drive", owner_id="o", serial="S1")


def test_copied_rows_read_back_as_file_records(tmp_path: Path) -> None:
    md5 = hashlib.md5(b"abc").digest()
    two = RANGE_PART.pack(0, 4 << 20, b"\x01" * 16) + RANGE_PART.pack(4 << 20, 1 << 20, b"\x02" * 16)
    trimmed = RANGE_PART.pack(512, 1024, md5)
    ref = RangeFileRef("ab" * 16, 3, (1 << 64) - 1)
    with _journal(tmp_path) as journal:
        journal.add_copied([("a/b.txt", "backup/a/b.txt", 3, 11, 12, False, 5, RANGE_PART.pack(0, 3, md5)),
                            ("big", "backup/big", 5 << 20, 13, 14, False, 6, two),
                            ("empty", "backup/empty", 0, 15, 16, False, 0, b""),
                            ("p/trim.BaseBlob", "backup/p/trim.BaseBlob", 2048, 17, 18, True, 7, trimmed),
                            ("p/zero.AIBBlob", "backup/p/zero.AIBBlob", 8192, 19, 20, True, 8, b""),
                            ("p/huge.BaseBlob", "backup/p/huge.BaseBlob", 64 << 20, 21, 22, True, 9, ref)])
        assert journal.changed
    files = read_journal(tmp_path / "drive").files
    assert files["a/b.txt"].md5 == md5 and files["a/b.txt"].dst_mtime_ns == 12 and files["a/b.txt"].crc64 == 5
    assert files["big"].parts() == two and not files["big"].page and files["empty"].parts() == b""
    assert files["p/trim.BaseBlob"].parts() == trimmed and files["p/trim.BaseBlob"].page
    assert files["p/zero.AIBBlob"].parts() == b"" and files["p/zero.AIBBlob"].size == 8192
    assert files["p/huge.BaseBlob"].range_file == ref


@pytest.mark.parametrize("row, message", [
    (("../x", "backup/x", 3, 1, 2, False, 0, RANGE_PART.pack(0, 3, b"\x01" * 16)), "not a path on a drive"),
    (("x", "backup/x", 5 << 20, 1, 2, False, 0, RANGE_PART.pack(0, 5 << 20, b"\x01" * 16)), "4 MiB"),
    (("x", "backup/x", 1000, 1, 2, True, 0, b""), "multiple of 512"),
    (("x", "backup/x", 2048, 1, 2, True, 0, RANGE_PART.pack(100, 512, b"\x01" * 16)), "512-aligned"),
    (("x", "backup/x", 2048, 1, 2, True, 0, RANGE_PART.pack(1024, 1536, b"\x01" * 16)), "ends past"),
    (("x", "backup/x", 3, 1, 2, False, 1 << 64, RANGE_PART.pack(0, 3, b"\x01" * 16)), "unsigned"),
    (("x", "backup/x", 3, 1, 2, False, 0, RangeFileRef("../../etc/passwd", 1, 0)), "range file"),
], ids=["escaping-path", "block-over-4MiB", "page-size", "unaligned-range", "range-past-end", "crc", "token"])
def test_a_row_the_reader_would_refuse_is_never_written(tmp_path: Path, row, message: str) -> None:
    with _journal(tmp_path) as journal:
        size = journal.path.stat().st_size
        with pytest.raises(ValueError, match=message):
            journal.add_copied([("ok", "backup/ok", 1, 1, 1, False, 0, RANGE_PART.pack(0, 1, b"\x02" * 16)), row])
        assert journal.path.stat().st_size == size  # not even the good row


def test_checkpoints_name_the_file_in_flight_until_it_is_recorded(tmp_path: Path) -> None:
    token = "cd" * 16
    with _journal(tmp_path) as journal:
        journal.add_copied([("big", "backup/big", 8 << 20, 1, 2, True, 3, RANGE_PART.pack(0, 512, b"\x01" * 16))])
        journal.add_part(PartRecord("big", "backup/big", 12 << 20, 5, True, token, 0, 0, 0, 0))
        journal.add_part(PartRecord("big", "backup/big", 12 << 20, 5, True, token, 8 << 20, 77, 2, 99))
    state = read_journal(tmp_path / "drive")
    # the older copy is no longer complete: it is being replaced
    assert "big" not in state.files and state.partials["big"].done == 8 << 20 and state.partials["big"].parts == 2
    with _journal(tmp_path) as journal:
        journal.add_copied([("big", "backup/big", 12 << 20, 5, 6, True, 77, RangeFileRef(token, 3, 98))])
    state = read_journal(tmp_path / "drive")
    assert not state.partials and state.files["big"].range_file == RangeFileRef(token, 3, 98)


@pytest.mark.parametrize("change, message", [
    ({"tmp": "../partial"}, "'tmp'"),
    ({"done": 5}, "'done'"),
    ({"done": 16 << 20}, "'done'"),
    ({"n": 1 << 40}, "'n'"),
    ({"type": "vhd"}, "'type'"),
    ({"size": 1000}, "multiple of 512"),
    ({"dst_mtime_ns": 3}, "unfinished"),
    ({"crc": -1}, "'crc'"),
], ids=lambda v: repr(v)[:40])
def test_a_checkpoint_record_the_reader_refuses(tmp_path: Path, change: dict, message: str) -> None:
    good = PartRecord("big", "backup/big", 12 << 20, 5, True, "ef" * 16, 4 << 20, 1, 1, 1).to_json()
    with _journal(tmp_path) as journal:
        journal.append([{**good, **change}])
    with pytest.raises(JournalError, match=f"part record.*{message}"):
        read_journal(tmp_path / "drive")


def test_a_journal_of_an_earlier_seedctl_is_read_as_legacy_block_records(tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    drive.mkdir()
    (drive / ".seedctl").mkdir()
    whole = hashlib.md5(b"whole").hexdigest().upper()
    blocks = [hashlib.md5(b"1").hexdigest().upper(), hashlib.md5(b"2").hexdigest().upper()]
    lines = [{"t": "begin", "v": 1, "owner": "o", "serial": "S1", "at": "2026-11-01T00:00:00+00:00"},
             {"t": "file", "rel": "a", "blob": "c/a", "fp": "\\seed\\a", "size": (4 << 20) + 1, "mtime_ns": 1,
              "md5": whole, "bs": 4 << 20, "blocks": blocks, "dst_mtime_ns": 2}]
    (drive / ".seedctl" / "journal.jsonl").write_bytes(b"".join(_encode(rec) for rec in lines))
    state = read_journal(drive)
    record = state.files["a"]
    assert state.version == 1 and record.legacy_record and record.crc64 is None and not record.page
    assert record.md5.hex().upper() == whole and record.digest_text() == whole
    assert record.parts() == RANGE_PART.pack(0, 4 << 20, bytes.fromhex(blocks[0])) + \
        RANGE_PART.pack(4 << 20, 1, bytes.fromhex(blocks[1]))
    assert record.to_json() == lines[1]
