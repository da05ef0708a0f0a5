"""Operating-system facts about a mount point: is it a mount, which device, which disk and serial,
which filesystem, BitLocker. One small interface (`DeviceProbe`), one module per OS:

- `probe_linux.LinuxProbe`: mountinfo, sysfs through every layer (partition, dm-crypt BITLK,
  dislocker/ntfs-3g FUSE, loop), `cryptsetup bitlkDump`, key test with `cryptsetup open --test-passphrase`;
- `probe_windows.WindowsProbe`: Get-Partition / Get-Disk / Get-Volume / Get-BitLockerVolume as JSON,
  `manage-bde -protectors -get` for the key test;
- `probe_macos.MacProbe`: `diskutil info -plist` (plan and status only: macOS cannot unlock BitLocker).

`probe_for_platform()` picks one. Loop devices have no serial: so that the real-drive path can be
tested on a loop-mounted image, a loop device reports the serial written in a sidecar file next to
its backing image (`<image>.seedctl-test-serial`) and is flagged `is_loop`; `identity` accepts a loop
device only when simulated drives are allowed (cloud: sandbox), so this can never prepare a drive
for a real job.
"""

from __future__ import annotations

import sys

from seedctl.drives.disk.facts import (
    BitLockerState,
    DeviceInfo,
    DeviceProbe,
    DiskFacts,
    KeyTester,
    normalise_serial,
)
from seedctl.drives.disk.probe_linux import LOOP_SERIAL_SUFFIX, LinuxProbe
from seedctl.drives.disk.probe_macos import MacProbe
from seedctl.drives.disk.probe_windows import WindowsProbe

__all__ = ["LOOP_SERIAL_SUFFIX", "BitLockerState", "DeviceInfo", "DeviceProbe", "DiskFacts", "KeyTester",
           "LinuxProbe", "MacProbe", "WindowsProbe", "normalise_serial", "probe_for_platform"]


def probe_for_platform(platform: str = sys.platform) -> DeviceProbe:
    if platform.startswith("win"):
        return WindowsProbe()
    if platform == "darwin":
        return MacProbe()
    return LinuxProbe()
