"""What one drive's preparation knows per file, in columns indexed like the file list (issue 17).

`prepare_drive` holds one row for every file allocated to the drive while it copies and writes the
manifest: a million of them on a full drive. A dict of rel path -> record bytes cost about 130 bytes a
file plus a string per path; here the file list (the scan's compact table) is the key, so a row is
its position in that list and costs 25 bytes: the whole-file MD5 (16), the copy's mtime on the drive
(8) and a flag. Block MD5s are kept only for files of more than one block (few, and large).

The table is also the sink `read_journal` fills on resume: a journal record is filed under its
file's position, found through a compact hash index (an `array` of positions, open addressing,
built only when a journal has file records); the rel path strings are never held. Records for files
no longer in the list ("stale": to be removed from the drive) are kept apart, as `FileRecord`s.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from seedctl.drives.formats.journal import FileRecord, RecordTable
from seedctl.drives.tables.staged import rel_paths

if TYPE_CHECKING:
    from seedctl.drives.tables.staged import StagedFile

_DONE = 1  # flag: the journal holds a complete copy of this very source (size, mtime, blob path)


class DuplicateFile(ValueError):
    """The file list names one relative path twice."""


class DriveTable:
    """Per-file state of one drive's preparation, indexed like `files` (see the module doc)."""

    __slots__ = ("files", "n", "_md5", "_dst", "_flags", "_blocks", "_index", "_mask", "stale", "_done_count",
                 "sorted")

    def __init__(self, files: Sequence[StagedFile]) -> None:
        self.files = files
        self.n = n = len(files)
        self._md5 = bytearray(16 * n)
        self._dst = array("q", bytes(8 * n))
        self._flags = bytearray(n)
        self._blocks: dict[int, tuple[int, bytes]] = {}  # position -> (block size, block MD5s), multi-block only
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
        if record.same_source(f.size, f.mtime_ns, f.blob_path):
            digests = record.block_digests()
            md5 = record.md5
            self._set(i, md5, record.dst_mtime_ns, record.block_size,
                      b"" if digests in ([], [md5]) else b"".join(digests))
        # else: the staging file changed since it was copied: it is copied again (and overwrites this)

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
        self._blocks.pop(i, None)

    def _set(self, i: int, md5: bytes, dst_mtime_ns: int, block_size: int, blocks: bytes) -> None:
        if len(md5) != 16:
            raise ValueError("an MD5 is not 16 bytes")
        if not self._flags[i] & _DONE:
            self._done_count += 1
        self._md5[16 * i:16 * i + 16] = md5
        self._dst[i] = dst_mtime_ns
        self._flags[i] = _DONE
        if blocks:
            self._blocks[i] = (block_size, blocks)
        else:
            self._blocks.pop(i, None)

    def set_copied(self, i: int, md5: bytes, dst_mtime_ns: int, block_size: int, blocks: bytes) -> None:
        """File `i` was copied and journaled; `blocks`: its block MD5s when it has more than one block."""
        self._set(i, md5, dst_mtime_ns, block_size, blocks)

    def forget(self, i: int) -> None:
        """Copy file `i` again (a repair): its journal record no longer counts as complete."""
        self._clear(i)

    def is_done(self, i: int) -> bool:
        return bool(self._flags[i] & _DONE)

    def md5(self, i: int) -> bytes:
        return bytes(self._md5[16 * i:16 * i + 16])

    def dst_mtime_ns(self, i: int) -> int:
        return self._dst[i]

    def blocks(self, i: int) -> tuple[int, bytes] | None:
        """(block size, the block MD5s joined) for a file of more than one block, else None."""
        return self._blocks.get(i)

    def done_positions(self) -> Iterator[int]:
        flags = self._flags
        return (i for i in range(self.n) if flags[i])

    def all_done(self) -> bool:
        return self._done_count == self.n

    @property
    def md5_column(self) -> bytearray:
        """Every file's MD5, 16 bytes each, in file order (read it, do not change it)."""
        return self._md5

    @property
    def flags(self) -> bytearray:
        return self._flags

    def __repr__(self) -> str:
        return f"DriveTable({self.n:,} files, {self._done_count:,} complete, {len(self.stale):,} stale)"

