"""BitLocker behind one interface: make sure a drive is encrypted and get its recovery key.

- `ManageBde` (Windows): reads the volume's BitLocker state from Get-BitLockerVolume (through the
  Windows probe: enum names, the same in every Windows language, where manage-bde's text is
  translated), turns BitLocker on with `manage-bde -on X: -RecoveryPassword -UsedSpaceOnly` when the
  volume is not encrypted, adds a numerical-password protector when it has none, and reads the
  48-digit recovery password with `manage-bde -protectors -get X: -Type RecoveryPassword` (digits:
  the same in every language; its output decoded with the console's OEM code page). Tests run it
  against stand-in `powershell` and `manage-bde` executables on PATH, and over recorded outputs.
- `SpecKey` (Linux, macOS, or Windows with `manage: false`): the drive was encrypted elsewhere and is
  unlocked and mounted; the key comes from the spec's secret reference (env: or file:).

The key goes into the import job and nowhere else: `BitLockerKey` never shows it in repr/str, error
messages redact anything that looks like a recovery password, and nothing here logs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from seedctl.drives.disk.facts import BitLockerState, redact
from seedctl.errors import DriveError, SecretError

_PASSWORD = re.compile(r"\b(\d{6}(?:-\d{6}){7})\b")


class EncryptionError(DriveError):
    """BitLocker could not be enabled or its key read. Never contains the key."""


def is_valid_recovery_password(value: str) -> bool:
    """48 digits in 8 groups of 6; BitLocker makes every group a multiple of 11 below 720,896."""
    if not re.fullmatch(r"\d{6}(-\d{6}){7}", value):
        return False
    return all(int(g) % 11 == 0 and int(g) < 720896 for g in value.split("-"))


class BitLockerKey:
    """A BitLocker recovery password. Only `reveal()` gives the value (for the job request body)."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        value = value.strip()
        if not is_valid_recovery_password(value):
            raise EncryptionError(f"the BitLocker key from {source} is not a recovery password "
                                  "(48 digits in 8 groups of 6, each a multiple of 11)")
        self._value = value
        self.source = source  # where it came from, for messages ("manage-bde", "env:DRIVE1_KEY")

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"BitLockerKey((sensitive) from {self.source})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BitLockerKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("BitLockerKey", self._value))


class Encryptor(Protocol):
    def ensure(self, mount: Path, serial: str) -> BitLockerKey:
        """Make sure the drive at `mount` is (being) encrypted; return its recovery key."""
        ...


class SpecKey:
    """The drive is already encrypted and unlocked; the spec says where its key is."""

    def __init__(self, ref: object) -> None:
        self.ref = ref  # a seedctl.spec.model.SecretRef

    def ensure(self, mount: Path, serial: str) -> BitLockerKey:
        try:
            value = self.ref.resolve()  # type: ignore[attr-defined]
        except SecretError as exc:
            raise EncryptionError(f"drive {serial}: {exc}") from None
        return BitLockerKey(value, self.ref.describe())  # type: ignore[attr-defined]


Runner = Callable[..., subprocess.CompletedProcess]


class ManageBde:
    """BitLocker through Get-BitLockerVolume (state) and manage-bde (changes, the key) on Windows."""

    def __init__(self, executable: str | None = None, runner: Runner = subprocess.run, probe: object = None,
                 console_encoding: str | None = None) -> None:
        from seedctl.drives.disk.probe_windows import WindowsProbe

        self.executable = executable or shutil.which("manage-bde") or "manage-bde"
        self.runner = runner
        self.console_encoding = console_encoding
        self.probe = probe or WindowsProbe(runner=runner, manage_bde=self.executable)

    @staticmethod
    def volume_of(mount: Path) -> str:
        r""""E:" for a drive letter (also from \\?\E:\), the folder for a volume mount folder."""
        from seedctl.drives.disk.probe_windows import WindowsPathError, access_path

        try:
            return access_path(str(mount))[1]  # Windows path rules whatever the host (ntpath)
        except WindowsPathError:
            return str(mount)

    def _run(self, serial: str, *args: str) -> str:
        from seedctl.drives.disk.probe_windows import console_text, exit_code

        try:
            done = self.runner([self.executable, *args], capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            raise EncryptionError(f"drive {serial}: cannot run manage-bde: {exc}") from None
        stdout = console_text(done.stdout, self.console_encoding)
        if done.returncode != 0:
            text = (console_text(done.stderr, self.console_encoding) or stdout).strip()
            detail = redact(text.splitlines()[-1].strip()) if text else ""
            raise EncryptionError(f"drive {serial}: manage-bde {args[0]} failed (exit {exit_code(done.returncode)})"
                                  f"{': ' + detail if detail else ''}")
        return stdout

    def _state(self, mount: Path, serial: str, volume: str) -> BitLockerState:
        info = self.probe.describe(mount)  # type: ignore[attr-defined]
        if info.bitlocker_unreadable:
            raise EncryptionError(f"drive {serial}: {info.bitlocker_unreadable}")
        if info.bitlocker is None:
            why = "; ".join(info.problems) or ("Get-BitLockerVolume returned nothing for it: is BitLocker "
                                               "installed (Install-WindowsFeature BitLocker, then restart)?")
            raise EncryptionError(f"drive {serial}: cannot read the BitLocker state of {volume}: {why}")
        return info.bitlocker

    def ensure(self, mount: Path, serial: str) -> BitLockerKey:
        volume = self.volume_of(mount)
        state = self._state(mount, serial, volume)
        status = state.status or ""
        if state.locked:
            raise EncryptionError(f"drive {serial}: the BitLocker volume {volume} is locked; unlock it first "
                                  f"(manage-bde -unlock {volume} -RecoveryPassword <key>)")
        if status.startswith("Decryption"):
            raise EncryptionError(f"drive {serial}: BitLocker is being removed from {volume} ({status}); "
                                  f"turn it back on (manage-bde -on {volume}) or use another drive")
        if status == "FullyDecrypted":
            self._run(serial, "-on", volume, "-RecoveryPassword", "-UsedSpaceOnly")
            state = self._state(mount, serial, volume)
        key = self._recovery_password(serial, volume) if state.has_recovery_password else None
        if key is None:
            self._run(serial, "-protectors", "-add", volume, "-RecoveryPassword")
            key = self._recovery_password(serial, volume)
        if key is None:
            raise EncryptionError(f"drive {serial}: {volume} has no numerical-password protector after adding one")
        return BitLockerKey(key, "manage-bde")

    def _recovery_password(self, serial: str, volume: str) -> str | None:
        try:
            out = self._run(serial, "-protectors", "-get", volume, "-Type", "RecoveryPassword")
        except EncryptionError:
            return None  # manage-bde fails (exit -1) when no such protector exists
        found = _PASSWORD.findall(out)
        return found[0] if found else None


def encryptor_for(bitlocker: object | None, *, serial: str, platform: str = sys.platform,
                  executable: str | None = None) -> Encryptor:
    """Pick the encryptor for a drive's `bitlocker` spec (seedctl.spec.model.BitLockerSpec)."""
    if bitlocker is None:
        raise EncryptionError(f"drive {serial}: the Import/Export service requires BitLocker; give "
                              "bitlocker.key (a drive encrypted elsewhere) or bitlocker.manage: true (Windows)")
    if getattr(bitlocker, "manage", False):
        if not platform.startswith("win") and executable is None:
            raise EncryptionError(f"drive {serial}: bitlocker.manage needs Windows (manage-bde); on this system "
                                  "encrypt the drive on Windows first and give bitlocker.key")
        return ManageBde(executable)
    key = getattr(bitlocker, "key", None)
    if key is None:
        raise EncryptionError(f"drive {serial}: bitlocker needs either key or manage: true")
    return SpecKey(key)
