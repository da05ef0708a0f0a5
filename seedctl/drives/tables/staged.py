"""The staged files of a scan, packed: about 55 bytes a file instead of about 335.

A scan of a million files is held for the whole of a plan and of a drive's preparation. As a tuple
of `StagedFile` tuples it cost a tuple, three strings and two ints per file (about 335 bytes, most of a
1M-file plan's 466 MB). `StagedTable` keeps the relative paths as one UTF-8 text (NUL between paths),
their end offsets, sizes and mtimes in arrays, and makes a `StagedFile` only when one is asked for;
the blob path is derived from the one prefix every file shares.

`StagedTable` and `StagedView` (a subset of a table, e.g. one drive's allocation) are immutable
`Sequence[StagedFile]`s in scan order, which is sorted by relative path.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, islice
from operator import add
from typing import NamedTuple, overload

_ENCODING, _ERRORS = "utf-8", "surrogateescape"
_CHUNK = 4096  # paths decoded at a time when iterating


class StagedFile(NamedTuple):
    """One staged file (made on access from a `StagedTable`)."""

    rel_path: str  # POSIX form, relative to the staging root
    size: int
    mtime_ns: int
    blob_path: str  # container/prefix/rel_path


def _little_endian(values: array) -> bytes:
    if sys.byteorder == "little":
        return values.tobytes()
    swapped = array(values.typecode, values)
    swapped.byteswap()
    return swapped.tobytes()


class _Listing:
    """The digest of a listing: (path, size, mtime) of every file, in order, without ambiguity.

    Three streams hashed apart and combined: the paths with a NUL after each (no file name can hold
    NUL), the sizes and the mtimes as little-endian 64-bit integers. A table hashes its packed
    arrays in three calls; any other sequence of files streams into the same digest."""

    def __init__(self) -> None:
        self.paths, self.sizes, self.mtimes = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()

    def hexdigest(self) -> str:
        return hashlib.sha256(self.paths.digest() + self.sizes.digest() + self.mtimes.digest()).hexdigest()[:24]


class _StagedSequence(Sequence[StagedFile]):
    """What a table and a view share: indexing (a slice is a view), equality with any sequence of
    StagedFile, no hash. Subclasses give `_file(i)` (i may be negative) and `_sliced(s)`."""

    __slots__ = ()

    @overload
    def __getitem__(self, index: int) -> StagedFile: ...

    @overload
    def __getitem__(self, index: slice) -> StagedView: ...

    def __getitem__(self, index: int | slice) -> StagedFile | StagedView:
        return self._sliced(index) if isinstance(index, slice) else self._file(index)

    def _file(self, index: int) -> StagedFile:
        raise NotImplementedError

    def _sliced(self, index: slice) -> StagedView:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (_StagedSequence, tuple, list)):
            return NotImplemented
        return len(self) == len(other) and all(x == y for x, y in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to lists and tuples, which are not hashable


class StagedTable(_StagedSequence):
    """Every staged file of a scan, packed (see the module doc). Build with `StagedTableBuilder`."""

    __slots__ = ("_text", "_ends", "_sizes", "_mtimes", "_blob_prefix")

    def __init__(self, text: bytes, ends: array, sizes: array, mtimes: array, blob_prefix: str) -> None:
        self._text = text  # every rel path, UTF-8 (surrogateescape), a NUL after each
        self._ends = ends  # offset of each path's NUL in _text
        self._sizes = sizes
        self._mtimes = mtimes
        self._blob_prefix = blob_prefix  # "container/" or "container/prefix/"

    @classmethod
    def from_files(cls, files: Iterable[StagedFile], blob_prefix: str | None = None) -> StagedTable:
        """A table of `files` (any iterable of StagedFile, kept in its order)."""
        builder: StagedTableBuilder | None = None
        for f in files:
            if builder is None:
                prefix = blob_prefix if blob_prefix is not None else f.blob_path[:len(f.blob_path) - len(f.rel_path)]
                builder = StagedTableBuilder(prefix)
            if f.blob_path != builder.blob_prefix + f.rel_path:
                raise ValueError(f"{f.rel_path!r}: blob path {f.blob_path!r} does not share the table's prefix "
                                 f"{builder.blob_prefix!r}")
            builder.add_one(f.rel_path, f.size, f.mtime_ns)
        return (builder or StagedTableBuilder(blob_prefix or "")).build()

    # -- Sequence --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ends)

    def _sliced(self, index: slice) -> StagedView:
        return StagedView(self, range(len(self))[index])

    def _file(self, index: int) -> StagedFile:
        if index < 0:
            index += len(self._ends)
        if not 0 <= index < len(self._ends):
            raise IndexError("staged file index out of range")
        rel = self.rel_path(index)
        return StagedFile(rel, self._sizes[index], self._mtimes[index], self._blob_prefix + rel)

    def __iter__(self) -> Iterator[StagedFile]:
        prefix = self._blob_prefix
        return map(StagedFile, self.rel_paths(), self._sizes, self._mtimes, map(prefix.__add__, self.rel_paths()))

    def __repr__(self) -> str:
        return f"StagedTable({len(self):,} files, {self.total_bytes:,} bytes)"

    # -- packed access ---------------------------------------------------------------------------
    @property
    def blob_prefix(self) -> str:
        return self._blob_prefix

    @property
    def sizes(self) -> array:
        """Each file's size in bytes, in order (the table's own array: read it, do not change it)."""
        return self._sizes

    @property
    def total_bytes(self) -> int:
        return sum(self._sizes)

    def rel_path(self, index: int) -> str:
        start = self._ends[index - 1] + 1 if index else 0
        return self._text[start:self._ends[index]].decode(_ENCODING, _ERRORS)

    def rel_paths(self, start: int = 0, stop: int | None = None) -> Iterator[str]:
        """The relative paths of files start..stop, decoded a chunk at a time (no str per call)."""
        stop = len(self._ends) if stop is None else stop
        ends, text = self._ends, self._text
        for first in range(start, stop, _CHUNK):
            last = min(first + _CHUNK, stop) - 1
            begin = ends[first - 1] + 1 if first else 0
            yield from text[begin:ends[last]].decode(_ENCODING, _ERRORS).split("\0")

    def columns(self) -> Iterator[tuple[str, int, int]]:
        """(rel path, size, mtime_ns) of every file, without making a StagedFile for each."""
        return zip(self.rel_paths(), self._sizes, self._mtimes, strict=True)

    def listing_digest(self) -> str:
        listing = _Listing()
        listing.paths.update(self._text)
        listing.sizes.update(_little_endian(self._sizes))
        listing.mtimes.update(_little_endian(self._mtimes))
        return listing.hexdigest()

    def select(self, indexes: Sequence[int]) -> StagedView:
        """The files at `indexes` (ascending), as a view of this table."""
        return StagedView(self, indexes)


class StagedView(_StagedSequence):
    """Some files of a `StagedTable` (ascending indexes: still in scan order), e.g. one drive's share.

    A contiguous share is a `range` (no memory per file); any other an array of 8-byte indexes."""

    __slots__ = ("_table", "_indexes")

    def __init__(self, table: StagedTable, indexes: Sequence[int]) -> None:
        self._table = table
        if isinstance(indexes, range) and indexes.step != 1 and len(indexes) > 1:
            indexes = array("q", indexes)
        elif not isinstance(indexes, range):
            if len(indexes) and indexes[-1] - indexes[0] + 1 == len(indexes):
                indexes = range(indexes[0], indexes[-1] + 1)  # contiguous: a range is free
            elif not isinstance(indexes, array):
                indexes = array("q", indexes)
        self._indexes = indexes

    def __len__(self) -> int:
        return len(self._indexes)

    def _sliced(self, index: slice) -> StagedView:
        return StagedView(self._table, self._indexes[index])

    def _file(self, index: int) -> StagedFile:
        return self._table[self._indexes[index]]

    def __iter__(self) -> Iterator[StagedFile]:
        indexes = self._indexes
        if isinstance(indexes, range):
            table = self._table
            prefix = table.blob_prefix
            sizes, mtimes = table._sizes, table._mtimes
            start, stop = indexes.start, indexes.stop
            # array slices (a copy of 16 bytes a file), not islice: islice would step over `start` items
            return map(StagedFile, table.rel_paths(start, stop), sizes[start:stop], mtimes[start:stop],
                       map(prefix.__add__, table.rel_paths(start, stop)))
        return map(self._table.__getitem__, indexes)

    def __repr__(self) -> str:
        return f"StagedView({len(self):,} of {len(self._table):,} files)"

    @property
    def total_bytes(self) -> int:
        sizes = self._table.sizes
        if isinstance(self._indexes, range):
            return sum(sizes[self._indexes.start:self._indexes.stop])
        return sum(map(sizes.__getitem__, self._indexes))

    def columns(self) -> Iterator[tuple[str, int, int]]:
        """(rel path, size, mtime_ns) of each file of the view, without making a StagedFile for each."""
        table, indexes = self._table, self._indexes
        if isinstance(indexes, range):
            start, stop = indexes.start, indexes.stop
            return zip(table.rel_paths(start, stop), table._sizes[start:stop], table._mtimes[start:stop], strict=True)
        return ((table.rel_path(i), table._sizes[i], table._mtimes[i]) for i in indexes)

    def rel_paths(self) -> Iterator[str]:
        if isinstance(self._indexes, range):
            return self._table.rel_paths(self._indexes.start, self._indexes.stop)
        return map(self._table.rel_path, self._indexes)


def columns(files: Sequence[StagedFile]) -> Iterator[tuple[str, int, int]]:
    """(rel path, size, mtime_ns) of each file: from the packed arrays for a table or a view (no
    StagedFile made per file), from the objects for any other sequence."""
    if isinstance(files, (StagedTable, StagedView)):
        return files.columns()
    return ((f.rel_path, f.size, f.mtime_ns) for f in files)


def rel_paths(files: Sequence[StagedFile]) -> Iterator[str]:
    """The relative path of each file, the same way as `columns`."""
    if isinstance(files, (StagedTable, StagedView)):
        return files.rel_paths()
    return (f.rel_path for f in files)


class StagedTableBuilder:
    """Collects files in their final order, a folder's run at a time (the scan's hot path)."""

    def __init__(self, blob_prefix: str) -> None:
        self.blob_prefix = blob_prefix
        self._parts: list[bytes] = []
        self._length = 0  # bytes in _parts so far
        self._ends = array("q")
        self._sizes = array("q")
        self._mtimes = array("q")

    def add_run(self, rel_prefix: str, names: Sequence[str], sizes: Iterable[int], mtimes: Iterable[int]) -> None:
        """Append the files `rel_prefix + name` (e.g. "a/b/" + "c.bin") of one folder, in order."""
        if not names:
            return
        sep = "\0" + rel_prefix
        text = rel_prefix + sep.join(names) + "\0"
        data = text.encode(_ENCODING, _ERRORS)
        step = len(rel_prefix) + 1  # the prefix and the NUL of every path
        if len(data) == len(text):  # ASCII: byte offsets are character offsets
            lengths: Iterable[int] = map(len, names)
        else:
            step = len(rel_prefix.encode(_ENCODING, _ERRORS)) + 1
            lengths = (len(n.encode(_ENCODING, _ERRORS)) for n in names)
        # end of path i = base + (i + 1) * step - 1 + (name lengths up to i): all C-level iteration
        base = self._length - 1
        self._ends.extend(map(add, accumulate(lengths), range(base + step, base + step * (len(names) + 1), step)))
        self._parts.append(data)
        self._length += len(data)
        self._sizes.extend(sizes)
        self._mtimes.extend(mtimes)

    def add_one(self, rel_path: str, size: int, mtime_ns: int) -> None:
        self.add_run("", (rel_path,), (size,), (mtime_ns,))

    def build(self) -> StagedTable:
        if not (len(self._ends) == len(self._sizes) == len(self._mtimes)):
            raise ValueError("staged table: paths, sizes and mtimes differ in number")
        return StagedTable(b"".join(self._parts), self._ends, self._sizes, self._mtimes, self.blob_prefix)


def listing_digest(files: Iterable[StagedFile]) -> str:
    """A short digest of (path, size, mtime) of every file, in order (see `_Listing`). A table
    hashes its packed arrays directly; other sequences stream in batches (no per-file list)."""
    if isinstance(files, StagedTable):
        return files.listing_digest()
    listing = _Listing()
    it = iter(files)
    while batch := list(islice(it, _CHUNK)):
        listing.paths.update("".join(f"{f.rel_path}\0" for f in batch).encode(_ENCODING, _ERRORS))
        listing.sizes.update(_little_endian(array("q", (f.size for f in batch))))
        listing.mtimes.update(_little_endian(array("q", (f.mtime_ns for f in batch))))
    return listing.hexdigest()


__all__ = ["StagedFile", "StagedTable", "StagedTableBuilder", "StagedView", "columns", "listing_digest", "rel_paths"]
