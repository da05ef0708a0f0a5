"""Fixtures for the drives tests: staging trees, simulated drives, loop-mounted ext4 images."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from seedctl.drives import create_simulated_drive, scan_staging
from seedctl.drives.disk.devices import LOOP_SERIAL_SUFFIX


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def kill_at_first_event(child: str, args: list[str], key: str, what: str) -> dict:
    """Run the Python source `child` with `args`; at the first JSON line it prints (which must hold
    `key`, else the child finished before `what`), SIGKILL it and return that line's object."""
    proc = subprocess.Popen([sys.executable, "-c", child, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line, f"the child ended before {what}: {proc.stderr.read()[-2000:]}"
        event = json.loads(line)
        assert key in event, f"the child finished before {what}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return event


def pseudo(n: int, seed: int = 1) -> bytes:
    """Deterministic, incompressible-enough bytes without the cost of os.urandom for big sizes."""
    block = (seed.to_bytes(4, "little") + bytes(range(251))) * 16
    return (block * (n // len(block) + 1))[:n]


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    root = tmp_path / "staging"
    write_tree(root, {
        "a/one.bin": pseudo(10_000, 1),
        "a/two.bin": pseudo(5 * 1024 * 1024 + 17, 2),  # two blocks, the last one short
        "b/c/three.txt": b"three\n",
        "empty.dat": b"",
    })
    return root


@pytest.fixture
def scan(staging: Path):
    return scan_staging(staging, container="backup", prefix="seed1")


@pytest.fixture
def sim_drive(tmp_path: Path) -> Path:
    path = tmp_path / "drive1"
    create_simulated_drive(path, "SIM-0001", 1 << 30)
    return path


def without_dac_override() -> list[str]:
    """A command prefix under which permission bits apply (root drops its DAC-override capabilities)."""
    if getattr(os, "geteuid", lambda: -1)() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("root without setpriv cannot be denied a read")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


def loop_available() -> bool:
    return getattr(os, "geteuid", lambda: -1)() == 0 and shutil.which("losetup") is not None and shutil.which("mkfs.ext4") is not None \
        and os.path.exists("/dev/loop-control")


class LoopDrive:
    def __init__(self, image: Path, mount: Path, device: str, serial: str) -> None:
        self.image, self.mount, self.device, self.serial = image, mount, device, serial


@contextlib.contextmanager
def loop_drive(base: Path, *, size_mb: int = 64, serial: str | None = None, read_only: bool = False,
               options: str = ""):
    """An ext4 image, attached to a loop device and mounted; always unmounted and detached afterwards."""
    if not loop_available():
        pytest.skip("needs root, losetup, mkfs.ext4 and /dev/loop-control")
    serial = serial or f"LOOP-{uuid.uuid4().hex[:8].upper()}"
    image = base / f"{serial}.img"
    mount = base / f"mnt-{serial}"
    mount.mkdir(parents=True)
    with open(image, "wb") as fh:
        fh.truncate(size_mb * 1024 * 1024)
    Path(str(image) + LOOP_SERIAL_SUFFIX).write_text(serial + "\n")
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True, capture_output=True)
    device = subprocess.run(["losetup", "-f", "--show", str(image)], check=True, capture_output=True,
                            text=True).stdout.strip()
    mounted = False
    try:
        wanted = ",".join(o for o in ("ro" if read_only else "", options) if o)
        opts = ["-o", wanted] if wanted else []
        subprocess.run(["mount", *opts, device, str(mount)], check=True, capture_output=True)
        mounted = True
        if not read_only:
            (mount / "lost+found").exists()
        yield LoopDrive(image, mount, device, serial)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        subprocess.run(["losetup", "-d", device], capture_output=True)


@pytest.fixture
def loopdrive(tmp_path: Path):
    with loop_drive(tmp_path) as drive:
        yield drive
