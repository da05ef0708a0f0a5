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
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from seedctl.drives.layout import SEEDCTL_DIR, journal_path
from seedctl.errors import DriveError

JOURNAL_VERSION = 1


class JournalError(DriveError):
    """The journal is unreadable, belongs to someone else, or disagrees with the drive."""


@dataclass(frozen=True)
class FileRecord:
    rel_path: str
    blob_path: str
    file_path: str
    size: int
    mtime_ns: int
    md5_hex: str
    block_size: int
    block_md5s: tuple[str, ...]
    dst_mtime_ns: int

    def to_json(self) -> dict:
        return {"t": "file", "rel": self.rel_path, "blob": self.blob_path, "fp": self.file_path,
                "size": self.size, "mtime_ns": self.mtime_ns, "md5": self.md5_hex, "bs": self.block_size,
                "blocks": list(self.block_md5s), "dst_mtime_ns": self.dst_mtime_ns}

    @classmethod
    def from_json(cls, rec: dict) -> FileRecord:
        return cls(rec["rel"], rec["blob"], rec["fp"], int(rec["size"]), int(rec["mtime_ns"]), rec["md5"],
                   int(rec["bs"]), tuple(rec["blocks"]), int(rec["dst_mtime_ns"]))


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
    files: dict[str, FileRecord]  # rel path -> latest record
    manifest: ManifestRecord | None  # None when files changed after the last manifest record
    torn_tail: bool  # the last line was cut short by a crash
    pending: frozenset[str] = frozenset()  # in flight at a crash: may exist on the drive, not complete


def _encode(rec: dict) -> bytes:
    body = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    crc = zlib.crc32(body.encode("utf-8"))
    return (json.dumps({"c": crc, "r": rec}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            + "\n").encode("utf-8")


def _decode(line: bytes) -> dict | None:
    try:
        outer = json.loads(line)
        rec = outer["r"]
        body = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if zlib.crc32(body.encode("utf-8")) != outer["c"]:
            return None
        return rec
    except (ValueError, KeyError, TypeError):
        return None


def fileset_digest(pairs: list[tuple[str, str]]) -> str:
    return format(zlib.crc32("\n".join(f"{r}\t{m}" for r, m in sorted(pairs)).encode("utf-8")), "08x")


def read_journal(mount: Path) -> JournalState | None:
    """Read the drive's journal; None when there is none. Cheap: no data file is touched."""
    path = journal_path(mount)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}") from exc
    lines = data.split(b"\n")
    torn = lines[-1] != b""  # a complete journal ends with a newline
    complete = lines[:-1]
    if torn and _decode(lines[-1]) is not None:
        complete.append(lines[-1])  # whole record, only the newline lost
        torn = False
    header = None
    files: dict[str, FileRecord] = {}
    manifest: ManifestRecord | None = None
    pending: set[str] = set()
    for number, line in enumerate(complete, 1):
        rec = _decode(line)
        if rec is None:
            raise JournalError(
                f"journal {path} line {number} is corrupt (checksum or syntax); the drive's record of "
                "completed files cannot be trusted. Move the journal aside and re-run to recopy the drive")
        kind = rec.get("t")
        if number == 1:
            if kind != "begin":
                raise JournalError(f"journal {path} does not start with a begin record")
            header = rec
            continue
        if kind == "file":
            record = FileRecord.from_json(rec)
            files[record.rel_path] = record
            pending.discard(record.rel_path)
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
        elif kind == "manifest":
            manifest = ManifestRecord(rec["hash"], int(rec["files"]), int(rec["bytes"]), rec["set"],
                                      int(rec["size"]), int(rec["mtime_ns"]))
        else:
            raise JournalError(f"journal {path} line {number}: unknown record type {kind!r}")
    if header is None:
        if not complete:
            return None  # only a torn begin record: nothing was ever completed
        raise JournalError(f"journal {path} has no begin record")
    return JournalState(header["owner"], header["serial"], files, manifest, torn, frozenset(pending))


class Journal:
    """Appends records to a drive's journal, each batch fsynced before append() returns."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def open(cls, mount: Path, *, owner_id: str, serial: str) -> Journal:
        """Open for appending, creating it with a begin record; refuse one that belongs elsewhere."""
        path = journal_path(mount)
        state = read_journal(mount)
        if state is not None and (state.owner_id != owner_id or state.serial != serial):
            raise JournalError(
                f"drive at {mount}: its journal belongs to spec {state.owner_id!r}, drive {state.serial!r}, "
                f"not to {owner_id!r}, drive {serial!r}; refusing to write")
        (Path(mount) / SEEDCTL_DIR).mkdir(exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o644)
        journal = cls(path, fd)
        journal._lock(mount)
        if state is None:
            os.ftruncate(fd, 0)  # drop a torn begin record, if any
            journal.append([{"t": "begin", "v": JOURNAL_VERSION, "owner": owner_id, "serial": serial,
                             "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}])
        elif state.torn_tail:
            journal._cut_torn_tail()
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

    def _cut_torn_tail(self) -> None:
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        os.ftruncate(self._fd, keep)
        os.fsync(self._fd)

    def append(self, records: list[dict]) -> None:
        if not records:
            return
        payload = b"".join(_encode(r) for r in records)
        view = memoryview(payload)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def add_files(self, records: list[FileRecord]) -> None:
        self.append([r.to_json() for r in records])

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
