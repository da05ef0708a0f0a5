"""Renames that Windows refuses for a moment: retried, briefly, on a sharing violation.

On Windows a file that another process holds open without FILE_SHARE_DELETE cannot be renamed or
replaced. Antivirus scanners, the search indexer and backup agents open every new file for a
moment, so `os.replace` of a file seedctl has just written fails now and then with WinError 32
(ERROR_SHARING_VIOLATION), 5 (ERROR_ACCESS_DENIED: the target is open, or marked for deletion) or
33 (ERROR_LOCK_VIOLATION), although a retry a few milliseconds later succeeds. `replace` retries
those, with a growing pause, for about two seconds, then raises the last error. POSIX has no such
failure: an error there (or any other error) is raised at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

# ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
TRANSIENT_WINERRORS = frozenset({5, 32, 33})
PAUSES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8)  # 2 s in all


def replace(src: Any, dst: Any, *, src_dir_fd: int | None = None, dst_dir_fd: int | None = None,
            rename: Callable[..., None] = os.replace, sleep: Callable[[float], None] = time.sleep) -> None:
    """`os.replace(src, dst)`, retried while Windows reports the file in use (see the module doc)."""
    kwargs = {}
    if src_dir_fd is not None:
        kwargs["src_dir_fd"] = src_dir_fd
    if dst_dir_fd is not None:
        kwargs["dst_dir_fd"] = dst_dir_fd
    for pause in (*PAUSES, None):
        try:
            rename(src, dst, **kwargs)
            return
        except OSError as exc:
            if pause is None or getattr(exc, "winerror", None) not in TRANSIENT_WINERRORS:
                raise
        sleep(pause)
