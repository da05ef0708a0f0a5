"""safefs: the one way seedctl touches a path under a drive or the staging root (issues 23 and 26).

Whoever can write to a mounted drive or to the staging folder can plant a symbolic link, a FIFO,
a device node, a Windows junction or mount point, or swap a folder for one of those while seedctl
works. Run as root (or Administrator), a write, truncate or delete that follows such an entry lands
anywhere on the machine; a read blocks forever on a FIFO or never ends on `/dev/zero`. So:

- **`Tree`**: a folder held open (a drive's root, the staging root). Every open, lstat, listing,
  mkdir and unlink beneath it walks from that descriptor one folder at a time with `O_NOFOLLOW |
  O_DIRECTORY` (`dir_fd`), never through a path string, and never leaves the tree's filesystem.
  The last component is opened `O_NOFOLLOW` (`O_EXCL` for a new file) and checked with `fstat`:
  a regular file, or the call is refused with an `UnsafeEntry` naming the entry and what it is.
- **Where there are no folder descriptors and `O_NOFOLLOW` is 0 (Windows)** the same calls work by
  path: every component is `lstat`ed first and any entry carrying `FILE_ATTRIBUTE_REPARSE_POINT`
  (a symbolic link, a junction, a mount point: `lstat` reports a junction as a plain folder, so
  only the attribute tells) is refused, and a file that is opened must be the very file that
  `lstat` saw (device and file index compared after the open with `fstat`), so a swap between the
  check and the open is caught. The platform facts are a `Platform` value, so tests here run the
  Windows branch against recorded `lstat` results (`tests/test_safefs.py`).
- **`read_regular` / `open_regular`**: the one reader for every file seedctl reads from a drive or
  from its own records (manifests, kept manifest copies, copy logs, markers, journals, the
  verification record): a regular file only, opened `O_NONBLOCK | O_NOFOLLOW`, at most a cap that
  fits the kind, and a `DriveError` naming the file otherwise.

This module sits below the drive engine and the callers outside it alike: it imports only
`seedctl.errors` and `seedctl.fsretry` (tests/drives/test_layers.py lists it among the modules
`seedctl.drives` may use).
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from seedctl.errors import DriveError
from seedctl.fsretry import replace as replace_retrying

# winnt.h: the attribute every symbolic link, junction, mount point (and other reparse point) carries
FILE_ATTRIBUTE_REPARSE_POINT = 0x400
FILE_ATTRIBUTE_DIRECTORY = 0x10
IO_REPARSE_TAG_MOUNT_POINT = 0xA0000003  # a junction or a volume mount point
IO_REPARSE_TAG_SYMLINK = 0xA000000C

# Size caps per kind of file read (bytes). A manifest of a 10 TB page blob lists up to ~2.5 million
# 4 MiB ranges at ~110 bytes each (~275 MB), and one of a million small files ~400 bytes a file;
# 1 GiB covers both with room and still refuses an endless file. A marker is ~80 bytes.
CAP_MANIFEST = 1 << 30
CAP_COPY_LOG = 1 << 30  # a service copy log lists every blob of a drive, like its manifest
CAP_RECORD = 1 << 20  # seedctl's verification record: a few hundred bytes
CAP_MARKER = 4096
CAP_SECRET = 4096

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _host_dir_fds() -> bool:
    return (hasattr(os, "O_DIRECTORY") and hasattr(os, "O_NOFOLLOW") and os.open in os.supports_dir_fd
            and os.stat in os.supports_dir_fd and os.unlink in os.supports_dir_fd
            and os.mkdir in os.supports_dir_fd and os.listdir in os.supports_fd)


@dataclass(frozen=True)
class Platform:
    """What the operating system offers. `HOST` is this machine's; tests pass others."""

    dir_fds: bool  # openat/fstatat/unlinkat with O_NOFOLLOW and O_DIRECTORY (POSIX)
    nofollow: int  # os.O_NOFOLLOW, or 0 where it does not exist (Windows)
    reparse_points: bool  # lstat results carry st_file_attributes (Windows)
    lstat: Callable[[str], Any] = field(default=os.lstat, compare=False)
    fstat: Callable[[int], Any] = field(default=os.fstat, compare=False)

    @property
    def posix(self) -> bool:
        return self.dir_fds and bool(self.nofollow)


HOST = Platform(dir_fds=_host_dir_fds(), nofollow=getattr(os, "O_NOFOLLOW", 0), reparse_points=os.name == "nt")


class UnsafeEntry(DriveError):
    """An entry under a drive or staging is not what seedctl may touch: a link, junction, FIFO,
    device or folder where a file should be, or the path leaves the tree."""


def is_reparse_point(st: Any) -> bool:
    """The entry is a Windows reparse point (symbolic link, junction, mount point, ...)."""
    return bool(getattr(st, "st_file_attributes", 0) & FILE_ATTRIBUTE_REPARSE_POINT)


def kind_of(st: Any) -> str:
    """What an lstat result is, in words for a message."""
    if is_reparse_point(st):
        tag = getattr(st, "st_reparse_tag", 0)
        if tag == IO_REPARSE_TAG_MOUNT_POINT:
            return "a junction or mount point (reparse point)"
        if tag == IO_REPARSE_TAG_SYMLINK or stat.S_ISLNK(st.st_mode):
            return "a symbolic link (reparse point)"
        return "a reparse point"
    mode = st.st_mode
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a file")):
        if test(mode):
            return name
    return "not a regular file"


def is_plain_file(st: Any) -> bool:
    """A regular file that is no reparse point: the only thing seedctl reads, hashes or deletes."""
    return stat.S_ISREG(st.st_mode) and not is_reparse_point(st)


def is_plain_folder(st: Any) -> bool:
    return stat.S_ISDIR(st.st_mode) and not is_reparse_point(st)


# a tree-relative path made of plain segments (the common case, checked in one match): no empty,
# '.' or '..' segment, no separator, drive letter, stream or NUL
_PLAIN = re.compile(r"(?!\.\.?(?:/|$))[^/\\:\x00]+(?:/(?!\.\.?(?:/|$))[^/\\:\x00]+)*")


def segments(rel: str) -> list[str]:
    """The '/'-separated parts of a tree-relative path; ValueError for anything that could leave
    the tree or name something else on Windows (empty, '.', '..', a separator, a drive letter or
    stream (':'), NUL)."""
    if not isinstance(rel, str) or not rel:
        raise ValueError("an empty path")
    parts = rel.split("/")
    for part in parts:
        if part in ("", ".", "..") or "\\" in part or ":" in part or "\x00" in part:
            raise ValueError(f"path {rel!r} has a segment {part!r} that may leave the folder")
    return parts


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


class Tree:
    """A folder held open; every path beneath it is reached from it without following links.

    Not for concurrent use from several threads without `lock` (the last folder descriptor opened
    is kept for the next call: files come in path order, so a million files in a thousand folders
    cost a thousand folder opens)."""

    def __init__(self, root: Path | str, *, what: str, platform: Platform = HOST, fd: int | None = None) -> None:
        self.root = Path(root)
        self.what = what  # names the tree in messages: "drive SIM-1 at /mnt/d", "staging folder /srv/s"
        self.platform = platform
        self.lock = threading.RLock()
        self._own_fd = fd is None
        self.fd = -1
        self._cache: dict[tuple[str, ...], int] = {}  # a few folder descriptors, oldest first
        try:
            if platform.posix:
                self.fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC) if fd is None else fd
                st = platform.fstat(self.fd)
            else:  # the root is what the user named: it may itself be reached through a link
                st = os.stat(self.root)
        except OSError as exc:
            raise DriveError(f"{what}: cannot open {self.root}: {_why(exc)}") from None
        if not stat.S_ISDIR(st.st_mode):
            self.close()
            raise DriveError(f"{what}: {self.root} is not a folder")
        self.dev, self.ino = st.st_dev, st.st_ino

    # -- plumbing ---------------------------------------------------------------------------------

    def refuse(self, rel: str, why: str) -> UnsafeEntry:
        return UnsafeEntry(f"{self.what}: {self.display(rel)} {why}; seedctl does not follow or touch it "
                           "(nothing was changed through it)")

    def display(self, rel: str) -> str:
        return str(Path(self.root, *rel.split("/"))) if rel else str(self.root)

    def _parts(self, rel: str) -> list[str]:
        try:
            return segments(rel)
        except ValueError as exc:
            raise self.refuse(rel, str(exc)) from None

    def _folder_fd(self, rel: str, folders: tuple[str, ...]) -> int:
        """A descriptor of the folder `folders` beneath the root (POSIX): each step O_NOFOLLOW, on the
        root's filesystem. The returned descriptor belongs to the cache (do not close it); the cache
        keeps the last few, so a rename from .seedctl/tmp into seed/... needs no reopening."""
        if not folders:
            return self.fd
        fd = self._cache.get(folders)
        if fd is not None:
            return fd
        fd = self.fd
        try:
            for i, part in enumerate(folders):
                try:
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _O_CLOEXEC, dir_fd=fd)
                except FileNotFoundError:
                    raise
                except OSError as exc:
                    where = "/".join(folders[:i + 1])
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                        try:
                            what = kind_of(os.stat(part, dir_fd=fd, follow_symlinks=False))
                        except OSError:
                            what = "not a folder"
                        raise self.refuse(where, f"is {what}, not a folder") from None
                    raise self.refuse(where, f"cannot be opened: {_why(exc)}") from None
                if fd != self.fd:
                    os.close(fd)
                fd = nxt
                if self.platform.fstat(fd).st_dev != self.dev:
                    raise self.refuse("/".join(folders[:i + 1]), "is on another filesystem (a mount point)")
        except BaseException:
            if fd != self.fd:
                os.close(fd)
            raise
        if len(self._cache) >= 4:
            os.close(self._cache.pop(next(iter(self._cache))))
        self._cache[folders] = fd
        return fd

    def _drop_cache(self) -> None:
        for fd in self._cache.values():
            os.close(fd)
        self._cache.clear()

    def _check_folders(self, parts: list[str]) -> str:
        """Without folder descriptors (Windows): lstat every folder of `parts` from the root; refuse
        reparse points, non-folders and other filesystems. Returns the folder's full path."""
        path = str(self.root)
        for i, part in enumerate(parts):
            path = os.path.join(path, part)
            try:
                st = self.platform.lstat(path)
            except FileNotFoundError:
                raise
            except OSError as exc:
                raise self.refuse("/".join(parts[:i + 1]), f"cannot be checked: {_why(exc)}") from None
            if not is_plain_folder(st):
                raise self.refuse("/".join(parts[:i + 1]), f"is {kind_of(st)}, not a folder")
            if st.st_dev != self.dev:
                raise self.refuse("/".join(parts[:i + 1]), "is on another filesystem (a mount point)")
        return path

    def _check_path(self, rel: str, parts: list[str]) -> str:
        """The full path of the last component, every folder before it checked (`_check_folders`)."""
        return os.path.join(self._check_folders(parts[:-1]), parts[-1])

    # -- operations -------------------------------------------------------------------------------

    def lstat(self, rel: str) -> Any | None:
        """lstat of the entry (None when it or a folder on the way is absent). Never follows a link;
        a link, junction or other filesystem on the way is an UnsafeEntry."""
        parts = self._parts(rel)
        with self.lock:
            try:
                if self.platform.posix:
                    fd = self._folder_fd(rel, tuple(parts[:-1]))
                    return os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
                return self.platform.lstat(self._check_path(rel, parts))
            except FileNotFoundError:
                return None
            except NotADirectoryError:
                return None

    def lstat_each(self, rels: Iterable[str], prefix: str = "") -> Iterator[tuple[str, Any]]:
        """(rel, lstat of `prefix + rel` or None when absent, or the UnsafeEntry or OSError met) for
        each rel, in the given order: `lstat` for many files at once, each folder opened once while
        its files come in a row (a damage check of a million journaled files)."""
        folder_key: str | None = None
        folder_fd = -1
        with self.lock:
            for rel in rels:
                path = prefix + rel
                folder, _, name = path.rpartition("/")
                if not self.platform.posix or not _PLAIN.fullmatch(path):
                    try:
                        found = self.lstat(path)
                    except OSError as exc:
                        found = exc
                    except UnsafeEntry as exc:
                        found = exc
                    yield rel, found
                    continue
                try:
                    if folder != folder_key:
                        folder_key = None
                        folder_fd = self._folder_fd(path, tuple(folder.split("/"))) if folder else self.fd
                        folder_key = folder
                    yield rel, os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
                except (FileNotFoundError, NotADirectoryError):
                    yield rel, None
                except (UnsafeEntry, OSError) as exc:  # a link or mount on the way; unreadable
                    yield rel, exc

    def file_stat(self, rel: str) -> Any | None:
        """`lstat`, and an UnsafeEntry unless it is a plain regular file on the tree's filesystem."""
        st = self.lstat(rel)
        if st is not None:
            self._require_file(rel, st)
        return st

    def _require_file(self, rel: str, st: Any) -> None:
        if not is_plain_file(st):
            raise self.refuse(rel, f"is {kind_of(st)}, not a regular file")
        if st.st_dev != self.dev:
            raise self.refuse(rel, "is on another filesystem than the folder")

    def open(self, rel: str, flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
        """A descriptor of the regular file `rel`. `flags` are the access flags plus O_CREAT, O_EXCL,
        O_APPEND, O_TRUNC as needed; O_NOFOLLOW, O_NONBLOCK (while opening) and O_CLOEXEC are added.
        The entry is lstat'ed first (a FIFO or device is refused before it is opened at all) and the
        open descriptor must be that same plain file. FileNotFoundError when absent (and not
        created); FileExistsError for O_EXCL on anything there; UnsafeEntry for anything but a file."""
        parts = self._parts(rel)
        # O_NONBLOCK: never wait for a FIFO's other end, whether reading or writing
        extra = _O_CLOEXEC | _O_BINARY | _O_NOCTTY | _O_NONBLOCK | self.platform.nofollow
        with self.lock:
            if self.platform.posix:
                fd_dir = self._folder_fd(rel, tuple(parts[:-1]))
                try:
                    before = os.stat(parts[-1], dir_fd=fd_dir, follow_symlinks=False)
                except FileNotFoundError:
                    before = None
                    if not flags & os.O_CREAT:
                        raise
                if before is not None and not flags & os.O_EXCL:
                    self._require_file(rel, before)
                try:
                    fd = os.open(parts[-1], flags | extra, mode, dir_fd=fd_dir)
                except (FileNotFoundError, FileExistsError):
                    raise
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENXIO, errno.EISDIR, errno.ENODEV):
                        st = self.lstat(rel)
                        raise self.refuse(rel, f"is {kind_of(st) if st else 'not a regular file'}, not a "
                                               "regular file") from None
                    raise
            else:
                fd_dir = None
                path = self._check_path(rel, parts)
                try:
                    before = self.platform.lstat(path)
                except FileNotFoundError:
                    before = None
                    if not flags & os.O_CREAT:
                        raise
                if before is not None:
                    if flags & os.O_EXCL:
                        raise FileExistsError(errno.EEXIST, "File exists", path)
                    self._require_file(rel, before)
                fd = os.open(path, flags | extra, mode)
            try:
                after = self.platform.fstat(fd)
                self._require_file(rel, after)
                if before is None:  # created now: the name must lead to what was opened
                    before = (os.stat(parts[-1], dir_fd=fd_dir, follow_symlinks=False) if fd_dir is not None
                              else self.platform.lstat(path))
                    self._require_file(rel, before)
                if (before.st_dev, before.st_ino) != (after.st_dev, after.st_ino):
                    raise self.refuse(rel, "was swapped for another entry while it was opened")
                if _O_NONBLOCK:
                    os.set_blocking(fd, True)
            except BaseException:
                os.close(fd)
                raise
            return fd

    def listdir(self, rel: str = "") -> list[str]:
        """Names in the folder `rel` ('' is the root). FileNotFoundError when absent."""
        parts = self._parts(rel) if rel else []
        with self.lock:
            if self.platform.posix:
                return os.listdir(self._folder_fd(rel, tuple(parts)))
            return os.listdir(self._check_folders(parts))

    def mkdir(self, rel: str, mode: int = 0o755) -> None:
        """Create the folder `rel` (its parent must exist); an existing plain folder is fine."""
        parts = self._parts(rel)
        with self.lock:
            try:
                if self.platform.posix:
                    os.mkdir(parts[-1], mode, dir_fd=self._folder_fd(rel, tuple(parts[:-1])))
                else:
                    os.mkdir(self._check_path(rel, parts), mode)
            except FileExistsError:
                st = self.lstat(rel)
                if st is None or not is_plain_folder(st):
                    raise self.refuse(rel, f"is {kind_of(st) if st else 'gone'}, not a folder") from None

    def unlink(self, rel: str, *, unless: Callable[[Any], str | None] | None = None) -> bool:
        """Delete the regular file `rel`, never what a link points at. `unless(lstat)` may return a
        reason to keep it, checked on the entry itself right before the unlink. True when deleted,
        False when it was already gone; UnsafeEntry when it is not a plain file (or kept)."""
        parts = self._parts(rel)
        with self.lock:
            st = self.lstat(rel)
            if st is None:
                return False
            self._require_file(rel, st)
            if unless is not None:
                why = unless(st)
                if why:
                    raise self.refuse(rel, why)
            try:
                if self.platform.posix:
                    fd = self._folder_fd(rel, tuple(parts[:-1]))
                    again = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
                    if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
                        raise self.refuse(rel, "was swapped for another entry right before its deletion")
                    os.unlink(parts[-1], dir_fd=fd)
                else:
                    path = self._check_path(rel, parts)
                    again = self.platform.lstat(path)
                    self._require_file(rel, again)
                    if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
                        raise self.refuse(rel, "was swapped for another entry right before its deletion")
                    os.unlink(path)
            except FileNotFoundError:
                return False
            return True

    def remove_entry(self, rel: str) -> bool:
        """Remove whatever non-folder entry is at `rel` (a file, or a planted link, junction, FIFO or
        device node: the entry itself, never what it points at). False when absent; UnsafeEntry for
        a plain folder or when a folder on the way is not plain."""
        parts = self._parts(rel)
        with self.lock:
            st = self.lstat(rel)
            if st is None:
                return False
            try:
                if self.platform.posix:
                    if stat.S_ISDIR(st.st_mode):
                        raise self.refuse(rel, "is a folder")
                    os.unlink(parts[-1], dir_fd=self._folder_fd(rel, tuple(parts[:-1])))
                    return True
                path = self._check_path(rel, parts)
                if is_reparse_point(st) and stat.S_ISDIR(st.st_mode):
                    os.rmdir(path)  # a junction: RemoveDirectory removes the junction, not its target
                elif stat.S_ISDIR(st.st_mode):
                    raise self.refuse(rel, "is a folder")
                else:
                    os.unlink(path)  # a file symbolic link: DeleteFile removes the link itself
            except FileNotFoundError:
                return False
            return True

    def replace(self, src: str, dst: str) -> None:
        """Rename the plain file `src` to `dst` (replacing a file, or a link itself, at `dst`), both
        reached from the root without following a link or crossing a mount point on the way."""
        sparts, dparts = self._parts(src), self._parts(dst)
        with self.lock:
            st = self.lstat(src)
            if st is None:
                raise FileNotFoundError(errno.ENOENT, "No such file", self.display(src))
            self._require_file(src, st)
            there = self.lstat(dst)
            if there is not None and stat.S_ISDIR(there.st_mode):
                raise self.refuse(dst, f"is {kind_of(there)}, not a file")
            # retried while Windows reports the file in use (an antivirus, the indexer: seedctl.fsretry)
            if self.platform.posix:
                sfd = self._folder_fd(src, tuple(sparts[:-1]))
                dfd = self._folder_fd(dst, tuple(dparts[:-1]))
                replace_retrying(sparts[-1], dparts[-1], src_dir_fd=sfd, dst_dir_fd=dfd)
            else:
                replace_retrying(self._check_path(src, sparts), self._check_path(dst, dparts))

    def move_in(self, src_fd: int | None, src: str, dst: str) -> Any:
        """Rename the file `src` of a folder the caller holds open (`src_fd`; where folders cannot
        be opened, Windows, `src` is its full path and is checked to be a plain file) to `dst`
        beneath the root, reached without following a link or crossing a mount point; return the
        lstat of what is at `dst` afterwards, for the caller's identity check. A link at `dst` is
        replaced itself, never followed; a folder there is refused. Two system calls on POSIX where
        `replace` needs five: the copy engine moves every small file it writes this way."""
        dparts = self._parts(dst)
        with self.lock:
            if self.platform.posix and src_fd is not None:
                dfd = self._folder_fd(dst, tuple(dparts[:-1]))
                try:
                    replace_retrying(src, dparts[-1], src_dir_fd=src_fd, dst_dir_fd=dfd)
                except (IsADirectoryError, NotADirectoryError):
                    raise self.refuse(dst, "is a folder, not a file") from None
                return os.stat(dparts[-1], dir_fd=dfd, follow_symlinks=False)
            st = self.platform.lstat(src)
            if not is_plain_file(st):
                raise self.refuse(dst, f"would be replaced by {src}, which is {kind_of(st)}")
            target = self._check_path(dst, dparts)
            there = _lstat_or_none(self.platform, target)
            if there is not None and stat.S_ISDIR(there.st_mode):
                raise self.refuse(dst, f"is {kind_of(there)}, not a file")
            replace_retrying(src, target)
            return self.platform.lstat(target)

    def rmdir(self, rel: str) -> bool:
        """Remove the empty plain folder `rel`; False when it is not empty, absent or not plain."""
        parts = self._parts(rel)
        with self.lock:
            st = self.lstat(rel)
            if st is None or not is_plain_folder(st) or st.st_dev != self.dev:
                return False
            try:
                if self.platform.posix:
                    self._drop_cache()  # never hold the folder being removed open
                    os.rmdir(parts[-1], dir_fd=self._folder_fd(rel, tuple(parts[:-1])))
                else:
                    os.rmdir(self._check_path(rel, parts))
            except OSError:
                return False
            return True

    def read(self, rel: str, *, cap: int) -> bytes:
        """The whole regular file `rel`, at most `cap` bytes (UnsafeEntry when larger)."""
        fd = self.open(rel)
        return _read_capped(fd, cap, lambda why: self.refuse(rel, why))

    def close(self) -> None:
        with self.lock:
            self._drop_cache()
            if self.fd >= 0 and self._own_fd:
                os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lstat_or_none(platform: Platform, path: str) -> Any | None:
    try:
        return platform.lstat(path)
    except FileNotFoundError:
        return None


def _read_capped(fd: int, cap: int, refuse: Callable[[str], Exception]) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = os.read(fd, min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                raise refuse(f"is larger than {cap:,} bytes, more than such a file can be")
    finally:
        os.close(fd)
    return b"".join(chunks)


# -- files read by path: the one safe reader -----------------------------------------------------

def open_regular(path: Path | str, *, what: str, platform: Platform = HOST) -> int:
    """A descriptor of the regular file at `path`, for reading: the entry is lstat'ed first (a link,
    reparse point, FIFO or device is refused before it is opened), opened O_NOFOLLOW | O_NONBLOCK
    (never waiting on a FIFO swapped in meanwhile), and the descriptor must be that same plain file
    (device and inode, or file index on Windows, compared with fstat).
    FileNotFoundError when absent; DriveError naming `what` and the path for anything else."""
    text = os.fspath(path)
    if "\x00" in text:
        raise DriveError(f"{what} {text!r} has a NUL character in its path")
    flags = os.O_RDONLY | _O_NONBLOCK | _O_CLOEXEC | _O_BINARY | _O_NOCTTY | platform.nofollow
    try:
        before = platform.lstat(text)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise DriveError(f"cannot read {what} {text}: {_why(exc)}") from None
    if not is_plain_file(before):
        raise DriveError(f"{what} {text} is {kind_of(before)}, not a regular file; seedctl does not follow or "
                         "read it. Remove it (or put the real file there) and re-run")
    try:
        fd = os.open(text, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):
            raise DriveError(f"{what} {text} is a symbolic link; seedctl reads only a plain file there. Remove "
                             "the link (or put the real file there) and re-run") from None
        raise DriveError(f"cannot read {what} {text}: {_why(exc)}") from None
    try:
        st = platform.fstat(fd)
        if not is_plain_file(st):
            raise DriveError(f"{what} {text} is {kind_of(st)}, not a regular file; seedctl does not read it. "
                             "Remove it (or put the real file there) and re-run")
        if (before.st_dev, before.st_ino) != (st.st_dev, st.st_ino):
            raise DriveError(f"{what} {text} was swapped for another file while it was opened; re-run")
        if _O_NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path | str, *, what: str, cap: int, platform: Platform = HOST) -> bytes:
    """The whole regular file at `path` (see `open_regular`), at most `cap` bytes: a DriveError
    naming the file when it is larger, so `/dev/zero` or a runaway file never fills memory."""
    text = os.fspath(path)
    fd = open_regular(text, what=what, platform=platform)

    def refuse(why: str) -> DriveError:
        return DriveError(f"{what} {text} {why}; it is not a file seedctl wrote")

    try:
        return _read_capped(fd, cap, refuse)
    except OSError as exc:
        raise DriveError(f"cannot read {what} {text}: {_why(exc)}") from None


class CappedReader(io.RawIOBase):
    """A binary stream over a descriptor that refuses to read past `cap` bytes (for parsers that
    stream a large file, such as a manifest of millions of page ranges)."""

    def __init__(self, fd: int, cap: int, refuse: Callable[[str], Exception]) -> None:
        self._fd, self._cap, self._refuse, self._read = fd, cap, refuse, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        data = os.read(self._fd, min(len(view), self._cap + 1 - self._read) or 1)
        self._read += len(data)
        if self._read > self._cap:
            raise self._refuse(f"is larger than {self._cap:,} bytes, more than such a file can be")
        view[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def open_stream(path: Path | str, *, what: str, cap: int, platform: Platform = HOST) -> BinaryIO:
    """`read_regular` as a buffered stream (closed by the caller), for a parser that streams."""
    text = os.fspath(path)
    fd = open_regular(text, what=what, platform=platform)
    raw = CappedReader(fd, cap, lambda why: DriveError(f"{what} {text} {why}; it is not a file seedctl wrote"))
    return io.BufferedReader(raw, 1 << 20)  # type: ignore[return-value]


# -- paths that are never a key file's place -----------------------------------------------------

PSEUDO_ROOTS = ("/proc", "/sys", "/dev")


def pseudo_filesystem(path: Path | str) -> str | None:
    """The pseudo-filesystem (`/proc`, `/sys`, `/dev`) that `path` lies on once resolved, or None.

    Their files look like regular files (`/proc/self/environ` is one) but are the kernel's: reading
    one as a key would take process memory or device state for a secret. Compared by resolved path
    and by device (a bind mount of /proc elsewhere is the same filesystem)."""
    if os.name == "nt":
        return None
    real = os.path.realpath(os.fspath(path))
    for root in PSEUDO_ROOTS:
        if real == root or real.startswith(root + "/"):
            return root
    try:
        return pseudo_device(os.stat(real).st_dev)
    except OSError:
        return None


def pseudo_device(dev: int) -> str | None:
    """`/proc` or `/sys` when `dev` is that filesystem's device (a bind mount of it elsewhere, or a
    file swapped in after a path check); /dev is a tmpfs like /dev/shm or /run and is compared by
    path only."""
    if os.name == "nt":
        return None
    for root in ("/proc", "/sys"):
        try:
            if os.stat(root).st_dev == dev:
                return root
        except OSError:
            continue
    return None
