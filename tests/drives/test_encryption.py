import os
import stat
from pathlib import Path

import pytest

from seedctl.drives import BitLockerKey, EncryptionError, encryptor_for
from seedctl.drives.disk.encryption import ManageBde, SpecKey, is_valid_recovery_password
from seedctl.drives.disk.facts import redact
from seedctl.spec.model import BitLockerSpec, SecretRef

KEY = "238810-662376-448998-450120-652806-203390-606320-483076"
assert is_valid_recovery_password(KEY)

STAND_IN = r"""#!/bin/sh
# stand-in manage-bde: records its arguments, keeps state in $MBDE_STATE
echo "$@" >> "$MBDE_STATE/calls"
case "$1" in
  -on) touch "$MBDE_STATE/on"; [ -n "$MBDE_NO_PROTECTOR" ] || touch "$MBDE_STATE/protector"; echo "ok";;
  -protectors)
    case "$2" in
      -get) if [ -f "$MBDE_STATE/protector" ]; then
              printf 'Volume %s\nKey Protectors of Type Numerical Password:\n    Numerical Password:\n      ID: {A1B2}\n      Password:\n        %s\n' "$3" "$MBDE_KEY"
            else echo "ERROR: No key protectors found." >&2; exit 255; fi;;
      -add) touch "$MBDE_STATE/protector"; echo "Password: $MBDE_KEY";;
    esac;;
  *) echo "ERROR: unknown $1 $MBDE_KEY" >&2; exit 2;;
esac
"""

# stand-in PowerShell: answers the probe script (whatever -EncodedCommand holds) with the volume's
# state as Get-BitLockerVolume would show it; it never prints the key
STAND_IN_POWERSHELL = r"""#!/bin/sh
echo "powershell $SEEDCTL_MOUNT_POINT" >> "$MBDE_STATE/calls"
if [ -f "$MBDE_STATE/on" ]; then status=EncryptionInProgress; pct=1; else status=FullyDecrypted; pct=0; fi
if [ -f "$MBDE_STATE/protector" ]; then prot='["RecoveryPassword"]'; else prot='[]'; fi
printf '{"IsAdmin":true,"Partition":{"DiskNumber":2,"AccessPaths":[],"IsReadOnly":false},'
printf '"Disk":{"Number":2,"SerialNumber":"WD-1","BusType":11,"Size":4000787030016,"LogicalSectorSize":512},'
printf '"Volume":{"FileSystem":"NTFS"},'
printf '"BitLocker":{"MountPoint":"%s","EncryptionPercentage":%s,"VolumeStatus":"%s","ProtectionStatus":"On",' "$SEEDCTL_MOUNT_POINT" "$pct" "$status"
printf '"LockStatus":"Unlocked","KeyProtector":%s}}\r\n' "$prot"
"""


@pytest.fixture
def manage_bde(tmp_path: Path, monkeypatch) -> Path:
    if os.name == "nt":
        pytest.skip("the stand-in manage-bde and powershell are /bin/sh scripts (test_probe_windows.py replays "
                    "recorded outputs on every platform)")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "manage-bde"
    exe.write_text(STAND_IN)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    ps = bindir / "powershell"
    ps.write_text(STAND_IN_POWERSHELL)
    ps.chmod(ps.stat().st_mode | stat.S_IXUSR)
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MBDE_STATE", str(state))
    monkeypatch.setenv("MBDE_KEY", KEY)
    return state


def test_manage_bde_turns_bitlocker_on_and_reads_the_key(manage_bde: Path) -> None:
    enc = encryptor_for(BitLockerSpec(manage=True), serial="WD-1", platform="win32")
    assert isinstance(enc, ManageBde) and enc.executable.endswith("manage-bde")
    key = enc.ensure(Path("E:\\"), "WD-1")
    assert key.reveal() == KEY and key.source == "manage-bde"
    calls = (manage_bde / "calls").read_text().splitlines()
    # the state from Get-BitLockerVolume (never manage-bde -status's translated text), then -on
    assert calls[0] == "powershell E:" and calls[1] == "-on E: -RecoveryPassword -UsedSpaceOnly"
    assert not any(c.startswith("-status") for c in calls)
    # a second run finds it encrypting and does not turn it on again
    (manage_bde / "calls").unlink()
    assert enc.ensure(Path("E:\\"), "WD-1") == key
    assert not any(c.startswith("-on") for c in (manage_bde / "calls").read_text().splitlines())


def test_manage_bde_adds_a_numerical_password_when_missing(manage_bde: Path, monkeypatch) -> None:
    monkeypatch.setenv("MBDE_NO_PROTECTOR", "1")
    key = ManageBde().ensure(Path("F:\\"), "WD-2")
    assert key.reveal() == KEY
    assert "-protectors -add F: -RecoveryPassword" in (manage_bde / "calls").read_text()


def test_key_never_shown(manage_bde: Path, monkeypatch) -> None:
    key = BitLockerKey(KEY, "manage-bde")
    assert KEY not in repr(key) and KEY not in str(key) and KEY not in f"{key}"
    assert KEY not in redact(f"Password: {KEY}")
    enc = ManageBde()
    with pytest.raises(EncryptionError) as info:
        enc._run("WD-1", "-bogus")
    assert KEY not in str(info.value) and "(sensitive)" in str(info.value)


def test_spec_key_for_an_already_encrypted_drive(monkeypatch) -> None:
    monkeypatch.setenv("DRIVE1_KEY", KEY)
    enc = encryptor_for(BitLockerSpec(key=SecretRef(env="DRIVE1_KEY")), serial="WD-1", platform="linux")
    assert isinstance(enc, SpecKey)
    key = enc.ensure(Path("/mnt/d1"), "WD-1")
    assert key.reveal() == KEY and key.source == "env:DRIVE1_KEY"


def test_spec_key_errors_never_contain_the_value(monkeypatch) -> None:
    monkeypatch.setenv("DRIVE1_KEY", "123456-123456")
    with pytest.raises(EncryptionError) as info:
        SpecKey(SecretRef(env="DRIVE1_KEY")).ensure(Path("/mnt/d1"), "WD-1")
    assert "123456" not in str(info.value) and "env:DRIVE1_KEY" in str(info.value)
    monkeypatch.delenv("DRIVE1_KEY")
    with pytest.raises(EncryptionError, match="DRIVE1_KEY"):
        SpecKey(SecretRef(env="DRIVE1_KEY")).ensure(Path("/mnt/d1"), "WD-1")


def test_choices() -> None:
    with pytest.raises(EncryptionError, match="requires BitLocker"):
        encryptor_for(None, serial="WD-1")
    with pytest.raises(EncryptionError, match="needs Windows"):
        encryptor_for(BitLockerSpec(manage=True), serial="WD-1", platform="linux")
