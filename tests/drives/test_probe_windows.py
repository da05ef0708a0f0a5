"""The Windows probe and encryptor over recorded PowerShell / manage-bde outputs (tests/drives/recorded/windows).

The runner is injected: each scenario replays what `SCRIPT` (Get-Partition, Get-Disk, Get-Volume,
Get-BitLockerVolume as JSON) and `manage-bde` print. Where the recordings come from and how far
they can be trusted: recorded/README.md.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from seedctl.drives.disk.encryption import BitLockerKey, EncryptionError, ManageBde
from seedctl.drives.disk.identity import check_safe_to_write, inspect_drive, system_root
from seedctl.drives.disk.probe_windows import SCRIPT, WindowsPathError, WindowsProbe, access_path
from seedctl.drives.disk.requirements import evaluate
from seedctl.errors import DriveError
from seedctl.spec.model import BitLockerSpec, SecretRef

RECORDED = Path(__file__).parent / "recorded" / "windows"
KEY = "238810-662376-448998-450120-652806-203390-606320-483076"
OTHER = "249821-662376-448998-450120-652806-203390-606320-483076"


class Replay:
    """A runner that answers like PowerShell and manage-bde did in one recorded scenario, as bytes:
    PowerShell's in the UTF-8 the script asks for, manage-bde's in the OEM code page (cp437 here)."""

    def __init__(self, name: str) -> None:
        self.rec = json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))
        self.calls: list[list[str]] = []
        self.envs: list[dict[str, str]] = []

    def __call__(self, args, **kw) -> subprocess.CompletedProcess:
        self.calls.append(list(args))
        self.envs.append(kw.get("env") or {})
        assert kw.get("capture_output") and not kw.get("text"), "bytes are decoded by seedctl, never text=True"
        if args[0] == "powershell":
            return subprocess.CompletedProcess(args, 0, (self.rec["powershell_stdout"] + "\r\n").encode("utf-8"), b"")
        if args[0] == "manage-bde":
            m = self.rec["manage_bde"]
            return subprocess.CompletedProcess(args, m["returncode"], m["stdout"].encode("cp437"), b"")
        raise AssertionError(f"unexpected command {args[0]}")

    def script(self, call: int = 0) -> str:
        """The script PowerShell ran (decoded from -EncodedCommand)."""
        args = self.calls[call]
        assert args[1:6] == ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand"]
        return base64.b64decode(args[6]).decode("utf-16-le")


def check(name: str, key: str | None = KEY, manage: bool = False):
    replay = Replay(name)
    probe = WindowsProbe(runner=replay, powershell="powershell", manage_bde="manage-bde", console_encoding="cp437")
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
    script = replay.script()
    assert script == SCRIPT and "ConvertTo-Json" in script
    assert replay.envs[0]["SEEDCTL_ACCESS_PATH"] == "E:\\" and replay.envs[0]["SEEDCTL_MOUNT_POINT"] == "E:"
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
    assert replay.envs[0]["SEEDCTL_ACCESS_PATH"] == replay.envs[0]["SEEDCTL_MOUNT_POINT"] == "C:\\SeedDrives\\Drive1\\"
    assert replay.calls[1][3] == "C:\\SeedDrives\\Drive1\\"


def test_raw_cmdlet_json_shapes_and_long_path() -> None:
    info, findings, replay = check("raw-cmdlet-json")
    assert info.bitlocker.status == "FullyEncrypted" and info.bitlocker.protection_on is True
    assert info.bitlocker.protectors == ("RecoveryPassword",) and info.disk.bus == "sata"
    assert findings.errors == ()
    assert replay.envs[0]["SEEDCTL_ACCESS_PATH"] == "E:\\"  # \\?\E:\ is E:\


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
    # quotes in a folder name, typographic ones included, reach PowerShell as data, never as script text
    replay = Replay("not-attached")
    WindowsProbe(runner=replay, powershell="powershell").describe("C:\\it's \u2019q\u201d")
    assert replay.envs[0]["SEEDCTL_ACCESS_PATH"] == "C:\\it's \u2019q\u201d\\" and replay.script() == SCRIPT


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


# -- the encryptor: state from Get-BitLockerVolume, changes and the key through manage-bde ----------

class BdeReplay:
    """PowerShell answers with one recorded scenario (then, after `-on`, with `after_on`), manage-bde
    with the recorded `-protectors -get` output (in the console's code page) or success."""

    def __init__(self, scenario: str, protectors: str = "ready-sata", after_on: str = "encryption-in-progress",
                 get_output: bytes | None = None, get_code: int | None = None) -> None:
        self.scenario, self.after_on = Replay(scenario), Replay(after_on)
        rec = Replay(protectors).rec["manage_bde"]
        self.get_code = rec["returncode"] if get_code is None else get_code
        self.get_output = rec["stdout"].encode("cp437") if get_output is None else get_output
        self.calls: list[list[str]] = []
        self.turned_on = False

    def __call__(self, args, **kw) -> subprocess.CompletedProcess:
        if args[0] == "powershell":
            self.calls.append(["powershell"])
            return (self.after_on if self.turned_on else self.scenario)(args, **kw)
        self.calls.append(list(args[1:]))
        if args[1] == "-on":
            self.turned_on = True
        if args[1:3] == ["-protectors", "-get"]:
            return subprocess.CompletedProcess(args, self.get_code, self.get_output, b"")
        return subprocess.CompletedProcess(args, 0, b"", b"")


def encryptor(replay: BdeReplay, encoding: str = "cp437") -> ManageBde:
    return ManageBde("manage-bde", runner=replay, console_encoding=encoding,
                     probe=WindowsProbe(runner=replay, powershell="powershell", manage_bde="manage-bde"))


@pytest.mark.parametrize("scenario, turned_on", [("not-encrypted-manage", True), ("encryption-in-progress", False),
                                                 ("ready-sata", False)])
def test_manage_bde_state_from_get_bitlockervolume(scenario: str, turned_on: bool) -> None:
    replay = BdeReplay(scenario)
    key = encryptor(replay).ensure(Path("E:\\"), "WD-1")
    assert key.reveal() == KEY
    assert (["-on", "E:", "-RecoveryPassword", "-UsedSpaceOnly"] in replay.calls) is turned_on
    assert "-status" not in {c[0] for c in replay.calls}  # manage-bde's (translated) text is never parsed
    assert replay.calls[0] == ["powershell"]


def test_manage_bde_refuses_a_locked_volume() -> None:
    replay = BdeReplay("locked")
    with pytest.raises(EncryptionError, match="is locked; unlock it first"):
        encryptor(replay).ensure(Path("E:\\"), "WD-1")
    assert replay.calls == [["powershell"]]


def test_manage_bde_adds_a_recovery_password_when_there_is_none() -> None:
    replay = BdeReplay("no-recovery-password", protectors="no-recovery-password")
    with pytest.raises(EncryptionError, match="no numerical-password protector after adding one"):
        encryptor(replay).ensure(Path("E:\\"), "WD-1")
    # the state said there was no such protector: added without asking manage-bde for one first
    assert replay.calls[1] == ["-protectors", "-add", "E:", "-RecoveryPassword"]


def test_manage_true_without_elevation_says_run_as_administrator() -> None:
    replay = BdeReplay("not-elevated")
    with pytest.raises(EncryptionError, match="not running as Administrator"):
        encryptor(replay).ensure(Path("E:\\"), "WD-1")
    assert replay.calls == [["powershell"]]  # nothing turned on, nothing added


def test_manage_bde_output_in_the_oem_code_page_of_a_german_windows() -> None:
    german = (RECORDED / "manage-bde-protectors-get-de.txt").read_text(encoding="utf-8").replace("\n", "\r\n")
    replay = BdeReplay("ready-sata", get_output=german.encode("cp850"))
    assert encryptor(replay, "cp850").ensure(Path("E:\\"), "WD-1").reveal() == KEY
    # decoded with another code page it still never raises; the digits are the same in every one
    replay = BdeReplay("ready-sata", get_output=german.encode("cp850"))
    assert encryptor(replay, "utf-8").ensure(Path("E:\\"), "WD-1").reveal() == KEY


def test_manage_bde_minus_one_is_shown_as_minus_one() -> None:
    replay = BdeReplay("ready-sata", get_code=4294967295, get_output=b"ERROR: An attempt to access a required "
                                                                       b"resource was denied.\r\n")

    class Failing(BdeReplay):
        def __call__(self, args, **kw):  # noqa: ANN001, ANN204
            done = super().__call__(args, **kw)
            if args[0] != "powershell" and args[1] == "-protectors" and args[2] == "-add":
                return subprocess.CompletedProcess(args, 4294967295, b"ERROR: access denied\r\n", b"")
            return done
    replay = Failing("ready-sata", get_code=4294967295, get_output=b"")
    with pytest.raises(EncryptionError, match=r"manage-bde -protectors failed \(exit -1\): ERROR: access denied"):
        encryptor(replay).ensure(Path("E:\\"), "WD-1")


# -- PowerShell: encoding, elevation, the system disk, errors -------------------------------------

def test_the_script_sets_utf8_and_reports_elevation() -> None:
    assert "[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false" in SCRIPT
    assert "IsAdmin = $admin" in SCRIPT and "$env:SEEDCTL_ACCESS_PATH" in SCRIPT and "$env:SEEDCTL_MOUNT_POINT" in SCRIPT
    assert "__" not in SCRIPT  # no placeholder left to splice a value into


def test_an_accented_label_in_utf8_with_or_without_a_byte_order_mark() -> None:
    info, findings, _ = check("accented-label")
    assert info.filesystem == "ntfs" and findings.errors == ()
    replay = Replay("accented-label")
    replay.rec["powershell_stdout"] = "\ufeff" + replay.rec["powershell_stdout"]
    info = WindowsProbe(runner=replay, powershell="powershell").describe("E:\\")
    assert info.is_mount and info.serial == "WD-WCC4N7KT1234"


def test_not_elevated_is_run_as_administrator_not_unencrypted() -> None:
    info, findings, replay = check("not-elevated")
    assert info.bitlocker is None and info.bitlocker_unreadable
    only(findings.errors, "cannot tell whether it is BitLocker-encrypted: seedctl is not running as Administrator")
    assert not any("not BitLocker-encrypted" in e for e in findings.errors)
    _, findings, _ = check("not-elevated-locked")  # a RAW volume might be a locked one: not "not NTFS" either
    only(findings.errors, "run seedctl from an elevated prompt")
    _, findings, _ = check("not-elevated", manage=True)  # manage: true cannot turn BitLocker on either
    only(findings.errors, "not running as Administrator")


def test_the_system_disk_is_refused(tmp_path: Path, monkeypatch) -> None:
    replay = Replay("system-disk")
    probe = WindowsProbe(runner=replay, powershell="powershell", manage_bde="manage-bde", console_encoding="cp437")
    info = probe.describe("E:\\")
    assert info.disk.system
    monkeypatch.setattr("seedctl.drives.disk.probe_windows.access_path", lambda p: ("E:\\", "E:"))
    obs = inspect_drive(tmp_path, "WD-WCC4N7KT1234", allow_simulated=False, probe=probe)
    assert obs.system_disk and any("holds the running system" in p for p in obs.problems)
    with pytest.raises(DriveError, match="IsBoot/IsSystem"):
        check_safe_to_write(tmp_path, "WD-WCC4N7KT1234", owner_id="o", needed_bytes=0, probe=probe)


def test_system_root_is_the_system_drive_not_the_current_one() -> None:
    assert str(system_root(platform="win32", environ={"SystemDrive": "D:"})) == "D:\\"
    assert str(system_root(platform="win32", environ={})) == "C:\\"
    assert system_root(platform="linux", environ={"SystemDrive": "D:"}) == Path("/")


def test_powershell_errors_in_clixml_are_readable() -> None:
    clixml = (b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
              b'<S S="Error">Get-Partition : Access denied _x000D__x000A_</S><S S="Error">At line:9 char:6_x000D__x000A_</S>'
              b'</Objs>')

    def runner(args, **kw):  # noqa: ANN001, ANN202
        return subprocess.CompletedProcess(args, 1, b"", clixml)
    info = WindowsProbe(runner=runner, powershell="powershell").describe("E:\\")
    assert info.problems == ("E:\\: PowerShell failed (exit 1) Get-Partition : Access denied",)  # unwrapped
