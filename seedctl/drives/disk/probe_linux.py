"""Linux: follow a mount point down to the physical disk, and test a BitLocker key there.

The mount's source comes from /proc/self/mountinfo; each layer is followed through sysfs
(/sys/dev/block/M:m) until a whole disk is reached:

- a partition → its disk;
- dm-crypt (`dm/uuid` starting `CRYPT-BITLK-`: a BitLocker volume opened by `cryptsetup open
  --type bitlk`) → its one slave, which is the BitLocker volume; other device-mapper targets → slave;
- a FUSE filesystem on a file (ntfs-3g on dislocker's `dislocker-file`) → the mount holding that
  file → for a dislocker mount, the volume its daemon has open (from /proc/PID/fd) → on;
- a loop device → its backing file (followed like a file, so a loop over `dislocker-file` works).
  A loop device over an ordinary file is a disk image: it reports the serial written in
  `<image>.seedctl-test-serial` (so tests can run the real path on images) and is flagged
  `is_loop`, which `identity` accepts only for `cloud: sandbox`.

The filesystem is named from mountinfo (ntfs, ntfs3) or, for FUSE mounts (`fuseblk`, `fuse`),
from the signature at the start of the mount's source, read-only, or the udev database.
BitLocker protectors come from `cryptsetup bitlkDump`; the key test is
`cryptsetup open --test-passphrase --type bitlk VOLUME` with the key on stdin, never in argv.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seedctl.drives.disk.facts import (
    BitLockerState,
    DeviceInfo,
    DiskFacts,
    KeyVerdict,
    normalise_serial,
    redact,
)

LOOP_SERIAL_SUFFIX = ".seedctl-test-serial"
Runner = Callable[..., subprocess.CompletedProcess]
_MAX_LAYERS = 12

# `cryptsetup bitlkDump` "Protection:" lines → the names Get-BitLockerVolume uses
_PROTECTIONS = {
    "VMK protected with recovery passphrase": "RecoveryPassword",
    "VMK protected with passphrase": "Password",
    "VMK protected with TPM": "Tpm",
    "VMK protected with startup key": "ExternalKey",
    "VMK protected with clear key": "ClearKey",
    "VMK protected with smart card": "PublicKey",
}
_FS_NAMES = {"ntfs": "ntfs", "ntfs3": "ntfs", "vfat": "fat32", "msdos": "fat", "exfat": "exfat", "fuse.exfat": "exfat",
             "fuse.ntfs-3g": "ntfs", "fuse.ntfs": "ntfs"}
_FUSE = ("fuse", "fuseblk")


def unescape_mountinfo(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit() and len(field[i + 1:i + 4]) == 3:
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class MountEntry:
    majmin: str
    mount_point: str
    fs_type: str
    source: str
    read_only: bool


def parse_mountinfo(text: str) -> list[MountEntry]:
    entries = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 6 or not rfields:
            continue
        entries.append(MountEntry(fields[2], unescape_mountinfo(fields[4]), rfields[0],
                                  unescape_mountinfo(rfields[1]) if len(rfields) > 1 else "",
                                  "ro" in fields[5].split(",")))
    return entries


def signature(head: bytes) -> str | None:
    """The filesystem or container whose signature starts `head` (at least 2 KiB), as blkid names it."""
    if head[3:11] == b"NTFS    ":
        return "ntfs"
    if head[3:11] == b"-FVE-FS-":
        return "BitLocker"
    if head[3:11] == b"EXFAT   ":
        return "exfat"
    if head[82:90] == b"FAT32   ":
        return "fat32"
    if head[54:62] in (b"FAT16   ", b"FAT12   "):
        return "fat"
    if len(head) >= 1082 and head[1080:1082] == b"\x53\xef":
        return "ext4"
    return None


def parse_bitlk_dump(text: str) -> tuple[str, ...]:
    found = []
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key.strip() == "Protection":
            value = value.strip()
            found.append(_PROTECTIONS.get(value, value))
    return tuple(dict.fromkeys(found))


def _bus_from_path(path: str) -> str | None:
    if "/usb" in path:
        return "usb"
    if "/nvme" in path:
        return "nvme"
    if "/ata" in path:
        return "sata"
    if "/end_device-" in path or "/sas_" in path:
        return "sas"
    if "/virtio" in path:
        return "virtio"
    if "/mmc" in path:
        return "mmc"
    if "/host" in path:
        return "scsi"
    if "/devices/virtual/" in path:
        return "virtual"
    return None


class LinuxProbe:
    def __init__(self, mountinfo: Path = Path("/proc/self/mountinfo"), sys_root: Path = Path("/sys"), *,
                 runner: Runner = subprocess.run, proc_root: Path = Path("/proc"),
                 udev_root: Path = Path("/run/udev/data"), cryptsetup: str | None = None) -> None:
        self.mountinfo = mountinfo
        self.sys_root = sys_root
        self.runner = runner
        self.proc_root = proc_root
        self.udev_root = udev_root
        self.cryptsetup = cryptsetup

    # -- mount table ---------------------------------------------------------------------------
    def _entries(self) -> list[MountEntry]:
        try:
            return parse_mountinfo(self.mountinfo.read_text())
        except OSError:
            return []

    def _mount_entry(self, mount_point: Path) -> MountEntry | None:
        """The mount exactly at mount_point; the last one wins (it hides the earlier ones)."""
        target = os.path.realpath(mount_point)
        found = None
        for entry in self._entries():
            if entry.mount_point == target:
                found = entry
        return found

    def _mount_holding(self, path: str) -> MountEntry | None:
        """The mount a file lives on: the longest mount point above it with the file's st_dev."""
        try:
            dev = os.stat(path).st_dev
        except OSError:
            return None
        majmin = f"{os.major(dev)}:{os.minor(dev)}"
        best = None
        real = os.path.realpath(path)
        for entry in self._entries():
            if entry.majmin == majmin and (real == entry.mount_point or real.startswith(entry.mount_point.rstrip("/") + "/")):
                if best is None or len(entry.mount_point) >= len(best.mount_point):
                    best = entry
        return best

    # -- small readers -------------------------------------------------------------------------
    @staticmethod
    def _read(path: Path) -> str | None:
        try:
            return path.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return None

    def _udev(self, majmin: str, key: str) -> str | None:
        text = self._read(self.udev_root / f"b{majmin}")
        for line in (text or "").splitlines():
            if line.startswith(f"E:{key}="):
                return line.split("=", 1)[1]
        return None

    @staticmethod
    def _head(path: str) -> bytes | None:
        try:
            with open(path, "rb") as fh:  # read-only: never opened for writing
                return fh.read(4096)
        except OSError:
            return None

    def _sys_dev(self, majmin: str) -> Path | None:
        try:
            return (self.sys_root / "dev" / "block" / majmin).resolve(strict=True)
        except OSError:
            return None

    # -- the walk ------------------------------------------------------------------------------
    def describe(self, mount_point: Path) -> DeviceInfo:
        path = str(mount_point)
        if not os.path.isdir(path):
            return DeviceInfo(mount_point=path, is_mount=False, platform="linux")
        entry = self._mount_entry(mount_point)
        if entry is None:  # mountinfo is the authority: it also lists bind mounts ismount() misses
            return DeviceInfo(mount_point=path, is_mount=False, platform="linux")
        walk = _Walk(self)
        filesystem = walk.filesystem_of(entry)
        walk.follow_mount(entry)
        return DeviceInfo(mount_point=path, is_mount=True, device=entry.source or None, fs_type=entry.fs_type,
                          serial=walk.serial, is_loop=walk.is_loop, read_only=entry.read_only,
                          filesystem=filesystem, bitlocker=walk.bitlocker, disk=walk.disk,
                          layers=tuple(walk.layers), problems=tuple(walk.problems), platform="linux")

    # -- BitLocker -----------------------------------------------------------------------------
    def _cryptsetup(self) -> str | None:
        return self.cryptsetup or shutil.which("cryptsetup")

    def bitlk_protectors(self, volume: str) -> tuple[str, ...]:
        exe = self._cryptsetup()
        if exe is None:
            return ()
        try:
            done = self.runner([exe, "bitlkDump", volume], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return ()
        return parse_bitlk_dump(done.stdout or "") if done.returncode == 0 else ()

    def test_key(self, info: DeviceInfo, key: object) -> tuple[KeyVerdict, str]:
        if info.bitlocker is None:
            return "untested", "no BitLocker volume was found under the mount"
        exe = self._cryptsetup()
        if exe is None:
            return "untested", "cryptsetup is not installed (Debian/Ubuntu: apt-get install cryptsetup-bin)"
        volume = info.bitlocker.volume
        try:
            # The key goes on stdin: argv is world-readable in /proc. --test-passphrase maps nothing.
            # --debug: cryptsetup 2.6 exits 1 ("wrong or missing parameters"), not 2, when a
            # well-formed recovery password fails; its debug trace says which (it never echoes the key).
            done = self.runner([exe, "open", "--test-passphrase", "--type", "bitlk", "--readonly", "--debug",
                                volume], input=key.reveal() + "\n", capture_output=True, text=True,  # type: ignore[attr-defined]
                               timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            return "untested", f"cannot run cryptsetup: {type(exc).__name__}"
        trace = (done.stdout or "") + (done.stderr or "")
        if done.returncode == 0:
            return "unlocks", f"cryptsetup opened {volume} with it"
        if done.returncode == 2 or "No more VMKs to try" in trace:  # "No key available with this passphrase."
            return "does-not-unlock", f"cryptsetup on {volume}: no key available with this passphrase"
        lines = [ln for ln in (done.stderr or "").strip().splitlines() if not ln.startswith("#")]
        detail = redact(lines[-1] if lines else "")
        return "untested", f"cryptsetup on {volume} failed (exit {done.returncode}){': ' + detail if detail else ''}"


class _Walk:
    """One walk from a mount down to its disk; collects the layers as it goes."""

    def __init__(self, probe: LinuxProbe) -> None:
        self.p = probe
        self.layers: list[str] = []
        self.problems: list[str] = []
        self.serial: str | None = None
        self.is_loop = False
        self.bitlocker: BitLockerState | None = None
        self.disk: DiskFacts | None = None

    def filesystem_of(self, entry: MountEntry) -> str | None:
        fs = entry.fs_type
        if fs in _FUSE or fs.startswith("fuse."):
            if fs in _FS_NAMES:
                return _FS_NAMES[fs]
            head = self.p._head(entry.source) if entry.source.startswith("/") else None
            if head is not None:
                return signature(head) or "unknown"
            try:
                rdev = os.stat(entry.source).st_rdev if entry.source.startswith("/") else 0
            except OSError:
                rdev = 0
            if rdev:
                found = self.p._udev(f"{os.major(rdev)}:{os.minor(rdev)}", "ID_FS_TYPE")
                if found:
                    return found
            return None
        return _FS_NAMES.get(fs, fs)

    def follow_mount(self, entry: MountEntry) -> None:
        self.layers.append(f"{entry.mount_point} ({entry.fs_type} on {entry.source or '?'})")
        src = entry.source
        st = None
        if src.startswith("/"):
            try:
                st = os.stat(src)
            except OSError:
                st = None
        if st is not None and stat.S_ISBLK(st.st_mode):
            self.follow_block(f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}", src)
        elif st is not None and stat.S_ISREG(st.st_mode):
            self.follow_file(src)
        elif entry.fs_type in _FUSE or entry.fs_type.startswith("fuse."):
            self.problems.append(f"cannot follow the FUSE mount at {entry.mount_point} to a disk "
                                 f"(source {src or '?'})")
        else:
            self.follow_block(entry.majmin, src)

    def follow_file(self, path: str) -> None:
        """A filesystem or loop device on a file: dislocker's decrypted view, or a disk image."""
        if len(self.layers) > _MAX_LAYERS:
            self.problems.append("too many layers under the mount")
            return
        holder = self.p._mount_holding(path)
        if holder is not None and (holder.fs_type.startswith("fuse.dislocker") or holder.source.startswith("dislocker")):
            self.layers.append(f"{path} (dislocker's decrypted view, mounted at {holder.mount_point})")
            volume = self.dislocker_volume(holder.mount_point)
            if volume is None:
                self.problems.append(f"cannot tell which volume dislocker decrypts at {holder.mount_point}")
                return
            self.bitlocker = BitLockerState(volume=volume, via="dislocker", locked=False,
                                            **self._protector_fields(volume))
            try:
                st = os.stat(volume)
            except OSError:
                self.problems.append(f"cannot read {volume}, the volume dislocker decrypts")
                return
            if stat.S_ISBLK(st.st_mode):
                self.follow_block(f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}", volume)
            else:
                self.layers.append(f"{volume} (an image file)")
                self.is_loop = True
                self.serial = self._sidecar(volume)
            return
        # an ordinary file: a disk image, not a drive
        self.layers.append(f"{path} (a file)")
        self.is_loop = True
        self.serial = self._sidecar(path)

    def _protector_fields(self, volume: str) -> dict:
        protectors = self.p.bitlk_protectors(volume)
        fields: dict = {"protectors": protectors}
        if "ClearKey" in protectors:
            fields["protection_on"] = False  # a clear-key protector is what "suspended" stores
        elif protectors:
            fields["protection_on"] = True
        return fields

    def dislocker_volume(self, mount_point: str) -> str | None:
        """The volume the dislocker daemon serving `mount_point` has open (from its fds)."""
        # (argv names the mount point exactly, argv names a folder of the same name, an open volume)
        candidates: list[tuple[bool, bool, str]] = []
        try:
            pids = [d for d in os.listdir(self.p.proc_root) if d.isdigit()]
        except OSError:
            return None
        name = os.path.basename(mount_point.rstrip("/"))
        for pid in pids:
            base = self.p.proc_root / pid
            comm = LinuxProbe._read(base / "comm") or ""
            if not comm.startswith("dislocker"):
                continue
            try:
                # argv is only compared with the mount point, never shown (it may hold a password)
                argv = (base / "cmdline").read_bytes().split(b"\0")
                targets = {os.fsdecode(a).rstrip("/") for a in argv if a}
                links = [os.readlink(base / "fd" / fd) for fd in os.listdir(base / "fd")]
            except OSError:
                continue
            if "/dev/fuse" not in links:
                continue
            exact = mount_point.rstrip("/") in targets
            similar = any(t == name or t.endswith("/" + name) for t in targets)
            for link in links:
                if link.startswith("/") and link not in ("/dev/fuse", "/dev/null") and not link.startswith("/dev/pts"):
                    candidates.append((exact, similar, link))
        for chosen in ([c for e, _, c in candidates if e], [c for _, s, c in candidates if s],
                       [c for _, _, c in candidates]):
            if chosen:
                return chosen[0] if len(set(chosen)) == 1 else None
        return None

    def _sidecar(self, image: str) -> str | None:
        try:
            return normalise_serial(Path(image + LOOP_SERIAL_SUFFIX).read_text())
        except OSError:
            return None

    def follow_block(self, majmin: str, devname: str) -> None:
        for _ in range(_MAX_LAYERS):
            sysdev = self.p._sys_dev(majmin)
            if sysdev is None:
                self.problems.append(f"cannot find {devname or majmin} in sysfs")
                return
            name = sysdev.name
            if (sysdev / "dm").is_dir():
                uuid = LinuxProbe._read(sysdev / "dm" / "uuid") or ""
                dm_name = LinuxProbe._read(sysdev / "dm" / "name") or name
                slaves = sorted((sysdev / "slaves").iterdir()) if (sysdev / "slaves").is_dir() else []
                if len(slaves) != 1:
                    self.problems.append(f"/dev/mapper/{dm_name} spans {len(slaves)} devices; a drive must be one disk")
                    return
                slave = slaves[0]
                if uuid.startswith("CRYPT-BITLK"):
                    volume = f"/dev/{slave.name}"
                    self.layers.append(f"/dev/mapper/{dm_name} (dm-crypt BITLK on {volume})")
                    self.bitlocker = BitLockerState(volume=volume, via="dm-crypt BITLK", locked=False,
                                                    **self._protector_fields(volume))
                else:
                    kind = uuid.split("-", 1)[0] or "device-mapper"
                    self.layers.append(f"/dev/mapper/{dm_name} ({kind} on /dev/{slave.name})")
                majmin = LinuxProbe._read(slave / "dev") or ""
                devname = f"/dev/{slave.name}"
                continue
            if (sysdev / "loop").is_dir():
                backing = LinuxProbe._read(sysdev / "loop" / "backing_file")
                self.layers.append(f"/dev/{name} (loop device on {backing or '?'})")
                if backing is None:
                    self.is_loop = True
                    return
                self.follow_file(backing)
                return
            disk = sysdev.parent if (sysdev / "partition").exists() else sysdev
            if disk is not sysdev:
                self.layers.append(f"/dev/{name} (partition of /dev/{disk.name})")
            self._whole_disk(disk, majmin)
            return
        self.problems.append("too many layers under the mount")

    def _whole_disk(self, disk: Path, majmin: str) -> None:
        serial = None
        for candidate in (disk / "device" / "serial", disk / "device" / "vpd_pg80"):
            try:
                text = candidate.read_bytes().decode("ascii", "ignore").strip("\x00 \n\t")
            except OSError:
                continue
            if candidate.name == "vpd_pg80":
                text = text[4:] if len(text) > 4 else ""  # 4-byte VPD page header
            if normalise_serial(text):
                serial = normalise_serial(text)
                break
        disk_majmin = LinuxProbe._read(disk / "dev") or majmin
        if serial is None:
            serial = normalise_serial(self.p._udev(disk_majmin, "ID_SERIAL_SHORT"))
        if serial is None and shutil.which("lsblk"):
            try:
                out = subprocess.run(["lsblk", "-dno", "SERIAL", f"/dev/{disk.name}"], capture_output=True,
                                     text=True, timeout=10).stdout
                serial = normalise_serial(out)
            except (OSError, subprocess.SubprocessError):
                pass
        size_sectors = LinuxProbe._read(disk / "size")
        sector = LinuxProbe._read(disk / "queue" / "logical_block_size")
        bus = self.p._udev(disk_majmin, "ID_BUS")
        bus = _bus_from_path(str(disk)) or ({"ata": "sata"}.get(bus or "", bus) if bus else None)
        self.serial = serial
        self.disk = DiskFacts(name=f"/dev/{disk.name}", serial=serial, bus=bus,
                              size=int(size_sectors) * 512 if size_sectors and size_sectors.isdigit() else None,
                              logical_sector=int(sector) if sector and sector.isdigit() else None,
                              model=LinuxProbe._read(disk / "device" / "model"))
        self.layers.append(f"/dev/{disk.name} (disk, bus {bus or 'unknown'}, serial {serial or 'unknown'})")
