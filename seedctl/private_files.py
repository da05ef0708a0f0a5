"""Files only their owner may read (keys, saved plans, records), private from the first byte.

Why not `open(path, "w")` then `chmod`: between the two, the file exists with the umask's mode
(often 0644) and holds the secret; and `open` follows a symlink planted at `path`, so whoever
planted it chooses which file gets overwritten. Here:

- the content goes to a fresh temp file beside the target, created `O_CREAT | O_EXCL | O_NOFOLLOW`
  with mode 0600 and then `fchmod`ed to exactly 0600 (a umask can narrow the mode given to open,
  never widen it; fchmod makes it exact either way), written, fsynced, and renamed over the target:
  readers see the old file or the new one, never a half-written or wider-open one;
- a target that is a symlink (or anything but a regular file) is refused, not followed or replaced;
- a folder seedctl creates for such files is 0700; an existing folder that any user may write and
  that lacks the sticky bit is refused (anyone could swap the file after it is written).

On Windows the POSIX mode bits do not decide who can read a file (ACLs do, inherited from the
folder); the checks that depend on them are skipped there, as docs/reliability.md says.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from seedctl.errors import SeedctlError

PRIVATE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_POSIX = os.name != "nt"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _fail(error: type[SeedctlError], path: Path, why: str) -> SeedctlError:
    return error(f"cannot write {path}: {why}")


def private_dir(folder: Path, *, error: type[SeedctlError] = SeedctlError) -> Path:
    """Make sure `folder` exists; folders created here are 0700 (parents included)."""
    folder = Path(folder)
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for created in reversed(missing):
        try:
            os.mkdir(created, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made by someone else meanwhile: checked below like any existing folder
        except OSError as exc:
            raise _fail(error, folder, f"cannot create the folder ({exc.strerror or exc})") from None
        if _POSIX:
            os.chmod(created, PRIVATE_DIR_MODE)  # exact, whatever the umask
    _check_folder(folder, error)
    return folder


def _check_folder(folder: Path, error: type[SeedctlError]) -> None:
    try:
        st = os.stat(folder)
    except OSError as exc:
        raise _fail(error, folder, f"cannot read the folder ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise _fail(error, folder, "it is not a folder")
    if _POSIX and st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
        raise _fail(error, folder, "any user may write this folder (mode "
                                   f"{stat.S_IMODE(st.st_mode):04o}) and swap a secret written there; "
                                   f"run: chmod o-w {folder}, or choose another folder")


def refuse_link_or_special(path: Path, error: type[SeedctlError] = SeedctlError) -> None:
    """Raise `error` when `path` exists as a symlink (dangling or not) or anything but a regular file.

    Callers check early with it, before work that should not happen for a refused target."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _fail(error, path, exc.strerror or str(exc)) from None
    if stat.S_ISLNK(st.st_mode):
        raise _fail(error, path, "it is a symbolic link; seedctl does not write a secret through a link "
                                 "(remove the link, or name the real file)")
    if not stat.S_ISREG(st.st_mode):
        raise _fail(error, path, "it exists and is not a regular file")


def create_private(path: Path, *, error: type[SeedctlError] = SeedctlError) -> int:
    """A new file at `path`, 0600, for writing; refuses if anything (a link included) is there.

    Returns the open descriptor (the caller closes it). For files that must be fresh.
    """
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    try:
        fd = os.open(path, flags, PRIVATE_MODE)
    except FileExistsError:
        raise _fail(error, path, "it already exists (a fresh file is needed here)") from None
    except OSError as exc:
        raise _fail(error, path, exc.strerror or str(exc)) from None
    if _POSIX:
        try:
            os.fchmod(fd, PRIVATE_MODE)
        except OSError:
            os.close(fd)
            raise
    return fd


def write_private(path: Path, data: bytes, *, error: type[SeedctlError] = SeedctlError) -> Path:
    """Write `data` to `path` (created or replaced atomically), readable only by its owner.

    Refuses a `path` that is a symlink or not a regular file, and a folder any user may write.
    """
    path = Path(path)
    private_dir(path.parent, error=error)
    refuse_link_or_special(path, error)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = create_private(tmp, error=error)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        refuse_link_or_special(path, error)  # planted while we wrote: still refused, never replaced
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _fail(error, path, exc.strerror or str(exc)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def is_private(path: Path) -> bool:
    """True when only the owner may read or write `path` (always True on Windows: ACLs decide there)."""
    return not _POSIX or stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0
