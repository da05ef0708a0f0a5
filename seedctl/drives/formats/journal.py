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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

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

JOURNAL_VERSION = 1
MAX_LINE = 8 * 1024 * 1024  # a file record of 50,000 blocks is ~1.8 MB; anything longer is not ours
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
# the record is one bytes object: the integers, the whole-file MD5, the block MD5s (none stored when
# the file's one block *is* the file, as for every small file) and the blob path as an index into a
# table of shared prefixes ("backup/seed1/" + the relative path). `RecordTable` keeps only those
# bytes per file (about 130 bytes with its dict entry, where a dataclass of strings took about 1 KiB)
# and hands out `FileRecord` views.
_PACK = struct.Struct("<qqqIHB16s")  # size, mtime_ns, dst_mtime_ns, block_size, head index, flags, md5
_BLOCKS, _FULL_BLOB = 1, 2  # flags: block MD5s follow; the whole blob path follows (UTF-8)
_HEAD_LIST: list[str] = []  # shared blob-path prefixes, by index
_HEAD_INDEX: dict[str, int] = {}
_NO_HEAD = 0xFFFF


def _fp(rel_path: str) -> str:
    """layout.drive_file_path for a checked relative path (no '.', '..' or empty segments), without
    the PurePosixPath round trip: it is computed once per record."""
    return "\\seed\\" + rel_path.replace("/", "\\")


def _n_blocks(size: int, block_size: int) -> int:
    return -(-size // block_size)


def _pack(rel_path: str, blob_path: str, size: int, mtime_ns: int, dst_mtime_ns: int, block_size: int,
          md5: bytes, blocks: bytes) -> bytes:
    flags = 0
    tail = b""
    if blocks != md5 and blocks:
        flags |= _BLOCKS
        tail = blocks
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
    return _PACK.pack(size, mtime_ns, dst_mtime_ns, block_size, head, flags, md5) + tail


class FileRecord:
    """A completed file: its staging identity, where it went, its MD5 and its blocks' MD5s."""

    __slots__ = ("rel_path", "_packed")

    def __init__(self, rel_path: str, blob_path: str, file_path: str, size: int, mtime_ns: int, md5_hex: str,
                 block_size: int, block_md5s: tuple[str, ...] | list[str], dst_mtime_ns: int) -> None:
        if file_path != _fp(rel_path) or rel_path_problem(rel_path) is not None:
            raise ValueError(f"file path {file_path!r} is not where {rel_path!r} goes on a drive")
        md5 = bytes.fromhex(md5_hex)
        blocks = b"".join(bytes.fromhex(b) for b in block_md5s)
        if len(md5) != 16 or len(blocks) != 16 * len(block_md5s):
            raise ValueError("an MD5 is not 16 bytes")
        if len(block_md5s) != _n_blocks(size, block_size):
            raise ValueError(f"{len(block_md5s)} block MD5s for {size} bytes in blocks of {block_size}")
        self.rel_path = rel_path
        self._packed = _pack(rel_path, blob_path, size, mtime_ns, dst_mtime_ns, block_size, md5, blocks)

    @classmethod
    def _view(cls, rel_path: str, packed: bytes) -> FileRecord:
        self = object.__new__(cls)
        self.rel_path = rel_path
        self._packed = packed
        return self

    def _fields(self) -> tuple[int, int, int, int, int, int, bytes]:
        return _PACK.unpack_from(self._packed)

    @property
    def blob_path(self) -> str:
        _, _, _, _, head, flags, _ = _PACK.unpack_from(self._packed)
        if flags & _FULL_BLOB:
            start = _PACK.size + (16 * self._count() if flags & _BLOCKS else 0)
            return self._packed[start:].decode("utf-8")
        return _HEAD_LIST[head] + self.rel_path

    def _count(self) -> int:
        size, _, _, bs, _, _, _ = _PACK.unpack_from(self._packed)
        return _n_blocks(size, bs)

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
    def block_size(self) -> int:
        return _PACK.unpack_from(self._packed)[3]

    @property
    def md5(self) -> bytes:
        return self._packed[_PACK.size - 16:_PACK.size]

    @property
    def md5_hex(self) -> str:
        return self.md5.hex().upper()

    def block_digests(self) -> list[bytes]:
        """The raw MD5 of every block, in order."""
        size, _, _, bs, _, flags, md5 = _PACK.unpack_from(self._packed)
        if not flags & _BLOCKS:
            return [md5] if size else []
        raw = self._packed
        return [raw[i:i + 16] for i in range(_PACK.size, _PACK.size + 16 * _n_blocks(size, bs), 16)]

    @property
    def block_md5s(self) -> tuple[str, ...]:
        return tuple(d.hex().upper() for d in self.block_digests())

    def same_source(self, size: int, mtime_ns: int, blob_path: str) -> bool:
        got_size, got_mtime = _PACK.unpack_from(self._packed)[:2]
        return got_size == size and got_mtime == mtime_ns and self.blob_path == blob_path

    def to_json(self) -> dict:
        return {"t": "file", "rel": self.rel_path, "blob": self.blob_path, "fp": self.file_path,
                "size": self.size, "mtime_ns": self.mtime_ns, "md5": self.md5_hex, "bs": self.block_size,
                "blocks": list(self.block_md5s), "dst_mtime_ns": self.dst_mtime_ns}

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
        md5 = bytes.fromhex(rec["md5"])
        blocks = b"".join(bytes.fromhex(b) for b in rec["blocks"])
        return cls._view(rec["rel"], _pack(rec["rel"], rec["blob"], rec["size"], rec["mtime_ns"], rec["dst_mtime_ns"],
                                           rec["bs"], md5, blocks))

    def _key(self) -> tuple:
        return self.rel_path, self.blob_path, self._fields()[:4], self.md5, tuple(self.block_digests())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FileRecord) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"FileRecord(rel_path={self.rel_path!r}, blob_path={self.blob_path!r}, size={self.size}, "
                f"md5={self.md5_hex}, blocks={len(self.block_digests())})")


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


_json_str = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) uses for a str


def _file_line(rel: str, blob: str, size: int, mtime_ns: int, md5: bytes, block_size: int, blocks: list[bytes],
               dst_mtime_ns: int) -> bytes:
    """`_encode` of a file record, byte for byte, without building and sorting a dict per file (the
    journal is written once per copied file: at 200k tiny files this was a tenth of the Python work).
    The keys are in json.dumps's sort_keys order."""
    body = (f'{{"blob":{_json_str(blob)},"blocks":[{",".join(chr(34) + b.hex().upper() + chr(34) for b in blocks)}],'
            f'"bs":{block_size},"dst_mtime_ns":{dst_mtime_ns},"fp":{_json_str(_fp(rel))},'
            f'"md5":"{md5.hex().upper()}","mtime_ns":{mtime_ns},"rel":{_json_str(rel)},"size":{size},"t":"file"}}'
            ).encode()
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


def _file_problem(rec: dict) -> str | None:
    problem = (_rel_problem(rec.get("rel"), "rel") or _str_problem(rec, "blob") or _int_problem(rec, "size", 0)
               or _int_problem(rec, "mtime_ns") or _int_problem(rec, "dst_mtime_ns") or _int_problem(rec, "bs", 1))
    if problem:
        return problem
    if "/" not in rec["blob"]:
        return "field 'blob' is not container/name"
    if rec.get("fp") != _fp(rec["rel"]):
        return f"field 'fp' ({rec.get('fp')!r:.80}) is not where {rec['rel']!r:.80} goes on a drive"
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
    if rec.get("v") != JOURNAL_VERSION or type(rec.get("v")) is not int:
        return f"journal version {rec.get('v')!r:.20} is not {JOURNAL_VERSION} (written by another seedctl?)"
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


_CHECKS = {"begin": _begin_problem, "file": _file_problem, "pending": _pending_problem,
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
                    manifest = None
                elif kind == "pending":
                    for rel in rec["rels"]:
                        files.pop(rel, None)
                        pending.add(rel)
                    manifest = None
                elif kind == "removed":
                    files.pop(rec["rel"], None)
                    pending.discard(rec["rel"])
                    manifest = None
                else:
                    manifest = ManifestRecord(rec["hash"], rec["files"], rec["bytes"], rec["set"], rec["size"],
                                              rec["mtime_ns"])
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}") from None
    if header is None:
        return None  # empty, or only a torn begin record: nothing was ever completed
    return JournalState(header["owner"], header["serial"], files, manifest, torn, frozenset(pending), length,  # type: ignore[arg-type]
                        unterminated, size)


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

    def add_copied(self, rows: list[tuple[str, str, int, int, bytes, int, list[bytes], int]]) -> None:
        """One file record per (rel, blob, size, mtime_ns, md5, block size, block MD5s, dst mtime_ns),
        with the raw digests the copy engine computed (no hex round trip, no dict per file). The
        same checks as FileRecord: a record the reader would refuse is never written."""
        lines = []
        for rel, blob, size, mtime_ns, md5, bs, blocks, dst in rows:
            if rel_path_problem(rel) is not None:
                raise ValueError(f"{rel!r} is not a path on a drive: {rel_path_problem(rel)}")
            if len(md5) != 16 or any(len(b) != 16 for b in blocks):
                raise ValueError("an MD5 is not 16 bytes")
            if len(blocks) != _n_blocks(size, bs):
                raise ValueError(f"{len(blocks)} block MD5s for {size} bytes in blocks of {bs}")
            lines.append(_file_line(rel, blob, size, mtime_ns, md5, bs, blocks, dst))
        if lines:
            self.changed = True
            self._write(b"".join(lines))

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
