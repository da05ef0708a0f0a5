"""Is this the drive the spec names, and is it safe to write? Observed before a single byte is written.

`inspect_drive` observes (never raises for a drive that is not attached: `plan` runs on CI runners
without drives and must say "not attached here", never "empty"). `check_safe_to_write` turns the
observation into a refusal naming the drive and the reason, or returns it when writing is safe.

Every real drive (not a sandbox drive: a simulated folder, or a loop image, both only with
`cloud: sandbox`) must also meet the service's requirements (`requirements.evaluate`): NTFS,
BitLocker with a recovery-password protector, unlocked, protection on, the spec's key unlocking
it (tested when `inspect_drive` is given the drive's `bitlocker` spec), an accepted bus and size.
Failures are `requirement_errors` (also in `problems`, so the plan shows them); `warnings` are
what cannot be told apart from here (a USB bridge) or must finish before shipping.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from seedctl.drives.disk.devices import DeviceInfo, DeviceProbe, normalise_serial, probe_for_platform
from seedctl.drives.disk.requirements import evaluate
from seedctl.drives.disk.simulated import create_simulated_drive, read_simulated, used_bytes
from seedctl.drives.formats.journal import JournalError, read_journal_header
from seedctl.drives.formats.layout import IGNORABLE_ROOT_ENTRIES, SEEDCTL_DIR
from seedctl.errors import DriveError, SeedctlError

__all__ = ["NO_KEY_TEST", "DriveObservation", "check_safe_to_write", "create_simulated_drive", "inspect_drive"]

EMPTY, OURS, FOREIGN, UNKNOWN = "empty", "ours", "foreign", "unknown"
# compared without case, as NTFS names are: Windows writes $RECYCLE.BIN, older ones $Recycle.Bin
_IGNORABLE = frozenset(name.upper() for name in IGNORABLE_ROOT_ENTRIES)
NO_KEY_TEST = object()  # inspect_drive(bitlocker=...) default: check everything but the key


@dataclass(frozen=True)
class DriveObservation:
    mount_point: str
    expected_serial: str
    attached: bool  # the path exists and is a mount point (or an allowed simulated drive)
    is_simulated: bool = False
    is_loop: bool = False  # a loop device (test images): accepted only where simulated drives are
    serial: str | None = None  # observed; None when it cannot be read
    capacity: int | None = None
    free_bytes: int | None = None
    content: str = UNKNOWN  # "empty" | "ours" | "foreign" | "unknown" (not attached / unreadable)
    owner_id: str | None = None  # when content == "ours": the spec the journal belongs to
    journal_serial: str | None = None  # when content == "ours": the serial the journal was written for
    foreign_entries: tuple[str, ...] = ()  # a few of the entries that make it foreign
    device: str | None = None
    fs_type: str | None = None
    read_only: bool = False
    problems: tuple[str, ...] = field(default_factory=tuple)
    requirement_errors: tuple[str, ...] = ()  # the service's drive requirements this drive misses
    warnings: tuple[str, ...] = ()  # shown in the plan; do not stop it
    layers: tuple[str, ...] = ()  # mount → ... → disk, as followed by the probe
    system_disk: bool = False  # the probe says the disk holds the running system (Windows: IsSystem/IsBoot)

    @property
    def serial_matches(self) -> bool:
        return self.serial is not None and self.serial == normalise_serial(self.expected_serial)

    def describe(self) -> str:
        return f"drive {self.expected_serial} at {self.mount_point}"


def _content(mount: Path) -> tuple[str, str | None, str | None, tuple[str, ...], list[str]]:
    problems: list[str] = []
    try:
        state = read_journal_header(mount)  # whose drive: the begin record is enough (and cheap)
    except JournalError as exc:
        return UNKNOWN, None, None, (), [str(exc)]
    if state is not None:
        return OURS, state.owner_id, state.serial, (), problems
    try:
        # `.seedctl` without a journal is seedctl's own folder from a run killed before its first
        # journal record: nothing of it was completed, so the drive still counts as empty.
        names = sorted(e.name for e in os.scandir(mount)
                       if e.name.upper() not in _IGNORABLE and e.name != SEEDCTL_DIR)
    except OSError as exc:
        return UNKNOWN, None, None, (), [f"cannot list {mount}: {exc.strerror or exc}"]
    if not names:
        return EMPTY, None, None, (), problems
    return FOREIGN, None, None, tuple(names[:5]), problems


def _key_verdict(info: DeviceInfo, probe: DeviceProbe, bitlocker: object, serial: str,
                 problems: list[str]) -> tuple | None:
    """Test the spec's key on the volume, or None when there is nothing to test."""
    if bitlocker is NO_KEY_TEST or info.bitlocker is None or info.bitlocker.locked or not info.bitlocker.encrypted:
        return None
    if bitlocker is None:
        problems.append(f"drive {serial}: the spec gives no BitLocker key (bitlocker.key, or bitlocker.manage: "
                        "true on Windows); the import job must carry the drive's recovery password")
        return None
    if getattr(bitlocker, "manage", False):
        return None  # the key is read from this very volume at apply time
    ref = getattr(bitlocker, "key", None)
    tester = getattr(probe, "test_key", None)
    if ref is None or tester is None:
        return None
    from seedctl.drives.disk.encryption import BitLockerKey

    try:
        key = BitLockerKey(ref.resolve(), ref.describe())
    except SeedctlError as exc:  # SecretError / EncryptionError: they name the reference, never the value
        problems.append(f"drive {serial}: cannot test the BitLocker key: {exc}")
        return None
    return tester(info, key)


def requirements_apply(info: DeviceInfo, allow_simulated: bool) -> bool:
    """Sandbox drives (loop images under cloud: sandbox) are exempt, exactly as before issue 16."""
    return not (info.is_loop and allow_simulated)


def inspect_drive(mount_point: Path, expected_serial: str, *, allow_simulated: bool,
                  probe: DeviceProbe | None = None, bitlocker: object = NO_KEY_TEST) -> DriveObservation:
    """Observe the drive at `mount_point` without writing anything. Never raises for absence.

    `bitlocker` is the drive's spec (`BitLockerSpec`, or None when the spec has none): given, the
    spec's key is tested against the volume (read-only; never printed).
    """
    mount = Path(mount_point)
    base = {"mount_point": str(mount), "expected_serial": expected_serial}
    if not mount.is_dir():
        return DriveObservation(**base, attached=False, problems=(f"{mount} does not exist here: not attached",))
    try:
        sim = read_simulated(mount)
    except DriveError as exc:
        return DriveObservation(**base, attached=False, problems=(str(exc),))
    if sim is not None:
        content, owner, jserial, foreign, problems = _content(mount)
        if not allow_simulated:
            problems.insert(0, f"{mount} is a simulated (sandbox) drive; only a spec with cloud: sandbox may use it")
        used = used_bytes(mount)
        return DriveObservation(**base, attached=allow_simulated, is_simulated=True, serial=sim.serial,
                                capacity=sim.capacity, free_bytes=max(0, sim.capacity - used), content=content,
                                owner_id=owner, journal_serial=jserial, foreign_entries=foreign,
                                problems=tuple(problems))
    probe = probe or probe_for_platform()
    info = probe.describe(mount)
    if not info.is_mount:
        return DriveObservation(**base, attached=False, problems=info.problems or (
            f"{mount} exists but is not a mount point: no drive is attached there",))
    problems = []
    requirement_errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    if requirements_apply(info, allow_simulated):
        found: list[str] = []
        verdict = _key_verdict(info, probe, bitlocker, expected_serial, found)
        manage = bool(getattr(bitlocker, "manage", False))
        findings = evaluate(info, key=verdict, manage=manage)
        requirement_errors = (*findings.errors, *found)
        warnings = findings.warnings
    if info.is_loop and not allow_simulated:
        problems.append(f"{mount} is a loop device ({info.device}); only a spec with cloud: sandbox may use it")
    if info.serial is None:
        problems.append(f"cannot read the serial number of {info.device or mount}")
    system_disk = bool(info.disk and info.disk.system)
    if system_disk:
        problems.append(f"{info.disk.name} holds the running system (its boot or system partition); "  # type: ignore[union-attr]
                        "that is the system disk, not an attached drive")
    usage = shutil.disk_usage(mount)
    content, owner, jserial, foreign, more = _content(mount)
    problems.extend(more)
    problems.extend(requirement_errors)
    return DriveObservation(**base, attached=True, is_loop=info.is_loop, serial=info.serial, capacity=usage.total,
                            free_bytes=usage.free, content=content, owner_id=owner, journal_serial=jserial,
                            foreign_entries=foreign, device=info.device, fs_type=info.fs_type,
                            read_only=info.read_only, problems=tuple(problems),
                            requirement_errors=requirement_errors, warnings=warnings, layers=info.layers,
                            system_disk=system_disk)


def system_root(*, platform: str = sys.platform, environ: Mapping[str, str] = os.environ) -> Path:
    """The root of the filesystem the OS runs from: `/`; on Windows `%SystemDrive%\\` (C:\\ unless
    Windows lives elsewhere), not the current drive's root, which `os.path.abspath(os.sep)` is there."""
    if platform == "win32":
        drive = environ.get("SystemDrive") or "C:"
        return Path(drive.rstrip("\\/") + "\\")
    return Path("/")


def _same_filesystem(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def check_safe_to_write(mount_point: Path, expected_serial: str, *, owner_id: str, needed_bytes: int,
                        staging_root: Path | None = None, allow_simulated: bool = False,
                        probe: DeviceProbe | None = None, bitlocker: object = NO_KEY_TEST) -> DriveObservation:
    """Refuse (DriveError naming the drive and the reason) unless writing here is safe.

    Safe means: attached; a mount point on a filesystem other than the one holding `/` and the
    staging data (simulated drives excepted, sandbox only); the serial matches; it meets the
    service's drive requirements (NTFS, BitLocker unlocked with a recovery password, the key when
    `bitlocker` is given, bus and size; sandbox drives exempt); empty, or carrying seedctl's
    journal for this owner and serial; and `needed_bytes` more fit in its free space.
    """
    obs = inspect_drive(mount_point, expected_serial, allow_simulated=allow_simulated, probe=probe,
                        bitlocker=bitlocker)
    name = obs.describe()
    if obs.is_simulated and not allow_simulated:
        raise DriveError(f"{name}: a simulated (sandbox) drive can only be written for a spec with cloud: sandbox")
    if not obs.attached:
        raise DriveError(f"{name}: not attached ({'; '.join(obs.problems) or 'not a mount point'}); "
                         "attach the drive and mount it there")
    if obs.is_loop and not allow_simulated:
        raise DriveError(f"{name}: {obs.device} is a loop device (a disk image), not a drive that can be shipped")
    if not obs.is_simulated:
        mount = Path(mount_point)
        if obs.system_disk:
            raise DriveError(f"{name}: is on the disk the running system starts from or keeps its system files "
                             "on (IsBoot/IsSystem); that is the system disk, not an attached drive")
        root = system_root()
        if _same_filesystem(mount, root):
            raise DriveError(f"{name}: is on the same filesystem as {root}; that is the system disk, not an "
                             "attached drive")
        if staging_root is not None and _same_filesystem(mount, Path(staging_root)):
            raise DriveError(f"{name}: is on the same filesystem as the staging folder {staging_root}")
    if obs.serial is None:
        raise DriveError(f"{name}: cannot read the device's serial number ({obs.device}); refusing to write "
                         "to a drive whose identity cannot be proven")
    if not obs.serial_matches:
        raise DriveError(f"{name}: wrong drive: its serial number is {obs.serial}, the spec says "
                         f"{normalise_serial(expected_serial)}")
    if obs.read_only:
        raise DriveError(f"{name}: mounted read-only; remount it read-write")
    if obs.requirement_errors:
        raise DriveError(f"{name}: does not meet the Import/Export drive requirements: "
                         + "; ".join(obs.requirement_errors))
    if obs.content == UNKNOWN:
        raise DriveError(f"{name}: cannot tell what is on it: {'; '.join(obs.problems)}")
    if obs.content == FOREIGN:
        raise DriveError(f"{name}: holds data that is not seedctl's ({', '.join(obs.foreign_entries)}"
                         f"{', ...' if len(obs.foreign_entries) >= 5 else ''}); use an empty drive "
                         "(seedctl never erases a drive)")
    if obs.content == OURS and (obs.owner_id != owner_id or obs.journal_serial != obs.serial):
        raise DriveError(f"{name}: was prepared by seedctl for spec {obs.owner_id!r} (drive "
                         f"{obs.journal_serial}), not for {owner_id!r}; use another drive")
    if obs.free_bytes is not None and needed_bytes > obs.free_bytes:
        raise DriveError(f"{name}: does not fit: {needed_bytes:,} bytes still to write, {obs.free_bytes:,} free")
    return obs
