"""Named skips for what only POSIX has, so that the Windows CI job skips those tests saying why
(`pytest -rs` lists each reason) and runs everything else.

Each is `pytest.mark.skipif(on Windows, reason=...)`; a test that needs one of these uses the
name, never a bare `os.name` check, so `grep -r platforms.` finds every test Windows does not run.
What Windows does instead is tested in tests/windows over recorded Win32 answers, on every OS.
"""

from __future__ import annotations

import os

import pytest

WINDOWS = os.name == "nt"


def posix_only(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(WINDOWS, reason=f"POSIX only: {reason}")


SIGNALS = posix_only("POSIX signals sent to a child process (SIGKILL, SIGTERM); Windows ends processes with "
                     "TerminateProcess and console control events (tests/windows/test_console.py)")
FIFOS = posix_only("mkfifo and AF_UNIX sockets (Windows has no FIFOs or sockets in the file system)")
MODES = posix_only("permission bits (chmod 0, 0600, umask); on Windows the DACL decides "
                   "(tests/windows/test_acl.py, test_private_files_windows.py)")
SYMLINKS = posix_only("POSIX symbolic links (creating them needs a privilege on Windows, where junctions "
                      "and reparse points are the hazard)")
SHELL_STAND_INS = posix_only("stand-in tools written as /bin/sh scripts")
LINUX_PROBE = posix_only("the Linux drive probe, over sysfs and /proc trees built with symbolic links")
OPEN_FOLDER_RENAME = posix_only("renames a folder while files in it are open, which Windows refuses "
                                "(a sharing violation)")
