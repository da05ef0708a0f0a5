"""The Linux probe over built sysfs/mountinfo trees and recorded cryptsetup outputs: the layers this
machine cannot create for real (dm-crypt needs the kernel's dm_crypt; USB and NVMe need hardware).
The real-tool path (loop, dislocker, ntfs-3g, cryptsetup) is in test_requirements_real.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from seedctl.drives.disk.encryption import BitLockerKey
from seedctl.drives.disk.probe_linux import LinuxProbe, parse_bitlk_dump, parse_mountinfo, signature
from seedctl.drives.disk.requirements import evaluate

from platforms import LINUX_PROBE

pytestmark = LINUX_PROBE

RECORDED = Path(__file__).parent / "recorded" / "linux"
KEY = "238810-662376-448998-450120-652806-203390-606320-483076"


def dump(name: str) -> str:
    return (RECORDED / f"bitlkDump-{name}.txt").read_text()


class Cryptsetup:
    """Answers `cryptsetup bitlkDump` with a recording and `open --test-passphrase` with an exit code."""

    def __init__(self, dump_text: str, open_rc: int = 0, open_err: str = "") -> None:
        self.dump_text, self.open_rc, self.open_err = dump_text, open_rc, open_err
        self.calls: list[tuple[list[str], str | None]] = []

    def __call__(self, args, **kw) -> subprocess.CompletedProcess:
        self.calls.append((list(args), kw.get("input")))
        if args[1] == "bitlkDump":
            return subprocess.CompletedProcess(args, 0, self.dump_text, "")
        return subprocess.CompletedProcess(args, self.open_rc, "", self.open_err)


class Tree:
    """A fake /sys and mountinfo: one disk, optionally a partition and a dm-crypt BITLK mapping."""

    def __init__(self, tmp: Path, *, bus_path: str = "pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0",
                 disk: str = "sdb", serial: str | None = "WD-WCC4N1234567", size_bytes: int = 4_000_787_030_016,
                 sector: int = 512, bitlk: bool = True, fs: str = "ntfs3") -> None:
        self.sys = tmp / "sys"
        d = self.sys / "devices" / bus_path / "block" / disk
        part = d / f"{disk}1"
        part.mkdir(parents=True)
        (part / "partition").write_text("1")
        (part / "dev").write_text("8:17\n")
        (d / "dev").write_text("8:16\n")
        (d / "size").write_text(f"{size_bytes // 512}\n")
        (d / "queue").mkdir()
        (d / "queue" / "logical_block_size").write_text(f"{sector}\n")
        (d / "device").mkdir()
        if serial:
            (d / "device" / "serial").write_text(f"  {serial}\n")
        blk = self.sys / "dev" / "block"
        blk.mkdir(parents=True)
        (blk / "8:17").symlink_to(part)
        majmin, source = "8:17", f"/dev/{disk}1"
        if bitlk:
            dm = self.sys / "devices" / "virtual" / "block" / "dm-0"
            (dm / "dm").mkdir(parents=True)
            (dm / "dm" / "uuid").write_text("CRYPT-BITLK-8f595209f5b949a085d4cb8f80258c27-seed1\n")
            (dm / "dm" / "name").write_text("seed1\n")
            (dm / "slaves").mkdir()
            (dm / "slaves" / f"{disk}1").symlink_to(part)
            (blk / "254:0").symlink_to(dm)
            majmin, source = "254:0", "/dev/mapper/seed1"
        self.mount = tmp / "mnt" / "drive 1"
        self.mount.mkdir(parents=True)
        self.mountinfo = tmp / "mountinfo"
        escaped = str(self.mount).replace(" ", "\\040")
        self.mountinfo.write_text(f"22 1 8:2 / / rw - ext4 /dev/sda2 rw\n"
                                  f"40 22 {majmin} / {escaped} rw,relatime - {fs} {source} rw\n")

    def probe(self, runner=None, **kw) -> LinuxProbe:
        return LinuxProbe(self.mountinfo, self.sys, runner=runner or Cryptsetup(dump("bitlk-aes-xts-128")),
                          udev_root=self.sys / "no-udev", cryptsetup="/usr/sbin/cryptsetup", **kw)


def verdict_and_findings(probe: LinuxProbe, mount: Path, key: str = KEY):
    info = probe.describe(mount)
    verdict = probe.test_key(info, BitLockerKey(key, "env:K")) if info.bitlocker else None
    return info, evaluate(info, key=verdict)


def test_dm_crypt_bitlk_followed_to_the_sata_disk(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    runner = Cryptsetup(dump("bitlk-aes-xts-128"))
    info, findings = verdict_and_findings(tree.probe(runner), tree.mount)
    assert info.serial == "WD-WCC4N1234567" and info.filesystem == "ntfs" and not info.is_loop
    assert info.bitlocker.via == "dm-crypt BITLK" and info.bitlocker.volume == "/dev/sdb1"
    assert info.bitlocker.protectors == ("Password", "RecoveryPassword") and info.bitlocker.protection_on
    assert info.disk.bus == "sata" and info.disk.size == 4_000_787_030_016 and info.disk.logical_sector == 512
    assert info.layers[0].startswith(f"{tree.mount} (ntfs3 on /dev/mapper/seed1)")
    assert [layer.split(" ")[0] for layer in info.layers[1:]] == ["/dev/mapper/seed1", "/dev/sdb1", "/dev/sdb"]
    assert findings.errors == () and findings.warnings == ()
    dump_call, open_call = runner.calls
    assert dump_call[0][1:] == ["bitlkDump", "/dev/sdb1"]
    assert open_call[0][1:5] == ["open", "--test-passphrase", "--type", "bitlk"] and open_call[0][-1] == "/dev/sdb1"
    assert open_call[1] == KEY + "\n" and KEY not in " ".join(open_call[0])


@pytest.mark.parametrize("rc,err,verdict", [
    (2, "No key available with this passphrase.", "does-not-unlock"),
    (1, "# No more VMKs to try.\nCommand failed with code -1 (wrong or missing parameters).", "does-not-unlock"),
    (1, "Device /dev/sdb1 does not exist or access denied.", "untested"),
    (0, "", "unlocks"),
])
def test_key_test_exit_codes_as_cryptsetup_2_6_gives_them(tmp_path: Path, rc: int, err: str, verdict: str) -> None:
    tree = Tree(tmp_path)
    info, findings = verdict_and_findings(tree.probe(Cryptsetup(dump("bitlk-aes-xts-128"), rc, err)), tree.mount)
    if verdict == "does-not-unlock":
        assert len(findings.errors) == 1 and "the key does not unlock this volume" in findings.errors[0]
    elif verdict == "untested":
        assert findings.errors == () and "could not be tested here" in findings.warnings[0]
        assert "access denied" in findings.warnings[0]
    else:
        assert findings.errors == () and findings.warnings == ()


def test_suspended_protection_is_a_clear_key(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    info, findings = verdict_and_findings(tree.probe(Cryptsetup(dump("bitlk-clearkey-aes-cbc-128"))), tree.mount)
    assert "ClearKey" in info.bitlocker.protectors and info.bitlocker.protection_on is False
    assert len(findings.errors) == 1 and "protection is suspended" in findings.errors[0]


def test_no_recovery_password(tmp_path: Path) -> None:
    # cryptsetup's images all carry a recovery password: this one is the smart-card recording without it
    text = "\n".join(line for line in dump("bitlk-aes-xts-128-smart-card").splitlines()
                     if "recovery passphrase" not in line)
    tree = Tree(tmp_path)
    info, findings = verdict_and_findings(tree.probe(Cryptsetup(text, open_rc=2)), tree.mount)
    assert info.bitlocker.protectors == ("PublicKey",)
    assert any("no recovery-password protector (it has PublicKey)" in e for e in findings.errors)


def test_recorded_protectors() -> None:
    assert parse_bitlk_dump(dump("bitlk-aes-xts-128-startup-key")) == ("Password", "RecoveryPassword", "ExternalKey")
    assert parse_bitlk_dump(dump("bitlk-aes-xts-128-smart-card")) == ("PublicKey", "RecoveryPassword")


def test_usb_bridge_warning(tmp_path: Path) -> None:
    tree = Tree(tmp_path, bus_path="pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0")
    info, findings = verdict_and_findings(tree.probe(), tree.mount)
    assert info.disk.bus == "usb" and findings.errors == ()
    assert len(findings.warnings) == 1 and "behind a USB bridge" in findings.warnings[0]


def test_large_nvme_and_4kn(tmp_path: Path) -> None:
    tree = Tree(tmp_path / "a", bus_path="pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0", disk="nvme0n1",
                size_bytes=12_000_138_625_024)
    info, findings = verdict_and_findings(tree.probe(), tree.mount)
    assert info.disk.bus == "nvme"
    assert len(findings.errors) == 1 and "up to 10 TB" in findings.errors[0]
    tree = Tree(tmp_path / "b", sector=4096)
    assert "4096-byte logical sectors" in verdict_and_findings(tree.probe(), tree.mount)[1].errors[0]


def test_virtio_disk_is_not_shippable(tmp_path: Path) -> None:
    tree = Tree(tmp_path, bus_path="pci0000:00/0000:00:04.0/virtio1", disk="vdb")
    _, findings = verdict_and_findings(tree.probe(), tree.mount)
    assert len(findings.errors) == 1 and "virtio bus" in findings.errors[0]


def test_plain_ntfs_partition_is_not_bitlocker(tmp_path: Path) -> None:
    tree = Tree(tmp_path, bitlk=False)
    runner = Cryptsetup(dump("bitlk-aes-xts-128"))
    info, findings = verdict_and_findings(tree.probe(runner), tree.mount)
    assert info.bitlocker is None and info.serial == "WD-WCC4N1234567" and runner.calls == []
    assert len(findings.errors) == 1 and "not BitLocker-encrypted" in findings.errors[0]


def test_ext4_is_not_ntfs(tmp_path: Path) -> None:
    tree = Tree(tmp_path, bitlk=False, fs="ext4")
    _, findings = verdict_and_findings(tree.probe(), tree.mount)
    assert "not NTFS: the volume is ext4" in findings.errors[0] and "not BitLocker-encrypted" in findings.errors[1]


def test_fuse_filesystem_named_by_signature(tmp_path: Path) -> None:
    """ntfs-3g and exfat-fuse both show as fuseblk: the source's signature tells them apart."""
    src = tmp_path / "volume.img"
    head = bytearray(4096)
    head[3:11] = b"EXFAT   "
    src.write_bytes(bytes(head))
    mnt = tmp_path / "m"
    mnt.mkdir()
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"40 22 0:50 / {mnt} rw - fuseblk {src} rw\n")
    info = LinuxProbe(mountinfo, tmp_path / "sys").describe(mnt)
    assert info.filesystem == "exfat" and info.is_loop  # a file, not a disk
    assert "not NTFS: the volume is exfat" in evaluate(info, key=None).errors[0]
    head[3:11] = b"NTFS    "
    assert signature(bytes(head)) == "ntfs"
    head[3:11] = b"-FVE-FS-"
    assert signature(bytes(head)) == "BitLocker"


def test_cryptsetup_missing(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    probe = tree.probe()
    info = probe.describe(tree.mount)
    probe.cryptsetup = None
    import seedctl.drives.disk.probe_linux as mod

    real = mod.shutil.which
    mod.shutil.which = lambda name: None
    try:
        verdict = probe.test_key(info, BitLockerKey(KEY, "env:K"))
    finally:
        mod.shutil.which = real
    assert verdict[0] == "untested" and "apt-get install cryptsetup-bin" in verdict[1]


def test_mountinfo_escapes() -> None:
    (entry,) = parse_mountinfo("40 22 8:17 / /mnt/a\\040b\\134c ro,relatime - ntfs3 /dev/sdb1 rw\n")
    assert entry.mount_point == "/mnt/a b\\c" and entry.read_only and entry.fs_type == "ntfs3"


def test_dislocker_daemon_found_by_its_mount_point(tmp_path: Path) -> None:
    """Two dislocker daemons (two drives): each mount is matched to its own by argv, the volume by
    its open descriptors; the password in argv is never read into a message."""
    from seedctl.drives.disk.probe_linux import _Walk

    proc = tmp_path / "proc"
    for pid, target, volume in (("101", "/mnt/a/dislocker-D1", "/dev/sdb1"), ("202", "/mnt/b/dislocker-D1", "/dev/sdc1")):
        (proc / pid / "fd").mkdir(parents=True)
        (proc / pid / "comm").write_text("dislocker-fuse\n")
        (proc / pid / "cmdline").write_bytes(b"\0".join([b"dislocker-fuse", b"-V", volume.encode(),
                                                          b"-pXXXXXX", b"--", target.encode()]) + b"\0")
        for fd, link in (("0", "/dev/null"), ("5", volume), ("6", "/dev/fuse")):
            (proc / pid / "fd" / fd).symlink_to(link)
    (proc / "303").mkdir()
    (proc / "303" / "comm").write_text("bash\n")
    walk = _Walk(LinuxProbe(tmp_path / "mountinfo", tmp_path / "sys", proc_root=proc))
    assert walk.dislocker_volume("/mnt/a/dislocker-D1") == "/dev/sdb1"
    assert walk.dislocker_volume("/mnt/b/dislocker-D1/") == "/dev/sdc1"
    assert walk.dislocker_volume("/elsewhere/dislocker-D1") is None  # two look alike: refuse to guess
