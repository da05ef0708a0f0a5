"""One-pass copy and hash: every source byte is read once, hashed and written.

A file of at most one block (4 MiB, the manifest's block size) is copied entirely on the calling
thread: read into a reusable buffer, one MD5 (its block's MD5 is the file's MD5), written, closed.
No thread hand-off at all: for small files the hand-offs cost more than they could overlap.

A larger file needs two MD5s over every byte (one per block and one for the whole file; MD5 cannot
be combined from parts). The calling thread reads each 4 MiB buffer, hashes its block and writes
it; one worker thread feeds the same buffer to the whole-file MD5. hashlib and os.read/os.write
release the GIL, so on two or more cores the two digests run at the same time and the main thread
reads the next buffer while the worker is still hashing the last. Buffers come from a small pool
(`buffers` x 4 MiB), so memory stays flat whatever the file sizes, and `start` returns as soon as a
file is read: the worker finishes its whole-file MD5 while the next file is copied
(`PendingCopy.result()` waits for it).

Writes happen on the calling thread, so an error writing the drive (ENOSPC, EIO, EROFS) surfaces at
once as a TargetError carrying the errno, never as a short read of the source.

The source's size and mtime are checked before and after reading on the open descriptor (and, for a
file of more than one block, on the path too), so a file that changed or was replaced during the
copy is caught. A `CancelToken` is checked
before every buffer: a cancelled copy stops within one buffer and raises `Cancelled`.

Destinations are opened relative to `dir_fd` when given (the drive's root folder, opened once after
its identity was proven), so a drive that is unmounted or swapped mid-run cannot receive data
through its old path.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

from seedctl.drives.disk.simulated import SpaceGuard
from seedctl.drives.formats.layout import clusters
from seedctl.drives.formats.manifest import MAX_BLOCK_SIZE
from seedctl.interrupt import Cancelled, CancelToken

BUFFER_SIZE = MAX_BLOCK_SIZE
POOL_BUFFERS = 4
_O_BINARY = getattr(os, "O_BINARY", 0)
_EMPTY_MD5 = hashlib.md5(b"").digest()
_UTIME_FD = os.utime in os.supports_fd
_READV = hasattr(os, "readv")

__all__ = ["BUFFER_SIZE", "Cancelled", "CopyEngine", "CopyResult", "PendingCopy", "SourceError", "TargetError"]


class SourceError(Exception):
    """The source file vanished, changed or could not be read (the engine's caller adds context)."""

    def __init__(self, rel_path: str, message: str) -> None:
        super().__init__(message)
        self.rel_path = rel_path


class TargetError(Exception):
    """Writing to the drive failed (full, read-only, I/O error); carries the OSError."""

    def __init__(self, path: Path | str, error: OSError) -> None:
        super().__init__(str(error))
        self.path = path
        self.error = error
        self.rel_path = ""  # the staging file being written, set by whoever knows it

    @property
    def disk_full(self) -> bool:
        return self.error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))

    @property
    def errno_name(self) -> str:
        return errno.errorcode.get(self.error.errno or 0, str(self.error.errno))


@dataclass(frozen=True)
class CopyResult:
    size: int
    md5_hex: str
    block_md5s: tuple[str, ...]  # upper-case hex, one per MAX_BLOCK_SIZE block (the last may be short)
    mtime_ns: int
    dst_mtime_ns: int  # the copy's mtime as the drive's filesystem stored it (its timestamp precision)


class PendingCopy:
    """A file whose bytes are all read and written; the worker may still be finishing its whole-file MD5."""

    __slots__ = ("rel_path", "dst", "error", "size", "mtime_ns", "dst_mtime_ns", "blocks", "whole", "_done")

    def __init__(self, rel_path: str, dst: Path | str, mtime_ns: int) -> None:
        self.rel_path = rel_path
        self.dst = dst
        self.error: BaseException | None = None
        self.size = 0
        self.mtime_ns = mtime_ns
        self.dst_mtime_ns = 0
        self.blocks: list[bytes] = []
        self.whole: hashlib._Hash | None = None  # None: one block, whose MD5 is the file's
        self._done: threading.Event | None = None  # None: finished on the calling thread

    def result(self) -> CopyResult:
        """Wait for the worker; raise this file's SourceError/TargetError/Cancelled, else its hashes."""
        md5, blocks = self.digests()
        return CopyResult(self.size, md5.hex().upper(), tuple(b.hex().upper() for b in blocks), self.mtime_ns,
                          self.dst_mtime_ns)

    def digests(self) -> tuple[bytes, list[bytes]]:
        """`result()` as raw digests: (whole-file MD5, block MD5s), with no hex text per file."""
        if self._done is not None:
            self._done.wait()
        if self.error is not None:
            raise self.error
        if self.whole is not None:
            return self.whole.digest(), self.blocks
        return (self.blocks[0] if self.blocks else _EMPTY_MD5), self.blocks


class CopyEngine:
    """Copies files for one drive. Not thread-safe: one engine per drive, driven by one thread."""

    def __init__(self, *, guard: SpaceGuard | None = None, fsync_each: bool = False,
                 buffers: int = POOL_BUFFERS, buffer_size: int = BUFFER_SIZE,
                 on_bytes: object = None, cancel: CancelToken | None = None, dir_fd: int | None = None) -> None:
        self.guard = guard
        self.fsync_each = fsync_each  # where no filesystem-wide sync exists, fsync every file
        self.buffer_size = buffer_size
        self.on_bytes = on_bytes
        self.cancel = cancel
        self.dir_fd = dir_fd
        self.bytes_read = 0  # every source byte read by this engine (the resume benchmark counts these)
        # Buffers and the worker are made when first needed: a bytearray is zero-filled, so every
        # 4 MiB buffer is resident at once, and a run of small files needs none of the pool (issue 17:
        # 20 MiB of a drive's peak memory for nothing).
        self._small = bytearray(0)  # the calling thread's own buffer for one-block files, grown as needed
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._buffers = max(2, buffers)
        self._made = 0  # pool buffers made so far
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None

    def close(self) -> None:
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join()
            self._worker = None

    def _take_buffer(self) -> bytearray:
        """A free pool buffer; a new one while fewer than `buffers` exist, else wait for the worker."""
        if self._made < self._buffers:
            try:
                return self._free.get_nowait()
            except queue.Empty:
                self._made += 1
                return bytearray(self.buffer_size)
        return self._free.get()

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._whole_md5_worker, name="seedctl-file-md5", daemon=True)
            self._worker.start()

    def __enter__(self) -> CopyEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _whole_md5_worker(self) -> None:
        """Feeds buffers to whole-file MD5s in order; a job is (hash, view, buffer) or (event,)."""
        jobs, free = self._jobs, self._free
        while True:
            job = jobs.get()
            if job is None:
                return
            if len(job) == 1:
                job[0].set()  # the file's last buffer is hashed
                continue
            digest, view, buf = job
            try:
                digest.update(view)
            finally:
                del view
                free.put(buf)

    def copy(self, src: Path, rel_path: str, dst: Path | str, *, expected_size: int,
             expected_mtime_ns: int) -> CopyResult:
        """Copy one file and wait for it (see `start`)."""
        return self.start(src, rel_path, dst, expected_size=expected_size, expected_mtime_ns=expected_mtime_ns).result()

    def start(self, src: Path, rel_path: str, dst: Path | str, *, expected_size: int,
              expected_mtime_ns: int) -> PendingCopy:
        """Copy `src` to `dst` (a temporary name, relative to `dir_fd` if set: the caller renames).
        Returns once the source is read and written; raises SourceError, TargetError or Cancelled
        (the partly written destination is left for the caller to discard)."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()
        try:
            fd_in = os.open(src, os.O_RDONLY | _O_BINARY)
        except FileNotFoundError:
            raise SourceError(rel_path, "the file vanished from the staging folder since the plan") from None
        except OSError as exc:
            raise SourceError(rel_path, f"cannot open it: {exc.strerror or exc}") from None
        pending = PendingCopy(rel_path, dst, expected_mtime_ns)
        try:
            st = os.fstat(fd_in)
            if st.st_size != expected_size or st.st_mtime_ns != expected_mtime_ns:
                raise SourceError(rel_path, f"changed since the plan (size {expected_size:,} -> {st.st_size:,}, "
                                            "or modification time); re-run plan")
            if expected_size <= self.buffer_size:
                self._copy_one_block(fd_in, pending, expected_size)
            else:
                self._copy_blocks(fd_in, pending, expected_size)
            after = os.fstat(fd_in)
            if after.st_size != expected_size or after.st_mtime_ns != expected_mtime_ns:
                raise SourceError(rel_path, "changed during the copy; re-run plan once the staging data is stable")
            if expected_size > self.buffer_size:
                # A copy that took many reads also checks the path: a file replaced or deleted meanwhile
                # is reported now rather than at the next plan. (A one-block file is read in one call;
                # what was read is the file the descriptor checks above describe.)
                try:
                    by_path = os.stat(src)
                except FileNotFoundError:
                    raise SourceError(rel_path, "the file vanished from the staging folder during the copy") from None
                if by_path.st_ino != st.st_ino or by_path.st_dev != st.st_dev or \
                        by_path.st_size != expected_size or by_path.st_mtime_ns != expected_mtime_ns:
                    raise SourceError(rel_path, "was replaced during the copy; re-run plan once the staging data "
                                                "is stable")
        except BaseException as exc:
            pending.error = exc
            if pending._done is not None:
                pending._done.wait()  # the worker is done with this file's buffers
            raise
        finally:
            os.close(fd_in)
        return pending

    def _read(self, fd_in: int, mv: memoryview, want: int, pending: PendingCopy) -> int:
        """Read up to `want` bytes into mv; fewer only at end of file."""
        n = 0
        try:
            while n < want:
                got = os.readv(fd_in, [mv[n:want]]) if _READV else _readinto(fd_in, mv[n:want])
                if got == 0:
                    break
                n += got
        except OSError as exc:
            raise SourceError(pending.rel_path,
                              f"read error at byte {pending.size + n:,}: {exc.strerror or exc}") from None
        return n

    def _open_dst(self, pending: PendingCopy) -> int:
        try:
            return os.open(pending.dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_BINARY, 0o644, dir_fd=self.dir_fd)
        except OSError as exc:
            raise TargetError(pending.dst, exc) from None

    def _write(self, fd: int, mv: memoryview, written: int, pending: PendingCopy) -> None:
        """Write mv after `written` bytes already in the file (the guard accounts clusters)."""
        try:
            if self.guard is not None:
                self.guard.reserve(clusters(written + len(mv)) - clusters(written), str(pending.dst))
            view = mv
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except OSError as exc:
            raise TargetError(pending.dst, exc) from None

    def _close_dst(self, fd: int, pending: PendingCopy, ok: bool) -> None:
        """Set the copy's mtime to the source's, record what the filesystem stored, close."""
        try:
            if ok:
                if self.fsync_each:
                    os.fsync(fd)
                if _UTIME_FD:
                    os.utime(fd, ns=(pending.mtime_ns, pending.mtime_ns))
                else:  # pragma: no cover - Windows
                    os.utime(pending.dst, ns=(pending.mtime_ns, pending.mtime_ns), dir_fd=self.dir_fd)
                pending.dst_mtime_ns = os.fstat(fd).st_mtime_ns
        except OSError as exc:
            raise TargetError(pending.dst, exc) from None
        finally:
            os.close(fd)

    def _copy_one_block(self, fd_in: int, pending: PendingCopy, size: int) -> None:
        if len(self._small) < size:  # grown in powers of two up to one block: tiny files, tiny buffer
            self._small = bytearray(min(self.buffer_size, max(64 << 10, 1 << (size - 1).bit_length())))
        mv = memoryview(self._small)
        # Read exactly the planned size: growth shows in the size and mtime checked afterwards.
        n = self._read(fd_in, mv, size, pending)
        if n != size:
            raise SourceError(pending.rel_path, f"read {n:,} bytes but the file has {size:,}; it changed "
                                                "during the copy")
        chunk = mv[:n]
        if n:
            pending.blocks.append(hashlib.md5(chunk).digest())
        fd = self._open_dst(pending)
        ok = False
        try:
            if n:
                self._write(fd, chunk, 0, pending)
            ok = True
        finally:
            self._close_dst(fd, pending, ok)
        pending.size = n
        self.bytes_read += n
        if self.on_bytes is not None and n:
            self.on_bytes(n)

    def _copy_blocks(self, fd_in: int, pending: PendingCopy, size: int) -> None:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd_in, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        self._start_worker()
        pending.whole = hashlib.md5()
        pending._done = done = threading.Event()
        cancel, jobs, free, md5 = self.cancel, self._jobs, self._free, hashlib.md5
        fd = self._open_dst(pending)
        ok = False
        try:
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                buf = self._take_buffer()
                mv = memoryview(buf)
                try:
                    n = self._read(fd_in, mv, self.buffer_size, pending)
                except BaseException:
                    free.put(buf)
                    raise
                if n == 0:
                    free.put(buf)
                    break
                chunk = mv[:n]
                # the worker only reads the buffer and hands it back to the pool when done; this
                # thread is finished with it before it takes another buffer from the pool
                jobs.put((pending.whole, chunk, buf))
                pending.blocks.append(md5(chunk).digest())
                self._write(fd, chunk, pending.size, pending)
                pending.size += n
                self.bytes_read += n
                if self.on_bytes is not None:
                    self.on_bytes(n)
                if n < self.buffer_size or pending.size > size:
                    break
            if pending.size != size:
                raise SourceError(pending.rel_path, f"read {pending.size:,} bytes but the file has {size:,}; "
                                                    "it changed during the copy")
            ok = True
        finally:
            jobs.put((done,))
            self._close_dst(fd, pending, ok)

    def discard(self, path: Path | str) -> None:
        """Delete a partly written temporary file, giving its space back to a simulated drive's guard."""
        try:
            size = os.stat(path, dir_fd=self.dir_fd).st_size
            os.unlink(path, dir_fd=self.dir_fd)
        except FileNotFoundError:
            return
        if self.guard is not None:
            self.guard.release(clusters(size))


def _readinto(fd: int, mv: memoryview) -> int:
    data = os.read(fd, len(mv))
    mv[:len(data)] = data
    return len(data)
