"""Verify a prepared drive: re-read every file and check it against the manifest.

Checks, each problem naming the file: the manifest parses and is valid; its MD5 equals the hash the
journal recorded when seedctl wrote it (so an edited manifest is caught even when it is well-formed);
its DriveId is the journal's serial; every blob's file exists with the manifest's Length; every
block's (block blob) or listed page range's (page blob) MD5 matches; the whole-file CRC-64
(ClientData) matches: over the blocks, or over the page ranges with zeros between them (a drive an
earlier seedctl wrote: the whole-file MD5).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import seedctl.crc64 as crc64
from seedctl.drives.formats.journal import JournalError, read_journal
from seedctl.drives.formats.layout import Confinement, local_from_file_path
from seedctl.drives.formats.manifest import (
    MANIFEST_NAME,
    ManifestBlob,
    ManifestError,
    manifest_hash,
    read_manifest,
)
from seedctl.drives.writing.progress import ProgressCallback, ProgressEvent
from seedctl.errors import DriveError

_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class VerifyProblem:
    file_path: str  # drive-relative (\seed\a.bin) or the manifest/journal name
    message: str

    def __str__(self) -> str:
        return f"{self.file_path}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    mount_point: str
    drive_id: str | None
    manifest_hash: str | None
    files_checked: int
    bytes_checked: int
    problems: tuple[VerifyProblem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (f"drive {self.drive_id} at {self.mount_point}: verified {self.files_checked:,} files, "
                    f"{self.bytes_checked:,} bytes against the manifest")
        head = f"drive {self.drive_id or '?'} at {self.mount_point}: {len(self.problems)} problem(s):"
        return "\n".join([head, *(f"  - {p}" for p in self.problems[:20])]) + (
            "\n  ..." if len(self.problems) > 20 else "")


def verify_drive(mount: Path, *, progress: ProgressCallback | None = None) -> VerifyReport:
    """Re-read every file on the drive at `mount` and check it against its manifest."""
    mount = Path(mount)
    problems: list[VerifyProblem] = []
    path = mount / MANIFEST_NAME
    try:
        manifest = read_manifest(path)
        digest = manifest_hash(path)
    except ManifestError as exc:
        return VerifyReport(str(mount), None, None, 0, 0, (VerifyProblem("\\" + MANIFEST_NAME, str(exc)),))
    try:
        journal = read_journal(mount)
    except JournalError as exc:
        journal = None
        problems.append(VerifyProblem(".seedctl\\journal.jsonl", str(exc)))
    if journal is not None:
        if journal.manifest is None:
            problems.append(VerifyProblem("\\" + MANIFEST_NAME, "the journal records no finished manifest: the "
                                          "drive was not completely prepared; re-run apply"))
        elif journal.manifest.manifest_hash != digest:
            problems.append(VerifyProblem("\\" + MANIFEST_NAME, f"changed after seedctl wrote it (MD5 {digest}, "
                                          f"written as {journal.manifest.manifest_hash})"))
        if manifest.drive_id != journal.serial:
            problems.append(VerifyProblem("\\" + MANIFEST_NAME, f"DriveId {manifest.drive_id} is not this drive's "
                                          f"serial {journal.serial}"))
    try:
        confined = Confinement(mount, what=f"manifest {path}")
    except DriveError as exc:
        return VerifyReport(str(mount), manifest.drive_id, digest, 0, 0, (VerifyProblem("\\" + MANIFEST_NAME,
                                                                                      str(exc)),))
    total = sum(b.page_ranges.covered_bytes() if b.is_page_blob else b.length for b in manifest.blobs)
    done = 0
    files = 0
    buf = bytearray(_CHUNK)
    for blob in manifest.blobs:
        try:
            local = local_from_file_path(mount, blob.file_path)
            confined.check_folder(local.parent, blob.file_path)
            st = os.lstat(local)
        except (ValueError, DriveError) as exc:
            problems.append(VerifyProblem(blob.file_path, str(exc)))
            continue
        except FileNotFoundError:
            problems.append(VerifyProblem(blob.file_path, "missing on the drive"))
            continue
        except OSError as exc:
            problems.append(VerifyProblem(blob.file_path, f"cannot be read: {exc.strerror or exc}"))
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_dev != confined.dev:
            # a link, FIFO or device is never followed or read: it is not what seedctl wrote
            problems.append(VerifyProblem(blob.file_path, "is not a regular file on the drive (a symbolic link, "
                                          "folder, FIFO or device, or on another filesystem)"))
            continue
        size = st.st_size
        if size != blob.length:
            problems.append(VerifyProblem(blob.file_path, f"is {size:,} bytes, the manifest says {blob.length:,}"))
            continue
        bad_block = None
        try:
            fd = os.open(local, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                         | getattr(os, "O_BINARY", 0))
            with open(fd, "rb", buffering=0) as fh:
                opened = os.fstat(fd)
                if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(opened.st_mode):
                    # swapped between the lstat and the open (a folder on the way replaced by a link):
                    # what was opened is not the drive's file (safefs: the identity match)
                    problems.append(VerifyProblem(blob.file_path, "was replaced while it was checked (not the "
                                                  "regular file on the drive that was found)"))
                    continue

                def moved(n: int, before: int = done, name: str = blob.file_path, count: int = files) -> None:
                    if progress is not None:
                        progress(ProgressEvent(manifest.drive_id, "verifying", before + n, total, count,
                                               len(manifest.blobs), name))

                bad_block, counted = _check_content(fh, blob, buf, moved)
                done += counted
        except OSError as exc:
            problems.append(VerifyProblem(blob.file_path, f"cannot be read: {exc.strerror or exc}"))
            continue
        files += 1
        if bad_block:
            problems.append(VerifyProblem(blob.file_path, bad_block))
    return VerifyReport(str(mount), manifest.drive_id, digest, files, done, tuple(problems))


def _check_content(fh: BinaryIO, blob: ManifestBlob, buf: bytearray, progress: Callable[[int], None]
                   ) -> tuple[str | None, int]:
    """(what is wrong with one file's content, or None; bytes read). Every block (block blob) or
    listed page range (page blob) is read and its MD5 compared; the whole-file CRC-64 in ClientData
    is then checked: over the blocks, or over the ranges with the gaps between them as zeros (what
    the imported blob holds there), so a range list that leaves out data is caught too. A drive an
    earlier seedctl wrote carries the whole-file MD5 instead, checked over the blocks."""
    parts = [(o, n, m.hex().upper()) for o, n, m in blob.page_ranges.raw()] if blob.is_page_blob else \
        [(b.offset, b.length, b.md5_hex) for b in blob.blocks]
    whole = hashlib.md5() if blob.content_md5_hex and not blob.is_page_blob else None
    value = position = read = 0
    problem = None
    for offset, length, md5_hex in parts:
        if offset != position:
            fh.seek(offset)
            value = crc64.combine(value, crc64.zeros(offset - position), offset - position)
        view = memoryview(buf)[:length]
        got = 0
        while got < length:
            n = fh.readinto(view[got:])
            if not n:
                break
            got += n
        if got != length:
            return f"ends early in the {'range' if blob.is_page_blob else 'block'} at offset {offset:,}", read + got
        value = crc64.combine(value, crc64.crc64(view), length)
        if whole is not None:
            whole.update(view)
        if hashlib.md5(view).hexdigest().upper() != md5_hex:
            problem = problem or (f"{'page range' if blob.is_page_blob else 'block'} at offset {offset:,} does not "
                                  "match its MD5")
        position = offset + length
        read += length
        progress(read)
    if problem:
        return problem, read
    if blob.length != position:
        value = crc64.combine(value, crc64.zeros(blob.length - position), blob.length - position)
    if blob.content_crc64 is not None and value != blob.content_crc64:
        what = "the listed page ranges with zeros between them" if blob.is_page_blob else "its blocks"
        return f"whole-file CRC-64 of {what} does not match the manifest's", read
    if whole is not None and whole.hexdigest().upper() != blob.content_md5_hex:
        return "whole-file MD5 does not match the manifest", read
    return None, read
