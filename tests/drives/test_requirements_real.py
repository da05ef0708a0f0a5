"""Issue 16 acceptance on real filesystems and a real BitLocker volume (Linux, root, loop devices).

- ext4 on a loop device with a real-cloud spec: refused at plan time, "not NTFS";
- NTFS without BitLocker: refused, "not BitLocker-encrypted";
- NTFS inside a real BitLocker volume (cryptsetup's test image, dislocker, ntfs-3g): the right
  recovery password passes every requirement, a wrong one is refused ("the key does not unlock
  this volume"), tested with `cryptsetup open --test-passphrase` with the key on stdin;
- none of these writes a byte: the image's SHA-256 is the same before and after.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from seedctl.drives import check_safe_to_write, inspect_drive
from seedctl.drives.disk.devices import LinuxProbe
from seedctl.env import Env
from seedctl.errors import DriveError
from seedctl.plan import ERROR
from seedctl.resources.base import Context
from seedctl.resources.drive import DriveNode
from seedctl.spec import load_spec_text
from seedctl.spec.model import BitLockerSpec, SecretRef

from .conftest import loop_drive
from .realdisk import bitlocker_drive, ntfs_drive, other_recovery_password, sha256

pytestmark = pytest.mark.loopdev

SPEC = """\
version: 1
name: real
azure: {{cloud: {cloud}, subscription_id: 3f2b9c4e-8d1a-4e6b-9f0c-2a7d5e1b8c34, resource_group: rg, location: westeurope}}
storage_account: {{name: seedstore}}
container: {{name: seed}}
staging: {{path: {staging}}}
drives:
  - {{serial: {serial}, mount_point: {mount}, bitlocker: {{key: {{env: SEEDCTL_TEST_KEY}}}}}}
"""


def plan_drive(tmp_path: Path, mount: Path, serial: str, cloud: str = "AzureCloud"):
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    spec = load_spec_text(SPEC.format(cloud=cloud, staging=staging, serial=serial, mount=mount), "t.yaml",
                          base_dir=tmp_path)
    ctx = Context(spec=spec, env=Env(environ={}), clients_factory=lambda: None)
    node = DriveNode(spec.drives[0], ())
    observed = node.read(ctx)
    ctx.observations[node.address] = observed
    return node.diff(node.desired(ctx), observed)


def test_ext4_drive_refused_at_plan_time_not_ntfs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SEEDCTL_TEST_KEY", "042647-302313-590458-071500-554323-116567-412181-516978")
    with loop_drive(tmp_path, serial="EXT4REAL", read_only=True) as d:
        before = sha256(d.image)
        change = plan_drive(tmp_path, d.mount, "EXT4REAL")
        assert change.action == ERROR
        text = " ".join(change.errors)
        assert "not NTFS: the volume is ext4" in text and "not BitLocker-encrypted" in text
        assert "loop device" in text  # and a disk image is never a shippable drive
        with pytest.raises(DriveError):
            check_safe_to_write(d.mount, "EXT4REAL", owner_id="o", needed_bytes=0)
        after = sha256(d.image)
    assert before == after


def test_ext4_loop_drive_stays_exempt_in_the_sandbox(tmp_path: Path) -> None:
    with loop_drive(tmp_path, serial="EXT4SBX") as d:
        obs = inspect_drive(d.mount, "EXT4SBX", allow_simulated=True, bitlocker=None)
        assert obs.requirement_errors == () and obs.problems == ()
        check_safe_to_write(d.mount, "EXT4SBX", owner_id="o", needed_bytes=0, allow_simulated=True)


def test_ntfs_without_bitlocker_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SEEDCTL_TEST_KEY", "042647-302313-590458-071500-554323-116567-412181-516978")
    with ntfs_drive(tmp_path, "NTFSPLAIN") as d:
        before = sha256(d.image)
        info = LinuxProbe().describe(d.mount)
        assert info.fs_type == "fuseblk" and info.filesystem == "ntfs" and info.bitlocker is None
        obs = inspect_drive(d.mount, "NTFSPLAIN", allow_simulated=False,
                            bitlocker=BitLockerSpec(key=SecretRef(env="SEEDCTL_TEST_KEY")))
        text = " ".join(obs.requirement_errors)
        assert "not BitLocker-encrypted" in text and "not NTFS" not in text
        change = plan_drive(tmp_path, d.mount, "NTFSPLAIN")
        assert change.action == ERROR and any("not BitLocker-encrypted" in e for e in change.errors)
        after = sha256(d.image)
    assert before == after


@pytest.mark.parametrize("ntfs_on_loop", [False, True], ids=["ntfs-3g-on-dislocker-file", "ntfs-3g-on-loop"])
def test_real_bitlocker_volume_right_key_passes_wrong_key_refused(tmp_path: Path, monkeypatch,
                                                                   ntfs_on_loop: bool) -> None:
    serial = "BITLKLOOP" if ntfs_on_loop else "BITLKREAL"
    with bitlocker_drive(tmp_path, serial, ntfs_on_loop=ntfs_on_loop) as d:
        before = sha256(d.image)
        info = LinuxProbe().describe(d.mount)
        assert info.filesystem == "ntfs"
        assert info.bitlocker is not None and info.bitlocker.via == "dislocker"
        assert info.bitlocker.volume.startswith("/dev/loop")
        assert info.bitlocker.has_recovery_password and info.bitlocker.protection_on is True
        assert info.serial == serial and info.is_loop  # the image's sidecar serial, found through 3 layers
        assert any("dislocker" in layer for layer in info.layers)

        spec = BitLockerSpec(key=SecretRef(env="SEEDCTL_TEST_KEY"))
        monkeypatch.setenv("SEEDCTL_TEST_KEY", d.recovery_password)
        # only the loop-device refusal is left: a real disk would pass
        right = inspect_drive(d.mount, serial, allow_simulated=False, bitlocker=spec)
        assert right.requirement_errors == () and right.warnings == ()
        assert [p for p in right.problems if "loop device" not in p] == []

        wrong_key = other_recovery_password(d.recovery_password)
        monkeypatch.setenv("SEEDCTL_TEST_KEY", wrong_key)
        wrong = inspect_drive(d.mount, serial, allow_simulated=False, bitlocker=spec)
        assert len(wrong.requirement_errors) == 1
        assert "the key does not unlock this volume" in wrong.requirement_errors[0]
        change = plan_drive(tmp_path, d.mount, serial)
        assert change.action == ERROR and any("the key does not unlock this volume" in e for e in change.errors)
        shown = " ".join([*wrong.problems, *change.errors, repr(wrong)])
        assert wrong_key not in shown and d.recovery_password not in shown
        after = sha256(d.image)
    assert before == after


def test_key_goes_on_stdin_never_argv(tmp_path: Path, monkeypatch) -> None:
    with bitlocker_drive(tmp_path, "BITLKARGV") as d:
        calls = []

        def spy(args, **kw):
            calls.append((list(args), kw.get("input")))
            return subprocess.run(args, **kw)

        probe = LinuxProbe(runner=spy)
        monkeypatch.setenv("SEEDCTL_TEST_KEY", d.recovery_password)
        obs = inspect_drive(d.mount, "BITLKARGV", allow_simulated=True, probe=probe,
                            bitlocker=BitLockerSpec(key=SecretRef(env="SEEDCTL_TEST_KEY")))
        assert obs.requirement_errors == ()  # sandbox: a loop image is exempt, so nothing was tested ...
        info = probe.describe(d.mount)
        from seedctl.drives.disk.encryption import BitLockerKey

        assert probe.test_key(info, BitLockerKey(d.recovery_password, "test"))[0] == "unlocks"
        opens = [c for c in calls if "--test-passphrase" in c[0]]
        assert opens and all(d.recovery_password not in " ".join(a) for a, _ in calls)
        assert opens[-1][1] == d.recovery_password + "\n"
        assert opens[-1][0][:5] == [opens[-1][0][0], "open", "--test-passphrase", "--type", "bitlk"]


def test_prepare_a_real_bitlocker_ntfs_drive_on_linux(tmp_path: Path, staging: Path) -> None:
    """The Linux copy computer's whole path: ntfs-3g writes through dislocker, the data lands
    encrypted in the BitLocker volume, and reads back intact after a fresh unlock."""
    from seedctl.drives import prepare_drive, scan_staging, verify_drive

    marker = b"seedctl-plaintext-marker-" * 200
    (staging / "marker.bin").write_bytes(marker)
    files = scan_staging(staging, container="backup").files
    with bitlocker_drive(tmp_path, "BITLKRW", writable=True) as d:
        result = prepare_drive(d.mount, "BITLKRW", files, staging, owner_id="o", allow_simulated=True, verify=True)
        assert result.files == len(files) and result.verify_report.ok
        assert (d.mount / "DriveManifest.xml").is_file()
    raw = d.image.read_bytes()
    assert marker[:100] not in raw  # encrypted on the way to the disk
    with bitlocker_drive(tmp_path, "BITLKRW", fresh=False) as again:
        assert verify_drive(again.mount).ok
        assert (again.mount / "seed" / "marker.bin").read_bytes() == marker


def test_check_safe_to_write_refuses_a_disk_that_misses_the_requirements(tmp_path: Path) -> None:
    """The write-time refusal (what prepare_drive runs before each write phase) on a real ext4
    mount whose probe is made to report a real disk: it gets past identity, then the requirements."""
    import dataclasses

    class AsRealDisk(LinuxProbe):
        def describe(self, mount_point):
            return dataclasses.replace(super().describe(mount_point), is_loop=False)

    with loop_drive(tmp_path, serial="EXT4DISK") as d:
        with pytest.raises(DriveError) as info:
            check_safe_to_write(d.mount, "EXT4DISK", owner_id="o", needed_bytes=0, probe=AsRealDisk())
        text = str(info.value)
        assert "does not meet the Import/Export drive requirements" in text and "not NTFS" in text
        assert "not BitLocker-encrypted" in text and text.startswith("drive EXT4DISK at")
        assert sorted(p.name for p in d.mount.iterdir()) == ["lost+found"]  # nothing written


def test_a_warning_is_shown_with_the_planned_drive_change(tmp_path: Path) -> None:
    """Warnings (a USB bridge, encryption still running) travel with the drive's planned change."""
    from seedctl.drives import create_simulated_drive
    from seedctl.plan import CREATE
    from seedctl.resources.staging import StagingNode

    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "a.bin").write_bytes(b"x" * 1000)
    create_simulated_drive(tmp_path / "d1", "SIM-1", 1 << 30)
    spec = load_spec_text(SPEC.format(cloud="sandbox", staging=staging, serial="SIM-1", mount=tmp_path / "d1"),
                          "t.yaml", base_dir=tmp_path)
    ctx = Context(spec=spec, env=Env(environ={}), clients_factory=lambda: None)
    stage = StagingNode("staging")
    ctx.observations[stage.address] = stage.read(ctx)
    node = DriveNode(spec.drives[0], ())
    observed = node.read(ctx)
    assert observed["warnings"] == []  # a sandbox drive: exempt
    observed["warnings"] = ["drive SIM-1 is behind a USB bridge: ..."]
    ctx.observations[node.address] = observed
    change = node.diff(node.desired(ctx), observed)
    assert change.action == CREATE and change.notes[0].startswith("drive SIM-1 is behind a USB bridge")
