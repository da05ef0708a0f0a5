"""Windows: Get-Partition, Get-Disk, Get-Volume and Get-BitLockerVolume as JSON; manage-bde for the key.

One PowerShell process per drive runs `SCRIPT` (below) and prints one JSON document
(`ConvertTo-Json`). Enumerations come back as names where PowerShell knows them ("$(...)") and as
the numbers the CIM classes define otherwise (MSFT_Disk.BusType 11 = SATA, ...); the parser accepts
both, and also the raw shapes `Get-BitLockerVolume | ConvertTo-Json` prints (numbers, protector
objects), so outputs recorded by hand can be replayed. Enum names are .NET identifiers, the same
in every Windows language: nothing here parses text meant for people. The recovery password never
leaves PowerShell in that document: only protector *types* are selected.

How PowerShell is run (`run_powershell`), so that it works on any Windows a copy computer runs:
- `-EncodedCommand` (the script as base64 UTF-16LE), with the values (the volume's paths) passed in
  environment variables the script reads, never spliced into its text: no quoting rule of
  PowerShell's (which also treats typographic quotes as quotes) can be got wrong;
- `-ExecutionPolicy Bypass` for this process only: the BitLocker module is a script module, which
  a machine policy of Restricted would otherwise refuse to load;
- the script sets the console output encoding to UTF-8 itself, and its output is decoded as UTF-8:
  Windows PowerShell 5.1 otherwise writes in the console's OEM code page, which no Python default
  decodes right (an accented volume label was a UnicodeDecodeError);
- the document says whether the process is elevated (`IsAdmin`): Get-BitLockerVolume returns
  nothing without it, which must read "run as Administrator", never "not BitLocker-encrypted".

manage-bde (the key test here, BitLocker on/off in `encryption`) prints in the OEM code page: its
output is decoded with that code page (`console_text`), and only the 48-digit password is taken from
it; its exit code, a DWORD, is shown signed (manage-bde fails with -1, not 4294967295).

Paths: drive letters (`E:`, `E:\\`), volume mount folders (`C:\\mnt\\drive1`), long paths
(`\\\\?\\E:\\`, `\\\\?\\Volume{...}\\`). A UNC path (`\\\\server\\share\\...`) is a network share: fine
for staging, never a drive. The command runner is injected, so tests replay recorded outputs.
"""

from __future__ import annotations

import base64
import codecs
import json
import locale
import ntpath
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

from seedctl.drives.disk.facts import (
    BitLockerState,
    DeviceInfo,
    DiskFacts,
    KeyVerdict,
    normalise_serial,
    redact,
)

Runner = Callable[..., subprocess.CompletedProcess]

# MSFT_Disk.BusType and MSFT_Disk.PartitionStyle value maps (Windows Storage Management API)
BUS_TYPES = {0: "Unknown", 1: "SCSI", 2: "ATAPI", 3: "ATA", 4: "1394", 5: "SSA", 6: "Fibre Channel", 7: "USB",
             8: "RAID", 9: "iSCSI", 10: "SAS", 11: "SATA", 12: "SD", 13: "MMC", 14: "Virtual",
             15: "File Backed Virtual", 16: "Storage Spaces", 17: "NVMe"}
PARTITION_STYLES = {0: "Unknown", 1: "MBR", 2: "GPT", 3: "RAW"}
# BitLocker module enums (Microsoft.BitLocker.Structures), by value
VOLUME_STATUS = {0: "FullyDecrypted", 1: "FullyEncrypted", 2: "EncryptionInProgress", 3: "DecryptionInProgress",
                 4: "EncryptionPaused", 5: "DecryptionPaused"}
PROTECTION_STATUS = {0: "Off", 1: "On", 2: "Unknown"}
LOCK_STATUS = {0: "Unlocked", 1: "Locked"}
PROTECTOR_TYPES = {0: "Unknown", 1: "Tpm", 2: "ExternalKey", 3: "RecoveryPassword", 4: "TpmPin",
                   5: "TpmStartupKey", 6: "TpmPinStartupKey", 7: "PublicKey", 8: "Password", 9: "TpmNetworkKey",
                   10: "AdAccountOrGroup"}
# Logical Disk Manager (dynamic disk) partition types
LDM_GPT_TYPES = {"{5808c8aa-7e8f-42e0-85d2-e1e90434cfb3}", "{af9b60a0-1431-4f62-bc68-3311714a69ad}"}
LDM_MBR_TYPE = 0x42
_PASSWORD = re.compile(r"\b(\d{6}(?:-\d{6}){7})\b")

SCRIPT = r"""
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$ap = $env:SEEDCTL_ACCESS_PATH
$mp = $env:SEEDCTL_MOUNT_POINT
$me = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
$admin = $me.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
$p = Get-Partition | Where-Object { $_.AccessPaths -contains $ap } | Select-Object -First 1
$v = $null; $d = $null
if ($p) { $d = $p | Get-Disk; $v = $p | Get-Volume }
elseif ($mp.Length -eq 2) { $v = Get-Volume -DriveLetter $mp[0] -ErrorAction SilentlyContinue }
$b = Get-BitLockerVolume -MountPoint $mp -ErrorAction SilentlyContinue
[pscustomobject]@{
  IsAdmin = $admin
  Partition = $p | Select-Object DiskNumber, PartitionNumber, DriveLetter, AccessPaths, Size, Offset, Type,
                                 GptType, MbrType, IsReadOnly
  Disk = $d | Select-Object Number, SerialNumber, FriendlyName, Model, BusType, Size, PartitionStyle,
                            LogicalSectorSize, PhysicalSectorSize, IsReadOnly, IsOffline, IsSystem, IsBoot
  Volume = $v | Select-Object DriveLetter, FileSystem, FileSystemType, FileSystemLabel, Size, SizeRemaining,
                              DriveType, HealthStatus
  BitLocker = $b | Select-Object MountPoint, VolumeType, EncryptionPercentage,
      @{n='VolumeStatus'; e={"$($_.VolumeStatus)"}}, @{n='ProtectionStatus'; e={"$($_.ProtectionStatus)"}},
      @{n='LockStatus'; e={"$($_.LockStatus)"}}, @{n='EncryptionMethod'; e={"$($_.EncryptionMethod)"}},
      @{n='KeyProtector'; e={ @($_.KeyProtector | ForEach-Object { "$($_.KeyProtectorType)" }) }}
} | ConvertTo-Json -Depth 4 -Compress
"""

NOT_ELEVATED = ("seedctl is not running as Administrator, so Windows does not show this volume's BitLocker "
                "state (Get-BitLockerVolume needs it); run seedctl from an elevated prompt (Run as Administrator)")


def powershell_command(powershell: str, script: str) -> list[str]:
    """The command line that runs `script`: no profile, no prompts, execution policy bypassed for
    this process only, the script as -EncodedCommand (base64 of its UTF-16LE text)."""
    encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    return [powershell, "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encoded]


def run_powershell(runner: Runner, powershell: str, script: str, values: Mapping[str, str],
                   timeout: float = 120) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `script`, with `values` in its environment (the script reads
    `$env:NAME`); stdout decoded as the UTF-8 the script sets, stderr readable (CLIXML unwrapped)."""
    env = dict(os.environ, **values)
    done = runner(powershell_command(powershell, script), capture_output=True, timeout=timeout, env=env,
                  stdin=subprocess.DEVNULL)
    out = _text(done.stdout, "utf-8")
    err = _clixml_text(_text(done.stderr, "utf-8"))
    return done.returncode, out.lstrip("\ufeff"), err


_CLIXML_STRING = re.compile(r'<S S="Error">(.*?)</S>', re.S)


def _clixml_text(text: str) -> str:
    """PowerShell writes errors as CLIXML (`#< CLIXML` then XML) when its output is redirected and
    the command came with -EncodedCommand: the error lines, unwrapped."""
    if not text.lstrip().startswith("#< CLIXML"):
        return text
    lines = [re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), part)
             for part in _CLIXML_STRING.findall(text)]
    return "".join(lines).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def console_encoding() -> str:
    """The code page console programs such as manage-bde write in when redirected: the OEM code
    page on Windows ("oem", e.g. cp850 or cp437, which is not the ANSI one `text=True` would use)."""
    try:
        codecs.lookup("oem")
        return "oem"
    except LookupError:
        return locale.getpreferredencoding(False)


def console_text(data: bytes | str | None, encoding: str | None = None) -> str:
    """A console program's output as text, never raising (undecodable bytes become U+FFFD)."""
    return _text(data, encoding or console_encoding())


def _text(data: bytes | str | None, encoding: str) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode(encoding, errors="replace")


def exit_code(returncode: int) -> int:
    """A Windows exit code (a DWORD) as the signed number the tools mean: 4294967295 is -1."""
    return returncode - (1 << 32) if returncode >= 1 << 31 else returncode


class WindowsPathError(ValueError):
    pass


def access_path(path: str) -> tuple[str, str]:
    """(the AccessPaths entry Get-Partition lists for it, the MountPoint Get-BitLockerVolume takes).

    `E:` / `E:\\` / `\\\\?\\E:\\` → ("E:\\", "E:"); `C:\\mnt\\d1` → ("C:\\mnt\\d1\\", "C:\\mnt\\d1\\");
    `\\\\?\\Volume{g}\\` → itself twice. Raises WindowsPathError for UNC paths and relative paths.
    """
    p = path.replace("/", "\\")
    if p.startswith("\\\\?\\UNC\\") or (p.startswith("\\\\") and not p.startswith(("\\\\?\\", "\\\\.\\"))):
        raise WindowsPathError(f"{path} is a network share (UNC path); a drive must be a local disk "
                               "mounted at a drive letter or a folder")
    if p.startswith(("\\\\?\\", "\\\\.\\")):
        p = p[4:]
        if p.lower().startswith("volume{"):
            vol = p if p.endswith("\\") else p + "\\"
            return "\\\\?\\" + vol, "\\\\?\\" + vol
    drive, rest = ntpath.splitdrive(p)
    if len(drive) != 2 or drive[1] != ":" or not drive[0].isalpha():
        raise WindowsPathError(f"{path} is not an absolute Windows path (E:\\ or C:\\mount\\folder)")
    letter = drive[0].upper()
    rest = rest.strip("\\")
    if not rest:
        return f"{letter}:\\", f"{letter}:"
    folder = f"{letter}:\\{rest}\\"
    return folder, folder


def _enum(value: Any, table: dict[int, str]) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return table.get(value, str(value))
    text = str(value)
    return table.get(int(text), text) if text.isdigit() else text


def _protectors(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    out = []
    for item in items:
        kind = item.get("KeyProtectorType") if isinstance(item, dict) else item
        name = _enum(kind, PROTECTOR_TYPES)
        if name == "NumericalPassword":
            name = "RecoveryPassword"  # manage-bde's name for the same protector
        if name:
            out.append(name)
    return tuple(dict.fromkeys(out))


def _one(value: Any) -> dict | None:
    """ConvertTo-Json prints one object bare and several as a list: take the first."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else None


def parse_facts(text: str, mount_point: str, mount: str) -> DeviceInfo:
    """A DeviceInfo from SCRIPT's JSON output (or the same shape recorded by hand)."""
    try:
        doc = json.loads(text) if text.strip() else {}
    except ValueError:
        return DeviceInfo(mount_point=mount_point, is_mount=True, platform="windows",
                          problems=(f"{mount_point}: PowerShell printed something that is not JSON",))
    part, disk, vol, bl = (_one(doc.get(k)) for k in ("Partition", "Disk", "Volume", "BitLocker"))
    if part is None and vol is None:
        return DeviceInfo(mount_point=mount_point, is_mount=False, platform="windows")
    # Without elevation Get-BitLockerVolume returns nothing: unknown, not "not encrypted". (False
    # only: a recording without the field is one made before it existed, or by hand.)
    bitlocker_unreadable = NOT_ELEVATED if bl is None and doc.get("IsAdmin") is False else None
    problems: list[str] = []
    facts = None
    serial = None
    device = None
    if disk is not None:
        serial = normalise_serial(str(disk.get("SerialNumber") or "")) or None
        device = f"\\\\.\\PhysicalDrive{disk.get('Number')}"
        dynamic = False
        if part is not None:
            gpt = str(part.get("GptType") or "").lower()
            mbr = part.get("MbrType")
            dynamic = gpt in LDM_GPT_TYPES or mbr == LDM_MBR_TYPE
        bus = _enum(disk.get("BusType"), BUS_TYPES)
        facts = DiskFacts(name=f"disk {disk.get('Number')} ({disk.get('FriendlyName') or disk.get('Model') or '?'})",
                          serial=serial, bus=bus.lower() if bus else None,
                          size=int(disk["Size"]) if isinstance(disk.get("Size"), int) else None,
                          logical_sector=disk.get("LogicalSectorSize") if isinstance(disk.get("LogicalSectorSize"), int)
                          else None, model=disk.get("Model"), dynamic=dynamic,
                          # MSFT_Disk: the disk Windows was started from, or the one holding the system files
                          system=disk.get("IsSystem") is True or disk.get("IsBoot") is True)
    elif vol is not None:
        # Storage cmdlets list no partition for volumes on dynamic disks (LDM)
        problems.append(f"{mount_point}: the volume is not a partition of a basic disk (a dynamic disk, or a "
                        "spanned or striped volume); the datacenter reads one NTFS partition on a basic disk")
    fs_raw = (vol or {}).get("FileSystem") or (vol or {}).get("FileSystemType") or ""
    fs = str(fs_raw).strip().lower()
    filesystem = {"ntfs": "ntfs", "fat32": "fat32", "exfat": "exfat", "fat": "fat", "refs": "refs", "csvfs": "csvfs",
                  "": "raw", "unknown": "raw", "raw": "raw"}.get(fs, fs)
    state = None
    if bl is not None:
        pct = bl.get("EncryptionPercentage")
        protection = _enum(bl.get("ProtectionStatus"), PROTECTION_STATUS)
        lock = _enum(bl.get("LockStatus"), LOCK_STATUS)
        state = BitLockerState(volume=mount, via="BitLocker (Windows)",
                               status=_enum(bl.get("VolumeStatus"), VOLUME_STATUS),
                               percentage=float(pct) if isinstance(pct, (int, float)) else None,
                               protection_on=None if protection in (None, "Unknown") else protection == "On",
                               locked=None if lock is None else lock == "Locked",
                               protectors=_protectors(bl.get("KeyProtector")))
    read_only = bool((part or {}).get("IsReadOnly") or (disk or {}).get("IsReadOnly"))
    return DeviceInfo(mount_point=mount_point, is_mount=True, device=device, fs_type=str(fs_raw) or None,
                      serial=serial, read_only=read_only, filesystem=filesystem, bitlocker=state,
                      bitlocker_unreadable=bitlocker_unreadable, disk=facts,
                      layers=(f"{mount_point} (volume {fs_raw or 'RAW'})",
                              *((facts.name + f", bus {facts.bus}, serial {serial}",) if facts else ())),
                      problems=tuple(problems), platform="windows")


class WindowsProbe:
    """Drive letters (E:\\), volume mount folders and \\\\?\\ paths, through PowerShell and manage-bde."""

    def __init__(self, runner: Runner = subprocess.run, powershell: str | None = None,
                 manage_bde: str | None = None, console_encoding: str | None = None) -> None:
        self.runner = runner
        self.powershell = powershell or shutil.which("powershell") or shutil.which("pwsh") or "powershell"
        self.manage_bde = manage_bde or shutil.which("manage-bde") or "manage-bde"
        self.console_encoding = console_encoding  # manage-bde's code page; None: this console's OEM one

    def describe(self, mount_point: object) -> DeviceInfo:
        path = str(mount_point)
        try:
            ap, mp = access_path(path)
        except WindowsPathError as exc:
            return DeviceInfo(mount_point=path, is_mount=False, platform="windows", problems=(str(exc),))
        try:
            code, out, err = run_powershell(self.runner, self.powershell, SCRIPT,
                                            {"SEEDCTL_ACCESS_PATH": ap, "SEEDCTL_MOUNT_POINT": mp})
        except (OSError, subprocess.SubprocessError) as exc:
            return DeviceInfo(mount_point=path, is_mount=True, platform="windows",
                              problems=(f"{path}: cannot run PowerShell: {type(exc).__name__}",))
        if code != 0:
            # PowerShell's error record starts with the message ("Get-Partition : Access denied"),
            # then where it happened
            first = next((ln.strip() for ln in err.splitlines() if ln.strip()), "")
            return DeviceInfo(mount_point=path, is_mount=True, platform="windows",
                              problems=(f"{path}: PowerShell failed (exit {exit_code(code)}) {redact(first)[:200]}",))
        return parse_facts(out, path, mp)

    def test_key(self, info: DeviceInfo, key: object) -> tuple[KeyVerdict, str]:
        """The key unlocks the volume when it is one of the volume's numerical-password protectors."""
        if info.bitlocker is None:
            return "untested", "the volume is not BitLocker-encrypted"
        volume = info.bitlocker.volume
        if info.bitlocker.protectors and not info.bitlocker.has_recovery_password:
            # the protector types came from Get-BitLockerVolume: no need to ask manage-bde (whose
            # "no key protectors" message is in the system's language)
            return "does-not-unlock", f"{volume} has no recovery-password protector"
        try:
            done = self.runner([self.manage_bde, "-protectors", "-get", volume, "-Type", "RecoveryPassword"],
                               capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            return "untested", f"cannot run manage-bde: {type(exc).__name__}"
        stdout = console_text(done.stdout, self.console_encoding)
        found = set(_PASSWORD.findall(stdout))
        if not found:
            text = redact((console_text(done.stderr, self.console_encoding) + stdout).strip())
            last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "")
            return "untested", (f"manage-bde -protectors -get {volume} failed (exit {exit_code(done.returncode)})"
                                f"{': ' + last[:200] if last else ''}")
        ok = key.reveal() in found  # type: ignore[attr-defined]
        found.clear()  # held no longer than the comparison
        if ok:
            return "unlocks", f"it is a recovery-password protector of {volume} (manage-bde)"
        return "does-not-unlock", f"it is none of the recovery-password protectors of {volume} (manage-bde)"
