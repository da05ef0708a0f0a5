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

On Windows the POSIX mode bits do not decide who can read a file; its DACL does, and a new file
inherits its folder's. There every file and folder created here gets a *protected* DACL (owner,
SYSTEM, Administrators; nothing inherited) from its creation (`seedctl.win32.acl`), and
`is_private` reads the DACL back. The world-writable-folder check stays POSIX-only (Windows has no
sticky bit; the protected DACL on the file is what keeps it private). Every function takes `acls`,
the Win32 side, so tests run the Windows branch against a recorded stand-in.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Any

from seedctl.errors import SeedctlError
from seedctl.fsretry import replace as replace_retrying

PRIVATE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_POSIX = os.name != "nt"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _fail(error: type[SeedctlError], path: Path, why: str) -> SeedctlError:
    return error(f"cannot write {path}: {why}")


def _windows(acls: Any) -> Any:
    """The Win32 ACL calls to make: `acls` when given (tests), the real ones on Windows, else None."""
    if acls is not None:
        return acls
    if _POSIX:
        return None
    from seedctl.win32.acl import acls as real_acls

    return real_acls()


def private_dir(folder: Path, *, error: type[SeedctlError] = SeedctlError, acls: Any = None) -> Path:
    """Make sure `folder` exists; folders created here are private (parents included): 0700 on
    POSIX, the protected owner/SYSTEM/Administrators DACL on Windows."""
    folder = Path(folder)
    win = _windows(acls)
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for created in reversed(missing):
        try:
            if win is not None:
                win.create_folder(str(created))
            else:
                os.mkdir(created, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made by someone else meanwhile: checked below like any existing folder
        except OSError as exc:
            raise _fail(error, folder, f"cannot create the folder ({exc.strerror or exc})") from None
        if win is None:
            os.chmod(created, PRIVATE_DIR_MODE)  # exact, whatever the umask
    _check_folder(folder, error)
    return folder


def make_private(path: Path, *, error: type[SeedctlError] = SeedctlError, acls: Any = None) -> None:
    """Make an existing file or folder private, as if created here: 0600 / 0700, or on Windows the
    protected DACL (for what an older seedctl, or another tool, created with inherited access)."""
    win = _windows(acls)
    try:
        if win is not None:
            win.protect(str(path))
        else:
            os.chmod(path, PRIVATE_DIR_MODE if os.path.isdir(path) else PRIVATE_MODE)
    except OSError as exc:
        raise _fail(error, Path(path), f"cannot make it private ({exc.strerror or exc})") from None


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


def create_private(path: Path, *, error: type[SeedctlError] = SeedctlError, acls: Any = None) -> int:
    """A new file at `path`, private (0600, or the protected DACL on Windows) from its creation, for
    writing; refuses if anything (a link included) is there.

    Returns the open descriptor (the caller closes it). For files that must be fresh.
    """
    path = Path(path)
    win = _windows(acls)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    try:
        fd = win.create_file(str(path)) if win is not None else os.open(path, flags, PRIVATE_MODE)
    except FileExistsError:
        raise _fail(error, path, "it already exists (a fresh file is needed here)") from None
    except OSError as exc:
        raise _fail(error, path, exc.strerror or str(exc)) from None
    if win is None:
        try:
            os.fchmod(fd, PRIVATE_MODE)
        except OSError:
            os.close(fd)
            raise
    return fd


def write_private(path: Path, data: bytes, *, error: type[SeedctlError] = SeedctlError, acls: Any = None) -> Path:
    """Write `data` to `path` (created or replaced atomically), readable only by its owner.

    Refuses a `path` that is a symlink or not a regular file, and a folder any user may write.
    """
    path = Path(path)
    private_dir(path.parent, error=error, acls=acls)
    refuse_link_or_special(path, error)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = create_private(tmp, error=error, acls=acls)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        refuse_link_or_special(path, error)  # planted while we wrote: still refused, never replaced
        replace_retrying(tmp, path)  # retried while an antivirus or indexer holds the new file (Windows)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _fail(error, path, exc.strerror or str(exc)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def is_private(path: Path, *, acls: Any = None) -> bool:
    """True when only the owner may read or write `path`: no group or other mode bits on POSIX; on
    Windows a protected DACL naming no one but the owner, SYSTEM and Administrators."""
    win = _windows(acls)
    if win is not None:
        from seedctl.win32.acl import is_private_sddl

        return is_private_sddl(win.sddl(str(path)))
    return stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0


def readers_warning(path: Path, label: str, *, acls: Any = None) -> str | None:
    """Windows: the warning for a secret file that Everyone, Users or Authenticated Users may read
    (its DACL, read back), with the icacls command that fixes it; None when none of them may, or
    when the DACL cannot be read (the secret itself was readable: that is what mattered)."""
    win = _windows(acls)
    if win is None:
        return None
    from seedctl.win32.acl import broad_readers, icacls_fix

    try:
        sddl = win.sddl(str(path))
    except OSError:
        return None
    who = broad_readers(sddl)
    if not who:
        return None
    return (f"secret {label} can be read by {' and '.join(who)} (its access list); run: {icacls_fix(path, sddl)}")
