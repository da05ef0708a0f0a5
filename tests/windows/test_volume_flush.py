"""One flush per group of files on Windows too (seedctl/drives/writing/durability.py), over recorded
kernel32 answers: the volume behind the mount point (GetVolumePathNameW, then
GetVolumeNameForVolumeMountPointW), opened as "\\\\?\\Volume{...}" without its last backslash and
flushed with FlushFileBuffers ("to flush all open files on a volume, call FlushFileBuffers with a
handle to the volume"; Administrator needed). Without it, the per-file fsync stays."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from seedctl.drives.writing.durability import FilesystemSync

from .recorded import Fail, FakeDll

VOLUME = "\\\\?\\Volume{3c1a7b52-8f0e-4d7e-9a61-2b5c4d6e7f80}\\"
HANDLE = 0x1F4


def write(buffer_index: int, text: str):  # noqa: ANN201
    def answer(*args):  # noqa: ANN002, ANN202
        buffer = args[buffer_index]
        ctypes.memmove(buffer, ctypes.create_unicode_buffer(text), (len(text) + 1) * ctypes.sizeof(ctypes.c_wchar))
        return 1
    return answer


def kernel32(**over: object) -> FakeDll:
    answers = {"GetVolumePathNameW": write(1, "E:\\"), "GetVolumeNameForVolumeMountPointW": write(1, VOLUME),
               "CreateFileW": HANDLE, "FlushFileBuffers": 1, "CloseHandle": 1, **over}
    return FakeDll(**answers)


def test_the_volume_is_flushed_once_per_call() -> None:
    k = kernel32()
    fs = FilesystemSync(Path("E:\\"), platform="win32", kernel32=k)
    assert fs.available  # so prepare does not fsync each file
    (opened,) = k.CreateFileW.calls
    assert opened[0] == VOLUME.rstrip("\\") and opened[1] == 0x80000000 | 0x40000000 and opened[4] == 3
    fs.sync()
    fs.sync()
    assert k.FlushFileBuffers.calls == [(HANDLE,), (HANDLE,)]
    fs.close()
    assert k.CloseHandle.calls == [(HANDLE,)]
    assert k.GetVolumePathNameW.calls[0][0] == "E:\\"


def test_a_mount_folder_is_flushed_through_its_volume() -> None:
    k = kernel32(GetVolumePathNameW=write(1, "C:\\SeedDrives\\Drive1\\"))
    FilesystemSync(Path("C:\\SeedDrives\\Drive1"), platform="win32", kernel32=k).close()
    assert k.GetVolumeNameForVolumeMountPointW.calls[0][0] == "C:\\SeedDrives\\Drive1\\"


@pytest.mark.parametrize("over", [
    {"CreateFileW": Fail(5, ctypes.c_void_p(-1).value)},      # not elevated: ERROR_ACCESS_DENIED
    {"GetVolumeNameForVolumeMountPointW": Fail(4390)},        # not a volume root (a share, a subst drive)
    {"GetVolumePathNameW": Fail(3)},
])
def test_without_a_volume_handle_each_file_is_fsynced(over: dict) -> None:
    k = kernel32(**over)
    fs = FilesystemSync(Path("E:\\"), platform="win32", kernel32=k)
    assert not fs.available
    fs.sync()  # nothing to do: prepare fsyncs every file and folder instead
    fs.close()
    assert k.FlushFileBuffers.calls == [] and k.CloseHandle.calls == []


def test_a_failing_flush_is_an_error() -> None:
    k = kernel32(FlushFileBuffers=Fail(21))  # ERROR_NOT_READY: the drive went away
    fs = FilesystemSync(Path("E:\\"), platform="win32", kernel32=k)
    with pytest.raises(OSError, match="FlushFileBuffers") as info:
        fs.sync()
    assert "Windows error 21" in str(info.value)
    fs.close()
