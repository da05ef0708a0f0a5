"""Reparse points as Windows reports them (issue 26 item 3), judged by seedctl.safefs on every OS.

The values are those CPython's os.lstat gives on Windows for a junction, a file symbolic link, a plain
folder and a plain file, written down from its documentation and source (st_file_attributes and
st_reparse_tag from GetFileInformationByHandleEx; S_IFLNK only for IO_REPARSE_TAG_SYMLINK, so a
junction's st_mode says "folder"), not captured on a Windows machine: none is available here. Only
the attribute and the tag tell a junction from a folder. The behaviour of safefs.Tree on such entries is tested in tests/test_safefs.py (its
`windows-recorded` cases)."""

from __future__ import annotations

import stat
from types import SimpleNamespace

from seedctl import safefs

# os.lstat of a junction made by `mklink /J`, of a file symbolic link made by `mklink`, of a plain
# folder and file: what the Windows branch must refuse or accept.
RECORDED = {
    "junction": SimpleNamespace(st_mode=0o40777, st_file_attributes=0x410, st_reparse_tag=0xA0000003,
                                st_dev=0x5C1E0B2A, st_ino=0x1000000002F1A, st_size=0, st_mtime_ns=0),
    "file symlink": SimpleNamespace(st_mode=0o120666, st_file_attributes=0x420, st_reparse_tag=0xA000000C,
                                    st_dev=0x5C1E0B2A, st_ino=0x1000000002F1B, st_size=0, st_mtime_ns=0),
    "folder": SimpleNamespace(st_mode=0o40777, st_file_attributes=0x10, st_reparse_tag=0,
                              st_dev=0x5C1E0B2A, st_ino=0x1000000002F1C, st_size=0, st_mtime_ns=0),
    "file": SimpleNamespace(st_mode=0o100666, st_file_attributes=0x20, st_reparse_tag=0,
                            st_dev=0x5C1E0B2A, st_ino=0x1000000002F1D, st_size=5, st_mtime_ns=1),
}


def test_recorded_windows_results_are_judged_by_the_attribute() -> None:
    assert not safefs.is_plain_folder(RECORDED["junction"])  # lstat says folder; the attribute says junction
    assert stat.S_ISDIR(RECORDED["junction"].st_mode)
    assert "junction" in safefs.kind_of(RECORDED["junction"])
    assert not safefs.is_plain_file(RECORDED["file symlink"])
    assert "symbolic link" in safefs.kind_of(RECORDED["file symlink"])
    assert safefs.is_plain_folder(RECORDED["folder"]) and safefs.is_plain_file(RECORDED["file"])
