"""What only Windows has, one module per concern, each behind a seam that tests replace.

- `console`: console control events (close, logoff, shutdown) and VT escape sequences;
- `process`: is a process alive, a process group for the sandbox daemon, a tree kill;
- `acl`: protected DACLs on secret files and folders, and who may read a file.

No Windows machine runs this project's tests, so the Win32 calls are made through a `Dll` object
(`dll("kernel32")`): on Windows a `ctypes.WinDLL` with the thread's last error, in tests an object
answering as the documented calls do (`tests/win32/recorded.py`). Everything around the calls —
which call, which flags, what each answer means — is ordinary code that runs on every platform.
"""

from __future__ import annotations

import ctypes
import errno
import sys
from typing import Any

IS_WINDOWS = sys.platform == "win32"

# Win32 error codes seedctl tells apart (winerror.h)
ERROR_FILE_NOT_FOUND = 2
ERROR_PATH_NOT_FOUND = 3
ERROR_ACCESS_DENIED = 5
ERROR_INVALID_HANDLE = 6
ERROR_SHARING_VIOLATION = 32
ERROR_LOCK_VIOLATION = 33
ERROR_FILE_EXISTS = 80
ERROR_INVALID_PARAMETER = 87
ERROR_ALREADY_EXISTS = 183
ERROR_CANT_RESOLVE_FILENAME = 1921  # a loop of symbolic links

_ERRNO = {ERROR_FILE_NOT_FOUND: errno.ENOENT, ERROR_PATH_NOT_FOUND: errno.ENOENT, ERROR_ACCESS_DENIED: errno.EACCES,
          ERROR_INVALID_HANDLE: errno.EBADF, ERROR_SHARING_VIOLATION: errno.EACCES,
          ERROR_LOCK_VIOLATION: errno.EACCES, ERROR_FILE_EXISTS: errno.EEXIST, ERROR_ALREADY_EXISTS: errno.EEXIST,
          ERROR_INVALID_PARAMETER: errno.EINVAL}


class Dll:
    """A Windows DLL as the modules here call it: its functions by name, and the calling thread's
    last error (`use_last_error`: ctypes keeps it per thread, safe from later calls clobbering it)."""

    def __init__(self, name: str) -> None:
        self._dll = ctypes.WinDLL(name, use_last_error=True)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dll, name)

    def last_error(self) -> int:
        return ctypes.get_last_error()  # type: ignore[attr-defined]


_loaded: dict[str, Dll] = {}


def dll(name: str) -> Dll:
    """The real DLL (Windows only), loaded once."""
    if name not in _loaded:
        _loaded[name] = Dll(name)
    return _loaded[name]


def prototype(function: Any, restype: Any, *argtypes: Any) -> Any:
    """Declare a foreign function's types (a HANDLE is pointer-sized: the default int would cut it)."""
    function.restype = restype
    function.argtypes = list(argtypes)
    return function


def win_error(code: int, filename: object = None) -> OSError:
    """An OSError for a Win32 error code, with `winerror` set, on every platform (on Windows the
    errno and the subclass, FileExistsError for 80 and 183 say, follow from the code)."""
    if IS_WINDOWS:
        return OSError(None, ctypes.FormatError(code).strip(), filename, code)  # type: ignore[attr-defined]
    exc = OSError(_ERRNO.get(code, errno.EINVAL), f"Windows error {code}", filename)
    exc.winerror = code  # type: ignore[attr-defined]
    return exc


def winerror(exc: BaseException) -> int | None:
    """The Win32 error code of an OSError (None elsewhere, or when it has none)."""
    return getattr(exc, "winerror", None)
