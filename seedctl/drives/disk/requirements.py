"""The Import/Export drive requirements, checked from what a probe observed (pure: runs nothing).

The datacenter reads only an NTFS volume, BitLocker-encrypted and unlocked there with the job's
recovery password, on an internal SATA/SAS/NVMe disk of at most 10 TB whose hardware serial is the
job's drive id. A drive that misses one of these is rejected weeks after shipping, so each miss is
reported at plan time with what to do. Errors stop the plan; warnings are things seedctl cannot
tell apart from here (a USB bridge) or that must be finished before shipping (encryption running).
"""

from __future__ import annotations

from dataclasses import dataclass

from seedctl.drives.disk.facts import DeviceInfo, KeyVerdict

# "10 TB" drives hold 10.0008e12 bytes; the backup documentation names drives up to 10 TB.
MAX_DRIVE_BYTES = 10_100_000_000_000
ACCEPTED_BUSES = {"sata", "sas", "nvme", "ata"}  # ata: how Linux names a SATA disk on libata
NTFS = "ntfs"


@dataclass(frozen=True)
class Findings:
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def _fs_label(info: DeviceInfo) -> str:
    return info.filesystem or info.fs_type or "unknown"


def _encrypt_hint(info: DeviceInfo, volume: str) -> str:
    if info.platform == "windows":
        return (f"encrypt it (manage-bde -on {volume} -RecoveryPassword -UsedSpaceOnly) or set "
                "bitlocker.manage: true and let seedctl do it")
    return ("encrypt it with BitLocker on a Windows computer (manage-bde -on X: -RecoveryPassword), then "
            "unlock it here (cryptsetup open --type bitlk, or dislocker) and mount the NTFS inside")


def evaluate(info: DeviceInfo, *, key: tuple[KeyVerdict, str] | None, manage: bool = False) -> Findings:
    """The requirement failures of the drive `info` describes.

    `key` is the probe's verdict on the spec's key, or None when no key was tested (the caller
    reports a missing key itself). `manage` is bitlocker.manage (Windows: seedctl encrypts).
    The serial is compared by the caller (identity), which already names both serials.
    """
    where = info.mount_point
    errors: list[str] = list(info.problems)
    warnings: list[str] = []
    bl = info.bitlocker
    volume = bl.volume if bl else (where.rstrip("\\") if info.platform == "windows" else where)

    # -- the filesystem ------------------------------------------------------------------------
    locked = bool(bl and bl.locked)
    if locked:
        errors.append(f"{where}: the BitLocker volume is locked, so seedctl cannot see its filesystem or write "
                      f"to it; unlock it (manage-bde -unlock {bl.volume} -RecoveryPassword <key>)")
    elif info.filesystem is None:
        errors.append(f"{where}: cannot tell whether the filesystem is NTFS ({info.fs_type or 'unknown'}); "
                      "run seedctl as root/Administrator so it can read the volume")
    elif info.filesystem != NTFS and not (info.bitlocker_unreadable and info.filesystem == "raw"):
        # (a RAW volume seen without elevation may be a locked BitLocker one: the error below says why)
        errors.append(f"{where}: not NTFS: the volume is {_fs_label(info)}, and the datacenter reads only NTFS; "
                      "format it NTFS (Windows: Format-Volume -FileSystem NTFS; Linux: mkntfs -Q) and "
                      "encrypt it with BitLocker")

    # -- BitLocker -----------------------------------------------------------------------------
    status = (bl.status or "") if bl else ""
    if bl is None and info.bitlocker_unreadable:
        errors.append(f"{where}: cannot tell whether it is BitLocker-encrypted: {info.bitlocker_unreadable}")
    elif bl is None or status == "FullyDecrypted":
        if manage and info.platform == "windows":
            warnings.append(f"{where}: not BitLocker-encrypted yet; apply turns BitLocker on "
                            f"(bitlocker.manage: true) before writing")
        else:
            errors.append(f"{where}: not BitLocker-encrypted: {_encrypt_hint(info, volume)}")
    else:
        if status in ("DecryptionInProgress", "DecryptionPaused"):
            errors.append(f"{where}: BitLocker is being removed from this volume ({status}); "
                          f"turn it back on (Resume-BitLocker / manage-bde -on {bl.volume})")
        elif status in ("EncryptionInProgress", "EncryptionPaused"):
            pct = f" ({bl.percentage:g}% done)" if bl.percentage is not None else ""
            paused = "; resume it with manage-bde -resume " + bl.volume if status == "EncryptionPaused" else ""
            warnings.append(f"{where}: BitLocker encryption is not finished{pct}: data written now is encrypted, "
                            f"but the drive must be fully encrypted before it is shipped{paused}")
        if bl.protection_on is False and not locked:
            errors.append(f"{where}: BitLocker protection is suspended (its key is stored in clear on the drive); "
                          f"resume it: Resume-BitLocker -MountPoint {bl.volume} (manage-bde -protectors -enable "
                          f"{bl.volume})")
        if bl.protectors and not bl.has_recovery_password:
            if manage and info.platform == "windows":
                warnings.append(f"{where}: no recovery-password protector yet; apply adds one "
                                "(bitlocker.manage: true)")
            else:
                errors.append(f"{where}: the BitLocker volume has no recovery-password protector (it has "
                              f"{', '.join(bl.protectors)}); the job carries a 48-digit recovery password: add "
                              f"one with manage-bde -protectors -add {bl.volume} -RecoveryPassword")
        if key is not None and not locked:
            verdict, how = key
            if verdict == "does-not-unlock":
                errors.append(f"{where}: the key does not unlock this volume ({how}); give the recovery password "
                              f"of this drive (manage-bde -protectors -get {bl.volume} -Type RecoveryPassword "
                              "shows it on Windows)")
            elif verdict == "untested":
                warnings.append(f"{where}: the BitLocker key could not be tested here: {how}")

    # -- the disk ------------------------------------------------------------------------------
    disk = info.disk
    if disk is not None:
        bus = (disk.bus or "").lower()
        if bus == "usb":
            warnings.append(f"{where}: {disk.name} is behind a USB bridge: the serial seen here may be the "
                            "bridge's, not the drive's, and the datacenter reads the drive's own serial on a "
                            "SATA port. Check that the serial on the drive's label is the spec's, or connect it "
                            "to an internal SATA port and plan again")
        elif bus and bus not in ACCEPTED_BUSES:
            errors.append(f"{where}: {disk.name} is on a {disk.bus} bus; the service accepts internal SATA, SAS "
                          "or NVMe drives only (a virtual or network disk cannot be shipped)")
        elif not bus:
            warnings.append(f"{where}: the bus type of {disk.name} is unknown here; the service accepts internal "
                            "SATA, SAS or NVMe drives only")
        if disk.size is not None and disk.size > MAX_DRIVE_BYTES:
            errors.append(f"{where}: {disk.name} holds {disk.size:,} bytes; the service accepts drives up to "
                          "10 TB")
        if disk.logical_sector is not None and disk.logical_sector != 512:
            errors.append(f"{where}: {disk.name} has {disk.logical_sector}-byte logical sectors; the service "
                          "reads 512-byte (512n or 512e) drives only")
        if disk.dynamic:
            errors.append(f"{where}: {disk.name} is a dynamic disk; the datacenter reads basic disks only: "
                          "convert it to basic and create one NTFS partition")
    return Findings(tuple(errors), tuple(warnings))
