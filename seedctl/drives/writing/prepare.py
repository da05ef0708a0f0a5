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

import errno
import os
import shutil
import time
from collections.abc import Collection, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seedctl.drives.disk.identity import check_safe_to_write
from seedctl.drives.disk.simulated import SpaceGuard
from seedctl.drives.formats.journal import (
    FileRecord,
    Journal,
    JournalError,
    JournalState,
    ManifestRecord,
    fileset_digest,
    read_journal,
)
from seedctl.drives.formats.layout import (
    DATA_DIR,
    SEEDCTL_DIR,
    TMP_DIR,
    Confinement,
    check_own_folder,
    clusters,
    journal_path,
    local_path,
    tmp_dir,
)
from seedctl.drives.formats.manifest import (
    DRIVE_HEADER_HASH,
    MANIFEST_FILE,
    MANIFEST_NAME,
    CopiedBlob,
    fsync_dir,
    write_manifest,
)
from seedctl.drives.placement.allocate import cost_on_drive
from seedctl.drives.tables.drivetable import DriveTable, DuplicateFile
from seedctl.drives.tables.staged import StagedFile
from seedctl.drives.writing.anchor import DriveAnchor
from seedctl.drives.writing.copyengine import BUFFER_SIZE, CopyEngine, PendingCopy, SourceError, TargetError
from seedctl.drives.writing.durability import FilesystemSync
from seedctl.drives.writing.progress import ProgressCallback, ProgressEvent
from seedctl.drives.writing.verify import VerifyReport, verify_drive
from seedctl.errors import DriveError
from seedctl.interrupt import INTERRUPT, Cancelled, CancelToken, DriveInterrupted
from seedctl.safefs import Tree, UnsafeEntry

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
    return drive_state(Path(mount), read_journal(Path(mount)))


def drive_state(mount: Path, state: JournalState | None) -> DriveState | None:
    """`read_drive_state` from a journal already read (a plan reads each journal once)."""
    if state is None:
        return None
    try:
        st = os.lstat(mount / MANIFEST_NAME)  # a link in its place is not the manifest seedctl wrote
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


def _manifest_blobs(files: Sequence[StagedFile], table: DriveTable) -> Iterator[CopiedBlob]:
    """The manifest's blobs, one at a time (the streamed writer never holds them all), with the raw
    digests of the drive's table: no object per block, no hex round trip."""
    md5s = table.md5_column
    for i, f in enumerate(files):
        extra = table.blocks(i)
        if extra is None:
            yield CopiedBlob(f.blob_path, _file_path(f.rel_path), f.size, md5s[16 * i:16 * i + 16], BUFFER_SIZE)
        else:
            yield CopiedBlob(f.blob_path, _file_path(f.rel_path), f.size, md5s[16 * i:16 * i + 16], *extra)


def _errno_text(err: OSError) -> str:
    """'No space left on device (ENOSPC)': the errno by name, which is what a search finds."""
    code = errno.errorcode.get(err.errno or 0)
    return f"{err.strerror or err}" + (f" ({code})" if code else "")


def _drive_error(serial: str, mount: Path, rel: str, exc: TargetError, done: int) -> DriveError:
    """A failed write names the drive and the errno (the staging file only says what was being written)."""
    err = exc.error
    kept = f"{done:,} completed file(s) are kept and journaled; re-run to resume"
    if exc.disk_full:
        try:
            free = f"{shutil.disk_usage(mount).free:,} bytes free"
        except OSError:
            free = "free space unknown"
        return DriveError(f"drive {serial} at {mount} is full while writing {rel}: {_errno_text(err)}, {free}; "
                          f"free space on it or re-plan onto more drives. {kept}")
    return DriveError(f"drive {serial} at {mount}: write failed: {_errno_text(err)} while writing {rel}. "
                      "Check the drive and its connection (an I/O error can mean a failing disk or cable; "
                      f"read-only means the system remounted it after errors). {kept}")


def prepare_drive(mount: Path, serial: str, files: Sequence[StagedFile], staging_root: Path, *, owner_id: str,
                  progress: ProgressCallback | None = None, verify: bool = False,
                  allow_simulated: bool = False, cancel: CancelToken | None = None,
                  repair: Collection[str] = ()) -> PreparedDrive:
    """Make the drive at `mount` hold exactly `files` (in this order in the manifest), resumably.

    `owner_id` binds the drive to one spec (a drive prepared for another spec is refused).
    `allow_simulated` accepts sandbox drives (simulated folders, loop images): only for cloud: sandbox.
    `cancel` (default: the process-wide token the CLI's Ctrl-C/SIGTERM handlers set) stops the copy
    within one buffer, raising DriveInterrupted; completed files stay journaled.
    `repair` names files the journal calls complete that are missing or damaged on the drive (found
    by the caller's stat or re-hash): they are copied again from staging.
    Raises DriveError naming the drive and the reason; completed files stay journaled.
    """
    mount, staging_root = Path(mount), Path(staging_root)
    cancel = INTERRUPT if cancel is None else cancel
    if cancel.is_set():
        raise DriveInterrupted(f"drive {serial}: not started ({cancel.reason}); re-run to write it")
    # What this run knows per file is kept by position in `files` (25 bytes a file, no string or
    # object per file): memory flat in file count (issue 17). The journal's records land in it.
    try:
        table = DriveTable(files)
    except DuplicateFile:
        raise DriveError(f"drive {serial}: the file list names a file twice") from None
    state = read_journal(mount, table=table)
    for rel in repair:
        i = table.position(rel)
        if i is not None:
            table.forget(i)  # copied again from staging
    total = copy_files = copy_bytes = needed = 0
    flags = table.flags
    for i, f in enumerate(files):  # one streamed pass: no list of the files to copy
        total += f.size
        if not flags[i]:
            copy_files += 1
            copy_bytes += f.size
            needed += cost_on_drive(f.size)
    stale = list(table.stale)
    freed = sum(cost_on_drive(table.stale[rel].size) for rel in stale)
    # What resume clears before copying (the interrupted file's temporary copy, renamed files never
    # journaled) frees space too: without counting it, a crash late in a large file on a well-filled
    # drive could never be resumed ("does not fit").
    freed += _leftover_bytes(mount, state.pending if state else frozenset(), table)
    reporter = _Reporter(serial, progress, len(files), total, len(files) - copy_files, total - copy_bytes)
    reporter.emit("checking", force=True)
    # Opened before the identity check and re-checked after it: the descriptor is the proven drive.
    anchor = DriveAnchor(mount, serial)
    try:
        check_safe_to_write(mount, serial, owner_id=owner_id, needed_bytes=max(0, needed - freed),
                            staging_root=staging_root, allow_simulated=allow_simulated)
        anchor.check("opening the journal")
        anchor.lock()  # one writer per drive, on every platform (Windows has no journal flock)
        prepared = _write_drive(anchor, serial, files, staging_root, owner_id, state, table, copy_files, stale,
                                reporter, cancel, total)
    finally:
        anchor.close()
    reporter.emit("done", force=True)
    if verify:
        try:  # reading a whole drive back takes hours too: Ctrl-C stops it at the next block
            report = verify_drive(mount, progress=_stop_on(cancel, progress))
        except Cancelled:
            raise DriveInterrupted(f"drive {serial} at {mount}: written completely, but its verification stopped "
                                   f"({cancel.reason or 'interrupted'}); run `seedctl apply --verify` again to "
                                   "verify it") from None
        if not report.ok:
            raise DriveError(report.summary())
        prepared = PreparedDrive(**{**prepared.__dict__, "verify_report": report})
    return prepared


def _stop_on(cancel: CancelToken, progress: ProgressCallback | None) -> ProgressCallback:
    """A progress callback that raises Cancelled once `cancel` is set (verify calls it per block)."""
    def check(event: ProgressEvent) -> None:
        if cancel.is_set():
            raise Cancelled()
        if progress is not None:
            progress(event)
    return check


def _write_drive(anchor: DriveAnchor, serial: str, files: Sequence[StagedFile], staging_root: Path, owner_id: str,
                 state: JournalState | None, table: DriveTable, copy_files: int, stale: list[str],
                 reporter: _Reporter, cancel: CancelToken, total: int) -> PreparedDrive:
    """The write phases, each after re-proving that the mount point still leads to the drive."""
    mount = anchor.mount
    try:
        journal = Journal.open(mount, owner_id=owner_id, serial=serial, state=state)
    except OSError as exc:
        raise DriveError(f"drive {serial} at {mount}: cannot write its journal: {_errno_text(exc)}") from None
    try:
        anchor.pin_journal()
        _check_against_drive(mount, serial, _kept_records(files, table))
        anchor.check("clearing what an interrupted run left")
        try:
            _clean_leftovers(anchor, state.pending if state else frozenset(), table)
            if stale:
                anchor.check("removing files no longer allocated to it")
                _remove_stale(mount, journal, [table.stale.pop(rel) for rel in stale])
        except OSError as exc:
            raise DriveError(f"drive {serial} at {mount}: {_errno_text(exc)} while clearing leftovers; "
                             "check the drive and re-run") from None
        engine_stats = (0, 0)
        if copy_files:  # no engine (nor its buffers) when nothing is to be copied
            engine_stats = _copy_all(anchor, serial, staging_root, files, table, journal, reporter, cancel)
        anchor.check("writing the manifest")
        return _finish_manifest(mount, serial, files, table, journal, state, engine_stats, total)
    finally:
        journal.close()


def _kept_records(files: Sequence[StagedFile], table: DriveTable) -> Iterator[tuple[str, int, int]]:
    """(rel path, size, the copy's mtime) of each journaled file this run keeps, one at a time."""
    flags = table.flags
    return ((f.rel_path, f.size, table.dst_mtime_ns(i)) for i, f in enumerate(files) if flags[i])


def _check_against_drive(mount: Path, serial: str, records: Iterable[tuple[str, int, int]]) -> None:
    """Every file the journal calls complete must be on the drive as written (lstat only, no read;
    the path is confined to the drive, and a link or folder in its place is not what was written).
    `records`: (rel path, size, the copy's mtime_ns) as journaled."""
    confined = Confinement(mount, what=f"drive {serial} at {mount}: journal {journal_path(mount)}")
    for rel, size, dst_mtime_ns in records:
        st = confined.lstat_file(rel)
        if st is None:
            raise JournalError(f"drive {serial} at {mount}: the journal says {_file_path(rel)} is complete but it is "
                               "missing from the drive; the drive was changed outside seedctl. Move .seedctl/journal"
                               ".jsonl aside to recopy everything") from None
        if st.st_size != size or st.st_mtime_ns != dst_mtime_ns:
            raise JournalError(f"drive {serial} at {mount}: {_file_path(rel)} is {st.st_size:,} bytes (mtime "
                               f"{st.st_mtime_ns}) but the journal recorded {size:,} bytes (mtime {dst_mtime_ns}); "
                               "the drive was changed outside seedctl")


def _leftover_bytes(mount: Path, pending: frozenset[str], done: Container[str]) -> int:
    """Space that `_clean_leftovers` will free: temporary files, renamed files never journaled."""
    total = 0
    try:
        with os.scandir(tmp_dir(mount)) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    total += clusters(entry.stat(follow_symlinks=False).st_size)
    except OSError:
        pass
    for rel in pending:
        if rel not in done:
            try:
                total += clusters(os.stat(local_path(mount, rel)).st_size)
            except OSError:
                pass
    return total


def _clean_leftovers(anchor: DriveAnchor, pending: frozenset[str], done: Container[str]) -> None:
    """Drop what a crash left: temporary files, and renamed files whose journal record never landed.
    Through the drive's root folder only (safefs.Tree): .seedctl/tmp is reached without following a
    link or a junction and must be a plain folder (issue 26 item 3), every entry is removed itself
    (a link planted there is unlinked, its target never touched), and the journal's paths are proven
    to stay on the drive before anything is deleted."""
    check_own_folder(anchor.mount, f"{SEEDCTL_DIR}/{TMP_DIR}")
    confined = Confinement(anchor.mount, what=f"journal {journal_path(anchor.mount)}")
    for rel in pending:
        if rel not in done:
            confined.path(rel)
    tmp = f"{SEEDCTL_DIR}/{TMP_DIR}"
    with _drive_tree(anchor.mount, anchor.dir_fd) as tree:
        try:
            names = tree.listdir(tmp)
        except FileNotFoundError:
            tree.mkdir(tmp)
            names = []
        for name in names:
            try:
                tree.remove_entry(f"{tmp}/{name}")
            except (UnsafeEntry, PermissionError, IsADirectoryError):
                pass  # a folder is not seedctl's: left alone, harmless
        for rel in pending:
            if rel not in done:
                tree.remove_entry(f"{DATA_DIR}/{rel}")


def _drive_tree(mount: Path, dir_fd: int | None = None) -> Tree:
    """The drive's root as a safefs.Tree (on the anchor's descriptor when there is one)."""
    return Tree(mount, what=f"drive at {mount}", fd=dir_fd)


def _remove_stale(mount: Path, journal: Journal, records: list[FileRecord]) -> None:
    """Delete files no longer allocated to this drive (only ones seedctl wrote, as it wrote them:
    regular files on the drive, confined to it, with the size and mtime the journal recorded, checked
    again on the entry itself right before its unlink through the drive's root folder)."""
    confined = Confinement(mount, what=f"journal {journal_path(mount)}")
    targets = []
    for r in records:  # every path is checked before the first deletion
        st = confined.lstat_file(r.rel_path)
        if st is not None and st.st_size == r.size and st.st_mtime_ns == r.dst_mtime_ns:
            targets.append(r)
    with _drive_tree(mount) as tree:
        for r in targets:
            def unless(st: os.stat_result, r: FileRecord = r) -> str | None:
                same = st.st_size == r.size and st.st_mtime_ns == r.dst_mtime_ns
                return None if same else "changed since it was checked"
            tree.unlink(f"{DATA_DIR}/{r.rel_path}", unless=unless)
    gone = [r.rel_path for r in records]
    journal.add_removed(gone)


def _copy_all(anchor: DriveAnchor, serial: str, staging_root: Path, files: Sequence[StagedFile], table: DriveTable,
              journal: Journal, reporter: _Reporter, cancel: CancelToken) -> tuple[int, int]:
    """Copy every file the table does not hold as complete, in file order, a group at a time."""
    mount, dir_fd = anchor.mount, anchor.dir_fd
    fs = FilesystemSync(mount)
    engine = CopyEngine(guard=SpaceGuard.for_drive(mount), fsync_each=not fs.available, on_bytes=reporter.on_bytes,
                        cancel=cancel, dir_fd=dir_fd)
    group: list[tuple[int, StagedFile, str, PendingCopy]] = []
    done = table  # its len() is the number of completed files, for the messages
    group_bytes = 0
    copied = 0
    made_dirs: set[str] = set()
    staging_prefix = str(staging_root) + os.sep

    tree = _drive_tree(mount, dir_fd)  # folders made and files renamed into seed/ never through a link

    def make_parents(rel: str) -> str:
        """Create seed/<folders of rel> through the drive's descriptor; return the folder's rel path."""
        parts = rel.split("/")[:-1]
        folder = anchor.rel(DATA_DIR, *parts)
        if folder in made_dirs:
            return folder
        path = DATA_DIR
        for part in ("", *parts):
            path = f"{path}/{part}" if part else path
            here = anchor.rel(*path.split("/"))
            if here in made_dirs:
                continue
            tree.mkdir(path)
            made_dirs.add(here)
        return folder

    def commit() -> None:
        """Wait for the group's files, make them durable and journal them (the successful prefix
        when one failed; the failure is raised after the files before it are committed)."""
        nonlocal group, group_bytes, copied
        finished: list[tuple[int, StagedFile, str, PendingCopy, bytes, list[bytes]]] = []
        failure: tuple[StagedFile, BaseException] | None = None
        for i, f, tmp, pending in group:
            try:
                md5, blocks = pending.digests()
            except (SourceError, TargetError, Cancelled) as exc:
                failure = failure or (f, exc)
                engine.discard(tmp)
                continue
            if failure is None:
                finished.append((i, f, tmp, pending, md5, blocks))
            else:
                engine.discard(tmp)
        group, group_bytes = [], 0
        if finished:
            anchor.check("committing copied files")  # nothing is renamed or journaled on another disk
            fs.sync()
            journal.add_pending([f.rel_path for _, f, _, _, _, _ in finished])
            parents = set()
            for _, f, tmp, _, _, _ in finished:
                parent = make_parents(f.rel_path)
                # through the drive's root folder, never a link (seedctl.safefs); retried while an antivirus
                # or the indexer holds the new file (Windows: seedctl.fsretry, inside Tree.replace)
                tree.replace(f"{SEEDCTL_DIR}/{TMP_DIR}/{os.path.basename(tmp)}", f"{DATA_DIR}/{f.rel_path}")
                parents.add(parent)
            if fs.available:
                fs.sync()
            else:
                for p in parents:
                    fsync_dir(Path(mount, p) if dir_fd is not None else Path(p))
            # the copy's mtime as the drive stored it was read when it was closed: no stat per file here
            bs = engine.buffer_size
            journal.add_copied([(f.rel_path, f.blob_path, f.size, f.mtime_ns, md5, bs, blocks, pending.dst_mtime_ns)
                                for _, f, _, pending, md5, blocks in finished])
            for i, _, _, pending, md5, blocks in finished:
                table.set_copied(i, md5, pending.dst_mtime_ns, bs, b"" if blocks in ([], [md5]) else b"".join(blocks))
            copied += len(finished)
        if failure is not None:
            failure[1].rel_path = failure[0].rel_path  # name the staging file, not the temporary name
            raise failure[1]

    try:
        try:
            n = 0
            flags = table.flags
            for i, f in enumerate(files):
                if flags[i]:
                    continue  # complete on the drive already
                if f.size > GROUP_BYTES and group:
                    commit()  # a large file is a group of its own: a crash in it never costs the small ones
                tmp = anchor.rel(SEEDCTL_DIR, TMP_DIR, f"{n:08d}.part")
                reporter.current = f.rel_path
                try:
                    pending = engine.start(staging_prefix + f.rel_path.replace("/", os.sep), f.rel_path, tmp,
                                           expected_size=f.size, expected_mtime_ns=f.mtime_ns)
                except (SourceError, TargetError, Cancelled) as exc:
                    engine.discard(tmp)
                    exc.rel_path = f.rel_path
                    _commit_quietly(commit)  # the files before it are complete: keep them
                    raise
                group.append((i, f, tmp, pending))
                n += 1
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
            raise _drive_error(serial, mount, exc.rel_path or str(exc.path), exc, len(done)) from None
        except Cancelled:
            raise DriveInterrupted(
                f"drive {serial} at {mount}: stopped ({cancel.reason or 'interrupted'}) while writing "
                f"{reporter.current}; {len(done):,} completed file(s) are journaled and the file in flight "
                "will be redone: run `seedctl apply` again to resume") from None
    except OSError as exc:  # commit itself failed (the drive went away, read-only, full journal)
        raise DriveError(f"drive {serial} at {mount}: write failed: {_errno_text(exc)}"
                         f"{f' ({exc.filename})' if getattr(exc, 'filename', None) else ''}; "
                         f"{len(done):,} completed file(s) are journaled, re-run to resume") from None
    finally:
        for _, _, tmp, pending in group:  # after a failure: let the worker finish, drop the rest
            try:
                pending.result()
            except (SourceError, TargetError, Cancelled):
                pass
            try:
                engine.discard(tmp)
            except OSError:
                pass
        engine.close()
        fs.close()
        tree.close()
    return copied, engine.bytes_read


def _file_path(rel_path: str) -> str:
    """layout.drive_file_path for a scanned relative path (normalised: no '.', '..' or empty parts),
    without its PurePosixPath round trip; FileRecord checks the two agree."""
    return "\\" + DATA_DIR + "\\" + rel_path.replace("/", "\\")


def _commit_quietly(commit: object) -> None:
    try:
        commit()  # type: ignore[operator]
    except (OSError, SourceError, TargetError, Cancelled, DriveError):
        pass  # the original error is the one to report


def _finish_manifest(mount: Path, serial: str, files: Sequence[StagedFile], table: DriveTable, journal: Journal,
                     state: JournalState | None, stats: tuple[int, int], total: int) -> PreparedDrive:
    """Write the manifest unless the one on the drive is current; stream it, hashing as it is written.

    The journal is not read again: its last manifest record still holds only if this run appended
    no file, pending or removed record (`journal.changed`), and then it is the one read at the start."""
    copied, bytes_read = stats
    if not table.all_done():  # every file was copied or kept, or an error was raised before here
        raise DriveError(f"drive {serial} at {mount}: {len(files) - len(table):,} file(s) are not complete; "
                         "re-run to resume")
    md5s = table.md5_column
    digest = fileset_digest(((f.rel_path, md5s[16 * i:16 * i + 16].hex().upper()) for i, f in enumerate(files)),
                            presorted=table.sorted)
    path = mount / MANIFEST_NAME
    m = state.manifest if state is not None and not journal.changed else None
    try:
        st = os.lstat(path)  # a link in its place is not the manifest seedctl wrote: rewritten over it
    except FileNotFoundError:
        st = None
    if m is not None and st is not None and m.fileset == digest and m.files == len(files) \
            and st.st_size == m.size and st.st_mtime_ns == m.mtime_ns:
        hash_hex = m.manifest_hash  # unchanged since written: nothing to do
    else:
        hash_hex = write_manifest((serial, _manifest_blobs(files, table)), path)
        st = os.stat(path)
        journal.add_manifest(ManifestRecord(hash_hex, len(files), total, digest, st.st_size, st.st_mtime_ns))
    return PreparedDrive(serial, MANIFEST_FILE, hash_hex, DRIVE_HEADER_HASH, len(files), total, copied, bytes_read)
