"""Making writes durable on a whole drive at once.

fsync per file costs a disk flush per file: on a spinning drive that is ~10 ms, so 100,000 small
files would spend 15 minutes flushing. One call per group of files flushes the whole filesystem
instead. seedctl writes a group of files, flushes once, renames them into place, flushes again,
then journals the group.

- Linux: syncfs(2) on a descriptor of the mount.
- Windows: FlushFileBuffers on a handle to the *volume* ("\\\\?\\Volume{...}", found from the mount
  point): "to flush all open files on a volume, call FlushFileBuffers with a handle to the volume".
  Opening a volume needs Administrator, which a real drive's BitLocker checks need anyway; without
  it (or for a folder that is not a volume of its own, as a sandbox drive is) it falls back below.
- Elsewhere (macOS), or when the volume cannot be opened: every file is fsynced and every touched
  folder fsynced instead.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_SYNCFS = _load_syncfs()

GENERIC_READ, GENERIC_WRITE = 0x80000000, 0x40000000
FILE_SHARE_READ, FILE_SHARE_WRITE = 0x1, 0x2
OPEN_EXISTING = 3
_INVALID_HANDLE = (None, 0, ctypes.c_void_p(-1).value)


class WindowsVolume:
    """A handle to the volume holding a mount point, flushed as a whole. `kernel32` is
    ctypes.WinDLL("kernel32", use_last_error=True) on Windows; tests pass a recorded stand-in."""

    def __init__(self, mount: Path, kernel32: Any) -> None:
        k = self.kernel32 = kernel32
        for name, restype, argtypes in (
                ("GetVolumePathNameW", ctypes.c_int, [ctypes.c_wchar_p, ctypes.c_wchar_p, ctypes.c_uint32]),
                ("GetVolumeNameForVolumeMountPointW", ctypes.c_int,
                 [ctypes.c_wchar_p, ctypes.c_wchar_p, ctypes.c_uint32]),
                ("CreateFileW", ctypes.c_void_p, [ctypes.c_wchar_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p,
                                                  ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p]),
                ("FlushFileBuffers", ctypes.c_int, [ctypes.c_void_p]),
                ("CloseHandle", ctypes.c_int, [ctypes.c_void_p])):
            function = getattr(k, name)
            function.restype, function.argtypes = restype, argtypes
        self.handle: Any = None
        root = ctypes.create_unicode_buffer(1024)
        name = ctypes.create_unicode_buffer(64)
        if not k.GetVolumePathNameW(str(mount), root, len(root)):
            return
        if not k.GetVolumeNameForVolumeMountPointW(root.value, name, len(name)):
            return  # not the root of a volume (a network share, a subst drive)
        # "\\?\Volume{guid}\" names the root folder; without the last backslash, the volume itself
        handle = k.CreateFileW(name.value.rstrip("\\"), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                               None, OPEN_EXISTING, 0, None)
        if handle not in _INVALID_HANDLE:
            self.handle = handle
        self.volume = name.value

    @property
    def available(self) -> bool:
        return self.handle is not None

    def flush(self) -> None:
        if not self.kernel32.FlushFileBuffers(self.handle):
            code = self.kernel32.last_error()
            raise OSError(None, f"FlushFileBuffers on the volume failed (Windows error {code})", self.volume, code)

    def close(self) -> None:
        if self.handle is not None:
            self.kernel32.CloseHandle(self.handle)
            self.handle = None


class _Kernel32:
    def __init__(self) -> None:
        self._dll = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dll, name)

    def last_error(self) -> int:
        return ctypes.get_last_error()  # type: ignore[attr-defined]


class FilesystemSync:
    """One flush for the whole filesystem holding `mount`, when available (`available` says whether)."""

    def __init__(self, mount: Path, *, platform: str = sys.platform, kernel32: Any = None) -> None:
        self._fd = -1
        self._volume: WindowsVolume | None = None
        if platform == "win32":
            volume = WindowsVolume(mount, kernel32 if kernel32 is not None else _Kernel32())
            self._volume = volume if volume.available else None
            self.available = self._volume is not None
            return
        self.available = _SYNCFS is not None
        if self.available:
            self._fd = os.open(mount, os.O_RDONLY)

    def sync(self) -> None:
        if self._volume is not None:
            self._volume.flush()
            return
        if not self.available:
            return
        if _SYNCFS(self._fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), "syncfs")

    def close(self) -> None:
        if self._volume is not None:
            self._volume.close()
            self._volume = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
