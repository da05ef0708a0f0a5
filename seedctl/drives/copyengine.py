"""One-pass copy and hash: every source byte is read once, hashed and written while the next is read.

The main thread reads the source into large reusable buffers (4 MiB, one manifest block each) and
hands each buffer to three worker threads that run concurrently: block MD5s, whole-file MD5 and the
write to the drive (which also creates and closes the destination file). hashlib and os.write release
the GIL, so on a multi-core machine reading, hashing and writing overlap, also across files: the main
thread reads the next file while the workers finish the previous one (`start` returns a
`PendingCopy`; `PendingCopy.result()` waits). A buffer goes back to the pool when all three are done
with it, so memory stays flat (pool size x 4 MiB) whatever the file sizes. A file of at most one
block needs only one MD5 (its block's MD5 is the file's MD5).

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
    """A worker thread running submitted tasks in order. Tasks are per file: a failure is recorded on
    that file's PendingCopy (its later tasks are skipped), the stage itself carries on."""

    def __init__(self, name: str) -> None:
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            pending, task, cleanup = item
            try:
                if pending.error is None:
                    task()
            except BaseException as exc:  # noqa: B036 - handed to the thread that waits on the file
                if pending.error is None:
                    pending.error = exc
            finally:
                if cleanup is not None:
                    cleanup()

    def submit(self, pending: PendingCopy, task: Callable[[], None], cleanup: Callable[[], None] | None = None) -> None:
        self._q.put((pending, task, cleanup))

    def stop(self) -> None:
        self._q.put(None)
        self._thread.join()


class PendingCopy:
    """A file whose bytes are all read; the workers may still be hashing and writing it."""

    def __init__(self, rel_path: str, dst: Path, stages: int) -> None:
        self.rel_path = rel_path
        self.dst = dst
        self.error: BaseException | None = None
        self.size = 0
        self.mtime_ns = 0
        self.single_block = True
        self.blocks: list[bytes] = []
        self.whole = hashlib.md5()
        self._remaining = stages
        self._lock = threading.Lock()
        self._done = threading.Event()

    def stage_done(self) -> None:
        with self._lock:
            self._remaining -= 1
            if self._remaining == 0:
                self._done.set()

    def result(self) -> CopyResult:
        """Wait for the workers; raise SourceError/TargetError for this file, else its hashes."""
        self._done.wait()
        if self.error is not None:
            if isinstance(self.error, (SourceError, TargetError)):
                raise self.error
            if isinstance(self.error, OSError):
                raise TargetError(self.dst, self.error)
            raise self.error
        if self.single_block:
            md5_hex = self.blocks[0].hex().upper() if self.blocks else hashlib.md5(b"").hexdigest().upper()
        else:
            md5_hex = self.whole.hexdigest().upper()
        return CopyResult(self.size, md5_hex, tuple(b.hex().upper() for b in self.blocks), self.mtime_ns)


class CopyEngine:
    """Copies files for one drive. Not thread-safe: one engine per drive, driven by one thread."""

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
        """Copy one file and wait for it (see `start`)."""
        return self.start(src, rel_path, dst, expected_size=expected_size, expected_mtime_ns=expected_mtime_ns).result()

    def start(self, src: Path, rel_path: str, dst: Path, *, expected_size: int,
              expected_mtime_ns: int) -> PendingCopy:
        """Read `src` completely, handing its bytes to the workers that hash them and write `dst` (a
        temporary name: the caller renames). Returns once the source is read and re-checked; raises
        SourceError for a source problem found while reading."""
        try:
            fd_in = os.open(src, os.O_RDONLY | _O_BINARY)
        except FileNotFoundError:
            raise SourceError(rel_path, "the file vanished from the staging folder since the plan") from None
        except OSError as exc:
            raise SourceError(rel_path, f"cannot open it: {exc.strerror or exc}") from None
        pending = PendingCopy(rel_path, dst, 3)
        pending.single_block = expected_size <= self.buffer_size
        pending.mtime_ns = expected_mtime_ns
        pumped = False
        try:
            st = os.fstat(fd_in)
            if st.st_size != expected_size or st.st_mtime_ns != expected_mtime_ns:
                raise SourceError(rel_path, f"changed since the plan (size {expected_size:,} -> {st.st_size:,}, "
                                            "or modification time); re-run plan")
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fd_in, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            pumped = True  # from here the workers own the file and report its end
            self._pump(fd_in, pending, dst, expected_size, expected_mtime_ns)
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
            if pending.size != expected_size:
                raise SourceError(rel_path, f"read {pending.size:,} bytes but the file has {expected_size:,}")
        except SourceError as exc:
            if pending.error is None:
                pending.error = exc
            if pumped:
                try:  # let the workers finish with this file (they close the destination)
                    pending.result()
                except (SourceError, TargetError):
                    pass
            raise exc from None
        finally:
            os.close(fd_in)
        return pending

    def _pump(self, fd_in: int, pending: PendingCopy, dst: Path, expected_size: int, mtime_ns: int) -> None:
        guard = self.guard
        state = {"fd": -1, "written": 0, "reserved": 0}

        def open_dst() -> None:
            state["fd"] = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_BINARY, 0o644)

        def write(mv: memoryview) -> None:
            if guard is not None:
                grow = clusters(state["written"] + len(mv)) - state["reserved"]
                guard.reserve(grow, str(dst))
                state["reserved"] += grow
            view = mv
            while view:
                n = os.write(state["fd"], view)
                view = view[n:]
            state["written"] += len(mv)

        def close_dst() -> None:
            fd, state["fd"] = state["fd"], -1
            if fd < 0:
                return
            try:
                if pending.error is None:
                    if self.fsync_each:
                        os.fsync(fd)
                    os.utime(fd if os.utime in os.supports_fd else dst, ns=(mtime_ns, mtime_ns))
            except OSError as exc:
                pending.error = pending.error or exc
            finally:
                os.close(fd)

        self._writer.submit(pending, open_dst)
        try:
            while True:
                if pending.error is not None:
                    break  # the writer failed (disk full): stop reading this file
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
                    raise SourceError(pending.rel_path,
                                      f"read error at byte {pending.size + n:,}: {exc.strerror or exc}") from None
                if n == 0:
                    self._free.put(buf)
                    break
                pending.size += n
                self.bytes_read += n
                chunk = mv[:n]
                refs = [2 if pending.single_block else 3]
                lock = threading.Lock()

                def release(buf: bytearray = buf, refs: list[int] = refs, lock: threading.Lock = lock) -> None:
                    with lock:
                        refs[0] -= 1
                        last = refs[0] == 0
                    if last:
                        self._free.put(buf)

                self._blocks.submit(pending, lambda c=chunk: pending.blocks.append(hashlib.md5(c).digest()), release)
                if not pending.single_block:
                    self._whole.submit(pending, lambda c=chunk: pending.whole.update(c), release)
                self._writer.submit(pending, lambda c=chunk: write(c), release)
                if self.on_bytes is not None:
                    self.on_bytes(n)
                if n < self.buffer_size:
                    break
        finally:
            # always: close the destination and tell the file it is finished, whatever happened
            self._blocks.submit(pending, _nothing, pending.stage_done)
            self._whole.submit(pending, _nothing, pending.stage_done)
            self._writer.submit(pending, _nothing, lambda: (close_dst(), pending.stage_done()))

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
