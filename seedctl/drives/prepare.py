"""Prepare one drive: prove it is safe, copy what is missing, journal it, write the manifest.

Resumable and idempotent. The journal on the drive says which files are complete (with their
hashes), so a rerun skips them without reading a byte of them; the files in flight at a crash are
redone. A second run on a finished drive stats the files, finds the manifest current and returns
the same result, reading no data.

Commit protocol for a group of files (see durability.py for why groups):
  1. copy each file to .seedctl/tmp/<n> (hashing as it goes)
  2. syncfs (or fsync each file)                     -> data durable under temporary names
  3. journal "pending" [rel paths], fsync             -> a crash from here leaves known leftovers
  4. rename each into seed/..., syncfs (or fsync dirs) -> names durable
  5. journal one "file" record per file, fsync        -> complete
A group closes at 32 MiB or 256 files, and a file larger than that is a group of its own, so a crash
costs at most the group in flight (at most 32 MiB of small files) or the one large file in flight.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seedctl.drives.allocate import cost_on_drive
from seedctl.drives.copyengine import CopyEngine, CopyResult, PendingCopy, SourceError, TargetError
from seedctl.drives.durability import FilesystemSync
from seedctl.drives.identity import check_safe_to_write
from seedctl.drives.journal import (
    FileRecord,
    Journal,
    JournalError,
    ManifestRecord,
    fileset_digest,
    read_journal,
)
from seedctl.drives.layout import drive_file_path, local_path, tmp_dir
from seedctl.drives.manifest import (
    DRIVE_HEADER_HASH,
    MANIFEST_FILE,
    MANIFEST_NAME,
    DriveManifest,
    ManifestBlob,
    ManifestBlock,
    block_id_for,
    fsync_dir,
    write_manifest,
)
from seedctl.drives.progress import ProgressCallback, ProgressEvent
from seedctl.drives.scan import StagedFile
from seedctl.drives.simulated import SpaceGuard
from seedctl.drives.verify import VerifyReport, verify_drive
from seedctl.errors import DriveError

GROUP_BYTES = 32 * 1024 * 1024
GROUP_FILES = 256
PROGRESS_INTERVAL = 0.2  # seconds between progress events while copying


@dataclass(frozen=True)
class DriveState:
    """What the drive's journal says is on it. Read-only and cheap (the journal plus one stat)."""

    owner_id: str
    serial: str
    files: int
    bytes: int
    completed: dict[str, tuple[int, int]]  # rel path -> (size, mtime_ns) of the source when copied
    manifest_present: bool
    manifest_current: bool  # the manifest is the one seedctl last wrote (size and mtime unchanged)
    manifest_hash: str | None  # as recorded when written (the job's manifestHash)
    in_flight: tuple[str, ...] = ()  # files a crash interrupted; redone on the next run


@dataclass(frozen=True)
class PreparedDrive:
    serial: str
    manifest_file: str  # "\\DriveManifest.xml", the job's manifestFile
    manifest_hash: str  # upper-case hex MD5 of the manifest, the job's manifestHash
    drive_header_hash: str
    files: int
    bytes: int
    # what this call did; not part of the result's identity
    files_copied: int = field(default=0, compare=False)
    bytes_read: int = field(default=0, compare=False)
    verify_report: VerifyReport | None = field(default=None, compare=False)


def read_drive_state(mount: Path) -> DriveState | None:
    """The journal's view of the drive at `mount`, or None when seedctl never wrote to it."""
    mount = Path(mount)
    state = read_journal(mount)
    if state is None:
        return None
    try:
        st = os.stat(mount / MANIFEST_NAME)
    except FileNotFoundError:
        st = None
    m = state.manifest
    current = bool(m and st and st.st_size == m.size and st.st_mtime_ns == m.mtime_ns)
    return DriveState(
        owner_id=state.owner_id, serial=state.serial, files=len(state.files),
        bytes=sum(r.size for r in state.files.values()),
        completed={rel: (r.size, r.mtime_ns) for rel, r in state.files.items()},
        manifest_present=st is not None, manifest_current=current,
        manifest_hash=m.manifest_hash if m else None, in_flight=tuple(sorted(state.pending)))


class _Reporter:
    def __init__(self, serial: str, callback: ProgressCallback | None, files_total: int, bytes_total: int,
                 skipped_files: int, skipped_bytes: int) -> None:
        self.serial, self.callback = serial, callback
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files_done, self.bytes_done = skipped_files, skipped_bytes
        self.skipped_bytes = skipped_bytes
        self.current: str | None = None
        self._last = 0.0

    def emit(self, phase: str, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        self.callback(ProgressEvent(self.serial, phase, self.bytes_done, self.bytes_total, self.files_done,
                                    self.files_total, self.current, self.skipped_bytes))

    def on_bytes(self, n: int) -> None:
        self.bytes_done += n
        self.emit("copying")


def _manifest_for(serial: str, files: Sequence[StagedFile], records: dict[str, FileRecord]) -> DriveManifest:
    blobs = []
    for f in files:
        r = records[f.rel_path]
        blocks = []
        offset = 0
        for md5_hex in r.block_md5s:
            length = min(r.block_size, r.size - offset)
            blocks.append(ManifestBlock(offset, length, block_id_for(bytes.fromhex(md5_hex)), md5_hex))
            offset += length
        blobs.append(ManifestBlob(r.blob_path, r.file_path, r.size, tuple(blocks), "overwrite", r.md5_hex))
    return DriveManifest(drive_id=serial, blobs=tuple(blobs))


def _drive_error(serial: str, mount: Path, rel: str, exc: TargetError, done: int) -> DriveError:
    err = exc.error
    kept = f"{done:,} completed file(s) are kept and journaled; re-run to resume"
    if exc.disk_full:
        free = shutil.disk_usage(mount).free
        return DriveError(f"drive {serial} at {mount} is full while writing {rel} ({free:,} bytes free): "
                          f"free space on it or re-plan onto more drives. {kept}")
    return DriveError(f"drive {serial} at {mount}: cannot write {rel}: {err.strerror or err}. {kept}")


def prepare_drive(mount: Path, serial: str, files: Sequence[StagedFile], staging_root: Path, *, owner_id: str,
                  progress: ProgressCallback | None = None, verify: bool = False,
                  allow_simulated: bool = False, repair: Collection[str] = ()) -> PreparedDrive:
    """Make the drive at `mount` hold exactly `files` (in this order in the manifest), resumably.

    `owner_id` binds the drive to one spec (a drive prepared for another spec is refused).
    `allow_simulated` accepts sandbox drives (simulated folders, loop images): only for cloud: sandbox.
    `repair` names files the journal calls complete that are missing or damaged on the drive (found
    by the caller's stat or re-hash): they are copied again from staging.
    Raises DriveError naming the drive and the reason; completed files stay journaled.
    """
    mount, staging_root = Path(mount), Path(staging_root)
    state = read_journal(mount)
    done_records = dict(state.files) if state else {}
    wanted = {f.rel_path: f for f in files}
    if len(wanted) != len(files):
        raise DriveError(f"drive {serial}: the file list names a file twice")
    to_copy = [f for f in files if f.rel_path in repair or not _same_source(done_records.get(f.rel_path), f)]
    stale = [rel for rel in done_records if rel not in wanted]
    needed = sum(cost_on_drive(f.size) for f in to_copy)
    freed = sum(cost_on_drive(done_records[rel].size) for rel in stale)
    reporter = _Reporter(serial, progress, len(files), sum(f.size for f in files), len(files) - len(to_copy),
                         sum(f.size for f in files) - sum(f.size for f in to_copy))
    reporter.emit("checking", force=True)
    check_safe_to_write(mount, serial, owner_id=owner_id, needed_bytes=max(0, needed - freed),
                        staging_root=staging_root, allow_simulated=allow_simulated)
    try:
        journal = Journal.open(mount, owner_id=owner_id, serial=serial)
    except OSError as exc:
        raise DriveError(f"drive {serial} at {mount}: cannot write its journal: {exc.strerror or exc}") from None
    try:
        copying = {f.rel_path for f in to_copy}
        _check_against_drive(mount, serial, [done_records[f.rel_path] for f in files
                                             if f.rel_path not in copying and f.rel_path in done_records])
        _clean_leftovers(mount, state.pending if state else frozenset(), done_records)
        if stale:
            _remove_stale(mount, journal, [done_records.pop(rel) for rel in stale])
        engine_stats = _copy_all(mount, serial, staging_root, to_copy, journal, done_records, reporter)
        prepared = _finish_manifest(mount, serial, files, done_records, journal, state, engine_stats)
    finally:
        journal.close()
    reporter.emit("done", force=True)
    if verify:
        report = verify_drive(mount, progress=progress)
        if not report.ok:
            raise DriveError(report.summary())
        prepared = PreparedDrive(**{**prepared.__dict__, "verify_report": report})
    return prepared


def _same_source(record: FileRecord | None, f: StagedFile) -> bool:
    return record is not None and record.size == f.size and record.mtime_ns == f.mtime_ns and \
        record.blob_path == f.blob_path


def _check_against_drive(mount: Path, serial: str, records: list[FileRecord]) -> None:
    """Every file the journal calls complete must be on the drive as written (stat only, no read)."""
    for r in records:
        path = local_path(mount, r.rel_path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise JournalError(f"drive {serial} at {mount}: the journal says {r.file_path} is complete but it is "
                               "missing from the drive; the drive was changed outside seedctl. Move .seedctl/journal"
                               ".jsonl aside to recopy everything") from None
        if st.st_size != r.size or st.st_mtime_ns != r.dst_mtime_ns:
            raise JournalError(f"drive {serial} at {mount}: {r.file_path} is {st.st_size:,} bytes (mtime "
                               f"{st.st_mtime_ns}) but the journal recorded {r.size:,} bytes (mtime {r.dst_mtime_ns}); "
                               "the drive was changed outside seedctl")


def _clean_leftovers(mount: Path, pending: frozenset[str], done: dict[str, FileRecord]) -> None:
    """Drop what a crash left: temporary files, and renamed files whose journal record never landed."""
    shutil.rmtree(tmp_dir(mount), ignore_errors=True)
    for rel in pending:
        if rel not in done:
            local_path(mount, rel).unlink(missing_ok=True)
    tmp_dir(mount).mkdir(parents=True, exist_ok=True)


def _remove_stale(mount: Path, journal: Journal, records: list[FileRecord]) -> None:
    """Delete files no longer allocated to this drive (only ones seedctl wrote, as it wrote them)."""
    gone = []
    for r in records:
        path = local_path(mount, r.rel_path)
        try:
            st = os.stat(path)
            if st.st_size == r.size and st.st_mtime_ns == r.dst_mtime_ns:
                path.unlink()
        except FileNotFoundError:
            pass
        gone.append(r.rel_path)
    journal.add_removed(gone)


def _copy_all(mount: Path, serial: str, staging_root: Path, to_copy: list[StagedFile], journal: Journal,
              done: dict[str, FileRecord], reporter: _Reporter) -> tuple[int, int]:
    fs = FilesystemSync(mount)
    engine = CopyEngine(guard=SpaceGuard.for_drive(mount), fsync_each=not fs.available, on_bytes=reporter.on_bytes)
    group: list[tuple[StagedFile, Path, PendingCopy]] = []
    group_bytes = 0
    copied = 0
    tmp_root = tmp_dir(mount)
    made_dirs: set[Path] = set()

    def commit() -> None:
        """Wait for the group's files, make them durable and journal them (the successful prefix
        when one failed; the failure is raised after the files before it are committed)."""
        nonlocal group, group_bytes, copied
        finished: list[tuple[StagedFile, Path, CopyResult]] = []
        failure: tuple[StagedFile, Exception] | None = None
        for f, tmp, pending in group:
            try:
                result = pending.result()
            except (SourceError, TargetError) as exc:
                failure = failure or (f, exc)
                engine.discard(tmp)
                continue
            if failure is None:
                finished.append((f, tmp, result))
            else:
                engine.discard(tmp)
        group, group_bytes = [], 0
        if finished:
            fs.sync()
            journal.add_pending([f.rel_path for f, _, _ in finished])
            parents = set()
            for f, tmp, _ in finished:
                dest = local_path(mount, f.rel_path)
                if dest.parent not in made_dirs:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    made_dirs.add(dest.parent)
                os.replace(tmp, dest)
                parents.add(dest.parent)
            if fs.available:
                fs.sync()
            else:
                for p in parents:
                    fsync_dir(p)
            records = []
            for f, _, result in finished:
                st = os.stat(local_path(mount, f.rel_path))
                records.append(FileRecord(f.rel_path, f.blob_path, drive_file_path(f.rel_path), f.size, f.mtime_ns,
                                          result.md5_hex, engine.buffer_size, result.block_md5s, st.st_mtime_ns))
            journal.add_files(records)
            for r in records:
                done[r.rel_path] = r
            copied += len(records)
        if failure is not None:
            failure[1].rel_path = failure[0].rel_path  # name the staging file, not the temporary name
            raise failure[1]

    try:
        try:
            for n, f in enumerate(to_copy):
                if f.size > GROUP_BYTES or (group and group[-1][2].error is not None):
                    commit()  # a large file is a group of its own: a crash in it never costs the small ones
                tmp = tmp_root / f"{n:08d}.part"
                reporter.current = f.rel_path
                try:
                    pending = engine.start(staging_root.joinpath(*f.rel_path.split("/")), f.rel_path, tmp,
                                           expected_size=f.size, expected_mtime_ns=f.mtime_ns)
                except SourceError:
                    engine.discard(tmp)
                    _commit_quietly(commit)
                    raise
                group.append((f, tmp, pending))
                group_bytes += f.size
                reporter.files_done += 1
                reporter.emit("copying")
                if group_bytes >= GROUP_BYTES or len(group) >= GROUP_FILES:
                    commit()
            commit()
        except SourceError as exc:
            raise DriveError(f"drive {serial}: staging file {exc.rel_path} {exc}; {len(done):,} completed "
                             "file(s) are kept, re-run to resume") from None
        except TargetError as exc:
            raise _drive_error(serial, mount, getattr(exc, "rel_path", exc.path.name), exc, len(done)) from None
    except OSError as exc:  # commit itself failed (the drive went away, read-only, full journal)
        raise DriveError(f"drive {serial} at {mount}: {exc.strerror or exc} ({getattr(exc, 'filename', '')}); "
                         f"{len(done):,} completed file(s) are journaled, re-run to resume") from None
    finally:
        for _, tmp, pending in group:  # after a failure: let the workers finish, drop the rest
            try:
                pending.result()
            except (SourceError, TargetError):
                pass
            engine.discard(tmp)
        engine.close()
        fs.close()
    return copied, engine.bytes_read


def _commit_quietly(commit: object) -> None:
    try:
        commit()  # type: ignore[operator]
    except (OSError, SourceError, TargetError):
        pass  # the original error is the one to report


def _finish_manifest(mount: Path, serial: str, files: Sequence[StagedFile], done: dict[str, FileRecord],
                     journal: Journal, state: object, stats: tuple[int, int]) -> PreparedDrive:
    copied, bytes_read = stats
    digest = fileset_digest([(f.rel_path, done[f.rel_path].md5_hex) for f in files])
    total = sum(f.size for f in files)
    previous = read_journal(mount)
    path = mount / MANIFEST_NAME
    m = previous.manifest if previous else None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if m is not None and st is not None and m.fileset == digest and m.files == len(files) \
            and st.st_size == m.size and st.st_mtime_ns == m.mtime_ns:
        hash_hex = m.manifest_hash  # unchanged since written: nothing to do
    else:
        hash_hex = write_manifest(_manifest_for(serial, files, done), path)
        st = os.stat(path)
        journal.add_manifest(ManifestRecord(hash_hex, len(files), total, digest, st.st_size, st.st_mtime_ns))
    return PreparedDrive(serial, MANIFEST_FILE, hash_hex, DRIVE_HEADER_HASH, len(files), total, copied, bytes_read)
