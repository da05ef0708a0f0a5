"""One-pass copy and hash: every source byte is read once, hashed and written while the next is read.

The main thread reads the source into large reusable buffers (4 MiB, one manifest block each) and
hands each buffer to three worker threads that run concurrently: block MD5s, whole-file MD5 and the
write to the drive. hashlib and os.write release the GIL, so on a multi-core machine reading,
hashing and writing overlap. A buffer goes back to the pool when all three are done with it, so
memory stays flat (pool size x 4 MiB) whatever the file sizes. A file of at most one block needs only
one MD5 (its block's MD5 is the file's MD5).

The source's size and mtime are checked before and after reading (on the open descriptor and on the
path), so a file that changed or was replaced during the copy is caught.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seedctl.drives.manifest import MAX_BLOCK_SIZE
from seedctl.drives.simulated import SpaceGuard, clusters

BUFFER_SIZE = MAX_BLOCK_SIZE
POOL_BUFFERS = 8
_O_BINARY = getattr(os, "O_BINARY", 0)


class SourceError(Exception):
    """The source file vanished, changed or could not be read (the engine's caller adds context)."""

    def __init__(self, rel_path: str, message: str) -> None:
        super().__init__(message)
        self.rel_path = rel_path


class TargetError(Exception):
    """Writing to the drive failed (full, read-only, I/O error); carries the OSError."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(str(error))
        self.path = path
        self.error = error

    @property
    def disk_full(self) -> bool:
        return self.error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))


@dataclass(frozen=True)
class CopyResult:
    size: int
    md5_hex: str
    block_md5s: tuple[str, ...]  # upper-case hex, one per MAX_BLOCK_SIZE block (the last may be short)
    mtime_ns: int


class _Stage:
    """A worker thread running submitted tasks in order; the first exception is kept, later tasks still
    run their cleanup (they are skipped, but the buffer is released)."""

    def __init__(self, name: str) -> None:
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            task, cleanup = item
            try:
                if self.error is None:
                    task()
            except BaseException as exc:  # noqa: B036 - handed to the submitting thread
                self.error = exc
            finally:
                if cleanup is not None:
                    cleanup()

    def submit(self, task: Callable[[], None], cleanup: Callable[[], None] | None = None) -> None:
        self._q.put((task, cleanup))

    def drain(self) -> BaseException | None:
        """Wait until all submitted tasks ran; return (and clear) the first error."""
        done = threading.Event()
        self._q.put((_nothing, done.set))  # as cleanup: runs even after an error
        done.wait()
        error, self.error = self.error, None
        return error

    def stop(self) -> None:
        self._q.put(None)
        self._thread.join()


class CopyEngine:
    """Copies files for one drive. Not thread-safe: one engine per drive, used by one thread."""

    def __init__(self, *, guard: SpaceGuard | None = None, fsync_each: bool = False,
                 buffers: int = POOL_BUFFERS, buffer_size: int = BUFFER_SIZE,
                 on_bytes: Callable[[int], None] | None = None) -> None:
        self.guard = guard
        self.fsync_each = fsync_each  # where no filesystem-wide sync exists, fsync every file
        self.buffer_size = buffer_size
        self.on_bytes = on_bytes
        self.bytes_read = 0  # every source byte read by this engine (the resume benchmark counts these)
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(buffers):
            self._free.put(bytearray(buffer_size))
        self._blocks = _Stage("seedctl-block-md5")
        self._whole = _Stage("seedctl-file-md5")
        self._writer = _Stage("seedctl-write")

    def close(self) -> None:
        for stage in (self._blocks, self._whole, self._writer):
            stage.stop()

    def __enter__(self) -> CopyEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def copy(self, src: Path, rel_path: str, dst: Path, *, expected_size: int, expected_mtime_ns: int) -> CopyResult:
        """Copy `src` to `dst` (a temporary name: the caller renames) computing the manifest hashes."""
        try:
            fd_in = os.open(src, os.O_RDONLY | _O_BINARY)
        except FileNotFoundError:
            raise SourceError(rel_path, "the file vanished from the staging folder since the plan") from None
        except OSError as exc:
            raise SourceError(rel_path, f"cannot open it: {exc.strerror or exc}") from None
        try:
            st = os.fstat(fd_in)
            if st.st_size != expected_size or st.st_mtime_ns != expected_mtime_ns:
                raise SourceError(rel_path, f"changed since the plan (size {expected_size:,} -> {st.st_size:,}, "
                                            "or modification time); re-run plan")
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fd_in, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            try:
                fd_out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_BINARY, 0o644)
            except OSError as exc:
                raise TargetError(dst, exc) from None
            try:
                result = self._pump(fd_in, fd_out, rel_path, dst, expected_size)
                if self.fsync_each:
                    os.fsync(fd_out)
            except OSError as exc:
                raise TargetError(dst, exc) from None
            finally:
                os.close(fd_out)
            after = os.fstat(fd_in)
            try:
                by_path = os.stat(src)
            except FileNotFoundError:
                raise SourceError(rel_path, "the file vanished from the staging folder during the copy") from None
            for label, s in (("during the copy", after), ("(replaced) during the copy", by_path)):
                if s.st_size != expected_size or s.st_mtime_ns != expected_mtime_ns:
                    raise SourceError(rel_path, f"changed {label}; re-run plan once the staging data is stable")
            if by_path.st_ino != st.st_ino or by_path.st_dev != st.st_dev:
                raise SourceError(rel_path, "was replaced during the copy; re-run plan once the staging data is stable")
            if result.size != expected_size:
                raise SourceError(rel_path, f"read {result.size:,} bytes but the file has {expected_size:,}")
            try:
                os.utime(dst, ns=(expected_mtime_ns, expected_mtime_ns))  # keep the source's time on the drive
            except OSError as exc:
                raise TargetError(dst, exc) from None
            return CopyResult(result.size, result.md5_hex, result.block_md5s, expected_mtime_ns)
        finally:
            os.close(fd_in)

    def _pump(self, fd_in: int, fd_out: int, rel_path: str, dst: Path, expected_size: int) -> CopyResult:
        single_block = expected_size <= self.buffer_size
        whole = hashlib.md5()
        blocks: list[bytes] = []
        written = [0]  # bytes accounted against the guard, cluster-rounded
        total = 0
        failed = False

        def write(mv: memoryview) -> None:
            if self.guard is not None:
                grow = clusters(written_total[0] + len(mv)) - written[0]
                self.guard.reserve(grow, str(dst))
                written[0] += grow
            view = mv
            while view:
                n = os.write(fd_out, view)
                view = view[n:]
            written_total[0] += len(mv)

        written_total = [0]
        while True:
            if self._writer.error is not None:
                failed = True
                break
            buf = self._free.get()
            mv = memoryview(buf)
            n = 0
            try:
                while n < self.buffer_size:
                    got = os.readv(fd_in, [mv[n:]]) if hasattr(os, "readv") else _readinto(fd_in, mv[n:])
                    if got == 0:
                        break
                    n += got
            except OSError as exc:
                self._free.put(buf)
                self._drain_all()
                raise SourceError(rel_path, f"read error at byte {total + n:,}: {exc.strerror or exc}") from None
            if n == 0:
                self._free.put(buf)
                break
            total += n
            self.bytes_read += n
            chunk = mv[:n]
            refs = [2 if single_block else 3]
            lock = threading.Lock()

            def release(buf: bytearray = buf, refs: list[int] = refs, lock: threading.Lock = lock) -> None:
                with lock:
                    refs[0] -= 1
                    last = refs[0] == 0
                if last:
                    self._free.put(buf)

            self._blocks.submit(lambda c=chunk: blocks.append(hashlib.md5(c).digest()), release)
            if not single_block:
                self._whole.submit(lambda c=chunk: whole.update(c), release)
            self._writer.submit(lambda c=chunk: write(c), release)
            if self.on_bytes is not None:
                self.on_bytes(n)
            if n < self.buffer_size:
                break
        errors = self._drain_all()
        write_error = errors[2]
        if write_error is not None or failed:
            if isinstance(write_error, OSError):
                raise write_error
            raise RuntimeError(f"writer failed: {write_error!r}")
        for e in errors[:2]:
            if e is not None:
                raise e
        if single_block:
            md5_hex = blocks[0].hex().upper() if blocks else hashlib.md5(b"").hexdigest().upper()
        else:
            md5_hex = whole.hexdigest().upper()
        return CopyResult(total, md5_hex, tuple(b.hex().upper() for b in blocks), 0)

    def _drain_all(self) -> tuple[BaseException | None, ...]:
        return (self._blocks.drain(), self._whole.drain(), self._writer.drain())

    def discard(self, path: Path) -> None:
        """Delete a partly written temporary file, giving its space back to a simulated drive's guard."""
        try:
            size = os.stat(path).st_size
            os.unlink(path)
        except FileNotFoundError:
            return
        if self.guard is not None:
            self.guard.release(clusters(size))


def _readinto(fd: int, mv: memoryview) -> int:
    data = os.read(fd, len(mv))
    mv[:len(data)] = data
    return len(data)


def _nothing() -> None:
    pass
