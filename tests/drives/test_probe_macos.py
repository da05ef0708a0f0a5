"""The macOS probe over recorded `diskutil info -plist` outputs: plan and status only.

A Mac sees an NTFS volume (read-only) but cannot unlock BitLocker, so every real drive is refused
with that reason; what it reports (filesystem, bus, size, read-only) is still parsed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from seedctl.drives import inspect_drive
from seedctl.drives.disk.probe_macos import MAC_CANNOT, MacProbe
from seedctl.drives.disk.requirements import evaluate

RECORDED = Path(__file__).parent / "recorded" / "macos"


class Diskutil:
    def __init__(self, volume: str, disk: str) -> None:
        self.answers = {"volume": (RECORDED / volume).read_bytes(), "disk": (RECORDED / disk).read_bytes()}
        self.calls: list[list[str]] = []

    def __call__(self, args, **kw) -> subprocess.CompletedProcess:
        self.calls.append(list(args))
        assert args[:3] == ["diskutil", "info", "-plist"]
        which = "disk" if args[3].startswith("disk") else "volume"
        return subprocess.CompletedProcess(args, 0, self.answers[which], b"")


def describe(tmp_path: Path, monkeypatch, disk: str = "diskutil-disk-usb.plist"):
    runner = Diskutil("diskutil-volume-ntfs-usb.plist", disk)
    monkeypatch.setattr("seedctl.drives.disk.probe_macos.os.path.ismount", lambda p: str(p) == str(tmp_path))
    return MacProbe(runner=runner).describe(tmp_path), runner


def test_ntfs_usb_volume_on_a_mac_is_refused_with_the_reason(tmp_path: Path, monkeypatch) -> None:
    info, runner = describe(tmp_path, monkeypatch)
    assert runner.calls == [["diskutil", "info", "-plist", str(tmp_path)], ["diskutil", "info", "-plist", "disk4"]]
    assert info.filesystem == "ntfs" and info.read_only and info.disk.bus == "usb"
    assert info.disk.name == "/dev/disk4" and info.disk.size == 4000787030016 and info.serial is None
    findings = evaluate(info, key=None)
    assert findings.errors[0].endswith(MAC_CANNOT) and any("not BitLocker-encrypted" in e for e in findings.errors)
    assert any("USB bridge" in w for w in findings.warnings)
    obs = inspect_drive(tmp_path, "WD-1", allow_simulated=False, probe=MacProbe(runner=runner))
    assert obs.attached and any("macOS cannot unlock or write a BitLocker volume" in p for p in obs.problems)


def test_internal_sata_disk(tmp_path: Path, monkeypatch) -> None:
    info, _ = describe(tmp_path, monkeypatch, disk="diskutil-disk-sata.plist")
    assert info.disk.bus == "sata" and info.disk.model == "WDC WD40EFRX-68N32N0"


def test_not_a_mount_point(tmp_path: Path) -> None:
    runner = Diskutil("diskutil-volume-ntfs-usb.plist", "diskutil-disk-usb.plist")
    assert not MacProbe(runner=runner).describe(tmp_path).is_mount and runner.calls == []
