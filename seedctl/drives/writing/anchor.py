"""The drive being written, held by an open folder descriptor from the moment its identity is proven.

`check_safe_to_write` proves once that the mount point holds the right drive. A write that takes
hours can outlive that proof: the drive may be lazily unmounted (the path then leads to the folder
underneath, often on the system disk) or swapped for another disk at the same mount point. So:

- the drive's root folder is opened *before* the identity check and re-checked right after it, so
  the descriptor is the filesystem that was proven;
- every write goes through that descriptor (`dir_fd`), never through the path, so no byte and no
  folder can land on whatever is mounted there later;
- before each write phase (journal, clean-up, every group commit, the manifest) `check` compares
  what the path leads to now with the descriptor (device and inode of the root folder, and of the
  journal once it exists), and stops with a DriveError naming the drive when they differ.

Where folders cannot be opened (Windows), the path is used and only the device/inode check remains.

`lock` takes the drive-level write lock, once the identity is proven and before the journal is
opened: an OS lock (flock; on Windows an msvcrt byte-range lock, `seedctl.lock`) on
`.seedctl/lock` on the drive, released by the kernel when the process ends. Two applies of
different specs, or a second seedctl on another account, then never write one drive at once; the
journal's own flock does the same on POSIX, and Windows had nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from seedctl.drives.formats.layout import SEEDCTL_DIR, check_own_folder, journal_path
from seedctl.errors import DriveError
from seedctl.lock import try_lock_file, unlock_file

LOCK_NAME = "lock"

DIR_FDS = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")


class DriveAnchor:
    """Root folder descriptor of one drive; `rel(...)` + `dir_fd` address files through it."""

    def __init__(self, mount: Path, serial: str) -> None:
        self.mount = Path(mount)
        self.serial = serial
        self.fd = -1
        try:
            if DIR_FDS:
                self.fd = os.open(self.mount, os.O_RDONLY | os.O_DIRECTORY)
                st = os.fstat(self.fd)
            else:  # pragma: no cover - Windows
                st = os.stat(self.mount)
        except OSError as exc:
            raise DriveError(f"drive {serial} at {mount}: cannot open it: {exc.strerror or exc}") from None
        self._root = (st.st_dev, st.st_ino)
        self._journal: tuple[int, int] | None = None
        self._lock: IO[Any] | None = None

    @property
    def dir_fd(self) -> int | None:
        return self.fd if self.fd >= 0 else None

    def rel(self, *parts: str) -> str:
        """A path under the drive root, relative to `dir_fd` (or absolute where there are no dir fds)."""
        rel = "/".join(parts)
        return rel if self.fd >= 0 else str(Path(self.mount, *rel.split("/")))

    def pin_journal(self) -> None:
        """Remember the journal file as seen through the descriptor (checked by `check` from now on)."""
        try:
            st = os.stat(self.rel(SEEDCTL_DIR, journal_path(self.mount).name), dir_fd=self.dir_fd)
            self._journal = (st.st_dev, st.st_ino)
        except OSError as exc:  # the journal just opened by path is not on the drive that was checked
            raise DriveError(f"drive {self.serial} at {self.mount}: its journal is not on the drive that was "
                             f"checked ({exc.strerror or exc}); the mount point changed. Re-attach the drive "
                             "and re-run") from None
        self.check("writing the journal")  # the path leads to the same journal file

    def check(self, before: str) -> None:
        """Refuse to go on if the mount point no longer leads to the drive this descriptor holds."""
        name = f"drive {self.serial} at {self.mount}"
        tail = (f"nothing more was written (stopped before {before}). Re-attach drive {self.serial}, mount it "
                "there and re-run to resume")
        try:
            st = os.stat(self.mount)
        except OSError as exc:
            raise DriveError(f"{name}: the mount point is gone ({exc.strerror or exc}); {tail}") from None
        if (st.st_dev, st.st_ino) != self._root:
            raise DriveError(f"{name}: the mount point now leads to another filesystem or folder (device "
                             f"{_dev(st.st_dev)} inode {st.st_ino}; the drive was device {_dev(self._root[0])} "
                             f"inode {self._root[1]}): it was unmounted or replaced while seedctl was writing; "
                             f"{tail}")
        if self._journal is not None:
            try:
                js = os.stat(journal_path(self.mount))
                seen: tuple[int, int] | None = (js.st_dev, js.st_ino)
            except OSError:
                seen = None
            if seen != self._journal:
                raise DriveError(f"{name}: the drive's journal is no longer the one seedctl opened: another disk "
                                 f"is mounted there; {tail}")

    def lock(self) -> None:
        """Take the drive-level write lock (`.seedctl/lock`, created if missing); DriveError naming
        the drive when another process holds it. Released by `close` (or when the process ends)."""
        if self._lock is not None:
            return
        name = f"drive {self.serial} at {self.mount}"
        check_own_folder(self.mount)  # never create or lock anything through a link planted as .seedctl
        try:
            os.mkdir(self.rel(SEEDCTL_DIR), dir_fd=self.dir_fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise DriveError(f"{name}: cannot create {SEEDCTL_DIR}: {exc.strerror or exc}") from None
        check_own_folder(self.mount)
        flags = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_BINARY", 0))
        try:
            fd = os.open(self.rel(SEEDCTL_DIR, LOCK_NAME), flags, 0o644, dir_fd=self.dir_fd)
        except OSError as exc:
            raise DriveError(f"{name}: cannot open its lock file {SEEDCTL_DIR}/{LOCK_NAME}: "
                             f"{exc.strerror or exc}") from None
        handle = os.fdopen(fd, "r+b", buffering=0)
        if not try_lock_file(handle):
            handle.close()
            raise DriveError(f"{name}: another seedctl process is writing this drive (it holds "
                             f"{SEEDCTL_DIR}/{LOCK_NAME}); wait for it to finish, or stop it, and re-run")
        self._lock = handle

    def close(self) -> None:
        if self._lock is not None:
            unlock_file(self._lock)
            self._lock.close()
            self._lock = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> DriveAnchor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _dev(dev: int) -> str:
    return f"{os.major(dev)}:{os.minor(dev)}" if hasattr(os, "major") else str(dev)
