"""Real filesystems on loop devices for the drive-requirements tests: NTFS (ntfs-3g), and NTFS
inside a real BitLocker volume (cryptsetup's test images, unlocked with dislocker).

The BitLocker images come from cryptsetup's own test suite (`tests/bitlk-images.tar.xz` in
Debian's cryptsetup source package, with their recovery passwords in `images.conf`);
`.ci/install-system-deps` unpacks them to /var/cache/seedctl/bitlk-images (or set
SEEDCTL_BITLK_IMAGES). Their NTFS was emptied by the image authors, so the fixture formats a fresh
NTFS inside the BitLocker volume through dislocker (which encrypts what it writes), then
remounts everything read-only for the test. Every fixture skips, saying what is missing, when a
tool, root or the images are not there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from seedctl.drives.disk.devices import LOOP_SERIAL_SUFFIX

IMAGES = Path(os.environ.get("SEEDCTL_BITLK_IMAGES", "/var/cache/seedctl/bitlk-images"))
IMAGE = "bitlk-aes-xts-128"  # Windows 10 BitLocker, XTS-AES 128, password + recovery password


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def need(*tools: str) -> None:
    if os.geteuid() != 0 or not os.path.exists("/dev/loop-control"):
        pytest.skip("needs root and loop devices")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (run .ci/install-system-deps: apt-get install cryptsetup-bin "
                    "ntfs-3g dislocker)")


def image_conf(name: str = IMAGE) -> dict[str, str]:
    conf = IMAGES / "images.conf"
    if not (IMAGES / f"{name}.img").is_file() or not conf.is_file():
        pytest.skip(f"cryptsetup's BitLocker test images are not in {IMAGES} (run .ci/install-system-deps, "
                    "or set SEEDCTL_BITLK_IMAGES)")
    section, out = None, {}
    for line in conf.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == name and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def run(*args: str, **kw) -> str:
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw).stdout.strip()


@dataclass
class RealDrive:
    mount: Path
    image: Path
    serial: str
    recovery_password: str = ""


class _Stack:
    """Undo steps run in reverse order: commands, or callables."""

    def __init__(self) -> None:
        self.undo: list = []

    def push(self, *cmd: str) -> None:
        self.undo.append(list(cmd))

    def call(self, fn) -> None:
        self.undo.append(fn)

    def close(self) -> None:
        while self.undo:
            step = self.undo.pop()
            if callable(step):
                step()
            else:
                subprocess.run(step, capture_output=True)


def _await_daemon_exit(device: str, timeout: float = 20.0) -> None:
    """After its unmount, the dislocker daemon this fixture started may take a while to exit; wait
    for the process holding `device` open (it is ours), then end it, so the loop device is freed."""
    import signal
    import time

    def holders() -> list[int]:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if open(f"/proc/{pid}/comm").read().startswith("dislocker") and any(
                        os.readlink(f"/proc/{pid}/fd/{fd}") == device for fd in os.listdir(f"/proc/{pid}/fd")):
                    found.append(int(pid))
            except OSError:
                continue
        return found

    deadline = time.monotonic() + timeout
    while holders() and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in holders():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def _attach(image: Path, stack: _Stack, *, read_only: bool = False) -> str:
    dev = run("losetup", "-f", "--show", *(["-r"] if read_only else []), str(image))
    stack.push("losetup", "-d", dev)
    return dev


@contextlib.contextmanager
def ntfs_drive(base: Path, serial: str) -> Iterator[RealDrive]:
    """A plain NTFS (no BitLocker) loop image, mounted read-only with ntfs-3g (fuseblk)."""
    need("losetup", "mkntfs", "ntfs-3g")
    image, mount = base / f"{serial}.img", base / f"mnt-{serial}"
    mount.mkdir(parents=True)
    with open(image, "wb") as fh:
        fh.truncate(32 << 20)
    Path(str(image) + LOOP_SERIAL_SUFFIX).write_text(serial + "\n")
    run("mkntfs", "-F", "-Q", "-q", "-L", "PLAIN", str(image))
    stack = _Stack()
    try:
        dev = _attach(image, stack)
        run("ntfs-3g", "-o", "ro", dev, str(mount))
        stack.push("umount", str(mount))
        yield RealDrive(mount, image, serial)
    finally:
        stack.close()


@contextlib.contextmanager
def bitlocker_drive(base: Path, serial: str, *, ntfs_on_loop: bool = False, writable: bool = False,
                    fresh: bool = True) -> Iterator[RealDrive]:
    """A real BitLocker volume (cryptsetup's test image) holding a fresh NTFS, unlocked with
    dislocker and mounted read-only with ntfs-3g: on dislocker's file (`fuse`), or on a loop
    device over it (`fuseblk`) when `ntfs_on_loop`. `writable` mounts it read-write (as a Linux
    copy computer does); `fresh=False` reuses the image already at base/serial.img."""
    need("losetup", "mkntfs", "ntfs-3g", "dislocker-fuse", "cryptsetup")
    conf = image_conf()
    rp = conf["RP"]
    image, mount, clear = base / f"{serial}.img", base / f"mnt-{serial}", base / f"dislocker-{serial}"
    mount.mkdir(parents=True, exist_ok=True)
    clear.mkdir(exist_ok=True)
    if fresh:
        shutil.copyfile(IMAGES / f"{IMAGE}.img", image)
        Path(str(image) + LOOP_SERIAL_SUFFIX).write_text(serial + "\n")
        # Set-up (writes): format NTFS inside the BitLocker volume. The password is on dislocker's
        # command line only because it is the published password of a public test image.
        stack = _Stack()
        try:
            dev = _attach(image, stack)
            run("dislocker-fuse", "-V", dev, f"-p{rp}", "--", str(clear))
            stack.call(lambda dev=dev: _await_daemon_exit(dev))
            stack.push("umount", str(clear))
            run("mkntfs", "-F", "-Q", "-q", "-L", "SEED", str(clear / "dislocker-file"))
        finally:
            stack.close()
    # The drive as a Linux copy computer sees it: the BitLocker loop device read-write (so a write
    # by anything under test would show in the image's hash), its clear view and NTFS read-only.
    stack = _Stack()
    try:
        dev = _attach(image, stack)
        run("dislocker-fuse", *([] if writable else ["-r"]), "-V", dev, f"-p{rp}", "--", str(clear))
        stack.call(lambda dev=dev: _await_daemon_exit(dev))
        stack.push("umount", str(clear))
        source = str(clear / "dislocker-file")
        if ntfs_on_loop:
            source = _attach(Path(source), stack, read_only=not writable)
        run("ntfs-3g", "-o", "rw" if writable else "ro", source, str(mount))
        stack.push("umount", str(mount))
        yield RealDrive(mount, image, serial, rp)
    finally:
        stack.close()


def other_recovery_password(rp: str) -> str:
    """A well-formed recovery password that is not `rp` (each group a multiple of 11 below 720,896)."""
    groups = [int(g) for g in rp.split("-")]
    groups[0] = (groups[0] + 11) % 720896 // 11 * 11
    return "-".join(f"{g:06d}" for g in groups)
