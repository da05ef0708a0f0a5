"""The on-drive journal: an append-only, fsynced record of what is complete on this drive.

One JSON object per line, each carrying a CRC-32 of itself, so a torn or edited line is detected.
Only the last line may be torn (a crash while appending): it is ignored and cut off before the next
append. Anything else that does not parse is an error naming the journal and the line.

Records:
  begin     {owner, serial}: written once; binds the drive to one spec (owner id) and one serial
  file      a completed file: its staging identity (rel path, size, mtime_ns), where it went
            (blob path, file path on the drive, the drive copy's mtime_ns), whole-file MD5 and the
            MD5 of every block, so the manifest can be rebuilt without re-reading anything
  pending   files about to be renamed into place (written before the renames): a file listed in the
            last pending record without a later file record was in flight at a crash, and is redone
  removed   a file deleted from the drive because it is no longer allocated to it
  manifest  the manifest was written with this hash (and size, mtime) for exactly these files
Later records win: a re-copied file's newer record replaces the older one.
The journal is locked (flock) while a process appends, so two runs never write one drive at once.
"""

from __future__ import annotations

import json
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple, Protocol

from seedctl.drives.formats.layout import (
    _SAFE_REL,
    JOURNAL_NAME,
    SEEDCTL_DIR,
    check_own_folder,
    journal_path,
    rel_path_problem,
)
from seedctl.errors import DriveError
from seedctl.safefs import Tree, UnsafeEntry

JOURNAL_VERSION = 2  # 2: CRC-64s, page blobs, checkpoints (issue 22); 1 (an earlier seedctl) is still read
READ_VERSIONS = (1, 2)
MAX_LINE = 8 * 1024 * 1024  # a legacy file record of 50,000 blocks is ~1.8 MB; anything longer is not ours
MAX_BLOCK_SIZE = 4 * 1024 * 1024  # as manifest.MAX_BLOCK_SIZE (not imported: manifest imports nothing of ours)
MAX_BLOCKS = 50_000
_INT64 = (-(1 << 63), (1 << 63) - 1)
_HEX32 = re.compile(r"[0-9A-Fa-f]{32}")
_CRC_PREFIX = b'{"c":'
_json_decode = json.JSONDecoder().decode
_BODY_MARK = b',"r":'


class JournalError(DriveError):
    """The journal is unreadable, belongs to someone else, or disagrees with the drive."""


# One record per file is held for every completed file of a drive (a million of them at most), so
# the record is one bytes object: the integers, the CRC-64 and one MD5, the parts (page ranges or
# blocks) only when a file is not the common "one part covering the whole file" (whose MD5 is the
# MD5 field), and the blob path as an index into a table of shared prefixes ("backup/seed1/" + the
# relative path). `RecordTable` keeps only those bytes per file (about 130 bytes with its dict entry,
# where a dataclass of strings took about 1 KiB) and hands out `FileRecord` views.
#
# A file copied through the resumable path (larger than a commit group) keeps its parts in a range
# file on the drive (`.seedctl/ranges/<token>`, `RANGE_PART` records), named by the record: a
# 2 TB page blob has about 500,000 ranges, which neither a journal line nor memory should hold.
_PACK = struct.Struct("<qqqQHB16s")  # size, mtime_ns, dst_mtime_ns, crc64, head index, flags, md5
_LEGACY, _FULL_BLOB, _PAGE, _PARTS, _RANGE_FILE = 1, 2, 4, 8, 16  # flags
_COUNT = struct.Struct("<I")  # how many inline parts follow (with _PARTS)
_REF = struct.Struct("<16sqQ")  # range file: token, parts, CRC-64 of its bytes (with _RANGE_FILE)
RANGE_PART = struct.Struct("<qq16s")  # a part: offset, length, raw MD5 (manifest.PART, not imported)
MAX_INLINE_PARTS = 64  # a commit group's file (<= 32 MiB) has at most 8; more is not ours
_HEAD_LIST: list[str] = []  # shared blob-path prefixes, by index
_HEAD_INDEX: dict[str, int] = {}
_NO_HEAD = 0xFFFF
_EMPTY_MD5 = bytes.fromhex("d41d8cd98f00b204e9800998ecf8427e")
_TOKEN = re.compile(r"[0-9a-f]{32}")
PAGE, BLOCK = "page", "block"  # the journal's words for the two blob types (staging.blob_type)


class RangeFileRef(NamedTuple):
    """Where a file's parts are kept on the drive: `.seedctl/ranges/<token>`, `parts` RANGE_PART
    records whose bytes have CRC-64 `crc`."""

    token: str  # 32 lower-case hex digits (random: never a name someone could plant in advance)
    parts: int
    crc: int


def _fp(rel_path: str) -> str:
    """layout.drive_file_path for a checked relative path (no '.', '..' or empty segments), without
    the PurePosixPath round trip: it is computed once per record."""
    return "\\seed\\" + rel_path.replace("/", "\\")


def _n_blocks(size: int, block_size: int) -> int:
    return -(-size // block_size)


def _pack(rel_path: str, blob_path: str, size: int, mtime_ns: int, dst_mtime_ns: int, crc64: int, flags: int,
          md5: bytes, tail: bytes) -> bytes:
    head = _NO_HEAD
    if blob_path.endswith(rel_path) and len(blob_path) > len(rel_path):
        prefix = blob_path[:-len(rel_path)]
        head = _HEAD_INDEX.get(prefix, _NO_HEAD)
        if head == _NO_HEAD and len(_HEAD_LIST) < _NO_HEAD:
            head = _HEAD_INDEX[prefix] = len(_HEAD_LIST)
            _HEAD_LIST.append(prefix)
    if head == _NO_HEAD:
        flags |= _FULL_BLOB
        tail += blob_path.encode("utf-8")
    return _PACK.pack(size, mtime_ns, dst_mtime_ns, crc64, head, flags, md5) + tail


def _parts_form(size: int, parts: bytes, legacy_md5: bytes | None = None) -> tuple[int, bytes, bytes]:
    """(flags, MD5 field, tail) for a file's packed parts: the common "one part covering the whole
    file" keeps its MD5 in the MD5 field and no tail; an empty file no parts at all."""
    if len(parts) % RANGE_PART.size:
        raise ValueError("a part list is a whole number of 32-byte parts")
    if legacy_md5 is not None:
        if len(parts) == RANGE_PART.size and RANGE_PART.unpack(parts)[2] == legacy_md5 and \
                RANGE_PART.unpack(parts)[:2] == (0, size):
            return _LEGACY, legacy_md5, b""
        if not parts and size == 0:
            return _LEGACY, legacy_md5, b""
        return _LEGACY | _PARTS, legacy_md5, _COUNT.pack(len(parts) // RANGE_PART.size) + parts
    if len(parts) == RANGE_PART.size:
        offset, length, md5 = RANGE_PART.unpack(parts)
        if offset == 0 and length == size:
            return 0, md5, b""
    if not parts and size == 0:
        return 0, _EMPTY_MD5, b""
    return _PARTS, _EMPTY_MD5, _COUNT.pack(len(parts) // RANGE_PART.size) + parts


def parts_problem(page: bool, size: int, parts: bytes) -> str | None:
    """Why packed parts cannot be the page ranges (page) or blocks (block) of a file of `size` bytes:
    ranges 512-aligned, 512 B .. 4 MiB, ordered, inside the file; blocks contiguous from 0, 1 B ..
    4 MiB, covering the file, at most 50,000. The journal checks what it reads with it."""
    end = count = 0
    for offset, length, _ in RANGE_PART.iter_unpack(parts):
        if page:
            if offset % 512 or length % 512 or not 0 < length <= MAX_BLOCK_SIZE:
                return f"page range at {offset} (length {length}) is not 512-aligned or not 512 B .. 4 MiB"
            if offset < end or offset + length > size:
                return f"page range at {offset} (length {length}) overlaps, is out of order or ends past the file"
        elif offset != end or not 0 < length <= MAX_BLOCK_SIZE:
            return f"block at {offset} (length {length}) leaves a gap or is not 1 B .. 4 MiB"
        end = offset + length
        count += 1
    if not page and (end != size or count > MAX_BLOCKS):
        return f"blocks cover {end:,} of {size:,} bytes in {count:,} blocks (at most {MAX_BLOCKS:,})"
    return None


class FileRecord:
    """A completed file: its staging identity, where it went, its blob type, whole-file CRC-64 and
    parts (page ranges or blocks, each with its MD5), inline or in a range file on the drive.

    A record an earlier seedctl wrote (journal version 1: block blobs, whole-file MD5, no CRC-64) is
    read as a `legacy` record: `crc64` is None and `md5` is the whole-file MD5."""

    __slots__ = ("rel_path", "_packed")

    def __init__(self, rel_path: str, blob_path: str, size: int, mtime_ns: int, dst_mtime_ns: int, *, page: bool,
                 crc64: int, parts: bytes = b"", range_file: RangeFileRef | None = None) -> None:
        if rel_path_problem(rel_path) is not None:
            raise ValueError(f"{rel_path!r} is not a path on a drive: {rel_path_problem(rel_path)}")
        if not 0 <= crc64 < 1 << 64:
            raise ValueError("a CRC-64 is an unsigned 64-bit number")
        if page and size % 512:
            raise ValueError(f"a page blob's size is a multiple of 512, not {size}")
        if range_file is not None:
            if parts or not _TOKEN.fullmatch(range_file.token):
                raise ValueError("a range file's token is 32 lower-case hex digits, and no inline parts")
            flags, md5, tail = _RANGE_FILE, _EMPTY_MD5, _REF.pack(bytes.fromhex(range_file.token), range_file.parts,
                                                                  range_file.crc)
        else:
            if len(parts) // RANGE_PART.size > MAX_INLINE_PARTS:
                raise ValueError(f"more than {MAX_INLINE_PARTS} parts inline: keep them in a range file")
            problem = parts_problem(page, size, parts)
            if problem:
                raise ValueError(problem)
            flags, md5, tail = _parts_form(size, parts)
        self.rel_path = rel_path
        self._packed = _pack(rel_path, blob_path, size, mtime_ns, dst_mtime_ns, crc64, flags | (_PAGE if page else 0),
                             md5, tail)

    @classmethod
    def legacy(cls, rel_path: str, blob_path: str, file_path: str, size: int, mtime_ns: int, md5_hex: str,
               block_size: int, block_md5s: tuple[str, ...] | list[str], dst_mtime_ns: int) -> FileRecord:
        """A record of journal version 1 (an earlier seedctl): a block blob with its whole-file MD5."""
        if file_path != _fp(rel_path) or rel_path_problem(rel_path) is not None:
            raise ValueError(f"file path {file_path!r} is not where {rel_path!r} goes on a drive")
        md5 = bytes.fromhex(md5_hex)
        blocks = [bytes.fromhex(b) for b in block_md5s]
        if len(md5) != 16 or any(len(b) != 16 for b in blocks):
            raise ValueError("an MD5 is not 16 bytes")
        if len(block_md5s) != _n_blocks(size, block_size):
            raise ValueError(f"{len(block_md5s)} block MD5s for {size} bytes in blocks of {block_size}")
        parts = b"".join(RANGE_PART.pack(i * block_size, min(block_size, size - i * block_size), b)
                         for i, b in enumerate(blocks))
        flags, md5, tail = _parts_form(size, parts, md5)
        return cls._view(rel_path, _pack(rel_path, blob_path, size, mtime_ns, dst_mtime_ns, 0, flags, md5, tail))

    @classmethod
    def _view(cls, rel_path: str, packed: bytes) -> FileRecord:
        self = object.__new__(cls)
        self.rel_path = rel_path
        self._packed = packed
        return self

    def _flags(self) -> int:
        return self._packed[_PACK.size - 17]

    def _tail_start(self) -> int:
        flags = self._flags()
        if flags & _PARTS:
            return _PACK.size + _COUNT.size + RANGE_PART.size * _COUNT.unpack_from(self._packed, _PACK.size)[0]
        if flags & _RANGE_FILE:
            return _PACK.size + _REF.size
        return _PACK.size

    @property
    def blob_path(self) -> str:
        head = _PACK.unpack_from(self._packed)[4]
        if self._flags() & _FULL_BLOB:
            return self._packed[self._tail_start():].decode("utf-8")
        return _HEAD_LIST[head] + self.rel_path

    @property
    def file_path(self) -> str:
        return _fp(self.rel_path)

    @property
    def size(self) -> int:
        return _PACK.unpack_from(self._packed)[0]

    @property
    def mtime_ns(self) -> int:
        return _PACK.unpack_from(self._packed)[1]

    @property
    def dst_mtime_ns(self) -> int:
        return _PACK.unpack_from(self._packed)[2]

    @property
    def page(self) -> bool:
        return bool(self._flags() & _PAGE)

    @property
    def legacy_record(self) -> bool:
        return bool(self._flags() & _LEGACY)

    @property
    def crc64(self) -> int | None:
        """The whole file's Azure CRC-64; None for a record an earlier seedctl wrote."""
        return None if self._flags() & _LEGACY else _PACK.unpack_from(self._packed)[3]

    @property
    def md5(self) -> bytes:
        """The MD5 field: the one part's MD5 (the whole file's, when one part covers it); for a legacy
        record the whole-file MD5."""
        return self._packed[_PACK.size - 16:_PACK.size]

    @property
    def range_file(self) -> RangeFileRef | None:
        if not self._flags() & _RANGE_FILE:
            return None
        token, parts, crc = _REF.unpack_from(self._packed, _PACK.size)
        return RangeFileRef(token.hex(), parts, crc)

    def parts(self) -> bytes:
        """The packed parts (RANGE_PART records); ValueError for a file whose parts are in a range file."""
        flags = self._flags()
        if flags & _RANGE_FILE:
            raise ValueError(f"{self.rel_path}: its parts are in a range file")
        if flags & _PARTS:
            count = _COUNT.unpack_from(self._packed, _PACK.size)[0]
            start = _PACK.size + _COUNT.size
            return self._packed[start:start + RANGE_PART.size * count]
        size = self.size
        return RANGE_PART.pack(0, size, self.md5) if size else b""

    def digest_text(self) -> str:
        """The file's digest in the manifest record's file-set digest: the CRC-64 and blob type, or
        the whole-file MD5 of a legacy record (so a drive an earlier seedctl finished keeps its
        file-set digest, and its manifest is not rewritten)."""
        if self._flags() & _LEGACY:
            return self.md5.hex().upper()
        return f"{_PACK.unpack_from(self._packed)[3]:016X}{'P' if self.page else 'B'}"

    def same_source(self, size: int, mtime_ns: int, blob_path: str, page: bool | None = None) -> bool:
        """The record is of this staging file (and, when `page` is given, of this blob type)."""
        got_size, got_mtime = _PACK.unpack_from(self._packed)[:2]
        return (got_size == size and got_mtime == mtime_ns and self.blob_path == blob_path
                and (page is None or self.page == page))

    def to_json(self) -> dict:
        rec = {"t": "file", "rel": self.rel_path, "blob": self.blob_path, "fp": self.file_path, "size": self.size,
               "mtime_ns": self.mtime_ns, "dst_mtime_ns": self.dst_mtime_ns}
        if self._flags() & _LEGACY:
            parts = list(RANGE_PART.iter_unpack(self.parts()))
            bs = parts[0][1] if len(parts) > 1 else max(self.size, MAX_BLOCK_SIZE)
            return {**rec, "md5": self.md5.hex().upper(), "bs": bs, "blocks": [m.hex().upper() for _, _, m in parts]}
        rec.update({"type": PAGE if self.page else BLOCK, "crc": self.crc64})
        ref = self.range_file
        if ref is not None:
            rec["ranges"] = {"f": ref.token, "n": ref.parts, "c": ref.crc}
        else:
            rec["parts"] = [[o, n, m.hex().upper()] for o, n, m in RANGE_PART.iter_unpack(self.parts())]
        return rec

    @classmethod
    def from_json(cls, rec: dict) -> FileRecord:
        """A validated record (ValueError saying which field is wrong)."""
        problem = _file_problem(rec)
        if problem:
            raise ValueError(problem)
        return cls._checked(rec)

    @classmethod
    def _checked(cls, rec: dict) -> FileRecord:
        """From a journal record that passed `_file_problem`."""
        if "crc" not in rec:
            return cls.legacy(rec["rel"], rec["blob"], rec["fp"], rec["size"], rec["mtime_ns"], rec["md5"], rec["bs"],
                              rec["blocks"], rec["dst_mtime_ns"])
        page = rec["type"] == PAGE
        parts = rec.get("parts")
        if parts is not None and len(parts) == 1 and parts[0][0] == 0 and parts[0][1] == rec["size"]:
            # checked by _file_problem already: packed directly (a million of these on a full drive)
            return cls._view(rec["rel"], _pack(rec["rel"], rec["blob"], rec["size"], rec["mtime_ns"],
                                               rec["dst_mtime_ns"], rec["crc"], _PAGE if page else 0,
                                               bytes.fromhex(parts[0][2]), b""))
        if "ranges" in rec:
            ref = rec["ranges"]
            return cls(rec["rel"], rec["blob"], rec["size"], rec["mtime_ns"], rec["dst_mtime_ns"], page=page,
                       crc64=rec["crc"], range_file=RangeFileRef(ref["f"], ref["n"], ref["c"]))
        parts = b"".join(RANGE_PART.pack(o, n, bytes.fromhex(m)) for o, n, m in rec["parts"])
        return cls(rec["rel"], rec["blob"], rec["size"], rec["mtime_ns"], rec["dst_mtime_ns"], page=page,
                   crc64=rec["crc"], parts=parts)

    def _key(self) -> tuple:
        return self.rel_path, self.blob_path, _PACK.unpack_from(self._packed)[:4], self._flags() & ~_FULL_BLOB, \
            self.md5, self.range_file or self.parts()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FileRecord) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        kind = "legacy block" if self.legacy_record else (PAGE if self.page else BLOCK)
        return f"FileRecord(rel_path={self.rel_path!r}, blob_path={self.blob_path!r}, size={self.size}, {kind})"


class RecordTable(MutableMapping):
    """rel path -> FileRecord, storing one bytes object per file (records are views made on access).

    A dict of FileRecord objects would cost an object per file on top of its bytes; at a million files
    that is the difference between fitting the memory goal and not."""

    __slots__ = ("_packed",)

    def __init__(self, records: Iterable[FileRecord] = ()) -> None:
        self._packed: dict[str, bytes] = {r.rel_path: r._packed for r in records}

    def __getitem__(self, rel: str) -> FileRecord:
        return FileRecord._view(rel, self._packed[rel])

    def get(self, rel: str, default: FileRecord | None = None) -> FileRecord | None:  # type: ignore[override]
        packed = self._packed.get(rel)
        return default if packed is None else FileRecord._view(rel, packed)

    def __setitem__(self, rel: str, record: FileRecord) -> None:
        if record.rel_path != rel:
            raise KeyError(f"record for {record.rel_path!r} filed under {rel!r}")
        self._packed[record.rel_path] = record._packed  # the record's own string: shared with the scan

    def __delitem__(self, rel: str) -> None:
        del self._packed[rel]

    def __contains__(self, rel: object) -> bool:
        return rel in self._packed

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)

    def copy(self) -> RecordTable:
        table = RecordTable()
        table._packed = dict(self._packed)
        return table

    def __repr__(self) -> str:
        return f"RecordTable({len(self)} records)"


class RecordSink(Protocol):
    """Where `read_journal` files records: a RecordTable, or anything with these two operations."""

    def __setitem__(self, rel: str, record: FileRecord) -> None: ...

    def pop(self, rel: str, default: object = None) -> object: ...


@dataclass(frozen=True)
class ManifestRecord:
    manifest_hash: str
    files: int
    bytes: int
    fileset: str  # digest of the sorted (rel path, md5) list the manifest describes
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class PartRecord:
    """A checkpoint of a file in flight (a file larger than a commit group): its first `done` bytes
    are durable in `.seedctl/partial/<token>`, with CRC-64 `crc`, and its first `parts` parts are
    durable in `.seedctl/ranges/<token>` (whose bytes have CRC-64 `parts_crc`). `dst_mtime_ns` is
    set on the last checkpoint of a finished copy (the time it carries, set after it was closed):
    a crash between its rename into place and its file record is finished without reading it again."""

    rel_path: str
    blob_path: str
    size: int
    mtime_ns: int
    page: bool
    token: str
    done: int
    crc: int
    parts: int
    parts_crc: int
    dst_mtime_ns: int | None = None

    def to_json(self) -> dict:
        rec = {"t": "part", "rel": self.rel_path, "blob": self.blob_path, "size": self.size,
               "mtime_ns": self.mtime_ns, "type": PAGE if self.page else BLOCK, "tmp": self.token, "done": self.done,
               "crc": self.crc, "n": self.parts, "c": self.parts_crc}
        if self.dst_mtime_ns is not None:
            rec["dst_mtime_ns"] = self.dst_mtime_ns
        return rec

    def same_source(self, size: int, mtime_ns: int, blob_path: str, page: bool) -> bool:
        return (self.size, self.mtime_ns, self.blob_path, self.page) == (size, mtime_ns, blob_path, page)


@dataclass(frozen=True)
class JournalState:
    owner_id: str
    serial: str
    files: RecordTable  # rel path -> latest record (a MutableMapping)
    manifest: ManifestRecord | None  # None when files changed after the last manifest record
    torn_tail: bool  # the last line was cut short by a crash
    pending: frozenset[str] = frozenset()  # in flight at a crash: may exist on the drive, not complete
    length: int = 0  # bytes of the journal that were read (complete lines), to notice later appends
    unterminated: bool = False  # the last record is whole but lacks its newline
    size: int = 0  # the journal's size when read
    partials: dict[str, PartRecord] = field(default_factory=dict)  # rel -> its last checkpoint, not finished
    version: int = JOURNAL_VERSION  # of the begin record (1: written by an earlier seedctl)


_json_str = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) uses for a str


def _file_line(rel: str, blob: str, size: int, mtime_ns: int, dst_mtime_ns: int, page: bool, crc: int,
               parts: bytes | RangeFileRef) -> bytes:
    """`_encode` of a file record, byte for byte, without building and sorting a dict per file (the
    journal is written once per copied file: at 200k tiny files this was a tenth of the Python work).
    The keys are in json.dumps's sort_keys order."""
    if isinstance(parts, RangeFileRef):
        where = f'"ranges":{{"c":{parts.crc},"f":"{parts.token}","n":{parts.parts}}}'
        body = (f'{{"blob":{_json_str(blob)},"crc":{crc},"dst_mtime_ns":{dst_mtime_ns},"fp":{_json_str(_fp(rel))},'
                f'"mtime_ns":{mtime_ns},{where},"rel":{_json_str(rel)},"size":{size},"t":"file",'
                f'"type":"{PAGE if page else BLOCK}"}}').encode()
    else:
        listed = ",".join(f'[{o},{n},"{m.hex().upper()}"]' for o, n, m in RANGE_PART.iter_unpack(parts))
        body = (f'{{"blob":{_json_str(blob)},"crc":{crc},"dst_mtime_ns":{dst_mtime_ns},"fp":{_json_str(_fp(rel))},'
                f'"mtime_ns":{mtime_ns},"parts":[{listed}],"rel":{_json_str(rel)},"size":{size},"t":"file",'
                f'"type":"{PAGE if page else BLOCK}"}}').encode()
    return b'{"c":%d,"r":%s}\n' % (zlib.crc32(body), body)


def _encode(rec: dict) -> bytes:
    body = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    # the same bytes as json.dumps({"c": crc, "r": rec}, sort_keys=True, ...): "c" sorts before "r"
    return b'{"c":%d,"r":%s}\n' % (zlib.crc32(body), body)


def _decode(line: bytes) -> dict | None:
    """The record of one line (without its newline), or None when the line is corrupt.

    The CRC covers the record's bytes exactly as written, so it is checked on the bytes themselves;
    the record is parsed once (re-serialising it to check the CRC cost a second pass per record)."""
    if not line.startswith(_CRC_PREFIX) or not line.endswith(b"}"):
        return None
    mark = line.find(_BODY_MARK, len(_CRC_PREFIX))
    digits = line[len(_CRC_PREFIX):mark]
    if mark < 0 or not digits.isdigit() or len(digits) > 10:
        return None
    body = line[mark + len(_BODY_MARK):-1]
    if zlib.crc32(body) != int(digits):
        return None
    try:
        rec = _json_decode(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return rec if isinstance(rec, dict) else None


def fileset_digest(pairs: Iterable[tuple[str, str]], *, presorted: bool = False) -> str:
    """CRC-32 of the sorted "rel<TAB>md5" lines joined by newlines, computed in pieces (a million
    files would otherwise build a 100 MB string). `presorted`: the pairs come in order already."""
    crc = 0
    first = True
    piece: list[str] = []
    for r, m in (pairs if presorted else sorted(pairs)):
        piece.append(f"{r}\t{m}" if first else f"\n{r}\t{m}")
        first = False
        if len(piece) >= 4096:
            crc = zlib.crc32("".join(piece).encode("utf-8"), crc)
            piece = []
    if piece:
        crc = zlib.crc32("".join(piece).encode("utf-8"), crc)
    return format(crc, "08x")


# --- the schema: every field of every record is checked before it is used ---------------------

def _int_problem(rec: dict, key: str, low: int = _INT64[0]) -> str | None:
    value = rec.get(key)
    if type(value) is int and low <= value <= _INT64[1]:
        return None
    if type(value) is not int:  # bool is an int subclass; a journal never holds one
        return f"field {key!r} is {_kind(value)}, expected an integer"
    if not low <= value <= _INT64[1]:
        return f"field {key!r} is {value}, out of range"
    return None


def _str_problem(rec: dict, key: str) -> str | None:
    value = rec.get(key)
    if type(value) is str and value and value.isascii() and value.isprintable():
        return None
    if not isinstance(value, str) or not value:
        return f"field {key!r} is {_kind(value)}, expected a non-empty string"
    if "\0" in value:
        return f"field {key!r} contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"field {key!r} is not valid Unicode"
    return None


def _kind(value: object) -> str:
    return "missing" if value is None else f"a {type(value).__name__}"


def _rel_problem(value: object, key: str) -> str | None:
    if type(value) is str and _SAFE_REL.fullmatch(value):
        return None
    problem = rel_path_problem(value)
    return None if problem is None else f"field {key!r} ({value!r:.80}) {problem}"


def _uint64_problem(rec: dict, key: str) -> str | None:
    value = rec.get(key)
    if type(value) is int and 0 <= value < 1 << 64:
        return None
    return f"field {key!r} is {value if type(value) is int else _kind(value)}, expected an unsigned 64-bit integer"


def _type_problem(rec: dict) -> str | None:
    if rec.get("type") not in (PAGE, BLOCK):
        return f"field 'type' is {rec.get('type')!r:.20}, expected {PAGE!r} or {BLOCK!r}"
    if rec["type"] == PAGE and rec["size"] % 512:
        return f"a page blob of {rec['size']} bytes, not a multiple of 512"
    return None


def _file_problem(rec: dict) -> str | None:
    problem = (_rel_problem(rec.get("rel"), "rel") or _str_problem(rec, "blob") or _int_problem(rec, "size", 0)
               or _int_problem(rec, "mtime_ns") or _int_problem(rec, "dst_mtime_ns"))
    if problem:
        return problem
    if "/" not in rec["blob"]:
        return "field 'blob' is not container/name"
    if rec.get("fp") != _fp(rec["rel"]):
        return f"field 'fp' ({rec.get('fp')!r:.80}) is not where {rec['rel']!r:.80} goes on a drive"
    if "crc" not in rec:
        return _legacy_file_problem(rec)
    problem = _uint64_problem(rec, "crc") or _type_problem(rec)
    if problem:
        return problem
    if ("parts" in rec) == ("ranges" in rec):
        return "a file record has either 'parts' or 'ranges'"
    if "ranges" in rec:
        ref = rec["ranges"]
        if not isinstance(ref, dict):
            return f"field 'ranges' is {_kind(ref)}, expected an object"
        if not isinstance(ref.get("f"), str) or not _TOKEN.fullmatch(ref["f"]):
            return "field 'ranges.f' is not 32 lower-case hex digits"
        problem = _int_problem(ref, "n", 0) or _uint64_problem(ref, "c")
        if problem:
            return "in 'ranges': " + problem
        if ref["n"] > _n_blocks(rec["size"], 512):
            return f"field 'ranges.n' is {ref['n']}, more parts than a file of {rec['size']} bytes has"
        return None
    parts = rec["parts"]
    if not isinstance(parts, list) or len(parts) > MAX_INLINE_PARTS:
        return f"field 'parts' is not a list of at most {MAX_INLINE_PARTS} parts"
    if len(parts) == 1 and _whole_part(rec, parts[0]):
        return None  # the common small file: one part covering it, checked without packing it
    for part in parts:
        if not (isinstance(part, list) and len(part) == 3 and all(type(v) is int and 0 <= v <= _INT64[1]
                                                                  for v in part[:2])
                and isinstance(part[2], str) and _HEX32.fullmatch(part[2])):
            return "field 'parts' holds a part that is not [offset, length, MD5]"
    packed = b"".join(RANGE_PART.pack(o, n, bytes.fromhex(m)) for o, n, m in parts)
    problem = parts_problem(rec["type"] == PAGE, rec["size"], packed)
    return f"field 'parts': {problem}" if problem else None


def _whole_part(rec: dict, part: object) -> bool:
    """`part` is [0, size, MD5] and one part may cover the whole file (the common small file)."""
    size = rec["size"]
    return (type(part) is list and len(part) == 3 and part[0] == 0 and type(part[0]) is int and part[1] == size
            and type(part[1]) is int and 0 < size <= MAX_BLOCK_SIZE and (rec["type"] == BLOCK or size % 512 == 0)
            and isinstance(part[2], str) and _HEX32.fullmatch(part[2]) is not None)


def _part_problem(rec: dict) -> str | None:
    problem = (_rel_problem(rec.get("rel"), "rel") or _str_problem(rec, "blob") or _int_problem(rec, "size", 0)
               or _int_problem(rec, "mtime_ns") or _type_problem(rec) or _int_problem(rec, "done", 0)
               or _uint64_problem(rec, "crc") or _int_problem(rec, "n", 0) or _uint64_problem(rec, "c"))
    if problem:
        return problem
    if "/" not in rec["blob"]:
        return "field 'blob' is not container/name"
    if not isinstance(rec.get("tmp"), str) or not _TOKEN.fullmatch(rec["tmp"]):
        return "field 'tmp' is not 32 lower-case hex digits"
    if rec["done"] > rec["size"] or (rec["done"] % MAX_BLOCK_SIZE and rec["done"] != rec["size"]):
        return f"field 'done' is {rec['done']}: not a whole number of 4 MiB chunks within {rec['size']} bytes"
    if rec["n"] > _n_blocks(rec["done"], 512):
        return f"field 'n' is {rec['n']}, more parts than {rec['done']} bytes have"
    if "dst_mtime_ns" in rec:
        problem = _int_problem(rec, "dst_mtime_ns")
        if problem:
            return problem
        if rec["done"] != rec["size"]:
            return "field 'dst_mtime_ns' on a checkpoint of an unfinished copy"
    return None


def _legacy_file_problem(rec: dict) -> str | None:
    """A file record of journal version 1 (an earlier seedctl: a block blob and its whole-file MD5)."""
    problem = _int_problem(rec, "bs", 1)
    if problem:
        return problem
    if not isinstance(rec.get("md5"), str) or not _HEX32.fullmatch(rec["md5"]):
        return "field 'md5' is not 32 hex digits"
    if rec["bs"] > MAX_BLOCK_SIZE:
        return f"field 'bs' is {rec['bs']}, more than {MAX_BLOCK_SIZE}"
    blocks = rec.get("blocks")
    if not isinstance(blocks, list):
        return f"field 'blocks' is {_kind(blocks)}, expected a list"
    if len(blocks) != _n_blocks(rec["size"], rec["bs"]) or len(blocks) > MAX_BLOCKS:
        return f"field 'blocks' has {len(blocks)} entries, {rec['size']} bytes in blocks of {rec['bs']} need " \
               f"{_n_blocks(rec['size'], rec['bs'])} (at most {MAX_BLOCKS})"
    if not all(isinstance(b, str) and _HEX32.fullmatch(b) for b in blocks):
        return "field 'blocks' holds a value that is not 32 hex digits"
    return None


def _begin_problem(rec: dict) -> str | None:
    if type(rec.get("v")) is not int or rec.get("v") not in READ_VERSIONS:
        return (f"journal version {rec.get('v')!r:.20} is not one this seedctl reads ({', '.join(map(str, READ_VERSIONS))}"
                "; written by a newer seedctl? Finish the drive with that version)")
    problem = _str_problem(rec, "owner") or _str_problem(rec, "serial")
    if problem:
        return problem
    if any(c.isspace() for c in rec["serial"]):
        return "field 'serial' contains white space"
    return None


def _pending_problem(rec: dict) -> str | None:
    rels = rec.get("rels")
    if not isinstance(rels, list):
        return f"field 'rels' is {_kind(rels)}, expected a list"
    for rel in rels:
        problem = _rel_problem(rel, "rels")
        if problem:
            return problem
    return None


def _manifest_problem(rec: dict) -> str | None:
    if not isinstance(rec.get("hash"), str) or not re.fullmatch(r"[0-9A-F]{32}", rec["hash"]):
        return "field 'hash' is not 32 upper-case hex digits"
    if not isinstance(rec.get("set"), str) or not re.fullmatch(r"[0-9a-f]{8}", rec["set"]):
        return "field 'set' is not 8 hex digits"
    for key, low in (("files", 0), ("bytes", 0), ("size", 0), ("mtime_ns", _INT64[0])):
        problem = _int_problem(rec, key, low)
        if problem:
            return problem
    return None


_CHECKS = {"begin": _begin_problem, "file": _file_problem, "pending": _pending_problem, "part": _part_problem,
           "removed": lambda rec: _rel_problem(rec.get("rel"), "rel"), "manifest": _manifest_problem}


def _lines(fh: object) -> Iterator[tuple[bytes, bool]]:
    """(line without newline, complete) for each line; only the last can be incomplete (torn)."""
    while True:
        line = fh.readline(MAX_LINE + 1)  # type: ignore[attr-defined]
        if not line:
            return
        if line.endswith(b"\n"):
            yield line[:-1], True
        elif len(line) > MAX_LINE:
            yield line, True  # an overlong line is corrupt, not torn: reported as such
            return
        else:
            yield line, False


def _journal_tree(mount: Path) -> Tree:
    """The drive's root as a safefs.Tree: the journal is reached from it through `.seedctl` without
    following a link or a junction (issue 23; issue 26 item 3)."""
    return Tree(mount, what=f"drive at {mount}")


def _open_journal(mount: Path, path: Path) -> int | None:
    """A descriptor of the drive's journal at `path`, for reading, once seedctl's folder on the drive
    has been checked (not a link, ours): never a link, never blocking on a FIFO, never a device;
    None when there is no journal."""
    try:
        check_own_folder(mount)
        with _journal_tree(mount) as tree:
            return tree.open(f"{SEEDCTL_DIR}/{JOURNAL_NAME}")
    except FileNotFoundError:
        return None
    except UnsafeEntry as exc:
        raise JournalError(f"journal {path}: {_unsafe_why(exc)}; seedctl's journal is a plain file in a plain folder "
                           "on the drive. Remove it and re-run") from None
    except JournalError:
        raise
    except DriveError as exc:
        raise JournalError(str(exc)) from None
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}") from None


def _unsafe_why(exc: UnsafeEntry) -> str:
    """What safefs found ("... is a symbolic link, not a regular file"), without the tree's name."""
    return str(exc).split(": ", 1)[-1].split("; seedctl does not", 1)[0]


def read_journal(mount: Path, *, canonical: Callable[[str], str] | None = None,
                 table: RecordSink | None = None) -> JournalState | None:
    """Read the drive's journal; None when there is none. Cheap: no data file is touched.

    `canonical(rel)` may return an equal string object the caller already holds (the scan's), so a
    million records do not carry a second copy of every path. `table` receives the file records
    instead of a new RecordTable (prepare's `DriveTable` keeps them by position in its file list);
    it is the returned state's `files`.

    Streamed line by line; every record is checked against its schema (types, ranges, paths confined
    to the drive) before it is used, and a bad one is a JournalError naming the file, line and field."""
    path = journal_path(mount)
    fd = _open_journal(mount, path)
    if fd is None:
        return None
    header: dict | None = None
    files: RecordSink = RecordTable() if table is None else table
    manifest: ManifestRecord | None = None
    pending: set[str] = set()
    partials: dict[str, PartRecord] = {}
    torn = unterminated = False
    length = 0
    number = 0
    try:
        with os.fdopen(fd, "rb", buffering=1024 * 1024) as fh:
            size = os.fstat(fd).st_size
            for number, (line, complete) in enumerate(_lines(fh), 1):
                rec = _decode(line)
                if not complete:
                    if rec is None:
                        torn = True  # a crash while appending: ignored, cut before the next append
                        break
                    unterminated = True  # a whole record that only lost its newline: add it before appending
                length += len(line) + complete
                if rec is None:
                    raise JournalError(
                        f"journal {path} line {number} is corrupt (checksum or syntax); the drive's record of "
                        "completed files cannot be trusted. Move the journal aside and re-run to recopy the drive")
                kind = rec.get("t")
                if number == 1 and kind != "begin":
                    raise JournalError(f"journal {path} does not start with a begin record")
                check = _CHECKS.get(kind) if isinstance(kind, str) else None
                if check is None:
                    raise JournalError(f"journal {path} line {number}: unknown record type {kind!r:.40}")
                problem = check(rec)
                if problem:
                    raise JournalError(f"journal {path} line {number} ({kind} record): {problem}. The journal was "
                                       "edited or comes from elsewhere; nothing was changed. Move the journal "
                                       "aside and re-run to recopy the drive")
                if number == 1:
                    if kind != "begin":
                        raise JournalError(f"journal {path} does not start with a begin record")
                    header = rec
                    continue
                if kind == "begin":
                    raise JournalError(f"journal {path} line {number}: a second begin record")
                if kind == "file":
                    rel = canonical(rec["rel"]) if canonical is not None else rec["rel"]
                    rec["rel"] = rel
                    files[rel] = FileRecord._checked(rec)
                    pending.discard(rel)
                    if partials:
                        partials.pop(rel, None)
                    manifest = None
                elif kind == "pending":
                    for rel in rec["rels"]:
                        files.pop(rel, None)
                        pending.add(rel)
                    manifest = None
                elif kind == "part":
                    # a file being copied (again): its earlier record no longer describes the drive
                    files.pop(rec["rel"], None)
                    partials[rec["rel"]] = PartRecord(
                        rec["rel"], rec["blob"], rec["size"], rec["mtime_ns"], rec["type"] == PAGE, rec["tmp"],
                        rec["done"], rec["crc"], rec["n"], rec["c"], rec.get("dst_mtime_ns"))
                    manifest = None
                elif kind == "removed":
                    files.pop(rec["rel"], None)
                    pending.discard(rec["rel"])
                    partials.pop(rec["rel"], None)
                    manifest = None
                else:
                    manifest = ManifestRecord(rec["hash"], rec["files"], rec["bytes"], rec["set"], rec["size"],
                                              rec["mtime_ns"])
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}") from None
    if header is None:
        return None  # empty, or only a torn begin record: nothing was ever completed
    return JournalState(header["owner"], header["serial"], files, manifest, torn, frozenset(pending), length,  # type: ignore[arg-type]
                        unterminated, size, partials, header["v"])


@dataclass(frozen=True)
class JournalHeader:
    owner_id: str
    serial: str


def read_journal_header(mount: Path) -> JournalHeader | None:
    """Only the begin record (whose drive is this?): one line read, however long the journal.

    For `inspect_drive`, which runs on every plan and before every write; `read_journal` checks the
    rest whenever a record is about to be used. None when there is no journal (or only a torn begin)."""
    path = journal_path(mount)
    fd = _open_journal(mount, path)
    if fd is None:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            line = fh.readline(MAX_LINE + 1)
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}") from None
    complete = line.endswith(b"\n")
    rec = _decode(line[:-1] if complete else line)
    if rec is None:
        if not complete and len(line) <= MAX_LINE:
            return None  # a torn begin record: nothing was ever completed
        raise JournalError(f"journal {path} line 1 is corrupt (checksum or syntax); move the journal aside and "
                           "re-run to recopy the drive")
    if rec.get("t") != "begin":
        raise JournalError(f"journal {path} does not start with a begin record")
    problem = _begin_problem(rec)
    if problem:
        raise JournalError(f"journal {path} line 1 (begin record): {problem}")
    return JournalHeader(rec["owner"], rec["serial"])


class Journal:
    """Appends records to a drive's journal, each batch fsynced before append() returns."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self.changed = False  # a file, pending or removed record was appended: the manifest is stale

    @classmethod
    def open(cls, mount: Path, *, owner_id: str, serial: str, state: JournalState | None = None) -> Journal:
        """Open for appending, creating it with a begin record; refuse one that belongs elsewhere.

        `state` is the caller's read of the journal (saves a second parse of a journal that may hold a
        million records); it is read again if the journal grew between that read and the lock."""
        path = journal_path(mount)
        if state is None:
            state = read_journal(mount)
        check_own_folder(mount)
        try:  # through the drive's root folder: never through a link or junction (issue 26 item 3)
            with _journal_tree(mount) as tree:
                tree.mkdir(SEEDCTL_DIR)
                fd = tree.open(f"{SEEDCTL_DIR}/{JOURNAL_NAME}", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        except UnsafeEntry as exc:
            raise JournalError(f"journal {path}: {_unsafe_why(exc)}; refusing to write through it. Remove it and "
                               "re-run") from None
        journal = cls(path, fd)
        journal._lock(mount)
        if os.fstat(fd).st_size != (state.size if state else 0):
            state = read_journal(mount)  # it changed since the caller read it (or a torn begin): read it again  # someone appended since the caller read it: take the fresh view
        if state is not None and (state.owner_id != owner_id or state.serial != serial):
            journal.close()
            raise JournalError(
                f"drive at {mount}: its journal belongs to spec {state.owner_id!r}, drive {state.serial!r}, "
                f"not to {owner_id!r}, drive {serial!r}; refusing to write")
        if state is None:
            os.ftruncate(fd, 0)  # drop a torn begin record, if any
            journal.append([{"t": "begin", "v": JOURNAL_VERSION, "owner": owner_id, "serial": serial,
                             "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}])
        elif state.torn_tail:
            journal._cut_torn_tail(state.length)
        elif state.unterminated:
            journal._write(b"\n")
        return journal

    def _lock(self, mount: Path) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: the apply lock serialises runs
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.close()
            raise JournalError(f"drive at {mount}: another seedctl process is writing this drive") from None

    def _cut_torn_tail(self, keep: int) -> None:
        """Cut the torn last line: everything after the complete lines that were read."""
        os.ftruncate(self._fd, keep)
        os.fsync(self._fd)

    def _write(self, payload: bytes) -> None:
        view = memoryview(payload)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def append(self, records: list[dict]) -> None:
        if not records:
            return
        if any(r.get("t") != "manifest" for r in records):
            self.changed = True
        self._write(b"".join(_encode(r) for r in records))

    def add_files(self, records: list[FileRecord]) -> None:
        self.append([r.to_json() for r in records])

    def add_copied(self, rows: list[tuple[str, str, int, int, int, bool, int, bytes | RangeFileRef]]) -> None:
        """One file record per (rel, blob, size, mtime_ns, dst mtime_ns, page, CRC-64, parts), with the
        raw digests the copy engine computed (no hex round trip, no dict per file); `parts` are packed
        RANGE_PART records, or where a large file's parts are kept. The same checks as FileRecord: a
        record the reader would refuse is never written."""
        lines = []
        for rel, blob, size, mtime_ns, dst, page, crc, parts in rows:
            if rel_path_problem(rel) is not None:
                raise ValueError(f"{rel!r} is not a path on a drive: {rel_path_problem(rel)}")
            if "/" not in blob:
                raise ValueError(f"blob path {blob!r} is not container/name")
            if not 0 <= crc < 1 << 64:
                raise ValueError("a CRC-64 is an unsigned 64-bit number")
            if page and size % 512:
                raise ValueError(f"a page blob's size is a multiple of 512, not {size}")
            if isinstance(parts, RangeFileRef):
                if not _TOKEN.fullmatch(parts.token) or not 0 <= parts.crc < 1 << 64 or parts.parts < 0:
                    raise ValueError(f"range file {parts!r} is not one the reader accepts")
            else:
                if len(parts) % RANGE_PART.size or len(parts) // RANGE_PART.size > MAX_INLINE_PARTS:
                    raise ValueError("inline parts are at most 64 whole 32-byte parts")
                problem = parts_problem(page, size, parts)
                if problem:
                    raise ValueError(problem)
            lines.append(_file_line(rel, blob, size, mtime_ns, dst, page, crc, parts))
        if lines:
            self.changed = True
            self._write(b"".join(lines))

    def add_part(self, record: PartRecord) -> None:
        """A checkpoint of a file in flight (its data and range file are durable up to it already)."""
        problem = _part_problem(record.to_json())
        if problem:
            raise ValueError(problem)
        self.append([record.to_json()])

    def add_pending(self, rel_paths: list[str]) -> None:
        self.append([{"t": "pending", "rels": rel_paths}])

    def add_removed(self, rel_paths: list[str]) -> None:
        self.append([{"t": "removed", "rel": r} for r in rel_paths])

    def add_manifest(self, record: ManifestRecord) -> None:
        self.append([{"t": "manifest", "hash": record.manifest_hash, "files": record.files,
                      "bytes": record.bytes, "set": record.fileset, "size": record.size,
                      "mtime_ns": record.mtime_ns}])

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
