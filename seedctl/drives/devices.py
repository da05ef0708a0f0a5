"""Operating-system facts about a mount point: is it a mount, which device, which serial number.

One small interface (`DeviceProbe`) with one implementation per OS; `probe_for_platform()` picks it.
Linux is implemented fully (mountinfo + sysfs + udev, `lsblk` as a fallback). Windows and macOS are
stand-ins that ask the OS tools (PowerShell `Get-Partition | Get-Disk`, `diskutil`), untested here.

Loop devices have no serial. So that the real-drive path can be tested on a loop-mounted image, a
loop device reports the serial written in a sidecar file next to its backing image
(`<image>.seedctl-test-serial`) and is flagged `is_loop`; `identity` accepts a loop device only when
simulated drives are allowed (cloud: sandbox), so this can never prepare a drive for a real job.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

LOOP_SERIAL_SUFFIX = ".seedctl-test-serial"


@dataclass(frozen=True)
class DeviceInfo:
    mount_point: str
    is_mount: bool
    device: str | None = None  # e.g. /dev/sdb1, \\.\PhysicalDrive2
    fs_type: str | None = None
    serial: str | None = None
    is_loop: bool = False
    read_only: bool = False


class DeviceProbe(Protocol):
    def describe(self, mount_point: Path) -> DeviceInfo:
        """Facts about `mount_point`; never raises for a path that is not a mount."""
        ...


def normalise_serial(serial: str | None) -> str | None:
    """The job's DriveId is the hardware serial without spaces."""
    if serial is None:
        return None
    cleaned = "".join(serial.split())
    return cleaned or None


def _unescape_mountinfo(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) + 1 and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


class LinuxProbe:
    def __init__(self, mountinfo: Path = Path("/proc/self/mountinfo"), sys_root: Path = Path("/sys")) -> None:
        self.mountinfo = mountinfo
        self.sys_root = sys_root

    def _mount_entry(self, mount_point: Path) -> tuple[str, str, str, bool] | None:
        """(major:minor, fs type, source, read-only) of the mount exactly at mount_point, last one wins."""
        target = os.path.realpath(mount_point)
        found = None
        try:
            lines = self.mountinfo.read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            left, _, right = line.partition(" - ")
            fields = left.split()
            if len(fields) < 6 or _unescape_mountinfo(fields[4]) != target:
                continue
            rfields = right.split()
            options = fields[5].split(",")
            found = (fields[2], rfields[0] if rfields else "", _unescape_mountinfo(rfields[1]) if len(rfields) > 1 else "",
                     "ro" in options)
        return found

    def _sys_dev(self, majmin: str) -> Path | None:
        link = self.sys_root / "dev" / "block" / majmin
        try:
            return link.resolve(strict=True)
        except OSError:
            return None

    def _serial(self, majmin: str, sysdev: Path | None, devname: str) -> tuple[str | None, bool]:
        if sysdev is None:
            return None, False
        disk = sysdev.parent if (sysdev / "partition").exists() else sysdev
        if (disk / "loop").is_dir():
            backing = (disk / "loop" / "backing_file")
            try:
                image = backing.read_text().strip()
                return normalise_serial(Path(image + LOOP_SERIAL_SUFFIX).read_text()), True
            except OSError:
                return None, True
        for candidate in (disk / "device" / "serial", disk / "device" / "vpd_pg80"):
            try:
                text = candidate.read_bytes().decode("ascii", "ignore").strip("\x00 \n\t")
                if candidate.name == "vpd_pg80":
                    text = text[4:] if len(text) > 4 else ""  # 4-byte VPD page header
                if normalise_serial(text):
                    return normalise_serial(text), False
            except OSError:
                pass
        disk_majmin = (disk / "dev").read_text().strip() if (disk / "dev").exists() else majmin
        try:
            for line in Path(f"/run/udev/data/b{disk_majmin}").read_text().splitlines():
                if line.startswith("E:ID_SERIAL_SHORT="):
                    return normalise_serial(line.split("=", 1)[1]), False
        except OSError:
            pass
        if shutil.which("lsblk") and devname.startswith("/dev/"):
            try:
                out = subprocess.run(["lsblk", "-dno", "SERIAL", f"/dev/{disk.name}"], capture_output=True,
                                     text=True, timeout=10).stdout
                return normalise_serial(out), False
            except (OSError, subprocess.SubprocessError):
                pass
        return None, False

    def describe(self, mount_point: Path) -> DeviceInfo:
        path = str(mount_point)
        if not os.path.isdir(path):
            return DeviceInfo(mount_point=path, is_mount=False)
        entry = self._mount_entry(mount_point)
        if entry is None:  # mountinfo is the authority: it also lists bind mounts ismount() misses
            return DeviceInfo(mount_point=path, is_mount=False)
        majmin, fs_type, source, read_only = entry
        sysdev = self._sys_dev(majmin)
        serial, is_loop = self._serial(majmin, sysdev, source)
        return DeviceInfo(mount_point=path, is_mount=True, device=source or None, fs_type=fs_type,
                          serial=serial, is_loop=is_loop, read_only=read_only)


class WindowsProbe:
    """Drive letters (E:\\) and volume mount folders; serial via PowerShell Get-Disk (stand-in)."""

    def describe(self, mount_point: Path) -> DeviceInfo:
        path = str(mount_point)
        if not os.path.isdir(path):
            return DeviceInfo(mount_point=path, is_mount=False)
        drive = os.path.splitdrive(os.path.abspath(path))[0]
        is_root = os.path.abspath(path).rstrip("\\/") == drive
        if not (is_root or os.path.ismount(path)) or len(drive) != 2:
            return DeviceInfo(mount_point=path, is_mount=False)
        letter = drive[0]
        script = (f"$p = Get-Partition -DriveLetter {letter}; $d = $p | Get-Disk; "
                  f"$v = Get-Volume -DriveLetter {letter}; "
                  "Write-Output $d.SerialNumber; Write-Output $v.FileSystem; Write-Output $d.Number")
        try:
            out = subprocess.run(["powershell", "-NoProfile", "-Command", script], capture_output=True,
                                 text=True, timeout=30).stdout.splitlines()
        except (OSError, subprocess.SubprocessError):
            out = []
        serial = normalise_serial(out[0]) if out else None
        fs_type = out[1].strip() if len(out) > 1 else None
        device = f"\\\\.\\PhysicalDrive{out[2].strip()}" if len(out) > 2 else None
        return DeviceInfo(mount_point=path, is_mount=True, device=device, fs_type=fs_type, serial=serial)


class MacProbe:
    """`diskutil info -plist` (stand-in: not exercised on this project's CI)."""

    def describe(self, mount_point: Path) -> DeviceInfo:
        import plistlib

        path = str(mount_point)
        if not os.path.isdir(path) or not os.path.ismount(path):
            return DeviceInfo(mount_point=path, is_mount=False)
        try:
            raw = subprocess.run(["diskutil", "info", "-plist", path], capture_output=True, timeout=30).stdout
            info = plistlib.loads(raw)
        except (OSError, subprocess.SubprocessError, ValueError):
            return DeviceInfo(mount_point=path, is_mount=True)
        serial = info.get("MediaSerialNumber") or info.get("DiskUUID")
        return DeviceInfo(mount_point=path, is_mount=True, device=info.get("DeviceNode"),
                          fs_type=info.get("FilesystemType"), serial=normalise_serial(serial),
                          read_only=not info.get("WritableVolume", True))


def probe_for_platform(platform: str = sys.platform) -> DeviceProbe:
    if platform.startswith("win"):
        return WindowsProbe()
    if platform == "darwin":
        return MacProbe()
    return LinuxProbe()
