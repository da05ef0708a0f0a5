"""File records written from the copy engine's raw digests (issue 17): the same bytes as the
FileRecord -> JSON path, read back as the same records, and nothing the reader would refuse."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedctl.drives.formats.journal import FileRecord, Journal, _encode, _file_line, read_journal

_SEG = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\:"),
               min_size=1, max_size=8).filter(lambda t: t not in (".", ".."))


@settings(max_examples=80, deadline=None)
@given(st.lists(_SEG, min_size=1, max_size=3), st.integers(min_value=0, max_value=20 << 20),
       st.integers(min_value=1, max_value=4 << 20), st.integers(min_value=-(1 << 62), max_value=1 << 62))
def test_file_line_is_byte_identical_to_the_record_json(parts, size, bs, mtime) -> None:
    rel = "/".join(parts)
    n = -(-size // bs)
    if n > 50:
        size, n = bs * 3, 3
    blocks = [hashlib.md5(b"%d" % i).digest() for i in range(n)]
    md5 = blocks[0] if n == 1 else hashlib.md5(b"whole").digest()
    rec = FileRecord(rel, f"backup/\"x\"/{rel}", "\\seed\\" + rel.replace("/", "\\"), size, mtime, md5.hex(), bs,
                     [b.hex() for b in blocks], mtime + 1)
    assert _file_line(rel, rec.blob_path, size, mtime, md5, bs, blocks, mtime + 1) == _encode(rec.to_json())


def _journal(tmp_path: Path) -> Journal:
    (tmp_path / "drive").mkdir()
    return Journal.open(tmp_path / "drive", owner_id="o", serial="S1")


def test_copied_rows_read_back_as_file_records(tmp_path: Path) -> None:
    md5 = hashlib.md5(b"abc").digest()
    two = [hashlib.md5(b"1").digest(), hashlib.md5(b"2").digest()]
    with _journal(tmp_path) as journal:
        journal.add_copied([("a/b.txt", "backup/a/b.txt", 3, 11, md5, 4 << 20, [md5], 12),
                            ("big", "backup/big", 5 << 20, 13, md5, 4 << 20, two, 14),
                            ("empty", "backup/empty", 0, 15, hashlib.md5().digest(), 4 << 20, [], 16)])
        assert journal.changed
    files = read_journal(tmp_path / "drive").files
    assert files["a/b.txt"].md5 == md5 and files["a/b.txt"].dst_mtime_ns == 12
    assert files["big"].block_digests() == two and files["empty"].block_digests() == []


@pytest.mark.parametrize("row, message", [
    (("../x", "backup/x", 3, 1, b"\x01" * 16, 4 << 20, [b"\x01" * 16], 2), "not a path on a drive"),
    (("x", "backup/x", 3, 1, b"\x01" * 15, 4 << 20, [b"\x01" * 15], 2), "16 bytes"),
    (("x", "backup/x", 5 << 20, 1, b"\x01" * 16, 4 << 20, [b"\x01" * 16], 2), "block MD5s"),
], ids=["escaping-path", "short-md5", "block-count"])
def test_a_row_the_reader_would_refuse_is_never_written(tmp_path: Path, row, message: str) -> None:
    with _journal(tmp_path) as journal:
        size = journal.path.stat().st_size
        with pytest.raises(ValueError, match=message):
            journal.add_copied([("ok", "backup/ok", 1, 1, b"\x02" * 16, 4 << 20, [b"\x02" * 16], 1), row])
        assert journal.path.stat().st_size == size  # not even the good row
