"""The Windows probe and encryptor over recorded PowerShell / manage-bde outputs (tests/drives/recorded/windows).

The runner is injected: each scenario replays what `SCRIPT` (Get-Partition, Get-Disk, Get-Volume,
Get-BitLockerVolume as JSON) and `manage-bde` print. Where the recordings come from and how far
they can be trusted: recorded/README.md.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from seedctl.drives.disk.encryption import BitLockerKey, EncryptionError, ManageBde
from seedctl.drives.disk.identity import inspect_drive
from seedctl.drives.disk.probe_windows import WindowsPathError, WindowsProbe, access_path
from seedctl.drives.disk.requirements import evaluate
from seedctl.spec.model import BitLockerSpec, SecretRef

RECORDED = Path(__file__).parent / "recorded" / "windows"
KEY = "238810-662376-448998-450120-652806-203390-606320-483076"
OTHER = "249821-662376-448998-450120-652806-203390-606320-483076"


class Replay:
    """A runner that answers like PowerShell and manage-bde did in one recorded scenario."""

    def __init__(self, name: str) -> None:
        self.rec = json.loads((RECORDED / f"{name}.json").read_text())
        self.calls: list[list[str]] = []

    def __call__(self, args, **kw) -> subprocess.CompletedProcess:
        self.calls.append(list(args))
        if args[0] == "powershell":
            return subprocess.CompletedProcess(args, 0, self.rec["powershell_stdout"] + "\r\n", "")
        if args[0] == "manage-bde":
            m = self.rec["manage_bde"]
            return subprocess.CompletedProcess(args, m["returncode"], m["stdout"], "")
        raise AssertionError(f"unexpected command {args[0]}")


def check(name: str, key: str | None = KEY, manage: bool = False):
    replay = Replay(name)
    probe = WindowsProbe(runner=replay, powershell="powershell", manage_bde="manage-bde")
    info = probe.describe(replay.rec["mount_point"])
    verdict = probe.test_key(info, BitLockerKey(key, "env:K")) if key and info.bitlocker and info.bitlocker.encrypted else None
    if manage:
        verdict = None
    findings = evaluate(info, key=verdict, manage=manage)
    for args in replay.calls:  # the key is never on a command line
        assert KEY not in " ".join(args) and OTHER not in " ".join(args)
    return info, findings, replay


def only(messages: tuple[str, ...], *fragments: str) -> None:
    assert len(messages) == len(fragments), messages
    for message, fragment in zip(messages, fragments, strict=True):
        assert fragment in message, (fragment, message)


def test_ready_sata_drive_passes_and_the_key_is_checked() -> None:
    info, findings, replay = check("ready-sata")
    assert info.filesystem == "ntfs" and info.serial == "WD-WCC4N7KT1234" and info.device == "\\\\.\\PhysicalDrive2"
    assert info.disk.bus == "sata" and info.disk.size == 4000787030016 and info.disk.logical_sector == 512
    assert info.bitlocker.status == "FullyEncrypted" and info.bitlocker.protection_on and not info.bitlocker.locked
    assert info.bitlocker.protectors == ("RecoveryPassword", "Password")
    assert findings.errors == () and findings.warnings == ()
    script = replay.calls[0][-1]
    assert "$ap = 'E:\\'" in script and "$mp = 'E:'" in script and "ConvertTo-Json" in script
    assert "RecoveryPassword" not in script.split("KeyProtector'")[1].split("}}")[0].replace("KeyProtectorType", "")
    assert replay.calls[1] == ["manage-bde", "-protectors", "-get", "E:", "-Type", "RecoveryPassword"]


def test_wrong_key_is_refused_without_showing_either_key() -> None:
    _, findings, _ = check("ready-sata", key=OTHER)
    only(findings.errors, "the key does not unlock this volume")
    assert KEY not in findings.errors[0] and OTHER not in findings.errors[0]


def test_locked_volume() -> None:
    info, findings, _ = check("locked")
    assert info.bitlocker.locked and info.filesystem == "raw"
    only(findings.errors, "the BitLocker volume is locked")  # not also "not NTFS": it is hidden, not wrong


def test_suspended_protection() -> None:
    _, findings, _ = check("suspended")
    only(findings.errors, "BitLocker protection is suspended")
    assert "Resume-BitLocker -MountPoint E:" in findings.errors[0]


def test_no_recovery_password() -> None:
    _, findings, _ = check("no-recovery-password")
    only(findings.errors, "no recovery-password protector (it has Password)", "the key does not unlock this volume")


def test_encryption_in_progress_is_a_warning() -> None:
    info, findings, _ = check("encryption-in-progress")
    assert findings.errors == ()
    only(findings.warnings, "BitLocker encryption is not finished (43% done)")


def test_fat32_not_encrypted() -> None:
    info, findings, replay = check("fat32")
    assert info.filesystem == "fat32"
    only(findings.errors, "not NTFS: the volume is fat32", "not BitLocker-encrypted")
    assert "manage-bde -on F:" in findings.errors[1]
    assert not any(a[0] == "manage-bde" for a in replay.calls[1:])  # nothing to test a key on


def test_exfat_with_bitlocker_to_go() -> None:
    _, findings, _ = check("exfat-bitlocker")
    only(findings.errors, "not NTFS: the volume is exfat")


@pytest.mark.parametrize("name", ["dynamic-disk", "dynamic-disk-ldm-partition"])
def test_dynamic_disk(name: str) -> None:
    _, findings, _ = check(name)
    assert len(findings.errors) == 1 and ("dynamic disk" in findings.errors[0])


def test_usb_bridge_gives_the_named_warning() -> None:
    info, findings, _ = check("usb-bridge")
    assert info.disk.bus == "usb" and findings.errors == ()
    only(findings.warnings, "is behind a USB bridge")
    assert "internal SATA port" in findings.warnings[0]


def test_volume_mount_folder() -> None:
    info, findings, replay = check("mount-folder")
    assert findings.errors == () and info.is_mount
    script = replay.calls[0][-1]
    assert "$ap = 'C:\\SeedDrives\\Drive1\\'" in script and "$mp = 'C:\\SeedDrives\\Drive1\\'" in script
    assert replay.calls[1][3] == "C:\\SeedDrives\\Drive1\\"


def test_raw_cmdlet_json_shapes_and_long_path() -> None:
    info, findings, replay = check("raw-cmdlet-json")
    assert info.bitlocker.status == "FullyEncrypted" and info.bitlocker.protection_on is True
    assert info.bitlocker.protectors == ("RecoveryPassword",) and info.disk.bus == "sata"
    assert findings.errors == ()
    assert "$ap = 'E:\\'" in replay.calls[0][-1]  # \\?\E:\ is E:\


def test_too_large_and_4kn_and_virtual_disks() -> None:
    only(check("nvme-12tb")[1].errors, "the service accepts drives up to 10 TB")
    only(check("4kn-disk")[1].errors, "4096-byte logical sectors")
    info, findings, _ = check("vhd")
    assert info.disk.bus == "file backed virtual" and info.serial is None
    only(findings.errors, "file backed virtual bus")


def test_manage_true_turns_bitlocker_on_later() -> None:
    _, findings, _ = check("not-encrypted-manage", manage=True)
    assert findings.errors == ()
    only(findings.warnings, "apply turns BitLocker on")
    _, findings, _ = check("not-encrypted-manage")
    only(findings.errors, "not BitLocker-encrypted")


def test_not_attached() -> None:
    info, _, _ = check("not-attached")
    assert not info.is_mount


def test_paths() -> None:
    assert access_path("E:") == ("E:\\", "E:")
    assert access_path("e:/") == ("E:\\", "E:")
    assert access_path("\\\\?\\E:\\") == ("E:\\", "E:")
    assert access_path("C:\\SeedDrives\\Drive1") == ("C:\\SeedDrives\\Drive1\\", "C:\\SeedDrives\\Drive1\\")
    vol = "\\\\?\\Volume{3c1a7b52-8f0e-4d7e-9a61-2b5c4d6e7f80}\\"
    assert access_path(vol) == (vol, vol)
    for unc in ("\\\\fs01\\share\\drive", "\\\\?\\UNC\\fs01\\share"):
        with pytest.raises(WindowsPathError, match="network share"):
            access_path(unc)
    with pytest.raises(WindowsPathError, match="not an absolute"):
        access_path("drive1")
    # a quote in a folder name cannot break out of the PowerShell string
    replay = Replay("not-attached")
    WindowsProbe(runner=replay, powershell="powershell").describe("C:\\it's")
    assert "$ap = 'C:\\it''s\\'" in replay.calls[0][-1]


def test_unc_drive_is_refused_without_running_anything(tmp_path: Path) -> None:
    replay = Replay("ready-sata")
    info = WindowsProbe(runner=replay).describe("\\\\fs01\\share\\d1")
    assert not info.is_mount and "network share" in info.problems[0] and replay.calls == []


def test_inspect_drive_through_the_windows_probe(tmp_path: Path, monkeypatch) -> None:
    """identity runs the whole check with the Windows probe (the mount is a real folder here)."""
    monkeypatch.setenv("K1", OTHER)
    replay = Replay("ready-sata")
    replay.rec["mount_point"] = str(tmp_path)
    probe = WindowsProbe(runner=replay, powershell="powershell", manage_bde="manage-bde")
    monkeypatch.setattr("seedctl.drives.disk.probe_windows.access_path", lambda p: ("E:\\", "E:"))
    obs = inspect_drive(tmp_path, "WD-WCC4N7KT1234", allow_simulated=False, probe=probe,
                        bitlocker=BitLockerSpec(key=SecretRef(env="K1")))
    assert obs.attached and obs.serial_matches
    assert any("the key does not unlock this volume" in e for e in obs.requirement_errors)
    monkeypatch.setenv("K1", KEY)
    obs = inspect_drive(tmp_path, "WD-WCC4N7KT1234", allow_simulated=False, probe=probe,
                        bitlocker=BitLockerSpec(key=SecretRef(env="K1")))
    assert obs.requirement_errors == ()


# -- the encryptor (manage-bde) over recorded -status outputs ------------------------------------

class BdeReplay:
    def __init__(self, status: str, protectors: str = "ready-sata") -> None:
        self.status = (RECORDED / f"manage-bde-status-{status}.txt").read_text()
        self.protectors = json.loads((RECORDED / f"{protectors}.json").read_text())["manage_bde"]
        self.calls: list[list[str]] = []

    def __call__(self, args, **kw) -> subprocess.CompletedProcess:
        self.calls.append(list(args[1:]))
        if args[1] == "-status":
            return subprocess.CompletedProcess(args, 0, self.status, "")
        if args[1:3] == ["-protectors", "-get"]:
            return subprocess.CompletedProcess(args, self.protectors["returncode"], self.protectors["stdout"], "")
        return subprocess.CompletedProcess(args, 0, "", "")


@pytest.mark.parametrize("status,turned_on", [("fully-decrypted", True), ("encryption-in-progress", False),
                                              ("fully-encrypted", False)])
def test_manage_bde_over_recorded_status(status: str, turned_on: bool) -> None:
    replay = BdeReplay(status)
    key = ManageBde("manage-bde", runner=replay).ensure(Path("E:\\"), "WD-1")
    assert key.reveal() == KEY
    assert (["-on", "E:", "-RecoveryPassword", "-UsedSpaceOnly"] in replay.calls) is turned_on


def test_manage_bde_refuses_a_locked_volume() -> None:
    replay = BdeReplay("locked")
    with pytest.raises(EncryptionError, match="is locked; unlock it first"):
        ManageBde("manage-bde", runner=replay).ensure(Path("E:\\"), "WD-1")
    assert replay.calls == [["-status", "E:"]]


def test_manage_bde_adds_a_recovery_password_when_there_is_none() -> None:
    replay = BdeReplay("fully-encrypted", protectors="no-recovery-password")
    with pytest.raises(EncryptionError, match="no numerical-password protector after adding one"):
        ManageBde("manage-bde", runner=replay).ensure(Path("E:\\"), "WD-1")
    assert ["-protectors", "-add", "E:", "-RecoveryPassword"] in replay.calls
