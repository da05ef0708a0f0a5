"""Read a secret file (`key: {file: PATH}`) as untrusted input: bounded, non-blocking, regular files only.

A secret reference points wherever the spec says, and `validate` / `plan --local-state skip` read it
on CI runners. So the read must never hang (a FIFO with no writer), never grow without bound
(`/dev/zero`), never touch a device (opening a tape device can rewind it), and never end in a
traceback (a NUL in the path, a binary file). Every failure is a SecretError naming the reference,
never the content.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path
from typing import Any

from seedctl.errors import SecretError
from seedctl.safefs import pseudo_device, pseudo_filesystem

# A BitLocker recovery password is 55 characters and a storage key 88; a few KiB leaves room for
# comments-free PEM-sized secrets while refusing the wrong file (a log, an image) outright.
MAX_SECRET_BYTES = 4096

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _refuse_special(mode: int, label: str) -> None:
    if not stat.S_ISREG(mode):
        raise SecretError(f"secret {label} is {_kind(mode)}, not a regular file; point it at a file "
                          "holding only the secret")


def permission_warning(mode: int, path: Path, label: str, *, acls: Any = None) -> str | None:
    """The warning for a secret file that group or others can read, with the command that fixes it.

    POSIX: the permission bits. Windows: they describe nothing there; the file's access list is read
    instead, and Everyone, Users or Authenticated Users being able to read it is the warning
    (`private_files.readers_warning`; `acls` is its Win32 side, given by tests).
    """
    if acls is not None or os.name == "nt":
        from seedctl.private_files import readers_warning

        return readers_warning(path, label, acls=acls)
    if not mode & 0o044:
        return None
    who = " and ".join(w for w, bit in (("its group", 0o040), ("other users", 0o004)) if mode & bit)
    return (f"secret {label} can be read by {who} (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {shlex.quote(str(path))}")


def read_secret_file(path: Path, label: str) -> tuple[str, list[str]]:
    """(the trimmed secret, warnings). Raises SecretError for anything but a small UTF-8 regular file.

    `label` is how messages name the reference (`file:keys/d1.txt`).
    """
    text = os.fspath(path)
    if "\x00" in text:
        raise SecretError(f"secret {label!r} has a NUL character in its path; no file can have that name")
    # stat before open: opening a device can have effects of its own, and opening a FIFO for
    # reading without O_NONBLOCK waits for a writer forever.
    try:
        _refuse_special(os.stat(text).st_mode, label)
    except OSError as exc:
        raise SecretError(f"secret {label} cannot be read ({exc.strerror or exc})") from None
    # Kernel pseudo-files look like regular files (/proc/self/environ is one) and hold process
    # memory or device state, never a key someone wrote (issue 23).
    pseudo = pseudo_filesystem(text)
    if pseudo:
        raise SecretError(f"secret {label} is under {pseudo}, a kernel pseudo-filesystem, not a key file; point "
                          "it at a file holding only the secret")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(text, flags)
    except OSError as exc:
        raise SecretError(f"secret {label} cannot be read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        _refuse_special(st.st_mode, label)  # swapped for something else between stat and open
        pseudo = pseudo_device(st.st_dev)
        if pseudo:
            raise SecretError(f"secret {label} is on {pseudo}, a kernel pseudo-filesystem, not a key file; point "
                              "it at a file holding only the secret")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_SECRET_BYTES:
            chunk = os.read(fd, MAX_SECRET_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SecretError(f"secret {label} cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_SECRET_BYTES:
        raise SecretError(f"secret {label} is larger than {MAX_SECRET_BYTES:,} bytes; a secret file holds "
                          "only the secret (is the path right?)")
    try:
        value = data.decode("utf-8-sig").strip()  # -sig: Notepad's byte-order mark is not part of the key
    except UnicodeDecodeError:
        raise SecretError(f"secret {label} is not UTF-8 text; write the secret as plain text") from None
    if not value:
        raise SecretError(f"secret {label} is empty")
    if "\x00" in value:
        raise SecretError(f"secret {label} contains a NUL character; write the secret as plain text")
    warning = permission_warning(st.st_mode, Path(text), label)
    return value, [warning] if warning else []
