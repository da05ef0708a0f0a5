"""Prepare one drive: prove it is safe, copy what is missing, journal it, write the manifest.

Resumable and idempotent. The journal on the drive says which files are complete (with their
hashes), so a rerun skips them without reading a byte of them; the files in flight at a crash are
redone. A second run on a finished drive stats the files, finds the manifest current and returns
the same result, reading no data.

Commit protocol for a group of files (see durability.py for why groups):
  1. copy each file to .seedctl/tmp/<random> (hashing as it goes)
  2. syncfs (or fsync each file)                     -> data durable under temporary names
  3. journal "pending" [rel paths], fsync             -> a crash from here leaves known leftovers
  4. rename each into seed/..., syncfs (or fsync dirs) -> names durable
  5. journal one "file" record per file, fsync        -> complete
A group closes at 32 MiB or 256 files, so a crash costs at most the group in flight (at most 32 MiB).

A file larger than a group is copied on its own, resumably (issue 22):
  1. create .seedctl/partial/<token> and .seedctl/ranges/<token>, journal "part" (done 0)
  2. every checkpoint interval: fdatasync both, then journal "part" (done, CRC-64 so far, parts so far)
  3. at the end: fdatasync, close, set its time, journal the last "part" with that time
  4. rename into seed/..., sync                       -> names durable
  5. journal its "file" record, naming its range file -> complete
A crash resumes from the last checkpoint (at most one checkpoint interval is read again); a crash
between 4 and 5 is finished without reading the file again.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
import time
from collections.abc import Collection, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seedctl.crc64 import crc64
from seedctl.drives.disk.identity import check_safe_to_write
from seedctl.drives.disk.simulated import SpaceGuard
from seedctl.drives.formats.journal import (
    PAGE,
    RANGE_PART,
    FileRecord,
    Journal,
    JournalError,
    JournalState,
    ManifestRecord,
    PartRecord,
    RangeFileRef,
    fileset_digest,
    read_journal,
)
from seedctl.drives.formats.layout import (
    DATA_DIR,
    PARTIAL_DIR,
    RANGES_DIR,
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
    ManifestError,
    fsync_dir,
    write_manifest,
)
from seedctl.drives.placement.allocate import cost_on_drive
from seedctl.drives.tables.drivetable import DriveTable, DuplicateFile
from seedctl.drives.tables.staged import StagedFile
from seedctl.drives.writing.anchor import DriveAnchor
from seedctl.drives.writing.copyengine import (
    CHECKPOINT_BYTES,
    CopyEngine,
    Folder,
    PendingCopy,
    SourceError,
    TargetError,
    replaced_error,
    set_time,
)
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
    in_flight: tuple[str, ...] = ()  # files a crash interrupted; resumed or redone on the next run
    other_type: int = 0  # files journaled as the other blob type than asked for: copied again


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


def read_drive_state(mount: Path, *, blob_type: str | None = None) -> DriveState | None:
    """The journal's view of the drive at `mount`, or None when seedctl never wrote to it."""
    return drive_state(Path(mount), read_journal(Path(mount)), blob_type=blob_type)


def drive_state(mount: Path, state: JournalState | None, *, blob_type: str | None = None) -> DriveState | None:
    """`read_drive_state` from a journal already read (a plan reads each journal once). With
    `blob_type` ("page" or "block"), files written as the other blob type are not `completed`: they
    are to be copied again (after `staging.blob_type` changed, or on a drive an earlier seedctl
    wrote as block blobs)."""
    if state is None:
        return None
    try:
        st = os.lstat(mount / MANIFEST_NAME)  # a link in its place is not the manifest seedctl wrote
    except FileNotFoundError:
        st = None
    m = state.manifest
    current = bool(m and st and st.st_size == m.size and st.st_mtime_ns == m.mtime_ns)
    page = None if blob_type is None else blob_type == PAGE
    other = 0 if page is None else sum(1 for r in state.files.values() if r.page != page)
    return DriveState(
        owner_id=state.owner_id, serial=state.serial, files=len(state.files),
        bytes=sum(r.size for r in state.files.values()),
        completed={rel: (r.size, r.mtime_ns) for rel, r in state.files.items() if page is None or r.page == page},
        manifest_present=st is not None, manifest_current=current,
        manifest_hash=m.manifest_hash if m else None,
        in_flight=tuple(sorted(state.pending | state.partials.keys())), other_type=other)


class _Reporter:
    def __init__(self, serial: str, callback: ProgressCallback | None, files_total: int, bytes_total: int,
                 skipped_files: int, skipped_bytes: int, interval: float | None = None) -> None:
        self.serial, self.callback = serial, callback
        self.interval = PROGRESS_INTERVAL if interval is None else interval
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files_done, self.bytes_done = skipped_files, skipped_bytes
        self.skipped_bytes = skipped_bytes
        self.current: str | None = None
        self._last = 0.0

    def emit(self, phase: str, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        self.callback(ProgressEvent(self.serial, phase, self.bytes_done, self.bytes_total, self.files_done,
                                    self.files_total, self.current, self.skipped_bytes))

    def on_bytes(self, n: int) -> None:
        self.bytes_done += n
        self.emit("copying")


def _errno_text(err: OSError) -> str:
    """'No space left on device (ENOSPC)': the errno by name, which is what a search finds."""
    code = errno.errorcode.get(err.errno or 0)
    return f"{err.strerror or err}" + (f" ({code})" if code else "")


def _drive_error(serial: str, mount: Path, rel: str, exc: TargetError, done: int) -> DriveError:
    """A failed write names the drive and the errno (the staging file only says what was being written)."""
    err = exc.error
    kept = f"{done:,} completed file(s) are kept and journaled; re-run to resume"
    if exc.replaced:
        return DriveError(f"drive {serial} at {mount}: the copy of {rel} ({exc.path}) was replaced by a link or "
                          "another file while seedctl wrote it: something else is writing to this drive. Nothing "
                          f"was written through it and it was not recorded. Stop whatever writes there; {kept}")
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
                  repair: Collection[str] = (), blob_type: str = "block",
                  checkpoint_bytes: int = CHECKPOINT_BYTES, progress_interval: float | None = None) -> PreparedDrive:
    """Make the drive at `mount` hold exactly `files` (in this order in the manifest), resumably.

    `blob_type` is the spec's `staging.blob_type`: "page" (every file a page blob: sizes multiples
    of 512, the plan checked them) or "block". A file journaled as the other type is copied again.
    `checkpoint_bytes`: how often a file larger than a commit group is checkpointed (tests use less).
    `progress_interval`: seconds between progress events while copying (None: PROGRESS_INTERVAL).

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
    if blob_type not in ("page", "block"):
        raise ValueError(f"blob type {blob_type!r} is neither 'page' nor 'block'")
    page = blob_type == PAGE
    if page:  # the plan refuses these (drives/placement/pagecheck.py); a caller that did not plan is told too
        odd = next((f for f in files if f.size % 512), None)
        if odd is not None:
            raise DriveError(f"drive {serial}: {odd.rel_path} is {odd.size:,} bytes, not a multiple of 512, so it "
                             "cannot be a page blob; set staging.blob_type: block if this is not backup data")
    try:
        table = DriveTable(files, page=page)
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
    freed += _leftover_bytes(mount, _interrupted(state), table)
    reporter = _Reporter(serial, progress, len(files), total, len(files) - copy_files, total - copy_bytes,
                         progress_interval)
    reporter.emit("checking", force=True)
    # Opened before the identity check and re-checked after it: the descriptor is the proven drive.
    anchor = DriveAnchor(mount, serial)
    try:
        check_safe_to_write(mount, serial, owner_id=owner_id, needed_bytes=max(0, needed - freed),
                            staging_root=staging_root, allow_simulated=allow_simulated)
        anchor.check("opening the journal")
        anchor.lock()  # one writer per drive, on every platform (Windows has no journal flock)
        prepared = _write_drive(anchor, serial, files, staging_root, owner_id, state, table, copy_files, stale,
                                reporter, cancel, total, checkpoint_bytes)
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


def _interrupted(state: JournalState | None) -> frozenset[str]:
    """Files a crash interrupted: renamed but never journaled (pending), or copied in checkpoints."""
    if state is None:
        return frozenset()
    return state.pending | state.partials.keys() if state.partials else state.pending


def _write_drive(anchor: DriveAnchor, serial: str, files: Sequence[StagedFile], staging_root: Path, owner_id: str,
                 state: JournalState | None, table: DriveTable, copy_files: int, stale: list[str],
                 reporter: _Reporter, cancel: CancelToken, total: int, checkpoint_bytes: int) -> PreparedDrive:
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
        side = _SideFolders(anchor)
        try:
            resumable, finished = _sort_interrupted(mount, side, state, table, journal, reporter)
            copy_files -= finished
            # seed/ leftovers of interrupted files (those just finished are complete: `table` keeps them)
            _clean_leftovers(anchor, _interrupted(state), table)
            if stale:
                anchor.check("removing files no longer allocated to it")
                _remove_stale(mount, journal, [table.stale.pop(rel) for rel in stale])
            side.clean(resumable, table)
        except OSError as exc:
            side.close()
            raise DriveError(f"drive {serial} at {mount}: {_errno_text(exc)} while clearing leftovers; "
                             "check the drive and re-run") from None
        try:
            engine_stats = (0, 0)
            if copy_files:  # no engine (nor its buffers) when nothing is to be copied
                engine_stats = _copy_all(anchor, side, serial, staging_root, files, table, journal, reporter, cancel,
                                         resumable, checkpoint_bytes)
            anchor.check("writing the manifest")
            return _finish_manifest(mount, side, serial, files, table, journal, state, engine_stats, total)
        finally:
            side.close()
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
    for folder in (tmp_dir(mount), Path(mount, SEEDCTL_DIR, PARTIAL_DIR)):
        # a partial file that will be resumed is counted too: its file's whole size is counted as needed
        try:
            with os.scandir(folder) as entries:
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


class _SideFolders:
    """seedctl's folders on the drive that files are created in: .seedctl/tmp (files of a commit
    group), .seedctl/partial (large files in flight) and .seedctl/ranges (their parts). Each is
    made if missing and held open by a descriptor, reached from the drive's root folder one level at
    a time without following a link (where folders cannot be opened, by path after
    `check_own_folder`); on the drive's filesystem."""

    def __init__(self, anchor: DriveAnchor) -> None:
        self.anchor = anchor
        self._open: dict[str, Folder] = {}

    def folder(self, name: str) -> Folder:
        found = self._open.get(name)
        if found is None:
            found = self._open[name] = _own_folder(self.anchor, name)
        return found

    def close(self) -> None:
        for folder in self._open.values():
            if folder.fd is not None:
                os.close(folder.fd)
        self._open.clear()

    def clean(self, resumable: dict[str, PartRecord], table: DriveTable) -> None:
        """Delete what no journal record names: partial files but those to be resumed, range files
        but those of completed files and of files to be resumed."""
        keep = {part.token for part in resumable.values()}
        for name, extra in ((PARTIAL_DIR, set()), (RANGES_DIR, {ref.token for ref in table.range_files()})):
            if not _exists(self.anchor, name):
                continue
            folder = self.folder(name)
            for entry in _list_folder(folder):
                if entry not in keep and entry not in extra:
                    _unlink_file(folder, entry)


def _list_folder(folder: Folder) -> list[str]:
    """The names in a side folder, through its held descriptor (os.listdir works on a duplicate of
    it, so ours stays open); by path where folders cannot be opened (Windows)."""
    return os.listdir(folder.fd if folder.fd is not None else folder.path)


def _exists(anchor: DriveAnchor, name: str) -> bool:
    try:
        os.stat(anchor.rel(SEEDCTL_DIR, name), dir_fd=anchor.dir_fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def _own_folder(anchor: DriveAnchor, name: str) -> Folder:
    """.seedctl/<name> as a Folder (made when missing); DriveError when it is not a plain folder on the drive."""
    check_own_folder(anchor.mount)
    check_own_folder(anchor.mount, f"{SEEDCTL_DIR}/{name}")
    path = str(Path(anchor.mount, SEEDCTL_DIR, name))
    if anchor.dir_fd is None:  # pragma: no cover - Windows: by path, after the checks above
        os.makedirs(path, exist_ok=True)
        return Folder(None, path)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        os.mkdir(SEEDCTL_DIR, dir_fd=anchor.dir_fd)
    except FileExistsError:
        pass
    top = os.open(SEEDCTL_DIR, flags, dir_fd=anchor.dir_fd)
    try:
        try:
            os.mkdir(name, dir_fd=top)
        except FileExistsError:
            pass
        fd = os.open(name, flags, dir_fd=top)
    except OSError as exc:
        raise DriveError(f"drive at {anchor.mount}: {path} is not a plain folder ({exc.strerror or exc}); it is "
                         "seedctl's own folder and must not point elsewhere. Remove it and re-run") from None
    finally:
        os.close(top)
    if os.fstat(fd).st_dev != os.fstat(anchor.dir_fd).st_dev:
        os.close(fd)
        raise DriveError(f"drive at {anchor.mount}: {path} is on another filesystem (a mount point); refusing to "
                         "use it")
    return Folder(fd, path)


def _unlink_file(folder: Folder, name: str) -> None:
    """Remove a regular file seedctl made in `folder` (a link is removed itself, a folder left alone)."""
    try:
        st = os.stat(folder.name(name), dir_fd=folder.fd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(folder.name(name), dir_fd=folder.fd)
    except FileNotFoundError:
        pass


def _open_file(folder: Folder, name: str, flags: int) -> int:
    """Open `name` in `folder` without following a link; a regular file only (OSError otherwise)."""
    fd = os.open(folder.name(name), flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0), 0o644,
                 dir_fd=folder.fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", folder.shown(name))
    return fd


def _read_range_file(folder: Folder, ref: RangeFileRef, what: str) -> Iterator[bytes]:
    """The parts in a range file, a piece at a time; ManifestError at the end when the file is not
    the one the journal names (missing, shorter, or other bytes: its CRC-64 differs)."""
    want = ref.parts * RANGE_PART.size
    try:
        fd = _open_file(folder, ref.token, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ManifestError(f"{what}: its range file {folder.shown(ref.token)} cannot be read ({exc.strerror or exc});"
                            " the drive was changed outside seedctl. Move .seedctl/journal.jsonl aside to recopy "
                            "the drive") from None
    value = got = 0
    try:
        while got < want:
            piece = os.read(fd, min(want - got, 1 << 20))
            if not piece:
                break
            value = crc64(piece, value)
            got += len(piece)
            yield piece
    finally:
        os.close(fd)
    if got != want or value != ref.crc:
        raise ManifestError(f"{what}: its range file {folder.shown(ref.token)} is not the one the journal recorded "
                            f"({got:,} of {want:,} bytes, or other bytes); the drive was changed outside seedctl. "
                            "Move .seedctl/journal.jsonl aside to recopy the drive")


def _range_file_intact(folder: Folder, token: str, parts: int, crc: int) -> bool:
    try:
        for _ in _read_range_file(folder, RangeFileRef(token, parts, crc), "resume"):
            pass
    except ManifestError:
        return False
    return True


def _sort_interrupted(mount: Path, side: _SideFolders, state: JournalState | None, table: DriveTable,
                      journal: Journal, reporter: _Reporter) -> tuple[dict[str, PartRecord], int]:
    """Decide for every large file a crash interrupted: resume it from its last checkpoint (the same
    staging file, its partial file and range file intact), finish it (killed between its rename and
    its file record: it is in place as written), or start it over. Returns (the files to resume,
    how many were finished). Reads no data, only each range file (a few MB at most)."""
    resumable: dict[str, PartRecord] = {}
    finished = 0
    if state is None or not state.partials:
        return resumable, finished
    files = table.files
    confined = Confinement(mount, what=f"journal {journal_path(mount)}")
    for rel, part in state.partials.items():
        i = table.position(rel)
        if i is None or table.is_done(i):
            continue
        f = files[i]
        if not part.same_source(f.size, f.mtime_ns, f.blob_path, table.page):
            continue  # the staging file (or the blob type) changed since: started over
        ranges = side.folder(RANGES_DIR)
        if not _range_file_intact(ranges, part.token, part.parts, part.parts_crc):
            continue
        partial = side.folder(PARTIAL_DIR)
        try:
            st = os.stat(partial.name(part.token), dir_fd=partial.fd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISREG(st.st_mode) and st.st_size >= part.done:
            resumable[rel] = part
            continue
        if part.dst_mtime_ns is None or part.done != part.size:
            continue
        placed = confined.lstat_file(rel)
        if placed is None or placed.st_size != part.size or placed.st_mtime_ns != part.dst_mtime_ns:
            continue
        ref = RangeFileRef(part.token, part.parts, part.parts_crc)
        journal.add_copied([(rel, f.blob_path, f.size, f.mtime_ns, part.dst_mtime_ns, part.page, part.crc, ref)])
        table.set_copied(i, page=part.page, crc=part.crc, dst_mtime_ns=part.dst_mtime_ns, parts=ref)
        reporter.files_done += 1
        reporter.bytes_done += f.size
        reporter.skipped_bytes += f.size
        finished += 1
    return resumable, finished


def _copy_all(anchor: DriveAnchor, side: _SideFolders, serial: str, staging_root: Path, files: Sequence[StagedFile],
              table: DriveTable, journal: Journal, reporter: _Reporter, cancel: CancelToken,
              resumable: dict[str, PartRecord], checkpoint_bytes: int) -> tuple[int, int]:
    """Copy every file the table does not hold as complete, in file order, a group at a time; a
    file larger than a group on its own, in checkpoints."""
    mount, dir_fd = anchor.mount, anchor.dir_fd
    fs = FilesystemSync(mount)
    source = Tree(staging_root, what=f"staging folder {staging_root}")
    engine = CopyEngine(page=table.page, guard=SpaceGuard.for_drive(mount), fsync_each=not fs.available,
                        on_bytes=reporter.on_bytes, cancel=cancel, folder=side.folder(TMP_DIR),
                        checkpoint_bytes=checkpoint_bytes, source=source)
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

    def sync_names(parents: set[str]) -> None:
        if fs.available:
            fs.sync()
        else:
            for p in parents:
                fsync_dir(Path(mount, p) if dir_fd is not None else Path(p))

    def place(folder: Folder, name: str, rel: str, identity: tuple[int, int]) -> None:
        """Rename a copy (`name` in one of .seedctl's folders, held open) into seed/<rel>, reached
        through the drive's root folder without following a link (seedctl.safefs; retried while
        Windows reports the file in use: seedctl.fsretry), and check that what landed there is the
        file written: a writer on the drive that swapped the name for a link between the copy's last
        check and the rename has its link removed (never followed) and the commit stops."""
        target = f"{DATA_DIR}/{rel}"
        st = tree.move_in(folder.fd, folder.name(name), target)
        if (st.st_dev, st.st_ino) != identity or not stat.S_ISREG(st.st_mode):
            tree.remove_entry(target)
            error = replaced_error(f"{mount}/{DATA_DIR}/{rel}")
            error.rel_path = rel
            raise error

    def commit() -> None:
        """Wait for the group's files, make them durable and journal them (the successful prefix
        when one failed; the failure is raised after the files before it are committed)."""
        nonlocal group, group_bytes, copied
        finished: list[tuple[int, StagedFile, str, PendingCopy, int, bytes]] = []
        failure: tuple[StagedFile, BaseException] | None = None
        for i, f, name, pending in group:
            try:
                value, parts = pending.digests()
            except (SourceError, TargetError, Cancelled) as exc:
                failure = failure or (f, exc)
                engine.discard(name)
                continue
            if failure is None:
                finished.append((i, f, name, pending, value, parts))
            else:
                engine.discard(name)
        group, group_bytes = [], 0
        if finished:
            anchor.check("committing copied files")  # nothing is renamed or journaled on another disk
            fs.sync()
            journal.add_pending([f.rel_path for _, f, _, _, _, _ in finished])
            parents = set()
            for _, f, name, pending, _, _ in finished:
                parent = make_parents(f.rel_path)
                place(engine.folder, name, f.rel_path, pending.identity)
                parents.add(parent)
            sync_names(parents)
            # the copy's mtime as the drive stored it was read when it was closed: no stat per file here
            page = table.page
            journal.add_copied([(f.rel_path, f.blob_path, f.size, f.mtime_ns, pending.dst_mtime_ns, page, value, parts)
                                for _, f, _, pending, value, parts in finished])
            for i, _, _, pending, value, parts in finished:
                table.set_copied(i, page=page, crc=value, dst_mtime_ns=pending.dst_mtime_ns, parts=parts)
            copied += len(finished)
        if failure is not None:
            failure[1].rel_path = failure[0].rel_path  # name the staging file, not the temporary name
            raise failure[1]

    def copy_large(i: int, f: StagedFile) -> None:
        """One file larger than a group, resumably (see the module doc); its partial file stays for
        the next run when anything fails."""
        nonlocal copied
        partial, ranges = side.folder(PARTIAL_DIR), side.folder(RANGES_DIR)
        part = resumable.pop(f.rel_path, None)
        src = staging_prefix + f.rel_path.replace("/", os.sep)
        if part is None:
            token = secrets.token_hex(16)
            out_fd = _open_file(partial, token, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            try:
                ranges_fd = _open_file(ranges, token, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except BaseException:
                os.close(out_fd)
                raise
            part = PartRecord(f.rel_path, f.blob_path, f.size, f.mtime_ns, table.page, token, 0, 0, 0, 0)
            journal.add_part(part)  # the old copy, if any, is no longer complete; the token is known
        else:
            out_fd = _open_file(partial, part.token, os.O_WRONLY)
            try:
                ranges_fd = _open_file(ranges, part.token, os.O_WRONLY)
                os.ftruncate(ranges_fd, part.parts * RANGE_PART.size)
                os.lseek(ranges_fd, 0, os.SEEK_END)
            except BaseException:
                os.close(out_fd)
                raise
            reporter.bytes_done += part.done  # already on the drive: not read again
            reporter.skipped_bytes += part.done
        base = part

        def checkpoint(position: int, value: int, parts: int, parts_crc: int) -> None:
            anchor.check("recording a checkpoint")
            journal.add_part(PartRecord(f.rel_path, f.blob_path, f.size, f.mtime_ns, table.page, base.token,
                                        position, value, parts, parts_crc))

        try:
            result = engine.copy_resumable(src, f.rel_path, expected_size=f.size, expected_mtime_ns=f.mtime_ns,
                                           out_fd=out_fd, out_shown=partial.shown(base.token), ranges_fd=ranges_fd,
                                           done=base.done, crc_so_far=base.crc, parts=base.parts,
                                           parts_crc=base.parts_crc, on_checkpoint=checkpoint)
            seen = os.fstat(out_fd)
        finally:
            os.close(ranges_fd)
            os.close(out_fd)
        dst_mtime = set_time(partial, base.token, f.mtime_ns, (seen.st_dev, seen.st_ino))
        ref = RangeFileRef(base.token, result.parts, result.parts_crc)
        journal.add_part(PartRecord(f.rel_path, f.blob_path, f.size, f.mtime_ns, table.page, base.token, f.size,
                                    result.crc64, result.parts, result.parts_crc, dst_mtime))
        anchor.check("committing a copied file")
        parent = make_parents(f.rel_path)
        place(partial, base.token, f.rel_path, (seen.st_dev, seen.st_ino))
        sync_names({parent})
        journal.add_copied([(f.rel_path, f.blob_path, f.size, f.mtime_ns, dst_mtime, table.page, result.crc64, ref)])
        table.set_copied(i, page=table.page, crc=result.crc64, dst_mtime_ns=dst_mtime, parts=ref)
        copied += 1
        reporter.files_done += 1
        reporter.emit("copying")

    try:
        try:
            flags = table.flags
            for i, f in enumerate(files):
                if flags[i]:
                    continue  # complete on the drive already
                reporter.current = f.rel_path
                if f.size > GROUP_BYTES:
                    if group:
                        commit()  # a large file is copied on its own: a crash in it never costs the small ones
                    try:
                        copy_large(i, f)
                    except (SourceError, TargetError, Cancelled) as exc:
                        exc.rel_path = f.rel_path
                        raise
                    continue
                try:
                    pending = engine.start(staging_prefix + f.rel_path.replace("/", os.sep), f.rel_path,
                                           expected_size=f.size, expected_mtime_ns=f.mtime_ns)
                except (SourceError, TargetError, Cancelled) as exc:
                    engine.discard(engine.last_name)
                    exc.rel_path = f.rel_path
                    _commit_quietly(commit)  # the files before it are complete: keep them
                    raise
                group.append((i, f, pending.dst, pending))
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
                "will be resumed from its last checkpoint (a small file is redone): run `seedctl apply` again to "
                "resume") from None
    except OSError as exc:  # commit itself failed (the drive went away, read-only, full journal)
        raise DriveError(f"drive {serial} at {mount}: write failed: {_errno_text(exc)}"
                         f"{f' ({exc.filename})' if getattr(exc, 'filename', None) else ''}; "
                         f"{len(done):,} completed file(s) are journaled, re-run to resume") from None
    finally:
        for _, _, name, pending in group:  # after a failure: let the hashing finish, drop the rest
            try:
                pending.result()
            except (SourceError, TargetError, Cancelled):
                pass
            try:
                engine.discard(name)
            except OSError:
                pass
        engine.close()
        fs.close()
        tree.close()
        source.close()
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


def _finish_manifest(mount: Path, side: _SideFolders, serial: str, files: Sequence[StagedFile], table: DriveTable,
                     journal: Journal, state: JournalState | None, stats: tuple[int, int], total: int) -> PreparedDrive:
    """Write the manifest unless the one on the drive is current; stream it, hashing as it is written.

    The journal is not read again: its last manifest record still holds only if this run appended
    no file, pending or removed record (`journal.changed`), and then it is the one read at the start."""
    copied, bytes_read = stats
    if not table.all_done():  # every file was copied or kept, or an error was raised before here
        raise DriveError(f"drive {serial} at {mount}: {len(files) - len(table):,} file(s) are not complete; "
                         "re-run to resume")
    digest = fileset_digest(table.digest_pairs(), presorted=table.sorted)
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
        def range_file(ref: RangeFileRef) -> Iterator[bytes]:
            return _read_range_file(side.folder(RANGES_DIR), ref, f"drive {serial} at {mount}")

        hash_hex = write_manifest((serial, table.manifest_blobs(_file_path, range_file)), path)
        st = os.stat(path)
        journal.add_manifest(ManifestRecord(hash_hex, len(files), total, digest, st.st_size, st.st_mtime_ns))
    return PreparedDrive(serial, MANIFEST_FILE, hash_hex, DRIVE_HEADER_HASH, len(files), total, copied, bytes_read)
