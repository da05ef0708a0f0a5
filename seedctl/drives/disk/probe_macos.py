"""macOS: `diskutil info -plist` for the volume and its whole disk. Plan and status only.

A Mac can read NTFS but not write it without third-party drivers, and no macOS tool unlocks a
BitLocker volume, so a Mac copy computer cannot prepare Import/Export drives: every real drive is
refused with that reason. What works on a Mac: validate, plan (Azure side, and drives described
by `capacity:` in the spec), status, verify, destroy, and the sandbox.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
from collections.abc import Callable
from typing import Any

from seedctl.drives.disk.facts import DeviceInfo, DiskFacts, KeyVerdict, normalise_serial

Runner = Callable[..., subprocess.CompletedProcess]
MAC_CANNOT = ("macOS cannot unlock or write a BitLocker volume, so a Mac cannot prepare Import/Export "
              "drives; prepare them on Windows (or Linux with cryptsetup/dislocker and ntfs-3g)")
_BUS = {"SATA": "sata", "USB": "usb", "PCI-Express": "nvme", "PCI": "nvme", "NVMe": "nvme", "SAS": "sas",
        "Apple Fabric": "internal-apple", "Thunderbolt": "thunderbolt", "Disk Image": "virtual", "Virtual": "virtual"}


def _plist(runner: Runner, *args: str) -> dict[str, Any] | None:
    try:
        done = runner(["diskutil", "info", "-plist", *args], capture_output=True, timeout=60)
        info = plistlib.loads(done.stdout) if done.returncode == 0 and done.stdout else None
    except (OSError, subprocess.SubprocessError, ValueError, plistlib.InvalidFileException):
        return None
    return info if isinstance(info, dict) else None


def parse_diskutil(volume: dict[str, Any], whole: dict[str, Any] | None, mount_point: str) -> DeviceInfo:
    fs = str(volume.get("FilesystemType") or volume.get("FilesystemName") or "").lower()
    filesystem = {"ntfs": "ntfs", "msdos": "fat32", "exfat": "exfat", "apfs": "apfs", "hfs": "hfs"}.get(fs, fs or None)
    disk = whole or volume
    bus = str(disk.get("BusProtocol") or volume.get("BusProtocol") or "")
    size = disk.get("TotalSize") or disk.get("Size")
    # diskutil shows no hardware serial; system_profiler does, but only for some buses, so the
    # serial is taken from `MediaSerialNumber` where a driver publishes it and is otherwise unknown.
    serial = normalise_serial(str(disk.get("MediaSerialNumber") or "")) or None
    facts = DiskFacts(name=str(disk.get("DeviceNode") or volume.get("ParentWholeDisk") or "?"), serial=serial,
                      bus=_BUS.get(bus, bus.lower() or None), size=size if isinstance(size, int) else None,
                      logical_sector=disk.get("DeviceBlockSize") if isinstance(disk.get("DeviceBlockSize"), int) else None,
                      model=disk.get("MediaName"))
    return DeviceInfo(mount_point=mount_point, is_mount=True, device=volume.get("DeviceNode"), fs_type=fs or None,
                      serial=serial, read_only=not volume.get("WritableVolume", True), filesystem=filesystem,
                      bitlocker=None, disk=facts, layers=(f"{mount_point} ({fs or '?'} on {volume.get('DeviceNode')})",),
                      problems=(f"{mount_point}: {MAC_CANNOT}",), platform="macos")


class MacProbe:
    def __init__(self, runner: Runner = subprocess.run) -> None:
        self.runner = runner

    def describe(self, mount_point: object) -> DeviceInfo:
        path = str(mount_point)
        if not os.path.isdir(path) or not os.path.ismount(path):
            return DeviceInfo(mount_point=path, is_mount=False, platform="macos")
        volume = _plist(self.runner, path)
        if volume is None:
            return DeviceInfo(mount_point=path, is_mount=True, platform="macos",
                              problems=(f"{path}: diskutil info failed; {MAC_CANNOT}",))
        parent = volume.get("ParentWholeDisk")
        whole = _plist(self.runner, str(parent)) if parent else None
        return parse_diskutil(volume, whole, path)

    def test_key(self, info: DeviceInfo, key: object) -> tuple[KeyVerdict, str]:
        return "untested", MAC_CANNOT
