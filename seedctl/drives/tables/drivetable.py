"""What one drive's preparation knows per file, in columns indexed like the file list (issue 17).

`prepare_drive` holds one row for every file allocated to the drive while it copies and writes the
manifest: a million of them on a full drive. A dict of rel path -> record bytes cost about 130 bytes a
file plus a string per path; here the file list (the scan's compact table) is the key, so a row is
its position in that list and costs 33 bytes: the whole-file CRC-64 (8), the MD5 of the file's one
part (16: for the common small file, one block or page range covering it all), the copy's mtime on
the drive (8) and a flag. The parts of any other file (several blocks, trimmed or omitted page
ranges, or where a large file's range file is on the drive) are kept apart, for those files only.

The table is also the sink `read_journal` fills on resume: a journal record is filed under its
file's position, found through a compact hash index (an `array` of positions, open addressing,
built only when a journal has file records); the rel path strings are never held. Records for files
no longer in the list ("stale": to be removed from the drive) are kept apart, as `FileRecord`s.
A record counts as complete only for the same staging file (size, mtime, blob path) written as the
same blob type: after `staging.blob_type` changes, every file is copied again.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from seedctl.drives.formats.journal import RANGE_PART, FileRecord, RangeFileRef, RecordTable
from seedctl.drives.formats.manifest import BLOCK_BLOB, MAX_BLOCK_SIZE, PAGE_BLOB, CopiedBlob, StreamedBlob
from seedctl.drives.tables.staged import rel_paths

if TYPE_CHECKING:
    from seedctl.drives.tables.staged import StagedFile

_DONE, _LEGACY, _PAGE = 1, 2, 4  # flags: complete copy of this very source; an earlier seedctl's record; page blob
_EMPTY_MD5 = bytes.fromhex("d41d8cd98f00b204e9800998ecf8427e")
_NO_PARTS = b"\x00"  # kept for a file of some bytes and no parts (an all-zero page blob); never a part list


class DuplicateFile(ValueError):
    """The file list names one relative path twice."""


class DriveTable:
    """Per-file state of one drive's preparation, indexed like `files` (see the module doc).
    `page`: the blob type the spec wants (a record of the other type is not complete)."""

    __slots__ = ("files", "n", "page", "_md5", "_crc", "_dst", "_flags", "_parts", "_index", "_mask", "stale",
                 "_done_count", "sorted")

    def __init__(self, files: Sequence[StagedFile], *, page: bool = False) -> None:
        self.files = files
        self.n = n = len(files)
        self.page = page
        self._md5 = bytearray(16 * n)
        self._crc = array("Q", bytes(8 * n))
        self._dst = array("q", bytes(8 * n))
        self._flags = bytearray(n)
        self._parts: dict[int, bytes | RangeFileRef] = {}  # position -> parts, for files that are not one part
        self._index: array | None = None
        self._mask = 0
        self.stale = RecordTable()  # journal records of files not in the list
        self._done_count = 0
        # One pass over the paths: in strictly increasing order (the scan's order), no path can repeat,
        # so the duplicate check needs no index at all.
        prev: str | None = None
        ordered = True
        for rel in rel_paths(files):  # the packed paths of a scan's table: no StagedFile per file
            if prev is not None and not prev < rel:
                ordered = False
                break
            prev = rel
        self.sorted = ordered
        if not ordered:
            self._build_index()  # raises DuplicateFile

    # -- the index: rel path -> position -------------------------------------------------------
    def _build_index(self) -> None:
        """An open-addressing table of positions + 1 (0: empty slot), at most half full."""
        size = 8
        while size < 2 * self.n:
            size <<= 1
        mask = size - 1
        slots = array("i", bytes(4 * size)) if self.n < (1 << 31) - 1 else array("q", bytes(8 * size))
        files = self.files
        for i, f in enumerate(files):
            rel = f.rel_path
            s = hash(rel) & mask
            while (j := slots[s]):
                if files[j - 1].rel_path == rel:
                    raise DuplicateFile(rel)
                s = (s + 1) & mask
            slots[s] = i + 1
        self._index, self._mask = slots, mask

    def position(self, rel: str) -> int | None:
        """Where `rel` is in the file list, or None."""
        if self._index is None:
            self._build_index()
        slots, mask, files = self._index, self._mask, self.files
        s = hash(rel) & mask
        while (j := slots[s]):
            if files[j - 1].rel_path == rel:
                return j - 1
            s = (s + 1) & mask
        return None

    # -- the sink read_journal fills (a MutableMapping's __setitem__ and pop) -------------------
    def __setitem__(self, rel: str, record: FileRecord) -> None:
        i = self.position(rel)
        if i is None:
            self.stale[rel] = record
            return
        f = self.files[i]
        self._clear(i)
        if record.same_source(f.size, f.mtime_ns, f.blob_path, self.page):
            parts: bytes | RangeFileRef = record.range_file or record.parts()
            if record.legacy_record:
                self._set(i, False, 0, record.md5, record.dst_mtime_ns, parts, legacy=True)
            else:
                self._set(i, record.page, record.crc64 or 0, record.md5, record.dst_mtime_ns, parts)
        # else: the staging file (or the wanted blob type) changed since it was copied: it is copied
        # again (and overwrites this)

    def pop(self, rel: str, default: object = None) -> object:
        i = self.position(rel)
        if i is None:
            return self.stale.pop(rel, default)
        was = self._flags[i] & _DONE
        self._clear(i)
        return True if was else default

    def __contains__(self, rel: object) -> bool:
        if not isinstance(rel, str):
            return False
        i = self.position(rel)
        return rel in self.stale if i is None else bool(self._flags[i] & _DONE)

    def __len__(self) -> int:
        """Completed files the journal holds (kept or stale)."""
        return self._done_count + len(self.stale)

    # -- rows ----------------------------------------------------------------------------------
    def _clear(self, i: int) -> None:
        if self._flags[i] & _DONE:
            self._done_count -= 1
        self._flags[i] = 0
        self._parts.pop(i, None)

    def _set(self, i: int, page: bool, crc: int, md5: bytes, dst_mtime_ns: int, parts: bytes | RangeFileRef, *,
             legacy: bool = False) -> None:
        if len(md5) != 16:
            raise ValueError("an MD5 is not 16 bytes")
        if not self._flags[i] & _DONE:
            self._done_count += 1
        size = self.files[i].size
        if not isinstance(parts, RangeFileRef):
            if len(parts) == RANGE_PART.size:
                offset, length, one = RANGE_PART.unpack(parts)
                if offset == 0 and length == size:  # the common case: nothing kept apart
                    md5, parts = (md5 if legacy else one), b""
            elif not parts and size:
                parts = _NO_PARTS
        self._md5[16 * i:16 * i + 16] = md5
        self._crc[i] = crc
        self._dst[i] = dst_mtime_ns
        self._flags[i] = _DONE | (_LEGACY if legacy else 0) | (_PAGE if page else 0)
        if parts:
            self._parts[i] = parts
        else:
            self._parts.pop(i, None)

    def set_copied(self, i: int, *, page: bool, crc: int, dst_mtime_ns: int, parts: bytes | RangeFileRef) -> None:
        """File `i` was copied and journaled: its CRC-64 and its parts (packed RANGE_PART records, or
        where its range file is)."""
        md5 = parts[16:32] if isinstance(parts, (bytes, bytearray)) and len(parts) == RANGE_PART.size else _EMPTY_MD5
        self._set(i, page, crc, bytes(md5), dst_mtime_ns, parts)

    def forget(self, i: int) -> None:
        """Copy file `i` again (a repair): its journal record no longer counts as complete."""
        self._clear(i)

    def is_done(self, i: int) -> bool:
        return bool(self._flags[i] & _DONE)

    def md5(self, i: int) -> bytes:
        return bytes(self._md5[16 * i:16 * i + 16])

    def crc64(self, i: int) -> int | None:
        return None if self._flags[i] & _LEGACY else self._crc[i]

    def dst_mtime_ns(self, i: int) -> int:
        return self._dst[i]

    def parts(self, i: int) -> bytes | RangeFileRef:
        """File `i`'s parts: packed RANGE_PART records, or where its range file is."""
        kept = self._parts.get(i)
        if isinstance(kept, RangeFileRef):
            return kept
        if kept == _NO_PARTS:
            return b""
        if kept is not None:
            return kept
        size = self.files[i].size
        return RANGE_PART.pack(0, size, self.md5(i)) if size else b""

    def range_files(self) -> Iterator[RangeFileRef]:
        """The range files this table's completed files use (the stale ones' too)."""
        for kept in self._parts.values():
            if isinstance(kept, RangeFileRef):
                yield kept
        for rel in self.stale:
            ref = self.stale[rel].range_file
            if ref is not None:
                yield ref

    def digest_text(self, i: int) -> str:
        """As FileRecord.digest_text: the CRC-64 and blob type, or a legacy record's whole-file MD5."""
        flags = self._flags[i]
        if flags & _LEGACY:
            return self._md5[16 * i:16 * i + 16].hex().upper()
        return f"{self._crc[i]:016X}{'P' if flags & _PAGE else 'B'}"

    def digest_pairs(self) -> Iterator[tuple[str, str]]:
        """(rel path, digest text) of every file, in file order (for the manifest's file-set digest)."""
        return ((f.rel_path, self.digest_text(i)) for i, f in enumerate(self.files))

    def manifest_blobs(self, file_path: Callable[[str], str],
                       range_file: Callable[[RangeFileRef], Iterable[bytes]]) -> Iterator[CopiedBlob | StreamedBlob]:
        """The manifest's blobs, one at a time (the streamed writer never holds them all), from the raw
        digests: no object per block or range, no hex round trip. `range_file(ref)` reads a large
        file's parts from the drive, a piece at a time."""
        md5s, crcs, flags = self._md5, self._crc, self._flags
        for i, f in enumerate(self.files):
            flag = flags[i]
            kept = self._parts.get(i)
            if flag & _LEGACY:  # an earlier seedctl's block blob: its whole-file MD5 in ClientData
                if kept is None:
                    yield CopiedBlob(f.blob_path, file_path(f.rel_path), f.size, md5s[16 * i:16 * i + 16],
                                     MAX_BLOCK_SIZE)
                else:
                    assert isinstance(kept, bytes)
                    blocks = b"".join(m for _, _, m in RANGE_PART.iter_unpack(kept))
                    yield CopiedBlob(f.blob_path, file_path(f.rel_path), f.size, md5s[16 * i:16 * i + 16],
                                     RANGE_PART.unpack_from(kept)[1], blocks)
            elif kept is None and not flag & _PAGE:
                yield CopiedBlob(f.blob_path, file_path(f.rel_path), f.size, md5s[16 * i:16 * i + 16],
                                 MAX_BLOCK_SIZE, b"", crcs[i])
            else:
                parts = self.parts(i)
                source = range_file(parts) if isinstance(parts, RangeFileRef) else parts
                yield StreamedBlob(f.blob_path, file_path(f.rel_path), f.size, crcs[i],
                                   PAGE_BLOB if flag & _PAGE else BLOCK_BLOB, source)

    def done_positions(self) -> Iterator[int]:
        flags = self._flags
        return (i for i in range(self.n) if flags[i])

    def all_done(self) -> bool:
        return self._done_count == self.n

    @property
    def flags(self) -> bytearray:
        return self._flags

    def __repr__(self) -> str:
        return f"DriveTable({self.n:,} files, {self._done_count:,} complete, {len(self.stale):,} stale)"
