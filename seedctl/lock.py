"""One apply at a time per spec; and the OS file lock it is made of.

The lock is an OS file lock (flock / msvcrt) on a file in `<spec folder>/.seedctl/`, so a crashed
apply never leaves a stale lock behind: the kernel releases it with the process. The file also
records who holds it (pid, host, start time) so a waiting apply can name the holder.

`.seedctl/` also holds the drive manifest copies and verification records: it is created private
(`private_files.private_dir`: 0700, or the protected DACL on Windows) before anything is put in it.

`try_lock_file` / `unlock_file` are the primitive, also used for the drive-level write lock
(`drives.writing.anchor`).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from seedctl.errors import LockError
from seedctl.private_files import private_dir


def lock_path_for(spec_path: str | None, cwd: str = ".") -> Path:
    spec = Path(spec_path) if spec_path else Path(cwd) / "seed.yaml"
    spec = spec if spec.is_absolute() else Path(cwd) / spec
    return spec.resolve().parent / ".seedctl" / f"{spec.name}.lock"


# msvcrt locks a byte range, mandatorily: a locked byte cannot even be read by another process. So
# the lock is one byte far past the holder's JSON (Windows allows locking beyond the end of a file),
# always the same byte whatever the file position, and the holder's details stay readable.
MSVCRT_LOCK_OFFSET = 1 << 30


def try_lock_file(handle: IO[Any], platform: str = sys.platform, msvcrt_module: Any = None) -> bool:
    if platform == "win32":
        msvcrt = msvcrt_module or __import__("msvcrt")
        handle.seek(MSVCRT_LOCK_OFFSET)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
        finally:
            handle.seek(0)
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def unlock_file(handle: IO[Any], platform: str = sys.platform, msvcrt_module: Any = None) -> None:
    """Release explicitly on Windows: closing does, but Windows documents no moment for it."""
    if platform != "win32":
        return  # flock: released when the descriptor is closed
    msvcrt = msvcrt_module or __import__("msvcrt")
    handle.seek(MSVCRT_LOCK_OFFSET)
    try:
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    except OSError:
        pass  # not held (closing releases it anyway)


def read_holder(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


class ApplyLock:
    def __init__(self, path: Path, timeout: float = 0.0) -> None:
        self.path = path
        self.timeout = timeout
        self._handle: IO[str] | None = None

    def __enter__(self) -> ApplyLock:
        private_dir(self.path.parent, error=LockError)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the lock's life
        deadline = time.monotonic() + self.timeout
        while not try_lock_file(handle):
            if time.monotonic() >= deadline:
                holder = read_holder(self.path)
                handle.close()
                who = (f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}"
                       if holder else "another process")
                raise LockError(f"another apply of this spec is running ({who}); lock file {self.path}. "
                                "Wait for it, or raise --lock-timeout")
            time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": datetime.now(timezone.utc).replace(microsecond=0).isoformat()}))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.flush()
            unlock_file(self._handle)
            self._handle.close()  # closing releases the OS lock
            self._handle = None
