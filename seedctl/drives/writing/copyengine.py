"""One-pass copy and hash: every source byte is read once, hashed and written.

A file is cut into 4 MiB chunks at 4 MiB offsets. Each chunk is one part of the manifest entry:
a block of a block blob, or at most one page range of a page blob (the chunk's non-zero pages,
trimmed to the page at both ends; an all-zero chunk is no range at all, as the format allows). The
whole-file digest is the Azure CRC-64 (seedctl.crc64), combined from the chunks' CRCs in order, so
no chunk needs another's hash state: chunks are hashed on every core at once, and a resumed copy
needs nothing from before the crash but the CRC of what is already durable.

A file of one chunk is copied entirely on the calling thread: read into a reusable buffer, hashed,
written, closed. No thread hand-off at all: for small files the hand-offs cost more than they could
overlap. A larger file is pumped: the calling thread reads each chunk into a buffer from a
process-wide pool (`cores + 2` buffers of 4 MiB, shared by every drive: memory is flat whatever the
file sizes and the number of drives) and hands it at once to the process-wide hash pool (one thread
per core; hashlib and anycrc work on the buffer without copying it, and MD5 releases the GIL) and to
the engine's writer thread, which writes the chunks in order. So reading the next chunk, hashing
and writing overlap: when the drive is the slow side (the kernel throttles a writer to the disk's
speed once enough is dirty), the read and the hashes go on meanwhile, where the calling thread
doing both read and write would have added the two (8 GiB to a loop-mounted ext4: 36 s before,
21.6 s after, `cp` + `sync` 18.4 s). The buffer returns to the pool once both are done with it.
Results are merged in file order.

Zero chunks are detected at memory speed (one `memcmp` of the buffer against a zero buffer; a data
chunk fails it at its first byte), and are not written: the copy gets a hole (`lseek` past it, the
length set at the end). Holes read back as zeros everywhere; they save the drive's time and space
where the filesystem keeps them sparse (ext4, ntfs-3g, ntfs3; NTFS on Windows once the file is
marked sparse, which is tried; where it is not, NTFS writes the zeros itself). Space is still
reserved for them on a simulated drive, as on a filesystem without sparse files.

An error writing the drive (ENOSPC, EIO, EROFS) surfaces on the calling thread within a chunk, as a
TargetError carrying the errno, never as a short read of the source.

The source's size and mtime are checked before and after reading on the open descriptor (and, for a
file of more than one chunk, on the path too), so a file that changed or was replaced during the
copy is caught. A `CancelToken` is checked before every chunk: a cancelled copy stops within one
chunk and raises `Cancelled`.

Destinations are created in a folder held by a descriptor (`Folder`), under unpredictable names,
`O_CREAT | O_EXCL | O_NOFOLLOW`: a link or file someone plants in seedctl's folders is never
written through (issue 23). The copy's time is set after the file is closed, by name through the
folder descriptor, and read back from the filesystem then (issue 26: on Windows a time set while a
writing handle is open is overwritten when it closes); the name must still be the file written.

`copy_resumable` copies a large file into a partial file with checkpoints: every `checkpoint_bytes`
(or `checkpoint_seconds`), the data and the parts so far are made durable (fdatasync) and only then
reported, so a crash re-reads at most one checkpoint interval of the file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import secrets
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import seedctl.crc64 as crc
from seedctl.drives.disk.simulated import SpaceGuard
from seedctl.drives.formats.journal import RANGE_PART
from seedctl.drives.formats.layout import clusters
from seedctl.drives.formats.manifest import MAX_BLOCK_SIZE, PAGE_SIZE
from seedctl.interrupt import Cancelled, CancelToken
from seedctl.safefs import Tree, UnsafeEntry

CHUNK = MAX_BLOCK_SIZE  # a block of a block blob, the largest page range of a page blob
BUFFER_SIZE = CHUNK
MAX_POOL_BUFFERS = 16
CHECKPOINT_BYTES = 256 * 1024 * 1024  # a resumed copy re-reads at most this much of a large file ...
CHECKPOINT_SECONDS = 5.0  # ... or what a slow drive wrote in this long
_SUBBLOCK = 64 * 1024  # zero pages are looked for 64 KiB at a time first, then a page at a time
# Zero chunks are left out (page ranges) and left as holes. False treats them as data: only
# benchmarks/bench_large.py sets it, to measure what leaving them out saves.
SKIP_ZEROS = True
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READV = hasattr(os, "readv")
_ZEROS = bytes(CHUNK)  # read only, never written: its pages stay the kernel's shared zero page
_ZMV = memoryview(_ZEROS)
_DATASYNC = getattr(os, "fdatasync", os.fsync)
_UTIME_DIR_FD = os.utime in os.supports_dir_fd
_UTIME_NOFOLLOW = os.utime in os.supports_follow_symlinks

__all__ = ["BUFFER_SIZE", "CHUNK", "Cancelled", "CopyEngine", "CopyResult", "Folder", "PendingCopy", "SourceError",
           "TargetError"]


class SourceError(Exception):
    """The source file vanished, changed or could not be read (the engine's caller adds context)."""

    def __init__(self, rel_path: str, message: str) -> None:
        super().__init__(message)
        self.rel_path = rel_path


class TargetError(Exception):
    """Writing to the drive failed (full, read-only, I/O error); carries the OSError. `replaced`:
    the file being written was swapped for something else on the drive (a link, another file)."""

    def __init__(self, path: str, error: OSError, *, replaced: bool = False) -> None:
        super().__init__(str(error))
        self.path = path
        self.error = error
        self.replaced = replaced
        self.rel_path = ""  # the staging file being written, set by whoever knows it

    @property
    def disk_full(self) -> bool:
        return self.error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))

    @property
    def errno_name(self) -> str:
        return errno.errorcode.get(self.error.errno or 0, str(self.error.errno))


@dataclass(frozen=True)
class Folder:
    """A folder on the drive that files are created in: its descriptor (None where folders cannot
    be opened, i.e. Windows) and its path (for messages, and for names where there is no descriptor)."""

    fd: int | None
    path: str

    def name(self, name: str) -> str:
        """`name` as os calls take it together with `dir_fd=self.fd`."""
        return name if self.fd is not None else os.path.join(self.path, name)

    def shown(self, name: str) -> str:
        return os.path.join(self.path, name)


@dataclass(frozen=True)
class CopyResult:
    size: int
    crc64: int  # the whole file's Azure CRC-64
    parts: bytes  # packed RANGE_PART records: its blocks (block blob) or non-zero page ranges (page blob)
    mtime_ns: int
    dst_mtime_ns: int  # the copy's mtime as the drive's filesystem stored it (its timestamp precision)


def _cores() -> int:
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


# --- the process-wide pools ---------------------------------------------------------------------

class _BufferPool:
    """`capacity` buffers of CHUNK bytes, made when first needed; `take` waits for a free one."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._made = 0
        self._lock = threading.Lock()

    def take(self) -> bytearray:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._made < self.capacity:
                self._made += 1
                return bytearray(CHUNK)
        return self._free.get()

    def give(self, buf: bytearray) -> None:
        self._free.put(buf)


class _HashPool:
    """One thread per core, hashing chunks; jobs are (function, arguments)."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        for n in range(threads):
            threading.Thread(target=self._run, name=f"seedctl-hash-{n}", daemon=True).start()

    def _run(self) -> None:
        jobs = self._jobs
        while True:
            fn, args = jobs.get()
            fn(*args)

    def submit(self, fn: Callable, *args: object) -> None:
        self._jobs.put((fn, args))


_pools_lock = threading.Lock()
_buffers: _BufferPool | None = None
_hashers: _HashPool | None = None


def _pools() -> tuple[_BufferPool, _HashPool]:
    global _buffers, _hashers
    if _hashers is None:
        with _pools_lock:
            if _hashers is None:
                cores = _cores()
                _buffers = _BufferPool(min(MAX_POOL_BUFFERS, max(4, cores + 2)))
                _hashers = _HashPool(cores)
    assert _buffers is not None
    return _buffers, _hashers


# --- hashing one chunk -----------------------------------------------------------------------------

def _is_zero(buf: bytearray, start: int, end: int) -> bool:
    """buf[start:end] is all zero bytes (a memcmp: stops at the first non-zero byte)."""
    return buf.startswith(_ZMV[:end - start], start, end)


def nonzero_span(buf: bytearray, n: int) -> tuple[int, int]:
    """(start, end) of buf[:n] without its leading and trailing all-zero 512-byte pages (n is a
    multiple of 512 and buf[:n] is not all zeros). Zero runs are skipped 64 KiB at a time, then a
    page at a time: pages are examined only at the edges of a zero run."""
    lo = 0
    if _is_zero(buf, 0, PAGE_SIZE):
        while lo + _SUBBLOCK <= n and _is_zero(buf, lo, lo + _SUBBLOCK):
            lo += _SUBBLOCK
        while _is_zero(buf, lo, lo + PAGE_SIZE):
            lo += PAGE_SIZE
    hi = n
    if _is_zero(buf, n - PAGE_SIZE, n):
        while hi - _SUBBLOCK >= lo and _is_zero(buf, hi - _SUBBLOCK, hi):
            hi -= _SUBBLOCK
        while _is_zero(buf, hi - PAGE_SIZE, hi):
            hi -= PAGE_SIZE
    return lo, hi


@lru_cache(maxsize=8)
def _zero_md5(n: int) -> bytes:
    return hashlib.md5(_ZMV[:n]).digest()


def chunk_digests(buf: bytearray, n: int, offset: int, zero: bool, page: bool) -> tuple[int, bytes]:
    """(CRC-64 of buf[:n], its part as a packed RANGE_PART, or b"" for an all-zero page chunk)."""
    if zero:
        if page:
            return crc.zeros(n), b""
        return crc.zeros(n), RANGE_PART.pack(offset, n, _zero_md5(n))
    mv = memoryview(buf)
    try:
        value = crc.crc64(mv[:n])
        if page:
            lo, hi = nonzero_span(buf, n) if not _is_zero(buf, 0, n) else (0, n)  # zeros as data: SKIP_ZEROS
            return value, RANGE_PART.pack(offset + lo, hi - lo, hashlib.md5(mv[lo:hi]).digest())
        return value, RANGE_PART.pack(offset, n, hashlib.md5(mv[:n]).digest())
    finally:
        mv.release()


class _Lease:
    """A buffer a hash thread and the writer thread use at the same time: whichever lets go of it
    last gives it back to the pool."""

    __slots__ = ("holders", "lock")

    def __init__(self) -> None:
        self.holders = 2
        self.lock = threading.Lock()

    def release(self, pool: _BufferPool, buf: bytearray) -> None:
        with self.lock:
            self.holders -= 1
            last = self.holders == 0
        if last:
            pool.give(buf)


class _Writer:
    """One engine's writer thread: writes (or leaves as holes) the chunks the copying thread read,
    in order, so that reading the next chunk overlaps writing this one (when the drive is the slow
    side, the write of a chunk waits for the disk while the read goes on). The first write error is
    kept and raised on the copying thread by `check` or `drain`; later chunks are then only let go."""

    def __init__(self, engine: CopyEngine) -> None:
        self.engine = engine
        self.jobs: queue.Queue = queue.Queue()
        self.error: TargetError | None = None
        self.thread = threading.Thread(target=self._run, name="seedctl-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        jobs, pool = self.jobs, _pools()[0]
        while True:
            job = jobs.get()
            try:
                if job is None:
                    return
                fd, buf, n, zero, dst, lease = job
                try:
                    if self.error is None:
                        if zero:
                            self.engine._hole(fd, n, dst)
                        else:
                            self.engine._write(fd, memoryview(buf)[:n], dst)
                except TargetError as exc:
                    self.error = exc
                finally:
                    lease.release(pool, buf)
            finally:
                jobs.task_done()

    def check(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def drain(self) -> None:
        """Wait until every chunk handed over is written; raise the first write error."""
        self.jobs.join()
        self.check()

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join()


class _FileHash:
    """The chunks of one file in flight: submitted in order, hashed in any order, merged in order."""

    __slots__ = ("page", "crc", "parts", "submitted", "merged", "results", "error", "cond")

    def __init__(self, page: bool, crc_so_far: int = 0) -> None:
        self.page = page
        self.crc = crc_so_far  # CRC-64 of the merged prefix of the file
        self.parts = bytearray()  # merged parts not yet taken by the caller
        self.submitted = 0
        self.merged = 0
        self.results: dict[int, tuple[int, int, bytes]] = {}  # index -> (CRC, length, part), not yet merged
        self.error: BaseException | None = None
        self.cond = threading.Condition(threading.Lock())

    def hash_chunk(self, pool: _BufferPool, index: int, buf: bytearray, n: int, offset: int, zero: bool,
                   lease: _Lease) -> None:
        """Run by a hash thread; lets go of the buffer whatever happens (see _Lease)."""
        try:
            value, part = chunk_digests(buf, n, offset, zero, self.page)
            result: tuple[int, int, bytes] | BaseException = (value, n, part)
        except BaseException as exc:  # noqa: BLE001 - handed to the copying thread, which raises it
            result = exc
        finally:
            lease.release(pool, buf)
        with self.cond:
            if isinstance(result, BaseException):
                self.error = self.error or result
                self.results[index] = (0, 0, b"")
            else:
                self.results[index] = result
            self.cond.notify_all()

    def merge(self, *, wait: bool) -> None:
        """Merge the results that are in, in order; with `wait`, every submitted chunk's."""
        with self.cond:
            while True:
                while self.merged in self.results:
                    value, n, part = self.results.pop(self.merged)
                    self.crc = crc.combine(self.crc, value, n)  # crc 0 is the empty prefix's: combines too
                    self.parts += part
                    self.merged += 1
                if not wait or self.merged == self.submitted:
                    break
                self.cond.wait()
        if self.error is not None:
            raise self.error

    def take_parts(self) -> bytes:
        parts = bytes(self.parts)
        self.parts.clear()
        return parts


class PendingCopy:
    """A file whose bytes are all read and written; its chunks may still be hashing."""

    __slots__ = ("rel_path", "dst", "error", "size", "mtime_ns", "dst_mtime_ns", "identity", "hash")

    def __init__(self, rel_path: str, dst: str, mtime_ns: int, page: bool) -> None:
        self.rel_path = rel_path
        self.dst = dst  # the name in the engine's folder
        self.error: BaseException | None = None
        self.size = 0
        self.mtime_ns = mtime_ns
        self.dst_mtime_ns = 0
        self.identity = (0, 0)  # (device, inode) of the file written: what the rename must move
        self.hash = _FileHash(page)

    def result(self) -> CopyResult:
        """Wait for the hashing; raise this file's SourceError/TargetError/Cancelled, else its digests."""
        value, parts = self.digests()
        return CopyResult(self.size, value, parts, self.mtime_ns, self.dst_mtime_ns)

    def digests(self) -> tuple[int, bytes]:
        """(whole-file CRC-64, packed parts), once every chunk is hashed."""
        if self.error is not None:
            raise self.error
        self.hash.merge(wait=True)
        return self.hash.crc, bytes(self.hash.parts)


class _Syncer:
    """Makes a checkpoint durable off the copying thread: fdatasync the files, then report it. One
    at a time: `start` waits for the one before (and raises its error), `finish` for the last."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _run(self, fds: tuple[int, ...], report: tuple[Callable, tuple] | None) -> None:
        try:
            for fd in fds:
                _DATASYNC(fd)
            if report is not None:
                report[0](*report[1])
        except OSError as exc:
            self._error = TargetError(self.shown, exc)
        except BaseException as exc:  # noqa: BLE001 - raised on the copying thread
            self._error = exc

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def start(self, fds: tuple[int, ...], report: tuple[Callable, tuple] | None, *, wait: bool) -> None:
        self._join()
        if wait:
            self._run(fds, report)
            self._join()
            return
        self._thread = threading.Thread(target=self._run, args=(fds, report), name="seedctl-checkpoint", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        """Wait for the checkpoint in flight; its error is raised unless another is on its way."""
        if sys.exc_info()[1] is not None:
            try:
                self._join()
            except BaseException:  # noqa: BLE001 - the error already raised is the one to report
                pass
            return
        self._join()


@dataclass(frozen=True)
class ResumableResult:
    crc64: int
    parts: int  # parts in the range file
    parts_crc: int  # CRC-64 of the range file's bytes


class CopyEngine:
    """Copies files for one drive. Not thread-safe: one engine per drive, driven by one thread.
    The buffer and hash pools are the process's, shared by every drive's engine."""

    def __init__(self, *, page: bool = False, guard: SpaceGuard | None = None, fsync_each: bool = False,
                 on_bytes: Callable[[int], None] | None = None, cancel: CancelToken | None = None,
                 folder: Folder | None = None, checkpoint_bytes: int = CHECKPOINT_BYTES,
                 checkpoint_seconds: float = CHECKPOINT_SECONDS, source: Tree | None = None) -> None:
        self.page = page
        # the staging folder held open: each source is opened from it one folder at a time, never
        # through a link or into a FIFO or device that replaced a file since the scan (safefs)
        self.source = source
        self.guard = guard
        self.fsync_each = fsync_each  # where no filesystem-wide sync exists, fsync every file
        self.buffer_size = CHUNK
        self.on_bytes = on_bytes
        self.cancel = cancel
        self.folder = folder or Folder(None, ".")
        self.checkpoint_bytes = max(CHUNK, checkpoint_bytes // CHUNK * CHUNK)
        self.checkpoint_seconds = checkpoint_seconds
        self.bytes_read = 0  # every source byte read by this engine (the resume tests count these)
        # the calling thread's own buffer for one-chunk files, grown as needed (a run of small files
        # needs none of the pool's 4 MiB buffers)
        self._small = bytearray(0)
        self._sparse_marked: set[tuple[int, int]] = set()
        self._writer: _Writer | None = None  # started by the first file of more than one chunk
        self.last_name = ""  # the temporary file `start` created last (to discard it after a failure)

    def close(self) -> None:
        """Stop the writer thread (the buffer and hash pools are the process's)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> CopyEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- files of a commit group ---------------------------------------------------------------
    def copy(self, src: str, rel_path: str, *, expected_size: int, expected_mtime_ns: int) -> CopyResult:
        """Copy one file and wait for it (see `start`)."""
        return self.start(src, rel_path, expected_size=expected_size, expected_mtime_ns=expected_mtime_ns).result()

    def start(self, src: str, rel_path: str, *, expected_size: int, expected_mtime_ns: int) -> PendingCopy:
        """Copy `src` to a new file under an unpredictable name in the engine's folder (the caller
        renames it: `PendingCopy.dst`). Returns once the source is read and written (its chunks may
        still be hashing); raises SourceError, TargetError or Cancelled (the partly written
        destination is left for the caller to `discard`; `pending_name` names it)."""
        self.last_name = ""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()
        fd_in = self._open_source(src, rel_path)
        pending = PendingCopy(rel_path, "", expected_mtime_ns, self.page)
        try:
            st = os.fstat(fd_in)
            _check_unchanged(st, rel_path, expected_size, expected_mtime_ns, "since the plan")
            fd = self._create(pending)
            try:
                if expected_size <= CHUNK:
                    self._copy_one_chunk(fd_in, fd, pending, expected_size)
                else:
                    self._pump(fd_in, fd, pending.hash, pending.rel_path, self.folder.shown(pending.dst), 0,
                               expected_size)
                    pending.size = expected_size
            except BaseException:
                os.close(fd)
                raise
            self._close_and_time(fd, pending.dst, pending)
            _check_unchanged(os.fstat(fd_in), rel_path, expected_size, expected_mtime_ns, "during the copy")
            if expected_size > CHUNK:
                _check_path(src, st, rel_path, expected_size, expected_mtime_ns)
        except BaseException as exc:
            pending.error = exc
            raise
        finally:
            os.close(fd_in)
        return pending

    def _open_source(self, src: str, rel_path: str) -> int:
        try:
            if self.source is not None:
                return self.source.open(rel_path)
            return os.open(src, os.O_RDONLY | _O_BINARY | _O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            raise SourceError(rel_path, "the file vanished from the staging folder since the plan") from None
        except UnsafeEntry as exc:
            raise SourceError(rel_path, f"was replaced since the plan: {exc}") from None
        except OSError as exc:
            raise SourceError(rel_path, f"cannot open it: {exc.strerror or exc}") from None

    def _create(self, pending: PendingCopy) -> int:
        """A new file under an unpredictable name: never through a link, never an existing file."""
        folder = self.folder
        for _ in range(8):
            name = secrets.token_hex(16) + ".part"
            try:
                fd = os.open(folder.name(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_BINARY,
                             0o644, dir_fd=folder.fd)
            except FileExistsError:
                continue  # 128 random bits taken: someone planted it; pick another
            except OSError as exc:
                raise TargetError(folder.shown(name), exc) from None
            pending.dst = self.last_name = name
            return fd
        raise TargetError(folder.path, OSError(errno.EEXIST, "could not create a new temporary file"))

    def _copy_one_chunk(self, fd_in: int, fd: int, pending: PendingCopy, size: int) -> None:
        if len(self._small) < size:  # grown in powers of two up to one chunk: tiny files, tiny buffer
            self._small = bytearray(min(CHUNK, max(64 << 10, 1 << (size - 1).bit_length())))
        buf = self._small
        mv = memoryview(buf)
        # Read exactly the planned size: growth shows in the size and mtime checked afterwards.
        n = _read(fd_in, mv, size, pending.rel_path, 0)
        if n != size:
            raise SourceError(pending.rel_path, f"read {n:,} bytes but the file has {size:,}; it changed "
                                                "during the copy")
        if n:
            zero = SKIP_ZEROS and _is_zero(buf, 0, n)
            value, part = chunk_digests(buf, n, 0, zero, self.page)
            fh = pending.hash
            fh.crc, fh.parts = value, bytearray(part)
            shown = self.folder.shown(pending.dst)
            self._reserve(0, n, shown)
            if zero:
                self._hole(fd, n, shown)
                try:
                    os.ftruncate(fd, n)  # all zeros: the file is one hole of its length
                except OSError as exc:
                    raise TargetError(shown, exc) from None
            else:
                self._write(fd, mv[:n], shown)
        pending.size = n
        self.bytes_read += n
        if self.on_bytes is not None and n:
            self.on_bytes(n)

    def _close_and_time(self, fd: int, name: str, pending: PendingCopy) -> None:
        """fsync where asked, close, then set the source's mtime on the closed file and read back what
        the filesystem stored (see the module doc)."""
        try:
            if self.fsync_each:
                os.fsync(fd)
            seen = os.fstat(fd)
        except OSError as exc:
            os.close(fd)
            raise TargetError(self.folder.shown(name), exc) from None
        try:
            os.close(fd)
        except OSError as exc:
            raise TargetError(self.folder.shown(name), exc) from None
        pending.identity = (seen.st_dev, seen.st_ino)
        pending.dst_mtime_ns = set_time(self.folder, name, pending.mtime_ns, pending.identity)

    # -- large files: resumable, with checkpoints ----------------------------------------------
    def copy_resumable(self, src: str, rel_path: str, *, expected_size: int, expected_mtime_ns: int, out_fd: int,
                       out_shown: str, ranges_fd: int, done: int = 0, crc_so_far: int = 0, parts: int = 0,
                       parts_crc: int = 0,
                       on_checkpoint: Callable[[int, int, int, int], None] | None = None) -> ResumableResult:
        """Copy `src` from byte `done` (a checkpoint: the first `done` bytes are in `out_fd` with
        CRC-64 `crc_so_far`, the first `parts` parts in `ranges_fd`, whose bytes have CRC-64
        `parts_crc`) to its end. Parts are appended to `ranges_fd` as RANGE_PART records. Every
        checkpoint interval the data and parts written so far are made durable, then
        `on_checkpoint(done, crc, parts, parts_crc)` is called. At the end both files are durable;
        the caller closes `out_fd` and sets its time (`set_time`)."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()
        fd_in = self._open_source(src, rel_path)
        fh = _FileHash(self.page, crc_so_far)
        state = [parts, parts_crc]
        syncing = _Syncer(out_shown)

        def checkpoint(position: int) -> None:
            """Parts up to `position` into the range file, the file's length to `position` (a
            trailing hole), then, on the syncer, both made durable and only then reported; the copy
            goes on meanwhile (the syncer waits for the previous checkpoint first)."""
            fh.merge(wait=True)
            new = fh.take_parts()
            try:
                if new:
                    _write_all(ranges_fd, memoryview(new))
                if os.fstat(out_fd).st_size < position:
                    os.ftruncate(out_fd, position)  # the copy never wrote past `position`: only extends
            except OSError as exc:
                raise TargetError(out_shown, exc) from None
            state[0] += len(new) // RANGE_PART.size
            state[1] = crc.crc64(new, state[1]) if new else state[1]
            report = None
            if on_checkpoint is not None and position < expected_size:
                report = (on_checkpoint, (position, fh.crc, state[0], state[1]))
            syncing.start((out_fd, ranges_fd), report, wait=position >= expected_size)

        try:
            st = os.fstat(fd_in)
            _check_unchanged(st, rel_path, expected_size, expected_mtime_ns, "since the plan")
            try:
                os.lseek(fd_in, done, os.SEEK_SET)
                os.ftruncate(out_fd, done)
                os.lseek(out_fd, done, os.SEEK_SET)
            except OSError as exc:
                raise TargetError(out_shown, exc) from None
            self._pump(fd_in, out_fd, fh, rel_path, out_shown, done, expected_size, checkpoint=checkpoint)
            checkpoint(expected_size)
            _check_unchanged(os.fstat(fd_in), rel_path, expected_size, expected_mtime_ns, "during the copy")
            _check_path(src, st, rel_path, expected_size, expected_mtime_ns)
        finally:
            syncing.finish()  # nothing is journaled after this returns or raises
            os.close(fd_in)
        return ResumableResult(fh.crc, state[0], state[1])

    # -- the pump: read, write, hand to the hash pool ------------------------------------------
    def _pump(self, fd_in: int, fd_out: int, fh: _FileHash, rel_path: str, dst: str, start: int, end: int, *,
              checkpoint: Callable[[int], None] | None = None) -> None:
        """Copy source bytes [start, end) chunk by chunk (start is a multiple of CHUNK) to `fd_out`
        (shown as `dst`), submitting each chunk for hashing; `checkpoint(position)` every interval."""
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd_in, start, 0, os.POSIX_FADV_SEQUENTIAL)
        buffers, hashers = _pools()
        if self._writer is None:
            self._writer = _Writer(self)
        writer = self._writer
        cancel, on_bytes = self.cancel, self.on_bytes
        position = start
        last = start
        last_time = time.monotonic()
        try:
            while position < end:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                writer.check()  # a write error surfaces within a chunk, with its errno
                buf = buffers.take()
                want = min(CHUNK, end - position)
                try:
                    n = _read(fd_in, memoryview(buf), want, rel_path, position)
                    if n != want:
                        raise SourceError(rel_path, f"read {position + n:,} bytes but the file has {end:,}; it "
                                                    "changed during the copy")
                    zero = SKIP_ZEROS and _is_zero(buf, 0, n)
                    self._reserve(position, n, dst)
                except BaseException:
                    buffers.give(buf)
                    raise
                # hashed and written at the same time (the writer thread, in order); the buffer goes
                # back to the pool once both are done with it
                lease = _Lease()
                index = fh.submitted
                fh.submitted += 1
                hashers.submit(fh.hash_chunk, buffers, index, buf, n, position, zero, lease)
                writer.jobs.put((fd_out, buf, n, zero, dst, lease))
                position += n
                self.bytes_read += n
                if on_bytes is not None:
                    on_bytes(n)
                if fh.results:
                    fh.merge(wait=False)  # keeps the results in flight few, whatever the file size
                # a checkpoint starts every half interval and completes while the copy goes on; the
                # one before it has completed when the next starts, so a crash re-reads at most one
                # interval (checkpoint_bytes) of the file
                if checkpoint is not None and position < end and (
                        position - last >= self.checkpoint_bytes // 2
                        or time.monotonic() - last_time >= self.checkpoint_seconds / 2):
                    writer.drain()  # everything before `position` is written
                    checkpoint(position)
                    last, last_time = position, time.monotonic()
            writer.drain()
        except BaseException:
            try:
                writer.drain()  # nothing is written to the file after this returns
            except TargetError:
                pass  # the first error is the one to report
            try:
                fh.merge(wait=True)  # the hash threads are done with this file's buffers
            except BaseException:  # noqa: BLE001 - the first error is the one to report
                pass
            raise
        if end > start:
            try:
                os.ftruncate(fd_out, end)  # the length, when the file ends in a hole
            except OSError as exc:
                raise TargetError(dst, exc) from None

    def _reserve(self, written: int, n: int, dst: str) -> None:
        """Account `n` bytes after `written` against a simulated drive (holes too: a drive whose
        filesystem keeps no sparse files needs the space)."""
        if self.guard is not None:
            try:
                self.guard.reserve(clusters(written + n) - clusters(written), dst)
            except OSError as exc:
                raise TargetError(dst, exc) from None

    def _write(self, fd: int, mv: memoryview, dst: str) -> None:
        try:
            _write_all(fd, mv)
        except OSError as exc:
            raise TargetError(dst, exc) from None

    def _hole(self, fd: int, n: int, dst: str) -> None:
        """Skip `n` zero bytes: the file gets a hole there (see the module doc)."""
        try:
            if sys.platform == "win32":  # pragma: no cover - Windows
                key = (fd, os.fstat(fd).st_ino)  # a descriptor number is reused by the next file
                if key not in self._sparse_marked:
                    self._sparse_marked.add(key)
                    _mark_sparse(fd)
            os.lseek(fd, n, os.SEEK_CUR)
        except OSError as exc:
            raise TargetError(dst, exc) from None

    def discard(self, name: str) -> None:
        """Delete a partly written temporary file (the name this engine created, in its folder),
        giving its space back to a simulated drive's guard. A link or folder in its place is left."""
        if not name:
            return
        folder = self.folder
        try:
            st = os.stat(folder.name(name), dir_fd=folder.fd, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                return
            os.unlink(folder.name(name), dir_fd=folder.fd)
        except FileNotFoundError:
            return
        if self.guard is not None:
            self.guard.release(clusters(st.st_size))


def set_time(folder: Folder, name: str, mtime_ns: int, identity: tuple[int, int] | None = None) -> int:
    """Set `mtime_ns` on the closed file `name` in `folder` and return the mtime the filesystem
    stored (its precision). By name through the folder's descriptor, never following a link; with
    `identity` (device, inode of the file written) the name must still be that file."""
    by_fd = folder.fd is not None and _UTIME_DIR_FD
    try:
        kwargs = {"follow_symlinks": False} if _UTIME_NOFOLLOW else {}
        if by_fd:
            os.utime(name, ns=(mtime_ns, mtime_ns), dir_fd=folder.fd, **kwargs)
        else:  # pragma: no cover - Windows (no folder descriptors): by path, links refused below
            os.utime(folder.shown(name), ns=(mtime_ns, mtime_ns), **kwargs)
        st = os.stat(folder.name(name), dir_fd=folder.fd, follow_symlinks=False)
    except OSError as exc:
        raise TargetError(folder.shown(name), exc) from None
    if not stat.S_ISREG(st.st_mode) or (identity is not None and (st.st_dev, st.st_ino) != identity):
        raise replaced_error(folder.shown(name))
    return st.st_mtime_ns


def replaced_error(shown: str) -> TargetError:
    return TargetError(shown, OSError(errno.EEXIST, "was replaced by something else while it was written (a link "
                                                    "or another file)"), replaced=True)


def _mark_sparse(fd: int) -> None:  # pragma: no cover - Windows
    """FSCTL_SET_SPARSE on the file, best effort: without it NTFS writes the zeros of a hole itself."""
    try:
        import ctypes
        import msvcrt
        from ctypes import wintypes

        returned = wintypes.DWORD()
        ctypes.windll.kernel32.DeviceIoControl(wintypes.HANDLE(msvcrt.get_osfhandle(fd)), 0x000900C4, None, 0, None, 0,
                                               ctypes.byref(returned), None)
    except (OSError, AttributeError, ImportError):
        pass


def _check_unchanged(st: os.stat_result, rel_path: str, size: int, mtime_ns: int, when: str) -> None:
    if st.st_size != size or st.st_mtime_ns != mtime_ns:
        if when == "since the plan":
            raise SourceError(rel_path, f"changed since the plan (size {size:,} -> {st.st_size:,}, or modification "
                                        "time); re-run plan")
        raise SourceError(rel_path, "changed during the copy; re-run plan once the staging data is stable")


def _check_path(src: str, st: os.stat_result, rel_path: str, size: int, mtime_ns: int) -> None:
    """A copy that took many reads also checks the path: a file replaced or deleted meanwhile is
    reported now rather than at the next plan. (A one-chunk file is read in one call: what was read
    is the file the descriptor checks describe.)"""
    try:
        by_path = os.stat(src)
    except FileNotFoundError:
        raise SourceError(rel_path, "the file vanished from the staging folder during the copy") from None
    if by_path.st_ino != st.st_ino or by_path.st_dev != st.st_dev or by_path.st_size != size or \
            by_path.st_mtime_ns != mtime_ns:
        raise SourceError(rel_path, "was replaced during the copy; re-run plan once the staging data is stable")


def _read(fd_in: int, mv: memoryview, want: int, rel_path: str, at: int) -> int:
    """Read up to `want` bytes into mv; fewer only at end of file."""
    n = 0
    try:
        while n < want:
            got = os.readv(fd_in, [mv[n:want]]) if _READV else _readinto(fd_in, mv[n:want])
            if got == 0:
                break
            n += got
    except OSError as exc:
        raise SourceError(rel_path, f"read error at byte {at + n:,}: {exc.strerror or exc}") from None
    return n


def _write_all(fd: int, mv: memoryview) -> None:
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


def _readinto(fd: int, mv: memoryview) -> int:
    data = os.read(fd, len(mv))
    mv[:len(data)] = data
    return len(data)
