"""What a probe observes about a mount point, in one OS-neutral shape.

Each OS probe (`probe_linux`, `probe_windows`, `probe_macos`) fills a `DeviceInfo`; `requirements`
turns it into reasons a drive cannot be shipped. Nothing here runs a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Protocol

# A probe's verdict on "does this key unlock this volume": the reason says how it was tested, or
# why it could not be (never the key).
KeyVerdict = Literal["unlocks", "does-not-unlock", "untested"]

# A BitLocker recovery password, or a run of its groups (a tool may print one cut short).
_REDACT = re.compile(r"\d{6}(?:-\d{6}){2,7}")


def redact(text: str) -> str:
    """`text` with anything shaped like a recovery password replaced: what a BitLocker tool prints
    is redacted before it reaches a message (the probes and the encryptor share this)."""
    return _REDACT.sub("(sensitive)", text)


def normalise_serial(serial: str | None) -> str | None:
    """The job's DriveId is the hardware serial without spaces."""
    if serial is None:
        return None
    cleaned = "".join(serial.split())
    return cleaned or None


@dataclass(frozen=True)
class BitLockerState:
    """BitLocker as seen from the copy computer. None in a field means "not known here"."""

    volume: str  # what a key test opens: /dev/sdb1 on Linux, "E:" on Windows
    via: str  # how it is unlocked here: "BitLocker (Windows)", "dm-crypt BITLK", "dislocker", ...
    status: str | None = None  # FullyEncrypted, EncryptionInProgress, FullyDecrypted, ... (Windows names)
    percentage: float | None = None
    protection_on: bool | None = None  # False: suspended (the key is stored in clear on the volume)
    locked: bool | None = None
    protectors: tuple[str, ...] = ()  # RecoveryPassword, Tpm, Password, ExternalKey, ClearKey, ...

    @property
    def encrypted(self) -> bool:
        """BitLocker is on (or being turned on): there is a key to test."""
        return self.status != "FullyDecrypted"

    @property
    def has_recovery_password(self) -> bool:
        return "RecoveryPassword" in self.protectors


@dataclass(frozen=True)
class DiskFacts:
    """The physical disk behind a mount, found by following every layer down."""

    name: str  # /dev/sdb, \\.\PhysicalDrive2, disk4
    serial: str | None = None
    bus: str | None = None  # sata, sas, nvme, usb, ata, scsi, virtio, virtual, raid, ... (lower case)
    size: int | None = None  # bytes
    logical_sector: int | None = None
    model: str | None = None
    dynamic: bool = False  # Windows dynamic disk (LDM): not readable by the datacenter
    system: bool = False  # the disk the OS was started from or keeps its system files on (Windows: IsBoot/IsSystem)


@dataclass(frozen=True)
class DeviceInfo:
    mount_point: str
    is_mount: bool
    device: str | None = None  # e.g. /dev/sdb1, \\.\PhysicalDrive2
    fs_type: str | None = None  # as the OS names it (ntfs3, fuseblk, NTFS, ntfs, ...)
    serial: str | None = None
    is_loop: bool = False
    read_only: bool = False
    # the requirements check (issue 16); None when the probe could not tell
    filesystem: str | None = None  # normalised: "ntfs", "ext4", "fat32", "exfat", ... or None
    bitlocker: BitLockerState | None = None  # None: no BitLocker layer found
    bitlocker_unreadable: str | None = None  # why the BitLocker state is unknown here (not elevated), if it is
    disk: DiskFacts | None = None
    layers: tuple[str, ...] = ()  # the chain from the mount down to the disk, for messages
    problems: tuple[str, ...] = field(default_factory=tuple)  # what the probe could not follow
    platform: str = ""  # "linux", "windows", "macos"


class DeviceProbe(Protocol):
    def describe(self, mount_point: object) -> DeviceInfo:
        """Facts about `mount_point`; never raises for a path that is not a mount."""
        ...


class KeyTester(Protocol):
    def test_key(self, info: DeviceInfo, key: object) -> tuple[KeyVerdict, str]:
        """Does `key` (a BitLockerKey) unlock the BitLocker volume of `info`? Never prints the key."""
        ...
